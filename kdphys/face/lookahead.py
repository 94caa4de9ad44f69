"""Face landmarks found ahead of the tracker: uploads run the landmarker on frames the tracker will reach
soon, on worker threads, so that it overlaps decoding and the per-frame work, and two landmarkers keep
both cores of a laptop busy.

    detector = LookaheadDetector([FaceLandmarkDetector(), FaceLandmarkDetector()], TrackerSettings())
    tracker = FaceTracker(settings, detector=detector)
    for frame in detector.feed(iter_frames("face.mp4")):   # each frame comes back ``depth`` frames late
        tracker.update(frame.rgb)

The landmarker runs in IMAGE mode (every call independent of the ones before), so a detection does not
depend on which landmarker or thread made it or when: the tracker's results are the same as with one
landmarker called in turn. Which frames the tracker will run it on is guessed with the tracker's own
rule (``TrackerSettings.detect_every`` frames after its last detection; after a miss, every
``lost_detect_every`` frames) and the guesses are redone whenever the tracker detects. A wrong guess costs
one landmarker call; a frame that was not guessed is detected when the tracker asks, on a free landmarker.
"""

from __future__ import annotations

import queue
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from kdphys.face import Detector, FaceObservation, TrackerSettings

T = TypeVar("T")


class LookaheadDetector:
    """A ``Detector`` for ``FaceTracker`` whose landmarker calls start before the tracker asks for them.

    Frames go through ``feed``; the tracker's ``detect(rgb)`` for the frame ``feed`` last handed out is
    answered from the call started ahead (or started then, when the guess missed it). Not thread-safe:
    ``feed`` and ``detect`` belong to one thread (the tracker's); only the landmarker calls run on others.

    Args:
        detectors: one or more detectors (e.g. ``FaceLandmarkDetector``), each used by one thread at a
            time; as many run at once as there are. Closed by ``close`` when they have a ``close``.
        settings: the tracker's settings (``detect_every``, ``lost_detect_every``) for the guesses.
        depth: how many frames ``feed`` holds back (frames, >= 1); default ``detect_every`` x
            (number of detectors + 1), enough for every landmarker to have a frame in hand.
    """

    def __init__(self, detectors: Sequence[Detector], settings: TrackerSettings | None = None,
                 depth: int | None = None):
        if not detectors:
            raise ValueError("LookaheadDetector needs at least one detector.")
        self.detectors = list(detectors)
        self.settings = settings if settings is not None else TrackerSettings()
        self.depth = int(depth) if depth is not None else self.settings.detect_every * (len(self.detectors) + 1)
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1 frame, got {self.depth}.")
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for detector in self.detectors:
            self._idle.put(detector)
        self._pool = ThreadPoolExecutor(max_workers=len(self.detectors), thread_name_prefix="landmarker")
        self._finalizer = weakref.finalize(self, _shut_down, self._pool, self.detectors)
        self._ahead: dict[int, np.ndarray] = {}      # frame index -> rgb, frames fed but not handed out
        self._started: dict[int, Future] = {}        # frame index -> landmarker call started ahead
        self._current: tuple[int, np.ndarray] | None = None
        self._next_index = 0
        self._anchor = 0                             # index of the tracker's last detection
        self._last_found = True                      # whether that detection found a face
        self.calls_started = 0                       # landmarker calls started ahead (guesses)
        self.calls_used = 0                          # of which the tracker used the result

    # ------------------------------------------------------------------------------------------ frames
    def feed(self, frames: Iterable[T]) -> Iterator[T]:
        """Yield ``frames`` (objects with an ``rgb`` (H, W, 3) uint8 array) in order, ``depth`` frames
        late; each frame's landmarker call is started when it comes in, if the tracker is likely to ask.
        The frame last yielded is the one whose ``rgb`` ``detect`` answers from the calls started ahead."""
        held: deque[tuple[int, T]] = deque()
        try:
            for frame in frames:
                index = self._next_index
                self._next_index += 1
                self._ahead[index] = frame.rgb
                self._plan(index)
                held.append((index, frame))
                if len(held) > self.depth:
                    yield self._hand_out(*held.popleft())
            while held:
                yield self._hand_out(*held.popleft())
        finally:
            self._current = None
            self._ahead.clear()
            for future in self._started.values():
                future.cancel()
            self._started.clear()

    def _hand_out(self, index: int, frame: T) -> T:
        self._ahead.pop(index, None)
        self._current = (index, frame.rgb)
        return frame

    def _wanted(self, index: int) -> bool:
        """Whether the tracker is expected to run the landmarker on frame ``index``."""
        s = self.settings
        every = s.detect_every if self._last_found else s.lost_detect_every
        return index >= self._anchor and (index - self._anchor) % every == 0

    def _plan(self, index: int) -> None:
        """Start the landmarker on frame ``index`` if it is wanted and not started; cancel it if not."""
        wanted = self._wanted(index)
        started = self._started.get(index)
        if wanted and started is None:
            self._started[index] = self._pool.submit(self._run, self._ahead[index])
            self.calls_started += 1
        elif not wanted and started is not None:
            started.cancel()
            del self._started[index]

    def _run(self, rgb: np.ndarray) -> FaceObservation | None:
        """One landmarker call on whichever detector is free (waits for one)."""
        detector = self._idle.get()
        try:
            return detector.detect(rgb)
        finally:
            self._idle.put(detector)

    # -------------------------------------------------------------------------------------- detector
    def detect(self, rgb: np.ndarray) -> FaceObservation | None:
        """The largest face in ``rgb`` (as ``FaceLandmarkDetector.detect``): from the call started ahead
        when ``rgb`` is the frame ``feed`` handed out last, else from a call made now."""
        if not self._finalizer.alive:
            raise RuntimeError("This LookaheadDetector was closed; create a new one.")
        current = self._current
        if current is None or current[1] is not rgb:
            return self._run(rgb)          # not a fed frame: no guesses to update
        index = current[0]
        future = self._started.pop(index, None)
        if future is not None and not future.cancelled():
            observation = future.result()
            self.calls_used += 1
        else:
            observation = self._run(rgb)
        self._anchor, self._last_found = index, observation is not None
        self._replan(index)
        return observation

    def _replan(self, index: int) -> None:
        """After the tracker detected on frame ``index``: drop calls for frames already passed and redo
        the guesses for the frames held ahead."""
        for old in [i for i in self._started if i <= index]:
            self._started.pop(old).cancel()
        for ahead in self._ahead:
            self._plan(ahead)

    # ------------------------------------------------------------------------------------------- close
    def warm_up(self, rgb: np.ndarray) -> None:
        """One call on every detector (first calls allocate), e.g. before timing."""
        for detector in self.detectors:
            detector.detect(rgb)

    def close(self) -> None:
        """Stop the worker threads and close the detectors. Safe to call twice."""
        self._finalizer()

    def __enter__(self) -> LookaheadDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _shut_down(pool: ThreadPoolExecutor, detectors: list) -> None:
    pool.shutdown(wait=True, cancel_futures=True)
    for detector in detectors:
        close = getattr(detector, "close", None)
        if close is not None:
            close()
