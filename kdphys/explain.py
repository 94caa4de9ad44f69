"""What the app needs to explain a result: which models exist, their attention maps, a reference check.

Three small jobs that the web app asks for and that are not UI code:

    statuses = model_status()                       # which of pos / student / teacher can run, and why not
    att = attention_comparison(result.keyframes)    # teacher vs student attention over keyframe crops
    att.agreement.mean()                            # cosine of the aligned maps, 0..1 (1 = same place)
    ref = on_video_clock(load_reference_csv(path), started_before_s=0.0)   # time 0 = first video frame
    cmp = compare_with_reference(result.snapshot, ref)                     # MAE, r, Bland-Altman
    quality_explanation(result.snapshot.reading)    # "Fair: the pulse was clear in 36% of the video ..."
    count_beats(result.snapshot)                    # the beats marked and the heart rate they give

Attention maps follow kdphys.models.attention (channel mean of |F|^2, L2-normalised per frame); the
teacher's (T', H', W') maps are aligned in time and space to the student's per-frame maps with
``align_maps``, and agreement is the cosine similarity of the two aligned maps per frame. Because maps are
non-negative the score lies in 0..1.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kdphys import paths
from kdphys.errors import KDPhysError, WeightsError

#: Weight files that make a neural method available, in order of preference.
WEIGHT_FILES: dict[str, tuple[str, ...]] = {
    "student": ("student.onnx", "student.pt"),
    "teacher": ("teacher.pt",),
}
#: Method names shown to users, in display order.
APP_METHODS = ("student", "teacher", "pos", "chrom", "green")
#: Each method in words, for the app and reports.
METHOD_LABELS = {"student": "Student (small neural network)", "teacher": "Teacher (large neural network)",
                 "pos": "POS (classical)", "chrom": "CHROM (classical)", "green": "Green channel (classical)"}


def method_label(name: str) -> str:
    """A method in words ("POS (classical)"); unknown names as they are."""
    return METHOD_LABELS.get(name, name)


def weights_version(name: str, weights_dir: Path | None = None) -> str:
    """Which weights a method runs on, in words: "no weights (classical method)" or "student.onnx, SHA-256
    6a870a74cff9" (the first 12 hex digits of the file's checksum), or "not available"."""
    from kdphys.weights import SUMS_NAME, read_checksums, sha256_file

    files = WEIGHT_FILES.get(name)
    if files is None:
        return "no weights (classical method)"
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    found = [f for f in files if (weights_dir / f).is_file()]
    if not found:
        return "not available"
    sums_path = weights_dir / SUMS_NAME
    sums = read_checksums(sums_path) if sums_path.is_file() else {}
    digest = sums.get(found[0]) or sha256_file(weights_dir / found[0])
    return f"{found[0]}, SHA-256 {digest[:12]}"

_load_lock = threading.Lock()


@dataclass(frozen=True)
class ModelStatus:
    """Whether a method can run here.

    Attributes:
        name: method name for kdphys.methods.get_method.
        available: True when it can run (classical methods always; neural ones when their weights exist).
        detail: a sentence for a person: the weight file used, or what is missing.
    """

    name: str
    available: bool
    detail: str


def model_status(weights_dir: Path | None = None) -> dict[str, ModelStatus]:
    """Status of every app method, keyed by name (files are only looked at, nothing is loaded)."""
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    out: dict[str, ModelStatus] = {}
    for name in APP_METHODS:
        files = WEIGHT_FILES.get(name)
        if files is None:
            out[name] = ModelStatus(name, True, "classical method, no weights needed")
            continue
        found = [f for f in files if (weights_dir / f).is_file()]
        if found:
            out[name] = ModelStatus(name, True, f"weights/{found[0]}")
        else:
            out[name] = ModelStatus(name, False, f"not trained yet (no weights/{' or weights/'.join(files)})")
    return out


def available_methods(weights_dir: Path | None = None) -> list[str]:
    """Names of the methods that can run, in display order (student and teacher only with weights)."""
    return [name for name, s in model_status(weights_dir).items() if s.available]


