"""Paper-style evaluation: HR MAE, RMSE, MAPE, Pearson r and SNR per dataset and method.

    report = evaluate({"ubfc": UBFCrPPG(root)}, ["pos", "chrom", "student=runs/distill/best.pt"],
                      out_dir="runs/eval", settings=EvalSettings(protocol="intra"))
    print(report.markdown)            # one row per (dataset, method); per_video.csv + Bland-Altman PNGs in out_dir

Each video is decoded once: face tracking (kdphys.face, the same crop code as training and the app) and
resampling onto a uniform grid at ``fps`` give an RGB skin trace (classical methods), face crops (neural
methods) and the reference BVP interpolated at the grid times. Every method's BVP then goes through the
one post-processing path (kdphys.signal.preprocess + hr_from_spectrum); the reference HR comes from the
reference BVP through the same path (rPPG-Toolbox convention), over the whole video or ``window_s`` windows.

Protocols: "intra" evaluates the test subjects of a subject-wise split (kdphys.splits.subject_split, the
split that training used); "cross" evaluates every video of a dataset the model was not trained on.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Literal

import numpy as np

from kdphys import metrics
from kdphys import signal as sig
from kdphys.errors import KDPhysError
from kdphys.methods.base import BVPMethod

Protocol = Literal["intra", "cross"]


@dataclass
class EvalSettings:
    """Settings of an evaluation run.

    Attributes:
        protocol: "intra" (test subjects of the subject-wise split) or "cross" (all videos).
        split_fractions, split_seed: the subject split of the intra protocol (as in the training config).
        fps: uniform grid rate, samples per second.
        band_hz: HR band, Hz (0.75-2.5 Hz = rPPG-Toolbox benchmark convention).
        window_s: None = one HR per video; else one HR per non-overlapping window of this length, s.
        crop_size: face-crop side, pixels; None = the size the evaluated neural methods were trained on
            (methods.base.crop_size_for), 72 when they have none or disagree.
        cache_dir: per-video extraction cache (.npz); None = no cache.
    """

    protocol: Protocol = "cross"
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    split_seed: int = 0
    fps: float = 30.0
    band_hz: tuple[float, float] = (0.75, 2.5)
    window_s: float | None = None
    crop_size: int | None = None
    cache_dir: str | None = None

    def tracker_settings(self):
        """The face tracker's settings for extraction (crop_size None -> 72)."""
        from kdphys.face import TrackerSettings
        return TrackerSettings(crop_size=self.crop_size or 72)


@dataclass
class VideoSignals:
    """One video on the uniform grid. t_s (M,) s; trace (M, 3) float skin RGB (NaN = no face);
    face (M,) bool; crops (M, S, S, 3) uint8 (last face held where lost); bvp_ref (M,) reference BVP."""

    t_s: np.ndarray
    trace: np.ndarray
    face: np.ndarray
    crops: np.ndarray
    bvp_ref: np.ndarray


@dataclass
class VideoResult:
    """One row of per_video.csv (one video, or one window of it)."""

    dataset: str
    method: str
    subject_id: str
    video: str
    window: int
    hr_ref_bpm: float
    hr_est_bpm: float
    abs_error_bpm: float
    snr_db: float
    face_fraction: float


@dataclass
class MethodSummary:
    """One row of the table."""

    dataset: str
    method: str
    n: int
    mae_bpm: float
    rmse_bpm: float
    mape_pct: float
    pearson_r: float
    snr_db: float
    ba_bias_bpm: float
    ba_loa_low_bpm: float
    ba_loa_high_bpm: float


@dataclass
class EvalReport:
    rows: list[VideoResult]
    summaries: list[MethodSummary]
    markdown: str
    csv_path: Path | None
    plots: list[Path]


