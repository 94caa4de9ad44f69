"""The real clips the team tunes and checks on, with their oximeter references, and what the app makes of them.

    from kdphys.data.dev_clips import dev_clips, clip_signals
    for clip in dev_clips():                     # UBFC-rPPG dev subjects (when present) + the sample clip
        sig = clip_signals(clip, "pos")          # the app's engine on the video, cached in .cache/
        ref_hr = clip.reference.hr_in_windows(sig.t_s, windows)
        score = score_clip(clip, sig)            # the app's windows against the oximeter over the same spans

The UBFC-rPPG subjects live outside the repository (``kdphys.paths.UBFC_DEV_DIR``, research terms: never
committed or shipped); a clone without them has only the sample clip. The cache (``.cache/dev-signals``,
git-ignored) holds per-sample floats made from the videos; its key covers the video file, the method and
its weights, and the source of the extraction code, so a change to any of them recomputes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kdphys import paths
from kdphys.data.reference import Reference, sample_clip_reference

if TYPE_CHECKING:
    from kdphys.signal.readings import Readings

#: Packages of kdphys whose code decides what the engine extracts from a video (their sources are part of
#: the cache key).
_EXTRACTION_PACKAGES = ("io", "face", "pipeline", "methods")


@dataclass(frozen=True)
class DevClip:
    """A real clip with a contact reference: name ("subject10", "sample"), video path, subject id, reference."""

    name: str
    video: Path
    subject: str
    reference: Reference


@dataclass
class ClipSignals:
    """What the app's engine made of a clip: t_s (n,) grid times, s from the first frame; trace (n, 3) mean
    skin R, G, B (NaN without a face); face (n,) bool; raw_bvp (n,) the method's BVP; fps (Hz)."""

    t_s: np.ndarray
    trace: np.ndarray
    face: np.ndarray
    raw_bvp: np.ndarray
    fps: float

    @classmethod
    def from_snapshot(cls, snap) -> ClipSignals:
        """The signals of an engine's ``snapshot()`` (kdphys.pipeline.engine.Snapshot), as float64."""
        return cls(t_s=snap.t_s, trace=snap.trace.astype(np.float64), face=snap.face_present,
                   raw_bvp=np.asarray(snap.raw_bvp, np.float64), fps=snap.fps)


def ubfc_dev_clips(root: Path | None = None) -> list[DevClip]:
    """The UBFC-rPPG dev subjects under ``root`` (default ``paths.UBFC_DEV_DIR``); [] when it is absent."""
    root = Path(root or paths.UBFC_DEV_DIR)
    if not root.is_dir():
        return []
    from kdphys.data.ubfc_rppg import UBFCrPPG

    clips = []
    for rec in UBFCrPPG(root).records():
        ref = Reference(t_s=np.asarray(rec.bvp_t_s, float), values=np.asarray(rec.bvp, float), kind="waveform")
        clips.append(DevClip(name=str(rec.subject_id), video=Path(rec.video_path), subject=str(rec.subject_id),
                             reference=ref))
    return clips


def sample_clip() -> DevClip:
    """The shipped sample clip (PhysRecorder, MIT) with its finger-oximeter waveform."""
    return DevClip(name="sample", video=paths.SAMPLE_VIDEO, subject="physrecorder-v01",
                   reference=sample_clip_reference())


def dev_clips(include_sample: bool = True) -> list[DevClip]:
    """The UBFC-rPPG dev subjects found (sorted by subject) and, with ``include_sample``, the sample clip."""
    return ubfc_dev_clips() + ([sample_clip()] if include_sample else [])


