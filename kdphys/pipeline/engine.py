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
on demand: method BVP -> kdphys.signal.readings.read_signal (pre-processing, windows tracked together by
kdphys.signal.hr_track, each through the quality gate) -> HrReading per window and a summary of them.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from collections.abc import Iterable, Iterator
from typing import Callable, TypeVar

import numpy as np

from kdphys import signal as sig
from kdphys.errors import KDPhysError
from kdphys.face import FaceLandmarkDetector, FaceTracker, TrackerSettings, TrackResult, crop_square
from kdphys.face.lookahead import LookaheadDetector
from kdphys.methods import get_method
from kdphys.signal.hr_track import TrackSettings
from kdphys.methods.base import BVPMethod, crop_size_for, skin_region_for
from kdphys.signal.quality import HrReading, QualitySettings
from kdphys.signal.readings import Readings, WindowReading, read_signal
from kdphys.pipeline.resample import UniformResampler
from kdphys.methods.segments import SegmentedRunner

T = TypeVar("T")


class AnalysisCancelled(KDPhysError):
    """The user stopped an analysis before it finished."""


#: Keyframes of uploads keep a picture of the video around the face: a square of this side, pixels ...
KEYFRAME_VIEW_PX = 256
#: ... covering this many times the crop box's side (the head with some of its surroundings).
KEYFRAME_VIEW_ZOOM = 2.0
#: At most this many keyframes are kept (every other one is dropped when full): 120 views of 256x256 are
#: 24 MB, whatever the video's length.
MAX_KEYFRAMES = 120


@dataclass(frozen=True)
class Keyframe:
    """About one face picture per second of a recording, for attention displays.

    Attributes:
        t_s: grid time, s from the first frame.
        crop: (S, S, 3) uint8 RGB, the crop the models see (black off the skin).
        view: (V, V, 3) uint8 RGB, the video frame around the face (KEYFRAME_VIEW_PX square covering
            KEYFRAME_VIEW_ZOOM x the crop box), or None (live engines keep none).
        box_xyxy: (4,) float, the crop box in ``view`` pixels (x0, y0, x1, y1), or None without a view.

    Unpacks and indexes as the (t_s, crop) pair that a keyframe was before: ``t_s, crop = keyframe``.
    """

    t_s: float
    crop: np.ndarray
    view: np.ndarray | None = None
    box_xyxy: np.ndarray | None = None

    def __iter__(self):
        return iter((self.t_s, self.crop))

    def __getitem__(self, index: int):
        return (self.t_s, self.crop)[index]


def keyframe_view(rgb, box_xyxy: np.ndarray, side_px: int = KEYFRAME_VIEW_PX,
                  zoom: float = KEYFRAME_VIEW_ZOOM) -> tuple[np.ndarray, np.ndarray]:
    """The frame around a crop box: (view (side_px, side_px, 3) uint8 RGB, the box in view pixels (4,)).

    Args:
        rgb: (H, W, 3) uint8 RGB frame (or a kdphys.io.lazy_rgb.LazyRgb); edges are replicated outside it.
        box_xyxy: (4,) the square crop box x0, y0, x1, y1 in frame pixels.
    """
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    cx, cy, half = (x0 + x1) / 2.0, (y0 + y1) / 2.0, zoom * max(x1 - x0, y1 - y0) / 2.0
    view = crop_square(rgb, np.array([cx - half, cy - half, cx + half, cy + half]), side_px)
    inner = side_px / (2.0 * zoom)
    c = side_px / 2.0
    return view, np.array([c - inner, c - inner, c + inner, c + inner], dtype=np.float32)