# ------------------------------------------------------------------------------------------------ extraction
def extract_video(record, settings: EvalSettings, tracker_factory: Callable | None = None) -> VideoSignals:
    """Decode ``record.video_path``, track the face, resample trace and crops to ``settings.fps``."""
    from kdphys.face import FaceTracker
    from kdphys.resample import UniformResampler

    tracker_settings = settings.tracker_settings()
    crop_size = tracker_settings.crop_size
    tracker = tracker_factory() if tracker_factory else FaceTracker(tracker_settings)
    trace_rs, crop_rs = UniformResampler(settings.fps), UniformResampler(settings.fps)
    t_s, trace, face, crops = [], [], [], []
    blank = np.zeros((crop_size, crop_size, 3), np.uint8)
    t_first = None
    try:
        for rgb, frame_t_s in record.frames:          # video file, PNG folder or .mat, (H, W, 3) uint8
            t_first = frame_t_s if t_first is None else t_first
            res = tracker.update(rgb)
            ok = res.state == "tracking" and res.skin_rgb is not None
            for s in trace_rs.push(frame_t_s, np.asarray(res.skin_rgb, np.float32) if ok else None):
                t_s.append(t_first + s.t_s)
                face.append(s.value is not None)
                trace.append(s.value if s.value is not None else np.full(3, np.nan, np.float32))
            for s in crop_rs.push(frame_t_s, res.crop if ok else None):
                crops.append(s.value if s.value is not None else (crops[-1] if crops else blank))
    finally:
        if hasattr(tracker, "close"):
            tracker.close()
    n = min(len(t_s), len(crops))
    if n < 2:
        raise KDPhysError(f"{record.video_path}: fewer than 2 frames decoded; the video cannot be evaluated.")
    t_grid = np.asarray(t_s[:n])
    if len(record.bvp) >= 2:
        bvp_ref = np.interp(t_grid, np.asarray(record.bvp_t_s, float), np.asarray(record.bvp, float))
    else:                                          # only a heart rate is known (see evaluate_video)
        bvp_ref = np.zeros(n)
    return VideoSignals(t_s=t_grid, trace=np.asarray(trace[:n], np.float64), face=np.asarray(face[:n]),
                        crops=np.stack(crops[:n]), bvp_ref=bvp_ref)


def cached_extract(record, settings: EvalSettings, tracker_factory=None) -> VideoSignals:
    """``extract_video`` with an .npz cache keyed by the video path, its size/mtime, fps and the face
    tracker's settings (crop size and crop pixels included)."""
    if settings.cache_dir is None:
        return extract_video(record, settings, tracker_factory)
    path = Path(record.video_path)
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{settings.fps}|{settings.tracker_settings()!r}"
                       .encode()).hexdigest()[:16]
    cache_path = Path(settings.cache_dir) / f"{path.stem}-{key}.npz"
    if cache_path.is_file():
        with np.load(cache_path) as z:
            return VideoSignals(**{k: z[k] for k in ("t_s", "trace", "face", "crops", "bvp_ref")})
    signals = extract_video(record, settings, tracker_factory)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_path, **asdict(signals))
    return signals


# ------------------------------------------------------------------------------------------------ methods
def resolve_method(spec: str | BVPMethod) -> tuple[str, BVPMethod]:
    """"pos" -> get_method("pos"); "student=PATH" / "teacher=PATH" -> NeuralMethod from a .pt or .onnx file;
    "label=student=PATH" names the row "label". Returns (row label, method)."""
    if isinstance(spec, BVPMethod):
        return spec.name, spec
    parts = spec.split("=")
    if len(parts) == 1:
        from kdphys.methods import get_method
        return spec, get_method(spec)
    from kdphys.methods.neural import NeuralMethod
    label, kind, weights = (parts[0], parts[0], parts[1]) if len(parts) == 2 else (parts[0], parts[1], "=".join(parts[2:]))
    if kind not in ("student", "teacher"):
        raise KDPhysError(f"Method {spec!r}: only student=PATH or teacher=PATH take weights; classical methods "
                          "are given by name (pos, chrom, green).")
    return label, NeuralMethod.from_file(weights, kind=kind)