#: Whether the app may start with the student. The release's distilled student passes the real-clip check
#: of weights/MODEL_CARD.md on uploads (71.4 bpm vs the oximeter's 71.1, tests/test_pipeline_real.py) but
#: not live: through the live engine, uncompressed or VP8-compressed (benchmarks/live_vp8.py --method student), it
#: read in 0-5 % of the seconds, POS in 48-91 % (20 s window); in Chromium through H.264, as the live page now asks
#: for (benchmarks/live_browser.py --method student), in 0 of 24 samples per 120 s session, POS in 12-18. Until a
#: student reads live, the app starts with POS and offers the student.
STUDENT_VALIDATED_ON_REAL_VIDEO = False


def default_method(weights_dir: Path | None = None) -> str:
    """The student when its weights exist and it is validated on real video (see above), POS otherwise."""
    if STUDENT_VALIDATED_ON_REAL_VIDEO and model_status(weights_dir)["student"].available:
        return "student"
    return "pos"


# ----------------------------------------------------------------------------------------- models
@functools.lru_cache(maxsize=4)
def load_torch_model(name: str):
    """The torch module ("teacher" or "student") in eval mode, loaded once per process.

    Raises:
        WeightsError: the weights are missing or cannot be loaded.
    """
    with _load_lock:
        candidates = {"student": ("student-torch", "student"), "teacher": ("teacher",)}.get(name, (name,))
        from kdphys.methods import get_method

        last_err: Exception | None = None
        for method_name in candidates:
            try:
                method = get_method(method_name)
            except KDPhysError as err:
                last_err = err
                continue
            except (KeyError, ValueError) as err:  # name not registered (yet)
                last_err = err
                continue
            model = _torch_module_of(method)
            if model is not None:
                model.eval()
                return model
        raise WeightsError(f"The {name} model is not available: {last_err or 'no torch weights found'}.")


def _torch_module_of(method):
    """The torch nn.Module inside a NeuralMethod, or None (e.g. an ONNX session)."""
    import torch

    if isinstance(method, torch.nn.Module):
        return method
    for attr in ("model", "module", "net", "torch_model"):
        obj = getattr(method, attr, None)
        if isinstance(obj, torch.nn.Module):
            return obj
    return None


def parameter_count(name: str) -> int | None:
    """Number of trainable parameters of a method's network; 0 for classical methods; None if unavailable."""
    if name not in WEIGHT_FILES:
        return 0
    try:
        model = load_torch_model(name)
    except KDPhysError:
        return None
    return int(sum(p.numel() for p in model.parameters()))


