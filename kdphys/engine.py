"""Streaming heart-rate engine shared by the live page, the upload page and the CLI.

One object takes frames with their true timestamps and keeps everything needed to report a heart rate:

    engine = Engine(EngineSettings(method="pos"))
    for frame in iter_frames("face.mp4"):
        engine.push(frame.rgb, frame.t_s)      # face tracking, resampling to a uniform grid, model
    print(engine.reading().describe())         # HR over the last window_s, or "no reading: <reason>"

The upload page and ``analyze_video`` feed the same engine as fast as frames decode (``keep_all=True``
keeps the whole waveform); the live page feeds it from the webcam and reads it about once a second.

Pipeline per frame: FaceTracker (ROI + skin mask + crop) -> UniformResampler (true timestamps onto a grid
at ``fps``) -> per-sample buffers (skin RGB trace, face flag, crops or a crop method's segmented BVP) ->
on demand: method BVP -> signal.preprocess (detrend + band-pass) -> quality.assess -> HrReading.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator
from typing import Callable, TypeVar

import numpy as np

from kdphys import signal as sig
from kdphys.errors import KDPhysError
from kdphys.face import FaceLandmarkDetector, FaceTracker, TrackerSettings, TrackResult
from kdphys.lookahead import LookaheadDetector
from kdphys.methods import get_method
from kdphys.methods.base import BVPMethod, crop_size_for
from kdphys.quality import BEAT_SPACING_OF_PERIOD, HrReading, QualitySettings, assess
from kdphys.resample import UniformResampler
from kdphys.stitch import SegmentedRunner

T = TypeVar("T")


class AnalysisCancelled(KDPhysError):
    """The user stopped an analysis before it finished."""


@dataclass
class EngineSettings:
    """Settings of the engine.

    Attributes:
        method: name for kdphys.methods.get_method ("pos", "chrom", "green", "student", "teacher").
        band_hz: pass band of the heart-rate filter, Hz (0.7-3.5 Hz = 42-210 bpm).
        fps: rate of the uniform grid that frames are resampled onto, samples per second.
        window_s: length of the live heart-rate window, seconds.
        history_s: live only: how much of the trace and waveform is kept, seconds.
        crop_size: side of the square face crop, pixels, for methods without a crop size of their own
            (neural methods get crops at the size they were trained on: methods.base.crop_size_for).
            36 = the shipped models' input, so that the attention panel's keyframes match it for POS too.
        detect_every: run the face landmarker on every n-th frame (tracking in between).
        quality: thresholds of the quality gate.
    """

    method: str = "pos"
    band_hz: tuple[float, float] = (0.7, 3.5)
    fps: float = 30.0
    window_s: float = 10.0
    history_s: float = 60.0
    crop_size: int = 36
    detect_every: int | None = None
    quality: QualitySettings = field(default_factory=QualitySettings)


class StageTimer:
    """Accumulates wall time per pipeline stage (seconds) and counts calls."""

    def __init__(self):
        self.total_s: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.total_s[stage] = self.total_s.get(stage, 0.0) + seconds
        self.calls[stage] = self.calls.get(stage, 0) + 1

    def ms_per_call(self) -> dict[str, float]:
        return {k: 1000.0 * v / max(self.calls[k], 1) for k, v in self.total_s.items()}


class Engine:
    """Face tracking + resampling + method + quality gate, one frame at a time. Thread-safe.

    Args:
        settings: EngineSettings.
        tracker: a FaceTracker (built from settings when None).
        method: a BVPMethod (built with get_method(settings.method) when None).
        keep_all: keep every sample (upload analysis) instead of the last ``history_s`` (live).
        landmarkers: face landmarkers for the tracker built here (ignored with ``tracker``). With more
            than one they work ahead of the tracker on worker threads (``kdphys.lookahead``): frames must
            then come through ``frames_ahead`` to gain from it (uploads). Same results either way.
    """

    def __init__(self, settings: EngineSettings | None = None, tracker: FaceTracker | None = None,
                 method: BVPMethod | None = None, keep_all: bool = False, landmarkers: int = 1):
        self.settings = settings or EngineSettings()
        self.method = method or get_method(self.settings.method)
        if landmarkers < 1:
            raise ValueError(f"landmarkers must be >= 1, got {landmarkers}.")
        if tracker is None:
            crop_size = crop_size_for([self.method], self.settings.crop_size)
            tracker_settings = TrackerSettings(crop_size=crop_size)
            if self.settings.detect_every is not None:
                tracker_settings.detect_every = self.settings.detect_every
            detector = None
            if landmarkers > 1:
                detector = LookaheadDetector([FaceLandmarkDetector() for _ in range(landmarkers)],
                                             tracker_settings)
            tracker = FaceTracker(tracker_settings, detector=detector, owns_detector=True)
        self.tracker = tracker
        tracker_settings = getattr(tracker, "settings", None)
        self.crop_size = int(getattr(tracker_settings, "crop_size", self.settings.crop_size))   # crops' side, px
        self.keep_all = keep_all
        self.timer = StageTimer()
        self._lock = threading.Lock()
        self.reset()

    # ----------------------------------------------------------------------------------- input
    def reset(self) -> None:
        """Forget all frames (face lost for good, new stream, method switch)."""
        fps = self.settings.fps
        maxlen = None if self.keep_all else int(round(self.settings.history_s * fps))
        self._trace_resampler = UniformResampler(fps)
        self._crop_resampler = UniformResampler(fps)
        self._t_s: deque[float] = deque(maxlen=maxlen)
        self._trace: deque[np.ndarray] = deque(maxlen=maxlen)       # (3,) float32, NaN when no face
        self._face: deque[bool] = deque(maxlen=maxlen)
        self._crops: deque[np.ndarray] = deque(maxlen=int(round(self.settings.window_s * fps)))
        self._segments = self._segment_runner(maxlen)
        self._last_crop: np.ndarray | None = None
        self.last_track: TrackResult | None = None
        self.frames_in = 0
        self.max_faces = 0
        self.keyframes: list[tuple[float, np.ndarray]] = []
        self._first_t_s: float | None = None    # time of the first frame pushed, s (the grid's origin)

    def _segment_runner(self, max_samples: int | None) -> SegmentedRunner | None:
        """Crop methods that name their own segments (``engine_segment``: (frames, overlap frames), the
        student) run in those, live and on uploads; other crop methods run in 20 s segments on uploads and
        on the crops of the live window otherwise."""
        if self.method.input_kind != "crops":
            return None
        fps = self.settings.fps
        segment = getattr(self.method, "engine_segment", None)
        if segment is not None:
            frames, overlap = segment
            return SegmentedRunner(self.method, fps, segment_s=frames / fps, overlap_s=overlap / fps,
                                   max_samples=max_samples)
        return SegmentedRunner(self.method, fps) if self.keep_all else None

    def frames_ahead(self, frames: Iterable[T]) -> Iterator[T]:
        """``frames`` (objects with an ``rgb`` array, e.g. ``kdphys.video.Frame``) in order, for ``push``;
        when the tracker's landmarkers work ahead (``landmarkers`` > 1), they start on the coming frames
        as these are read, and the frames come out a few frames late."""
        detector = getattr(self.tracker, "detector", None)
        if isinstance(detector, LookaheadDetector):
            return detector.feed(frames)
        return iter(frames)

    def push(self, rgb: np.ndarray, t_s: float) -> TrackResult:
        """Process one frame.

        Args:
            rgb: (H, W, 3) uint8 RGB frame.
            t_s: its presentation time in seconds (monotonic; any origin).
        Returns:
            the tracker's result for this frame (ROI box, state) for drawing. Its crop is None (to save
            the time) when the method takes no crops and no keyframe is due.
        """
        t0 = time.perf_counter()
        if self._first_t_s is None:
            self._first_t_s = float(t_s)
        track = self.tracker.update(rgb, crop=self._needs_crop(t_s))
        self.timer.add("face", time.perf_counter() - t0)
        with self._lock:
            self.frames_in += 1
            self.max_faces = max(self.max_faces, track.n_faces)
            self.last_track = track
            face = track.state == "tracking" and track.skin_rgb is not None
            trace = np.asarray(track.skin_rgb, np.float32) if face else None
            for sample in self._trace_resampler.push(t_s, trace):
                self._append_trace(sample.t_s, sample.value)
            if face and track.crop is not None and self._t_s:
                self._keep_keyframe(self._t_s[-1], track.crop)   # for attention displays, any method
            if self.method.input_kind == "crops":
                crop = track.crop if face else None
                for sample in self._crop_resampler.push(t_s, crop):
                    self._append_crop(sample.t_s, sample.value)
        return track

    def _needs_crop(self, t_s: float) -> bool:
        """Whether the frame at ``t_s`` needs a face crop: always for crop methods, else when a keyframe may
        be kept (grid times, counted from the first frame, never pass the frame's time, so this is true
        whenever ``_keep_keyframe`` would keep one)."""
        if self.method.input_kind == "crops" or not self.keyframes or self._first_t_s is None:
            return True
        return (t_s - self._first_t_s) - self.keyframes[-1][0] >= 1.0 - 1e-6

    def _append_trace(self, t_s: float, value: np.ndarray | None) -> None:
        self._t_s.append(t_s)
        self._face.append(value is not None)
        self._trace.append(value if value is not None else np.full(3, np.nan, np.float32))

    def _append_crop(self, t_s: float, crop: np.ndarray | None) -> None:
        if crop is None:
            crop = self._last_crop  # hold the last face; the face flag marks the sample as missing
        if crop is None:
            crop = np.zeros((self.crop_size,) * 2 + (3,), np.uint8)
        self._last_crop = crop
        t0 = time.perf_counter()
        if self._segments is not None:
            self._segments.push(crop)
        else:
            self._crops.append(crop)
        self.timer.add("model", time.perf_counter() - t0)

    def _keep_keyframe(self, t_s: float, crop: np.ndarray, max_keyframes: int = 120) -> None:
        """Keep about one crop per second (at most ``max_keyframes``) for attention displays."""
        if self.keyframes and t_s - self.keyframes[-1][0] < 1.0:
            return
        if len(self.keyframes) >= max_keyframes:
            self.keyframes = self.keyframes[::2]
        self.keyframes.append((t_s, crop))

    # ---------------------------------------------------------------------------------- output
    @property
    def duration_s(self) -> float:
        """Seconds of signal on the grid."""
        return len(self._t_s) / self.settings.fps

    def _window(self, n: int | None):
        """Last n samples (all when None) of time, trace (n,3), face flags and BVP from the method."""
        t0 = time.perf_counter()
        with self._lock:
            t_s = np.fromiter(self._t_s, float)
            trace = np.array(self._trace, dtype=np.float32).reshape(-1, 3)
            face = np.fromiter(self._face, bool)
            crops = list(self._crops)
            # the runner is not thread-safe (live: frames arrive on another thread); its open tail is at
            # most one segment (128 frames for the student, ~10 ms)
            segments = self._segments.result() if self._segments is not None and face.any() else None
        if n is not None:
            t_s, trace, face = t_s[-n:], trace[-n:], face[-n:]
            crops = crops[-n:]
        bvp = self._method_bvp(trace, face, crops, segments)
        self.timer.add("model_window", time.perf_counter() - t0)
        return t_s, trace, face, bvp

    def _method_bvp(self, trace, face, crops, segments) -> np.ndarray:
        fps = self.settings.fps
        if len(trace) < 2 or not face.any():
            return np.zeros(len(trace))
        if self.method.input_kind == "trace":
            return self.method.bvp(fill_gaps(trace), fps)
        if segments is not None:
            bvp = segments
        else:
            bvp = self.method.bvp(np.stack(crops), fps) if crops else np.zeros(0)
        return _match_length(bvp, len(trace))

    def reading(self, window_s: float | None = None) -> HrReading:
        """Heart rate over the last ``window_s`` (settings.window_s by default; 0 = everything)."""
        window_s = self.settings.window_s if window_s is None else window_s
        n = None if window_s == 0 else int(round(window_s * self.settings.fps))
        _, trace, face, bvp = self._window(n)
        if n is not None:
            trace, face, bvp = self._since_face_returned(trace, face, bvp)
        return self._assess(trace, face, bvp)

    def _since_face_returned(self, trace, face, bvp):
        """Live window after a face loss: once the face has been back for ``quality.min_duration_s``, read
        only the samples since it returned (like the first warm-up) instead of waiting until the lost
        samples leave the window (8 s of a 10 s window at a face-fraction gate of 0.8).

        trace (n, 3), face (n,) bool, bvp (n,) -> the same, cut to the trailing face run when it applies.
        """
        quality = self.settings.quality
        if len(face) == 0 or face.all() or face.mean() >= quality.min_face_fraction:
            return trace, face, bvp
        start = int(np.flatnonzero(~face)[-1]) + 1
        if (len(face) - start) / self.settings.fps < quality.min_duration_s:
            return trace, face, bvp
        return trace[start:], face[start:], bvp[start:]

    def _assess(self, trace, face, bvp) -> HrReading:
        t0 = time.perf_counter()
        fps, band = self.settings.fps, self.settings.band_hz
        face_fraction = float(face.mean()) if len(face) else 0.0
        reading = assess(bvp, fps, face_fraction, self.settings.quality, band_hz=band,
                         raw_trace=fill_gaps(trace) if face.any() else None)
        self.timer.add("signal", time.perf_counter() - t0)
        return reading

    def waveform(self, window_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(t_s (n,), band-passed BVP (n,)) of the last window, for the live plot."""
        window_s = self.settings.window_s if window_s is None else window_s
        n = None if window_s == 0 else int(round(window_s * self.settings.fps))
        t_s, _, _, bvp = self._window(n)
        if len(bvp) < 2:
            return t_s, np.zeros(len(t_s))
        return t_s, sig.preprocess(bvp, self.settings.fps, self.settings.band_hz)

    def snapshot(self) -> "Snapshot":
        """Everything recorded so far, post-processed: waveform, reading, trend, beats, spectrum."""
        t_s, trace, face, bvp = self._window(None)
        fps, band = self.settings.fps, self.settings.band_hz
        reading = self._assess(trace, face, bvp)
        filtered = sig.preprocess(bvp, fps, band) if len(bvp) >= 2 else np.zeros(len(bvp))
        spectrum = beats = None
        trend_t = trend_hr = np.zeros(0)
        if len(filtered) >= int(2 * fps) and face.any():
            estimate = sig.hr_from_spectrum(filtered, fps, band)
            spectrum = estimate.spectrum
            beats = sig.hr_from_peaks(filtered, fps, band,
                                      min_interval_s=BEAT_SPACING_OF_PERIOD * 60.0 / estimate.hr_bpm)
            trend_t, trend_hr = sig.hr_trend(filtered, fps, window_s=self.settings.window_s, band_hz=band)
        return Snapshot(t_s=t_s, bvp=filtered, trace=trace, face_present=face, reading=reading,
                        spectrum=spectrum, beats=beats, trend_t_s=trend_t, trend_hr_bpm=trend_hr,
                        fps=fps, method=self.method.name)