@dataclass
class EngineSettings:
    """Settings of the engine.

    Attributes:
        method: name for kdphys.methods.get_method ("pos", "chrom", "green", "student", "teacher").
        band_hz: pre-processing band, Hz (signal.DEFAULT_BAND_HZ: 0.5-4 Hz; heart rates 40-200 bpm).
        fps: rate of the uniform grid that frames are resampled onto, samples per second.
        track: windows and heart-rate tracker (kdphys.signal.hr_track.TrackSettings: 10 s windows, 1 s apart).
        live_track_s: live only: the windows of this many seconds are tracked together (the track's memory
            of where the heart rate was), seconds.
        live_lag_s: live only: the reading shown is that of the window that ended this long ago, s (fixed-lag
            smoothing: the seconds after a window confirm or refute its heart rate; the newest window has
            only its past to go by).
        live_min_confidence: live only: the tracker confidence (0..1) a window needs, in place of
            ``quality.min_confidence``: with ``live_lag_s`` of future instead of the whole recording its
            posterior is broader, so the same pulse scores lower than in an upload
            (``benchmarks/calibrate_gate.py --live`` chose it; docs/DESIGN.md "Readings").
        window_s: length of the live waveform shown, seconds.
        history_s: live only: how much of the trace and waveform is kept, seconds.
        crop_size: side of the square face crop, pixels, for methods without a crop size of their own
            (neural methods get crops at the size they were trained on: methods.base.crop_size_for).
            36 = the shipped models' input, so that the attention panel's keyframes match it for POS too.
        detect_every: run the face landmarker on every n-th frame (tracking in between).
        quality: thresholds of the quality gate.
        fallback: a method on the skin colour that reads where ``method`` gives no reading. Uploads (e.g.
            "pbv-pos-or-green", methods.registry.UPLOAD_FALLBACK): the whole recording; the snapshot then
            carries its signal and names it in ``signal_source``. Live (e.g. "pos", LIVE_FALLBACK): the live
            window, when the method's own is not clear enough (``live_reading`` names the source). None: no
            second try.
    """

    method: str = "pos"
    band_hz: tuple[float, float] = sig.DEFAULT_BAND_HZ
    fps: float = 30.0
    track: TrackSettings = field(default_factory=TrackSettings)
    live_track_s: float = 30.0
    live_lag_s: float = 3.0
    live_min_confidence: float = 0.8
    window_s: float = 10.0
    history_s: float = 60.0
    crop_size: int = 36
    detect_every: int | None = None
    quality: QualitySettings = field(default_factory=QualitySettings)
    fallback: str | None = None

    @property
    def reading_track(self) -> TrackSettings:
        """``track`` with windows as short as the gate's shortest readable signal (``quality.min_duration_s``)."""
        return replace(self.track, min_window_s=min(self.quality.min_duration_s, self.track.window_s))