# -------------------------------------------------------------------------------------- attention
@dataclass
class AttentionComparison:
    """Teacher and student attention over keyframe crops.

    Attributes:
        t_s: (K,) keyframe times, seconds.
        crops: (K, S, S, 3) uint8 RGB face crops.
        views: K pictures (V, V, 3) uint8 RGB of the video around the face (None where a keyframe has none).
        boxes: K crop boxes (4,) x0, y0, x1, y1 in view pixels (None without a view).
        layer_pairs: (teacher layer, student layer) names, in the order of the map arrays.
        display_index: index of the pair shown by default (the teacher's ``display_layer``, 18x18).
        teacher_maps: per pair, (K, h, w) float maps aligned to the student's (L2-normalised per frame).
        student_maps: per pair, (K, h, w) float maps.
        agreement: per pair, (K,) cosine similarity of the aligned maps, 0..1.
    """

    t_s: np.ndarray
    crops: np.ndarray
    layer_pairs: list[tuple[str, str]]
    teacher_maps: list[np.ndarray] = field(default_factory=list)
    student_maps: list[np.ndarray] = field(default_factory=list)
    agreement: list[np.ndarray] = field(default_factory=list)
    display_index: int = -1
    views: list = field(default_factory=list)
    boxes: list = field(default_factory=list)

    def mean_agreement(self, pair_index: int | None = None) -> float:
        """Mean agreement over keyframes for one layer pair (the teacher's display layer by default)."""
        return float(np.mean(self.agreement[self.display_index if pair_index is None else pair_index]))

    def overlays(self, k: int, pair_index: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(teacher overlay, student overlay), each (S, S, 3) uint8: keyframe k with the heatmap on top."""
        from kdphys.models.attention import overlay_heatmap

        pair_index = self.display_index if pair_index is None else pair_index
        crop = self.crops[k]
        return (overlay_heatmap(crop, self.teacher_maps[pair_index][k]),
                overlay_heatmap(crop, self.student_maps[pair_index][k]))


def attention_comparison(keyframes: list[tuple[float, np.ndarray]], min_frames: int = 8,
                         teacher=None, student=None) -> AttentionComparison:
    """Run teacher and student on the keyframe crops and compare their attention maps.

    Args:
        keyframes: kdphys.engine.Keyframe list (AnalysisResult.keyframes), about one per second; (t_s,
            crop (S, S, 3) uint8 RGB) pairs work too (no view of the frame then).
        min_frames: shorter keyframe lists are repeated up to this length so that the teacher's temporal
            pooling has something to pool (the output is cut back to the keyframes).
        teacher, student: kdphys.models Teacher / Student; loaded from weights/ when None.
    Raises:
        WeightsError: the teacher or the student weights are missing.
        KDPhysError: fewer than 2 keyframes.
    """
    import torch

    from kdphys.models.attention import LAYER_PAIRS, align_maps, attention_map

    if len(keyframes) < 2:
        raise KDPhysError("Too few face crops to compare attention (the video is too short or has no face).")
    teacher = teacher if teacher is not None else load_torch_model("teacher")
    student = student if student is not None else load_torch_model("student")
    t_s = np.array([t for t, _ in keyframes], dtype=float)
    crops = np.stack([c for _, c in keyframes]).astype(np.uint8)
    k = len(crops)
    reps = int(np.ceil(min_frames / k))
    clip = np.concatenate([crops] * reps)[: max(k, min_frames)]
    x = torch.from_numpy(clip).float().div(255.0).permute(0, 3, 1, 2).unsqueeze(0)  # (1, T, 3, S, S)
    with torch.no_grad():
        t_out, s_out = teacher(x), student(x)
        out = AttentionComparison(t_s=t_s, crops=crops, layer_pairs=[],
                                  views=[getattr(kf, "view", None) for kf in keyframes],
                                  boxes=[getattr(kf, "box_xyxy", None) for kf in keyframes])
        for t_name, s_name in LAYER_PAIRS:
            if t_name not in t_out.features or s_name not in s_out.features:
                continue
            t_map, s_map = align_maps(attention_map(t_out.features[t_name], layout=teacher.feature_layout),
                                      attention_map(s_out.features[s_name], layout=student.feature_layout))
            t_np = t_map[0].float().numpy()[:k]
            s_np = s_map[0].float().numpy()[:k]
            out.layer_pairs.append((t_name, s_name))
            out.teacher_maps.append(t_np)
            out.student_maps.append(s_np)
            out.agreement.append(cosine_per_frame(t_np, s_np))
            if t_name == getattr(teacher, "display_layer", None):
                out.display_index = len(out.layer_pairs) - 1
    if not out.layer_pairs:
        raise WeightsError("The teacher and student expose no matching feature layers for attention maps.")
    return out


def cosine_per_frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of two (K, h, w) map stacks, per frame -> (K,); 0 where a map is all zero."""
    a2 = a.reshape(len(a), -1).astype(np.float64)
    b2 = b.reshape(len(b), -1).astype(np.float64)
    num = (a2 * b2).sum(axis=1)
    den = np.linalg.norm(a2, axis=1) * np.linalg.norm(b2, axis=1)
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)


# -------------------------------------------------------------------------------------- reference
@dataclass(frozen=True)
class ReferenceComparison:
    """Video heart rate against a reference recording, window by window (time 0 = the first video frame).

    Attributes:
        ref_hr_bpm: the reference's heart rate over the video: median of its windows, bpm.
        est_hr_bpm: the video's reading (None when there was none), bpm.
        ref_hr_read_bpm: the reference's median over the windows the video read (the span the reading
            covers; None when none was read), bpm.
        t_s: (m,) centres of the windows the video read, s.
        est_trend_bpm, ref_trend_bpm: (m,) their heart rates, video and reference, bpm.
        mae_bpm, pearson_r: over those windows (NaN when none; pearson NaN below 3 or when constant).
        bias_bpm, loa_low_bpm, loa_high_bpm: Bland-Altman bias and 95% limits of agreement, est - ref, bpm.
    """

    ref_hr_bpm: float
    est_hr_bpm: float | None
    ref_hr_read_bpm: float | None
    t_s: np.ndarray
    est_trend_bpm: np.ndarray
    ref_trend_bpm: np.ndarray
    mae_bpm: float
    pearson_r: float
    bias_bpm: float
    loa_low_bpm: float
    loa_high_bpm: float


