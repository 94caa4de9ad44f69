"""One extraction for evaluation and training: a recording's frames through the app's engine.

    signals = cached_extract(record, ExtractSettings(crop_size=36, cache_dir=".cache/extract"))
    signals.crops        # (M, 36, 36, 3) uint8 skin crops on the 30 Hz grid, as the app cuts them
    signals.trace        # (M, 3) mean skin R, G, B (NaN where no face), as the classical methods read it
    signals.bvp_ref      # (M,) the reference waveform at the grid times

The frames go through ``Engine(record_crops=True)``: the same face tracker, skin mask, crops and resampling
of true timestamps onto the grid (linear interpolation) as uploads and live, so a model is trained and
evaluated on exactly what the app will give it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from kdphys.errors import KDPhysError, NotPrepared


@dataclass(frozen=True)
class ExtractSettings:
    """fps: grid rate, samples/s. crop_size: crop side, pixels. skin_region: kdphys.face.SKIN_REGIONS name
    (None: the default). cache_dir: folder of the .npz cache (None: no cache)."""

    fps: float = 30.0
    crop_size: int = 72
    skin_region: str | None = None
    cache_dir: str | None = None

    def tracker_settings(self):
        from kdphys.face import DEFAULT_SKIN_REGION, TrackerSettings
        return TrackerSettings(crop_size=self.crop_size, skin_region=self.skin_region or DEFAULT_SKIN_REGION)


@dataclass
class VideoSignals:
    """One video on the uniform grid. t_s (M,) s; trace (M, 3) float skin RGB (NaN = no face);
    face (M,) bool; crops (M, S, S, 3) uint8 (last face held where lost); bvp_ref (M,) reference BVP."""

    t_s: np.ndarray
    trace: np.ndarray
    face: np.ndarray
    crops: np.ndarray
    bvp_ref: np.ndarray


def extract_video(record, settings: ExtractSettings, tracker_factory: Callable | None = None) -> VideoSignals:
    """Decode ``record.frames`` through the app's engine and put the reference BVP on the same grid.

    Args:
        record: a kdphys.data VideoRecord (frames, bvp, bvp_t_s). settings: ExtractSettings.
        tracker_factory: builds the face tracker (tests); default FaceTracker(settings.tracker_settings()).
    """
    from kdphys.pipeline.engine import Engine, EngineSettings
    from kdphys.face import FaceTracker

    tracker = tracker_factory() if tracker_factory else FaceTracker(settings.tracker_settings())
    engine = Engine(EngineSettings(method="pos", fps=settings.fps), tracker=tracker, record_crops=True)
    t_first = None
    try:
        for rgb, frame_t_s in record.frames:          # video file, PNG folder or .mat, (H, W, 3) uint8
            t_first = frame_t_s if t_first is None else t_first
            engine.push(rgb, frame_t_s)
    finally:
        if hasattr(tracker, "close"):
            tracker.close()
    rec = engine.recorded()
    n = len(rec.t_s)
    if n < 2:
        raise KDPhysError(f"{record.video_path}: fewer than 2 frames decoded; the video cannot be used.")
    t_grid = rec.t_s + (t_first or 0.0)
    if len(record.bvp) >= 2:
        bvp_ref = np.interp(t_grid, np.asarray(record.bvp_t_s, float), np.asarray(record.bvp, float))
    else:                                          # only a heart rate is known
        bvp_ref = np.zeros(n)
    return VideoSignals(t_s=t_grid, trace=rec.trace, face=rec.face, crops=rec.crops, bvp_ref=bvp_ref)


def cached_extract(record, settings: ExtractSettings, tracker_factory=None, extract: bool = True) -> VideoSignals:
    """``extract_video`` with an .npz cache keyed by the video path, its size/mtime, fps and the face
    tracker's settings (crop size, crop pixels and skin region included). ``extract=False``: only read the
    cache (NotPrepared when the recording is not in it)."""
    if settings.cache_dir is None:
        return extract_video(record, settings, tracker_factory)
    path = Path(record.video_path)
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{settings.fps}|"
                       f"{settings.tracker_settings()!r}".encode()).hexdigest()[:16]
    cache_path = Path(settings.cache_dir) / f"{path.stem}-{key}.npz"
    if cache_path.is_file():
        with np.load(cache_path) as z:
            return VideoSignals(**{k: z[k] for k in ("t_s", "trace", "face", "crops", "bvp_ref")})
    if not extract:
        raise NotPrepared(f"{record.video_path} is not in the extraction cache {settings.cache_dir}.")
    signals = extract_video(record, settings, tracker_factory)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_path.with_suffix(".tmp.npz")
    np.savez(tmp, **asdict(signals))
    tmp.replace(cache_path)
    return signals