@dataclass
class Snapshot:
    """All results of an engine at one moment.

    Attributes:
        t_s: (n,) grid times, seconds from the first frame.
        bvp: (n,) detrended, band-passed BVP (arbitrary units).
        trace: (n, 3) mean skin RGB per sample, NaN where the face was lost.
        face_present: (n,) bool.
        reading: the HR reading over the whole recording (or "no reading: <reason>").
        spectrum: power spectrum used for the HR (None when too short).
        beats: beat detection (peak indices into bvp, IBIs in s, HR in bpm), None when too short.
        trend_t_s, trend_hr_bpm: sliding-window HR (window = settings.window_s).
        fps: grid rate, samples per second.
        method: method name.
    """

    t_s: np.ndarray
    bvp: np.ndarray
    trace: np.ndarray
    face_present: np.ndarray
    reading: HrReading
    spectrum: sig.Spectrum | None
    beats: sig.BeatEstimate | None
    trend_t_s: np.ndarray
    trend_hr_bpm: np.ndarray
    fps: float
    method: str


def fill_gaps(trace: np.ndarray) -> np.ndarray:
    """Linearly interpolate NaN rows of a (n, 3) trace; leading/trailing NaNs take the nearest value.

    Returns the trace unchanged when it has no valid row.
    """
    trace = np.asarray(trace, dtype=np.float64)
    valid = ~np.isnan(trace).any(axis=1)
    if valid.all() or not valid.any():
        return trace
    idx = np.arange(len(trace))
    return np.stack([np.interp(idx, idx[valid], trace[valid, c]) for c in range(trace.shape[1])], axis=1)


def _match_length(bvp: np.ndarray, n: int) -> np.ndarray:
    """Pad (edge) or cut a BVP to n samples; the segmented BVP and the trace can differ by a sample."""
    bvp = np.asarray(bvp, dtype=np.float64)
    if len(bvp) >= n:
        return bvp[len(bvp) - n:]
    if len(bvp) == 0:
        return np.zeros(n)
    return np.concatenate([np.full(n - len(bvp), bvp[0]), bvp])


ProgressFn = Callable[[float, str], None]
