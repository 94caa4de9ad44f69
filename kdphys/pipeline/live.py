"""A live webcam session: one Engine per browser session, fed from the video thread, read from the UI.

    session = LiveSession(method="pos")
    out_rgb = session.process(rgb, t_s)        # video thread: track, push, draw the ROI; per frame
    session.push(rgb, t_s)                     # the same without drawing (frames that are not shown)
    status = session.status()                  # UI thread, about once a second: HR or "no reading: ..."

The session owns its engine (never shared between browser sessions), keeps no frames (only what the
engine keeps: per-sample floats and, for neural methods, the last window of 72x72 crops), measures the
achieved frame rate and the processing latency, and turns a lost face or a stopped stream into
"no reading" within ``lost_face_s`` / ``stall_s`` instead of waiting for the HR window to empty.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable

import cv2
import numpy as np

from kdphys.methods.registry import live_fallback
from kdphys.pipeline.engine import Engine, EngineSettings
from kdphys.face import TrackResult
from kdphys.signal.quality import HrReading, no_reading


@dataclass
class LiveSettings:
    """Settings of a live session.

    Attributes:
        engine: engine settings (method, band, windows); ``engine.method`` is replaced by the session's method.
            The live reading is the newest 10 s window, read together with the windows of the last
            ``engine.live_track_s`` (Engine.reading); the first windows of a stream grow from
            ``engine.quality.min_duration_s``, so a reading can come that soon. After a face loss the
            windows restart at the face's return.
        hold_s: a window that is "not clear enough" keeps showing the last reading if it is at most this
            old (and the face stayed in view), marked as held: neighbouring windows share 90 % of their
            samples, so one refused window between accepted ones does not blank the display.
        reading_every_s: the HR is recomputed at most this often, seconds.
        lost_face_s: "no reading" once the face has been missing this long, seconds.
        stall_s: "no reading" once no frame has arrived for this long, seconds.
        rate_window_s: achieved fps and latency are averaged over this many seconds of frames.
        use_fallback: the method's live fallback (methods.registry.LIVE_FALLBACK) reads the windows the
            method gives no reading in, unless ``engine.fallback`` names another; False: the method alone.
    """

    engine: EngineSettings = field(default_factory=EngineSettings)
    hold_s: float = 3.0
    reading_every_s: float = 1.0
    lost_face_s: float = 1.0
    stall_s: float = 2.0
    rate_window_s: float = 3.0
    use_fallback: bool = True


@dataclass(frozen=True)
class LiveStatus:
    """What the live page shows.

    Attributes:
        reading: HR with quality, or hr_bpm None with the reason.
        state: "waiting" (no frame yet), "warming up", "tracking", "face lost", "stopped".
        held_s: age of a held reading, s (see LiveSettings.hold_s); 0 for a fresh one.
        t_s, bvp: (n,) live waveform window (seconds on the engine's grid, band-passed BVP of ``source``).
        fps: achieved frames per second over the last ``rate_window_s``.
        latency_ms: mean processing time per frame (tracking + model step), milliseconds.
        frames_in: frames processed since the start (or the last method switch).
        signal_s: seconds of signal in the engine.
        method: method name.
        source: the method whose signal gave the reading: ``method``, or its live fallback
            (methods.registry.LIVE_FALLBACK) where the method's window was not clear enough.
        frame_hw: (height, width) in pixels of the last frame received, or None before the first. Over
            WebRTC the browser may send less than the camera gives (it lowers the resolution when the
            link or its CPU is short), and the pulse fades with it.
    """

    reading: HrReading
    state: str
    t_s: np.ndarray
    bvp: np.ndarray
    fps: float
    latency_ms: float
    frames_in: int
    signal_s: float
    method: str
    frame_hw: tuple[int, int] | None = None
    held_s: float = 0.0
    source: str | None = None


class LiveSession:
    """Per-browser-session live pipeline around an Engine. Thread-safe.

    Args:
        method: method name (kdphys.methods.get_method); see ``LiveSettings.use_fallback``.
        settings: LiveSettings.
        clock: wall clock in seconds (injectable for tests).
        engine_factory: builds the engine for a method (default: Engine(settings with that method)).
    """

    def __init__(self, method: str = "pos", settings: LiveSettings | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 engine_factory: Callable[[EngineSettings], Engine] | None = None):
        self.settings = settings or LiveSettings()
        self._clock = clock
        self._engine_factory = engine_factory or (lambda s: Engine(s))
        self._lock = threading.Lock()
        self._engine = self._engine_factory(self._engine_settings(method))
        self._reset_counters()

    def _engine_settings(self, method: str) -> EngineSettings:
        own = live_fallback(method) if self.settings.use_fallback else None
        return replace(self.settings.engine, method=method, fallback=self.settings.engine.fallback or own)

    def _reset_counters(self) -> None:
        window = 300
        self._arrivals: deque[float] = deque(maxlen=window)     # wall time of each processed frame
        self._latency_s: deque[float] = deque(maxlen=window)
        self._last_frame_wall: float | None = None
        self._last_face_wall: float | None = None
        self._first_t_s: float | None = None
        self._frame_hw: tuple[int, int] | None = None
        self._cached: tuple[float, str, HrReading] | None = None    # wall time, source, reading
        self._last_read: tuple[float, str, HrReading] | None = None  # the same of the last accepted reading
        self.frames_in = 0

    @property
    def method(self) -> str:
        return self._engine.settings.method

    @property
    def engine(self) -> Engine:
        return self._engine

    def set_method(self, method: str) -> None:
        """Switch method: a fresh engine (the HR warms up again)."""
        if method == self.method:
            return
        engine = self._engine_factory(self._engine_settings(method))
        with self._lock:
            self._engine = engine
            self._reset_counters()

    # ------------------------------------------------------------------------------ video thread
    def process(self, rgb: np.ndarray, t_s: float) -> np.ndarray:
        """Push one frame and return it with the tracked ROI drawn on it.

        Args:
            rgb: (H, W, 3) uint8 RGB frame.
            t_s: presentation time of the frame in seconds (any origin, increasing).
        Returns:
            (H, W, 3) uint8 RGB, a copy with the ROI box (green) or "no face" (red).
        """
        return draw_roi(rgb, self.push(rgb, t_s))

    def push(self, rgb: np.ndarray, t_s: float) -> TrackResult:
        """Push one frame without drawing (frames that are not sent back); arguments as ``process``.
        Returns the tracker's result for the frame."""
        t0 = self._clock()
        with self._lock:
            engine = self._engine
            if self._first_t_s is None:
                self._first_t_s = float(t_s)
        track = engine.push(rgb, float(t_s) - self._first_t_s)
        now = self._clock()
        with self._lock:
            if engine is self._engine:
                self.frames_in += 1
                self._arrivals.append(now)
                self._latency_s.append(now - t0)
                self._last_frame_wall = now
                self._frame_hw = (int(rgb.shape[0]), int(rgb.shape[1]))
                if track.state == "tracking":
                    self._last_face_wall = now
        return track

    # --------------------------------------------------------------------------------- UI thread
    def status(self) -> LiveStatus:
        """Current HR (recomputed at most every ``reading_every_s``), waveform, fps and latency."""
        now = self._clock()
        with self._lock:
            engine = self._engine
            arrivals = [t for t in self._arrivals if now - t <= self.settings.rate_window_s]
            n_lat = max(len(arrivals), 1)
            latency = list(self._latency_s)[-n_lat:]
            last_frame, last_face, frames_in = self._last_frame_wall, self._last_face_wall, self.frames_in
            frame_hw = self._frame_hw
            cached = self._cached
        fps = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) >= 2 and arrivals[-1] > arrivals[0] else 0.0
        latency_ms = 1000.0 * float(np.mean(latency)) if latency else 0.0
        signal_s = engine.duration_s
        state, reading = self._gate(now, last_frame, last_face)
        held_s = 0.0
        if reading is None:
            # a "no reading" is not kept: the HR shows as soon as the window supports one (after warm-up
            # or a face loss) rather than up to reading_every_s later
            if cached is None or cached[2].hr_bpm is None or now - cached[0] >= self.settings.reading_every_s:
                cached = (now, *engine.live_reading())
                with self._lock:
                    if engine is self._engine:
                        self._cached = cached
                        if cached[2].hr_bpm is not None:
                            self._last_read = cached
            source, reading = cached[1], cached[2]
            if reading.cause == "short":
                state, reading = "warming up", no_reading("warming up: the heart rate shows after "
                                                          f"{self._engine.settings.quality.min_duration_s:.0f} s "
                                                          "of steady face.", "short", reading.face_fraction)
            source, reading, held_s = self._held(now, source, reading)
        else:
            source = None
            with self._lock:
                self._last_read = None           # no face or no video: nothing is held over the gap
        by_fallback = source is not None and source != engine.settings.method
        t_s, bvp = engine.waveform(fallback=by_fallback) if signal_s >= 2.0 else (np.zeros(0), np.zeros(0))
        return LiveStatus(reading=reading, state=state, t_s=t_s, bvp=bvp, fps=fps, latency_ms=latency_ms,
                          frames_in=frames_in, signal_s=signal_s, method=engine.settings.method, frame_hw=frame_hw,
                          held_s=held_s, source=source)

    def _held(self, now: float, source: str, reading: HrReading) -> tuple[str, HrReading, float]:
        """(source, reading, 0) or, for a window that is not clear enough within ``hold_s`` of the last
        accepted one, (that one's source and reading, its age in s)."""
        with self._lock:
            last = self._last_read
        if reading.hr_bpm is not None or reading.cause != "unclear" or last is None:
            return source, reading, 0.0
        age_s = now - last[0]
        return (last[1], last[2], age_s) if age_s <= self.settings.hold_s else (source, reading, 0.0)

    def _gate(self, now: float, last_frame: float | None, last_face: float | None) -> tuple[str, HrReading | None]:
        """(state, a no-reading HrReading) when the stream or the face is gone; (state, None) otherwise."""
        s = self.settings
        if last_frame is None:
            return "waiting", no_reading("waiting for the camera.", "waiting")
        if now - last_frame > s.stall_s:
            return "stopped", no_reading("the video stopped.", "stopped")
        if last_face is None or now - last_face > s.lost_face_s:
            return "face lost", no_reading("no face in view. Look at the camera.", "face")
        return "tracking", None


def draw_roi(rgb: np.ndarray, track: TrackResult) -> np.ndarray:
    """Copy of the (H, W, 3) uint8 RGB frame with the tracked crop box, or a "no face" label."""
    out = np.ascontiguousarray(rgb).copy()
    if track.state == "tracking" and track.box_xyxy is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in track.box_xyxy)
        cv2.rectangle(out, (x0, y0), (x1, y1), (46, 204, 113), 2)
        if track.skin_mask is not None and track.skin_mask.shape == out.shape[:2]:
            tint = out[track.skin_mask].astype(np.int16)
            tint[:, 1] = np.minimum(tint[:, 1] + 40, 255)
            out[track.skin_mask] = tint.astype(np.uint8)
    else:
        cv2.putText(out, "no face", (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (231, 76, 60), 2, cv2.LINE_AA)
    return out