def compare_with_reference(snapshot, reference) -> ReferenceComparison:
    """Compare an engine Snapshot with a Reference already aligned to the video (time 0 = first frame): each
    window the video read against the reference's heart rate in the same window (its beats).

    Raises:
        KDPhysError: the reference does not overlap the video, or the video is too short for a window.
    """
    from kdphys import metrics

    duration_s = float(snapshot.t_s[-1] - snapshot.t_s[0]) if len(snapshot.t_s) else 0.0
    if len(reference.clipped(0.0, duration_s).t_s) < 3:
        raise KDPhysError("The reference does not overlap the video in time. Check that its time column "
                          "starts with the video (or give the time of the first video frame).")
    windows = snapshot.readings.windows
    if not windows:
        raise KDPhysError("The video is too short to compare with a reference (no window of signal).")
    fps = snapshot.fps
    slices = [slice(int(round(w.start_s * fps)), int(round(w.end_s * fps))) for w in windows]
    ref_hr = reference.hr_in_windows(snapshot.t_s, slices)
    if not np.isfinite(ref_hr).any():
        raise KDPhysError("The reference gave no heart rate over the video (no clear beats in it).")
    read = snapshot.readings.accepted & np.isfinite(ref_hr)
    est, ref = snapshot.readings.hr_bpm[read], ref_hr[read]
    nan = float("nan")
    ba = metrics.bland_altman(est, ref) if read.any() else None
    est_hr = snapshot.reading.hr_bpm
    return ReferenceComparison(
        ref_hr_bpm=float(np.nanmedian(ref_hr)), est_hr_bpm=None if est_hr is None else float(est_hr),
        ref_hr_read_bpm=float(np.median(ref)) if read.any() else None,
        t_s=snapshot.readings.centres_s[read], est_trend_bpm=est, ref_trend_bpm=ref,
        mae_bpm=float(metrics.mae(est, ref)) if read.any() else nan,
        pearson_r=float(metrics.pearson(est, ref)) if read.sum() >= 3 and est.std() > 0 and ref.std() > 0 else nan,
        bias_bpm=ba.bias if ba else nan, loa_low_bpm=ba.loa_low if ba else nan, loa_high_bpm=ba.loa_high if ba else nan)


def on_video_clock(reference, started_before_s: float = 0.0):
    """A Reference (kdphys.reference) on the video's clock, time 0 = the first video frame, whatever its own
    time column holds (seconds from 0, or Unix time).

    Args:
        reference: kdphys.reference.Reference as loaded from its CSV.
        started_before_s: how long before the first video frame the reference's first row was recorded, s
            (0: they started together; negative: the reference started later).
    """
    return reference.aligned(float(reference.t_s[0]) + float(started_before_s))


def sample_reference_started_before_s() -> float:
    """How long before the sample clip's first frame its oximeter recording (BVP.csv) starts, s (from the
    two files' Unix time stamps), so that ``on_video_clock`` gives ``reference.sample_clip_reference()``."""
    from kdphys.reference import load_frame_times_csv, load_reference_csv

    first_frame_s = float(load_frame_times_csv(paths.SAMPLE_FRAME_TIMES_CSV)[0])
    return first_frame_s - float(load_reference_csv(paths.SAMPLE_BVP_CSV).t_s[0])