def method_bvp(method: BVPMethod, signals: VideoSignals, fps: float) -> np.ndarray:
    """(M,) BVP of one video by one method (trace or crops as the method asks)."""
    from kdphys.engine import fill_gaps

    if not signals.face.any():
        return np.zeros(len(signals.t_s))
    x = fill_gaps(signals.trace) if method.input_kind == "trace" else signals.crops
    bvp = np.asarray(method.bvp(x, fps), np.float64)
    if len(bvp) != len(signals.t_s):
        raise KDPhysError(f"method {method.name} returned {len(bvp)} samples for {len(signals.t_s)} frames")
    return bvp


def windows(n: int, fps: float, window_s: float | None) -> list[slice]:
    """Whole video, or non-overlapping windows of window_s (a last partial window is kept if >= half)."""
    if window_s is None:
        return [slice(0, n)]
    size = int(round(window_s * fps))
    out = [slice(i, i + size) for i in range(0, n - size + 1, size)]
    rest = n - len(out) * size
    if rest >= size // 2 or not out:
        out.append(slice(n - min(size, n), n))
    return out


def evaluate_video(dataset: str, record, signals: VideoSignals, methods: dict[str, BVPMethod],
                   settings: EvalSettings) -> list[VideoResult]:
    fps, band = settings.fps, settings.band_hz
    rows = []
    for label, method in methods.items():
        bvp = method_bvp(method, signals, fps)
        for w, part in enumerate(windows(len(bvp), fps, settings.window_s)):
            if len(record.bvp) >= 2:
                ref_hr = sig.spectral_hr_bpm(signals.bvp_ref[part], fps, band)
            elif record.hr_bpm is not None and settings.window_s is None:
                ref_hr = float(record.hr_bpm)
            else:
                raise KDPhysError(f"{record.video_path}: no reference waveform, only a mean HR; evaluate it "
                                  "with window_s=None (one HR per video).")
            est_hr = sig.spectral_hr_bpm(bvp[part], fps, band)
            snr = float(sig.snr_db(sig.preprocess(bvp[part], fps, band), fps, ref_hr, band))
            rows.append(VideoResult(dataset=dataset, method=label, subject_id=str(record.subject_id),
                                    video=str(record.video_path), window=w, hr_ref_bpm=ref_hr, hr_est_bpm=est_hr,
                                    abs_error_bpm=abs(est_hr - ref_hr), snr_db=snr,
                                    face_fraction=float(signals.face[part].mean())))
    return rows


# ------------------------------------------------------------------------------------------------ report
def summarize(rows: list[VideoResult]) -> list[MethodSummary]:
    """One MethodSummary per (dataset, method), in first-seen order."""
    keys = list(dict.fromkeys((r.dataset, r.method) for r in rows))
    out = []
    for dataset, method in keys:
        sel = [r for r in rows if r.dataset == dataset and r.method == method]
        est = np.array([r.hr_est_bpm for r in sel])
        ref = np.array([r.hr_ref_bpm for r in sel])
        ba = metrics.bland_altman(est, ref)
        r_value = metrics.pearson(est, ref) if len(sel) > 2 and est.std() > 0 and ref.std() > 0 else float("nan")
        out.append(MethodSummary(dataset=dataset, method=method, n=len(sel), mae_bpm=metrics.mae(est, ref),
                                 rmse_bpm=metrics.rmse(est, ref), mape_pct=metrics.mape(est, ref),
                                 pearson_r=float(r_value), snr_db=float(np.mean([r.snr_db for r in sel])),
                                 ba_bias_bpm=ba.bias, ba_loa_low_bpm=ba.loa_low, ba_loa_high_bpm=ba.loa_high))
    return out