def _source_digest() -> str:
    """SHA-1 over the sources of _EXTRACTION_PACKAGES (path and content of every .py file)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha1()
    for package in _EXTRACTION_PACKAGES:
        files = sorted((root / package).rglob("*.py"))
        if not files:
            raise FileNotFoundError(f"kdphys/{package} has no sources: the dev-clip cache key would not cover it.")
        for path in files:
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _method_digest(method) -> str:
    """The method's name and, for neural methods, its weights (file content, or the tensors)."""
    h = hashlib.sha1(method.name.encode())
    source = getattr(method, "source_path", None)
    if source is not None and Path(source).is_file():
        h.update(Path(source).read_bytes())
    elif getattr(method, "model", None) is not None:
        for tensor in method.model.state_dict().values():
            h.update(tensor.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def clip_signals(clip: DevClip, method="pos", cache_dir: Path | None = None, refresh: bool = False) -> ClipSignals:
    """The app's upload path (``analysis.analyze_video``) on a clip, cached.

    Args:
        clip: DevClip. method: a method name or a BVPMethod. cache_dir: where the .npz files go (default
            ``paths.CACHE_DIR / "dev-signals"``; None keeps the default). refresh: recompute even if cached.
    """
    from kdphys.pipeline.upload import analyze_video, upload_landmarkers
    from kdphys.pipeline.engine import Engine, EngineSettings
    from kdphys.methods import get_method

    method = get_method(method) if isinstance(method, str) else method
    cache_dir = Path(cache_dir or paths.CACHE_DIR / "dev-signals")
    stat = clip.video.stat()
    key = hashlib.sha1(f"{clip.video.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{_method_digest(method)}|"
                       f"{_source_digest()}".encode()).hexdigest()[:16]
    path = cache_dir / f"{clip.name}-{method.name}-{key}.npz"
    if path.is_file() and not refresh:
        with np.load(path) as z:
            return ClipSignals(t_s=z["t_s"], trace=z["trace"], face=z["face"], raw_bvp=z["raw_bvp"],
                               fps=float(z["fps"]))
    engine = Engine(EngineSettings(method=method.name), method=method, keep_all=True, landmarkers=upload_landmarkers())
    signals = ClipSignals.from_snapshot(analyze_video(clip.video, engine=engine).snapshot)
    engine.tracker.close()
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, t_s=signals.t_s, trace=signals.trace, face=signals.face, raw_bvp=signals.raw_bvp,
             fps=signals.fps)
    return signals


@dataclass
class ClipScore:
    """The app's reading of a clip against its reference.

    readings: ``kdphys.signal.readings.Readings`` of the whole clip (10 s windows, gate). ref_hr: (n_windows,)
    the reference's heart rate in each window, bpm (nan where it has none). reference_read_bpm: the reference's
    median over the windows read, bpm, and headline_error: the headline's heart rate minus it (both None
    without a reading). ungated_error:
    the median of every window's tracked heart rate minus the reference's median, bpm (the gate ignored).
    wrong_windows: windows read more than 5 bpm from the reference.
    """

    readings: Readings
    ref_hr: np.ndarray
    reference_read_bpm: float | None
    headline_error: float | None
    ungated_error: float
    wrong_windows: int


def score_clip(clip: DevClip, signals: ClipSignals, wrong_bpm: float = 5.0) -> ClipScore:
    """Read ``signals`` as an upload is read (``read_signal``) and compare each window with ``clip.reference``."""
    from kdphys.signal.readings import read_signal

    s = signals
    r = read_signal(s.raw_bvp, s.fps, s.face, raw_trace=s.trace)
    slices = [slice(int(round(w.start_s * s.fps)), int(round(w.end_s * s.fps))) for w in r.windows]
    ref = clip.reference.hr_in_windows(s.t_s, slices)
    tracked = np.array([w.candidate_hr_bpm for w in r.windows])
    ok = np.isfinite(tracked) & np.isfinite(ref)
    ungated = float(np.median(tracked[ok]) - np.median(ref[ok])) if ok.any() else float("nan")
    read = r.accepted & np.isfinite(ref)
    reference = headline = None
    if r.summary.hr_bpm is not None and read.any():
        reference = float(np.median(ref[read]))
        headline = r.summary.hr_bpm - reference
    shown = np.array([w.reading.hr_bpm if w.accepted else np.nan for w in r.windows], dtype=float)
    wrong = int(np.sum(np.abs(shown[read] - ref[read]) > wrong_bpm))
    return ClipScore(readings=r, ref_hr=ref, reference_read_bpm=reference, headline_error=headline,
                     ungated_error=ungated, wrong_windows=wrong)