def shown_live_window(readings: Readings, settings: EngineSettings) -> WindowReading | None:
    """The window the live page shows: the one that ended ``settings.live_lag_s`` before the newest (the first
    while there are fewer); None without windows."""
    if not readings.windows:
        return None
    lag = int(round(settings.live_lag_s / settings.track.hop_s))
    return readings.windows[max(len(readings.windows) - 1 - lag, 0)]


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
        record_crops: keep every face crop too, whatever the method (extraction for evaluation and
            training: ``recorded()``); implies ``keep_all``.
        landmarkers: face landmarkers for the tracker built here (ignored with ``tracker``). With more
            than one they work ahead of the tracker on worker threads (``kdphys.face.lookahead``): frames must
            then come through ``frames_ahead`` to gain from it (uploads). Same results either way.
    """

    def __init__(self, settings: EngineSettings | None = None, tracker: FaceTracker | None = None,
                 method: BVPMethod | None = None, keep_all: bool = False, landmarkers: int = 1,
                 record_crops: bool = False):
        self.settings = settings or EngineSettings()
        self.method = method or get_method(self.settings.method)
        self.fallback = get_method(self.settings.fallback) if self.settings.fallback else None
        if self.fallback is not None and self.fallback.input_kind != "trace":
            raise KDPhysError(f"fallback {self.settings.fallback!r} must read the skin colour (a classical method).")
        if landmarkers < 1:
            raise ValueError(f"landmarkers must be >= 1, got {landmarkers}.")
        if tracker is None:
            crop_size = crop_size_for([self.method], self.settings.crop_size)
            tracker_settings = TrackerSettings(crop_size=crop_size, skin_region=skin_region_for([self.method]))
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
        self.record_crops = record_crops
        self.keep_all = keep_all or record_crops
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
        self._crops: deque[np.ndarray] = deque(maxlen=int(round(self.settings.live_track_s * fps)))
        self._recorded_crops: list[np.ndarray] = []
        self._segments = self._segment_runner(maxlen)
        self._last_crop: np.ndarray | None = None
        self.last_track: TrackResult | None = None
        self.frames_in = 0
        self.max_faces = 0
        self.keyframes: list[Keyframe] = []
        self._first_t_s: float | None = None    # time of the first frame pushed, s (the grid's origin)

    def _segment_runner(self, max_samples: int | None) -> SegmentedRunner | None:
        """Crop methods that name their own segments (``engine_segment``: (frames, overlap frames), the
        student and the teacher) run in those, live and on uploads; other crop methods run in 20 s segments
        on uploads and on the crops of the live window otherwise."""
        if self.method.input_kind != "crops":
            return None
        fps = self.settings.fps
        run = functools.partial(self.method.bvp, fps=fps)
        segment = getattr(self.method, "engine_segment", None)
        if segment is not None:
            frames, overlap = segment
            return SegmentedRunner(run, frames, overlap, max_samples=max_samples)
        return SegmentedRunner(run, round(20.0 * fps), round(2.0 * fps)) if self.keep_all else None

    def frames_ahead(self, frames: Iterable[T]) -> Iterator[T]:
        """``frames`` (objects with an ``rgb`` array, e.g. ``kdphys.io.video.Frame``) in order, for ``push``;
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
                self._keep_keyframe(self._t_s[-1], track.crop, rgb, track.box_xyxy)   # attention displays, any method
            if self.method.input_kind == "crops" or self.record_crops:
                crop = track.crop if face else None
                for sample in self._crop_resampler.push(t_s, crop):
                    self._append_crop(sample.t_s, sample.value)
        return track

    def _needs_crop(self, t_s: float) -> bool:
        """Whether the frame at ``t_s`` needs a face crop: always for crop methods, else when a keyframe may
        be kept (grid times, counted from the first frame, never pass the frame's time, so this is true
        whenever ``_keep_keyframe`` would keep one)."""
        if self.method.input_kind == "crops" or self.record_crops or not self.keyframes or self._first_t_s is None:
            return True
        return (t_s - self._first_t_s) - self.keyframes[-1].t_s >= 1.0 - 1e-6

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
        if self.record_crops:
            self._recorded_crops.append(crop)
            if self.method.input_kind != "crops":
                return
        t0 = time.perf_counter()
        if self._segments is not None:
            self._segments.push(crop)
        else:
            self._crops.append(crop)
        self.timer.add("model", time.perf_counter() - t0)

    def _keep_keyframe(self, t_s: float, crop: np.ndarray, rgb=None, box_xyxy: np.ndarray | None = None,
                       max_keyframes: int = MAX_KEYFRAMES) -> None:
        """Keep about one Keyframe per second (at most ``max_keyframes``) for attention displays: the crop,
        and with ``keep_all`` (uploads) a view of the frame (H, W, 3) ``rgb`` around its ``box_xyxy``."""
        if self.keyframes and t_s - self.keyframes[-1].t_s < 1.0:
            return
        if len(self.keyframes) >= max_keyframes:
            self.keyframes = self.keyframes[::2]
        view = box = None
        if self.keep_all and rgb is not None and box_xyxy is not None:
            view, box = keyframe_view(rgb, box_xyxy)
        self.keyframes.append(Keyframe(t_s, crop, view, box))

    # ---------------------------------------------------------------------------------- output
    @property
    def duration_s(self) -> float:
        """Seconds of signal on the grid."""
        return len(self._t_s) / self.settings.fps

    def _window(self, n: int | None):
        """Last n samples (all when None) of time, trace (n,3), face flags and BVP from the method, and the
        method whose signal that BVP is (``BVPMethod.bvp_and_source``)."""
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
        source, bvp = self._method_bvp(trace, face, crops, segments)
        self.timer.add("model_window", time.perf_counter() - t0)
        return t_s, trace, face, bvp, source

    def _method_bvp(self, trace, face, crops, segments) -> tuple[str, np.ndarray]:
        """(the method whose signal was used, BVP (n,)); see ``BVPMethod.bvp_and_source``."""
        fps, name = self.settings.fps, self.method.name
        if len(trace) < 2 or not face.any():
            return name, np.zeros(len(trace))
        if self.method.input_kind == "trace":
            return self.method.bvp_and_source(fill_gaps(trace), fps)
        if segments is not None:
            bvp = segments
        else:
            bvp = self.method.bvp(np.stack(crops), fps) if crops else np.zeros(0)
        return name, _match_length(bvp, len(trace))

    def reading(self) -> HrReading:
        """Live heart rate: the reading of the window that ended ``live_lag_s`` ago (the first, while there are
        fewer), the windows of the last ``live_track_s`` tracked together (the first windows of a stream grow
        from ``quality.min_duration_s``), or the reason there is none. After a face loss only the samples
        since the face returned are read. Where that window is not clear enough, the fallback's (see
        ``live_reading``)."""
        return self.live_reading()[1]

    def live_reading(self) -> tuple[str, HrReading]:
        """(the method whose signal gave the reading, ``reading``): the method's own, or the fallback's
        (``EngineSettings.fallback``) where the method's window is not clear enough and the fallback's is."""
        source, trace, face, bvp = self._live_span()
        reading = self._shown(self._read(trace, face, bvp, live=True))
        if reading.hr_bpm is None and reading.cause == "unclear" and self.fallback is not None:
            other_source, other_bvp = self._fallback_bvp(trace)
            other = self._shown(self._read(trace, face, other_bvp, live=True))
            if other.hr_bpm is not None:
                return other_source, other
        return source, reading

    def live_readings(self) -> Readings:
        """The windows behind the method's own ``reading``: Readings of the last ``live_track_s`` (since the
        face returned)."""
        _, trace, face, bvp = self._live_span()
        return self._read(trace, face, bvp, live=True)

    def _live_span(self):
        """(method source, trace (n, 3), face (n,), BVP (n,)) of the last ``live_track_s`` since the face returned."""
        n = int(round(self.settings.live_track_s * self.settings.fps))
        _, trace, face, bvp, source = self._window(n)
        return (source, *_since_face_returned(trace, face, bvp))

    def _fallback_bvp(self, trace: np.ndarray) -> tuple[str, np.ndarray]:
        """(source, BVP (n,)) of ``EngineSettings.fallback`` on a skin trace (n, 3) with gaps (NaN rows)."""
        return self.fallback.bvp_and_source(fill_gaps(trace), self.settings.fps)

    def _shown(self, readings: Readings) -> HrReading:
        """The reading of the window the live page shows, or the summary's reason without windows."""
        window = shown_live_window(readings, self.settings)
        return readings.summary if window is None else window.reading

    def _read(self, trace, face, bvp, live: bool) -> Readings:
        """Readings of a span: live (growing first windows, ``live_min_confidence``) or a whole recording."""
        t0 = time.perf_counter()
        s = self.settings
        quality = replace(s.quality, min_confidence=s.live_min_confidence) if live else s.quality
        readings = read_signal(bvp, s.fps, face, raw_trace=trace if face.any() else None, quality=quality,
                               track=s.reading_track, band_hz=s.band_hz, grow=live)
        self.timer.add("signal", time.perf_counter() - t0)
        return readings

    def waveform(self, window_s: float | None = None, fallback: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(t_s (n,), band-passed BVP (n,)) of the last window, for the live plot; with ``fallback``, the
        signal of ``EngineSettings.fallback`` (the one a live reading came from, see ``live_reading``)."""
        window_s = self.settings.window_s if window_s is None else window_s
        n = None if window_s == 0 else int(round(window_s * self.settings.fps))
        t_s, trace, face, bvp, _ = self._window(n)
        if fallback and self.fallback is not None and len(trace) >= 2 and face.any():
            bvp = self._fallback_bvp(trace)[1]
        if len(bvp) < 2:
            return t_s, np.zeros(len(t_s))
        return t_s, sig.preprocess(bvp, self.settings.fps, self.settings.band_hz)

    def snapshot(self) -> "Snapshot":
        """Everything recorded so far, post-processed: waveform, readings per window and their summary,
        beats (where the video was read) and the spectrum."""
        t_s, trace, face, bvp, source = self._window(None)
        fps, band = self.settings.fps, self.settings.band_hz
        readings = self._read(trace, face, bvp, live=False)
        if readings.summary.hr_bpm is None and self.fallback is not None and len(trace) >= 2 and face.any():
            other_source, other_bvp = self._fallback_bvp(trace)
            other = self._read(trace, face, other_bvp, live=False)
            if other.summary.hr_bpm is not None:
                source, bvp, readings = other_source, other_bvp, other
        spectrum = beats = None
        if len(bvp) >= int(2 * fps) and face.any():
            spectrum = sig.power_spectrum(readings.bvp_f, fps, band)
            beats = beats_where_read(readings)
        return Snapshot(t_s=t_s, bvp=readings.bvp_f, raw_bvp=bvp, trace=trace, face_present=face,
                        reading=readings.summary,
                        readings=readings, spectrum=spectrum, beats=beats, fps=fps, method=self.method.name,
                        signal_source=source)

    def recorded(self) -> "RecordedSignals":
        """Every sample so far (needs ``record_crops``): grid times, skin trace, face flags and face crops."""
        if not self.record_crops:
            raise RuntimeError("Engine(record_crops=True) is needed to keep every crop.")
        with self._lock:
            t_s = np.fromiter(self._t_s, float)
            trace = np.array(self._trace, dtype=np.float32).reshape(-1, 3)
            face = np.fromiter(self._face, bool)
            crops = list(self._recorded_crops)
        n = min(len(t_s), len(crops))
        size = self.crop_size
        stacked = np.stack(crops[:n]) if n else np.zeros((0, size, size, 3), np.uint8)
        return RecordedSignals(t_s=t_s[:n], trace=trace[:n].astype(np.float64), face=face[:n], crops=stacked)


def beats_where_read(readings: Readings) -> sig.BeatEstimate | None:
    """One beat per cycle of the tracked heart rate (signal.beats_along), kept only in the stretches the
    accepted windows cover; None when no window was read. IBIs are of neighbouring kept beats."""
    if readings.track is None or not readings.accepted.any():
        return None
    ok = np.isfinite(readings.track.hr_bpm)
    beats = sig.beats_along(readings.bvp_f, readings.fps, readings.track.t_s[ok], readings.track.hr_bpm[ok])
    mask = readings.read_mask()
    keep = mask[beats.peaks] if beats.peaks.size else np.zeros(0, bool)
    peaks = beats.peaks[keep]
    pairs = keep[:-1] & keep[1:]            # intervals between two kept, neighbouring beats
    ibi_s = beats.ibi_s[pairs] if beats.ibi_s.size == pairs.size else np.zeros(0)
    hr = float(60.0 / np.median(ibi_s)) if ibi_s.size else None
    return sig.BeatEstimate(hr_bpm=hr, peaks=peaks, ibi_s=ibi_s)


@dataclass
class RecordedSignals:
    """What an Engine(record_crops=True) kept: t_s (M,) grid times, s from the first frame; trace (M, 3)
    mean skin R, G, B (NaN where no face); face (M,) bool; crops (M, S, S, 3) uint8 (the last face held
    where it was lost)."""

    t_s: np.ndarray
    trace: np.ndarray
    face: np.ndarray
    crops: np.ndarray


@dataclass
class Snapshot:
    """All results of an engine at one moment.

    Attributes:
        t_s: (n,) grid times, seconds from the first frame.
        bvp: (n,) detrended, band-passed BVP (arbitrary units).
        raw_bvp: (n,) the method's BVP before pre-processing.
        trace: (n, 3) mean skin RGB per sample, NaN where the face was lost.
        face_present: (n,) bool.
        reading: the recording's reading (median of the accepted windows, range, coverage) or
            "no reading: <reason>".
        readings: every window (kdphys.signal.readings.Readings: HR or reason per window, the track).
        spectrum: power spectrum of the whole recording (None when too short).
        beats: one beat per cycle where the video was read (peak indices into bvp, IBIs in s), None when
            nothing was read.
        fps: grid rate, samples per second.
        method: method name.
        signal_source: the method whose signal was read: ``method`` itself, or the candidate a choosing
            method ("pbv-pos-or-green") took ("pbv", "pos" or "green"), also when it read as ``EngineSettings.fallback``.
    """

    t_s: np.ndarray
    bvp: np.ndarray
    raw_bvp: np.ndarray
    trace: np.ndarray
    face_present: np.ndarray
    reading: HrReading
    readings: Readings
    spectrum: sig.Spectrum | None
    beats: sig.BeatEstimate | None
    fps: float
    method: str
    signal_source: str = ""


def _since_face_returned(trace: np.ndarray, face: np.ndarray, bvp: np.ndarray):
    """Live window after a face loss: only the samples since the face last returned are read (like the
    first warm-up), so the lost stretch does not hold the reading back until it leaves every window.

    trace (n, 3), face (n,) bool, bvp (n,) -> the same, cut to the trailing run of face samples when the
    face was lost within them (unchanged otherwise, and when the face is lost now).
    """
    if len(face) == 0 or face.all() or not face[-1]:
        return trace, face, bvp
    start = int(np.flatnonzero(~face)[-1]) + 1
    return trace[start:], face[start:], bvp[start:]


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