def markdown_table(summaries: list[MethodSummary], protocol: str = "") -> str:
    head = f"Protocol: {protocol}\n\n" if protocol else ""
    lines = ["| dataset | method | n | MAE (bpm) | RMSE (bpm) | MAPE (%) | r | SNR (dB) |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        r = "–" if not np.isfinite(s.pearson_r) else f"{s.pearson_r:.3f}"
        lines.append(f"| {s.dataset} | {s.method} | {s.n} | {s.mae_bpm:.2f} | {s.rmse_bpm:.2f} | {s.mape_pct:.2f} "
                     f"| {r} | {s.snr_db:.2f} |")
    return head + "\n".join(lines) + "\n"


def write_csv(rows: list[VideoResult], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(VideoResult.__dataclass_fields__))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(r).items()})
    return path


def bland_altman_plot(rows: list[VideoResult], path: Path, title: str) -> Path:
    """Bland-Altman PNG: mean of (est, ref) vs difference, bias and 95% limits of agreement."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    est = np.array([r.hr_est_bpm for r in rows])
    ref = np.array([r.hr_ref_bpm for r in rows])
    ba = metrics.bland_altman(est, ref)
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.scatter((est + ref) / 2, est - ref, s=14, alpha=0.7)
    for y, style, text in ((ba.bias, "-", f"bias {ba.bias:+.2f}"), (ba.loa_low, "--", f"-1.96 SD {ba.loa_low:+.2f}"),
                           (ba.loa_high, "--", f"+1.96 SD {ba.loa_high:+.2f}")):
        ax.axhline(y, color="k", linestyle=style, linewidth=1)
        ax.annotate(text, xy=(1.0, y), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8)
    ax.set_xlabel("mean of estimate and reference HR (bpm)")
    ax.set_ylabel("estimate - reference HR (bpm)")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def select_records(dataset, settings: EvalSettings) -> list:
    """The videos the protocol evaluates: the test subjects (intra) or all videos (cross)."""
    records = dataset.records()
    if settings.protocol == "intra":
        from kdphys.splits import subject_split
        records = subject_split(records, settings.split_fractions, settings.split_seed)[2]
    if not records:
        raise KDPhysError(f"No videos to evaluate in {getattr(dataset, 'name', dataset)} under the "
                          f"{settings.protocol} protocol; check the dataset root (or use --protocol cross).")
    return records


def evaluate(datasets: dict, methods: list, out_dir: str | Path | None = None,
             settings: EvalSettings | None = None, progress: bool = True, tracker_factory=None) -> EvalReport:
    """Evaluate ``methods`` (names, "kind=PATH" specs or BVPMethod objects) on ``datasets`` ({label: RppgDataset}).

    Writes ``per_video.csv``, ``results.md`` and ``bland_altman_<dataset>_<method>.png`` into ``out_dir``.
    """
    from tqdm import tqdm

    settings = settings or EvalSettings()
    resolved = dict(resolve_method(m) for m in methods)
    if settings.crop_size is None:
        from kdphys.methods.base import crop_size_for
        settings = replace(settings, crop_size=crop_size_for(resolved.values()))
    rows: list[VideoResult] = []
    for label, dataset in datasets.items():
        records = select_records(dataset, settings)
        for record in tqdm(records, desc=f"evaluating {label}", disable=not progress):
            signals = cached_extract(record, settings, tracker_factory)
            rows += evaluate_video(label, record, signals, resolved, settings)
    summaries = summarize(rows)
    markdown = markdown_table(summaries, settings.protocol)
    csv_path, plots = None, []
    if out_dir is not None:
        out_dir = Path(out_dir)
        csv_path = write_csv(rows, out_dir / "per_video.csv")
        (out_dir / "results.md").write_text(markdown)
        for s in summaries:
            sel = [r for r in rows if r.dataset == s.dataset and r.method == s.method]
            name = f"bland_altman_{_safe(s.dataset)}_{_safe(s.method)}.png"
            plots.append(bland_altman_plot(sel, out_dir / name, f"{s.method} on {s.dataset} (n={s.n})"))
    return EvalReport(rows=rows, summaries=summaries, markdown=markdown, csv_path=csv_path, plots=plots)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