# ------------------------------------------------------------------------------------ in words
def quality_explanation(reading, settings=None) -> str:
    """What a reading's quality means, in one or two plain sentences (kdphys.quality.quality_level's rule:
    "good" = the heart rate was followed with certainty across windows and the beats are regular, or the
    beats are very regular; "fair" = one of the two; a recording read in less than half is at best "fair",
    in less than a quarter "poor").

    Args:
        reading: kdphys.quality.HrReading (a recording's summary or one window).
        settings: kdphys.quality.QualitySettings (the defaults when None).
    """
    from kdphys.quality import QualitySettings, quality_level

    if reading.hr_bpm is None:
        return "No reading: " + (reading.reason or "no reading").removeprefix("no reading: ")
    s = settings or QualitySettings()
    confident = reading.confidence is not None and reading.confidence >= s.min_confidence
    regular = reading.sqi is not None and reading.sqi >= s.periodic_min_sqi
    signal = quality_level(reading.confidence or 0.0, reading.sqi or 0.0, s)
    cov = reading.coverage
    where = "" if cov is None else f" in the {100 * cov:.0f}% of the video that was read"
    if reading.quality == "poor":
        return (f"Poor: the pulse was clear in only {100 * (cov or 0):.0f}% of the video (less than "
                f"{100 * s.fair_coverage:.0f}%), so the number rests on little of it. Take it as a rough guide.")
    if reading.quality == "good":
        return f"Good: the heart rate was followed with certainty and the beats were regular{where}."
    if signal == "good":
        return (f"Fair: the pulse was clear and regular where it was read, but that was only {100 * (cov or 0):.0f}% "
                f"of the video (good needs {100 * s.good_coverage:.0f}% or more).")
    if confident and not regular:
        return f"Fair: the heart rate was followed with certainty, but the beats were faint or irregular{where}."
    return f"Fair: the beats were regular, but the heart rate could not be followed with full certainty{where}."


def signal_details(reading) -> list[str]:
    """The measurements behind a reading's quality, each in words with its unit (empty without a reading)."""
    if reading.hr_bpm is None:
        return []
    lines = []
    if reading.snr_db is not None and np.isfinite(reading.snr_db):
        lines.append(f"Pulse strength: {reading.snr_db:.1f} dB against the noise (signal-to-noise ratio; "
                     "0 dB = as strong as the noise, higher is clearer).")
    if reading.sqi is not None:
        lines.append(f"Beat regularity: {reading.sqi:.2f} of 1 (how alike one beat is to the next).")
    if reading.confidence is not None:
        lines.append(f"Tracking certainty: {reading.confidence:.2f} of 1 (how sure the heart-rate tracker is, "
                     "from the windows before and after).")
    lines.append(f"Face found in {100 * reading.face_fraction:.0f}% of the video.")
    return lines


@dataclass(frozen=True)
class BeatCount:
    """The beats marked on a waveform and the heart rate a person counting them gets.

    n_beats: marks. n_intervals: beat-to-beat intervals between neighbouring marks (gaps between read parts
    excluded). intervals_s: their total length, s. hr_bpm: 60 x n_intervals / intervals_s, bpm.
    """

    n_beats: int
    n_intervals: int
    intervals_s: float
    hr_bpm: float


def count_beats(snapshot) -> BeatCount | None:
    """The marks of ``snapshot.beats`` counted as a person would (intervals between neighbouring marks);
    None when the recording gave no reading (no beat is shown then) or fewer than two beats are marked."""
    beats = snapshot.beats
    if snapshot.reading.hr_bpm is None or beats is None or beats.ibi_s.size == 0:
        return None
    total_s = float(np.sum(beats.ibi_s))
    return BeatCount(n_beats=int(beats.peaks.size), n_intervals=int(beats.ibi_s.size), intervals_s=total_s,
                     hr_bpm=60.0 * beats.ibi_s.size / total_s)


def hr_text(reading) -> str:
    """A reading's heart rate to the whole bpm ("70 bpm": windows of the same recording differ by about a
    bpm, so a decimal would claim more than it holds), or "no reading"."""
    return "no reading" if reading.hr_bpm is None else f"{reading.hr_bpm:.0f} bpm"


def coverage_text(reading, n_windows: int | None = None) -> str:
    """"Range 69-70 bpm over the windows read · read in 36% of the video (4 of 11 windows of 10 s)", or ""
    for a reading without a range (one live window) or without a heart rate."""
    if reading.hr_bpm is None:
        return ""
    parts = []
    if reading.hr_range_bpm is not None:
        low, high = (round(v) for v in reading.hr_range_bpm)
        parts.append(f"range {low}–{high} bpm over the windows read" if high > low else f"steady at {low} bpm")
    if reading.coverage is not None:
        text = f"read in {100 * reading.coverage:.0f}% of the video"
        if n_windows:
            text += f" ({round(reading.coverage * n_windows)} of {n_windows} windows)"
        parts.append(text)
    text = " · ".join(parts)
    return text[:1].upper() + text[1:]
