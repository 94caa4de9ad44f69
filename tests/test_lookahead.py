"""Tests of kdphys.face.lookahead: landmarker calls started ahead of the tracker give the tracker's results
unchanged, run on worker threads at once, and stop cleanly."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from kdphys.pipeline.engine import Engine, EngineSettings
from kdphys.face import FaceObservation, FaceTracker, TrackerSettings
from kdphys.face.lookahead import LookaheadDetector
from kdphys.paths import SAMPLE_VIDEO

#: Frames (by index) on which the fake detector finds no face: a short miss and a longer loss.
NO_FACE = {25} | set(range(40, 52))


def frame(index: int) -> np.ndarray:
    """(120, 160, 3) uint8 frame whose first pixel encodes its index; the face box drifts with it."""
    rgb = np.full((120, 160, 3), 90, np.uint8)
    rgb[0, 0] = (index % 256, index // 256, 7)
    return rgb


class ContentDetector:
    """A detector whose answer depends only on the frame (as MediaPipe's IMAGE mode): thread-safe, and it
    records which frames it saw and on which threads."""

    def __init__(self, barrier: threading.Barrier | None = None):
        self.seen: list[int] = []
        self.threads: set[str] = set()
        self.closed = False
        self._barrier = barrier
        self._lock = threading.Lock()

    def detect(self, rgb):
        index = int(rgb[0, 0, 0]) + 256 * int(rgb[0, 0, 1])
        with self._lock:
            self.seen.append(index)
            self.threads.add(threading.current_thread().name)
        if self._barrier is not None:
            self._barrier.wait()          # passes only when another call runs at the same time
        if index in NO_FACE:
            return None
        x0, y0 = 40.0 + 0.3 * index % 20, 30.0 + 0.1 * index % 10
        rng = np.random.default_rng(index)
        pts = np.column_stack([rng.uniform(x0, x0 + 60, 478), rng.uniform(y0, y0 + 70, 478)]).astype(np.float32)
        pts[0], pts[1] = (x0, y0), (x0 + 60, y0 + 70)
        return FaceObservation(landmarks_px=pts, box_xyxy=np.array([x0, y0, x0 + 60, y0 + 70], np.float32))

    def close(self):
        self.closed = True


def frames(n: int):
    return [SimpleNamespace(rgb=frame(i), t_s=i / 30.0) for i in range(n)]


def track(tracker: FaceTracker, items) -> list:
    return [tracker.update(item.rgb) for item in items]


def same_results(a, b) -> bool:
    def key(r):
        return (r.state, r.detected, r.n_faces)
    return all(key(x) == key(y)
               and all(np.array_equal(getattr(x, f), getattr(y, f)) for f in ("box_xyxy", "crop", "skin_rgb"))
               for x, y in zip(a, b)) and len(a) == len(b)


def test_tracker_results_are_unchanged_and_calls_run_on_workers():
    settings = TrackerSettings(crop_size=16)
    items = frames(90)
    plain_detector = ContentDetector()
    plain = track(FaceTracker(settings, detector=plain_detector), items)

    workers = [ContentDetector(), ContentDetector()]
    ahead = LookaheadDetector(workers, settings)
    tracker = FaceTracker(settings, detector=ahead)
    fed = [tracker.update(item.rgb) for item in ahead.feed(items)]

    assert same_results(plain, fed)
    assert {i for r, i in zip(plain, range(90)) if r.detected} == set(plain_detector.seen)
    assert any(r.state == "lost" for r in plain) and plain[-1].state == "tracking"   # the script is exercised
    assert all(name.startswith("landmarker") for w in workers for name in w.threads)
    assert 26 in plain_detector.seen                              # the retry after the miss at 25
    # Every detection came from a call started ahead (guesses follow the tracker's rule, after misses too).
    assert ahead.calls_used == len(plain_detector.seen)
    assert ahead.calls_started - ahead.calls_used <= 2 * ahead.depth   # wasted guesses: only around losses


def test_two_landmarkers_run_at_the_same_time():
    barrier = threading.Barrier(2, timeout=10)
    workers = [ContentDetector(barrier), ContentDetector(barrier)]
    ahead = LookaheadDetector(workers, TrackerSettings(detect_every=1, crop_size=16))
    tracker = FaceTracker(TrackerSettings(detect_every=1, crop_size=16), detector=ahead)
    for item in ahead.feed(frames(6)):          # every call waits for a second one to run beside it
        tracker.update(item.rgb)
    assert sum(len(w.seen) for w in workers) == 6 and all(w.seen for w in workers)


def test_frame_not_fed_is_detected_on_the_spot_and_close_closes_detectors():
    workers = [ContentDetector()]
    with LookaheadDetector(workers) as ahead:
        obs = ahead.detect(frame(3))
        assert obs is not None and workers[0].seen == [3]
    assert workers[0].closed
    with pytest.raises(RuntimeError, match="closed"):
        ahead.detect(frame(3))


def test_stopping_early_cancels_the_calls_ahead():
    workers = [ContentDetector(), ContentDetector()]
    ahead = LookaheadDetector(workers, TrackerSettings(detect_every=1))
    stream = ahead.feed(frames(100))
    next(stream)
    stream.close()                              # e.g. the user cancelled the upload
    ahead.close()                               # waits for running calls; the queued ones were cancelled
    assert sum(len(w.seen) for w in workers) <= ahead.depth + 1


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least one"):
        LookaheadDetector([])
    with pytest.raises(ValueError, match="depth"):
        LookaheadDetector([ContentDetector()], depth=0)
    with pytest.raises(ValueError, match="landmarkers"):
        Engine(EngineSettings(method="pos"), landmarkers=0)


def test_upload_with_two_landmarkers_matches_one_on_the_real_clip(monkeypatch):
    """The whole upload path (lazy RGB, landmarkers ahead, one-thread decode) against one landmarker on
    fully converted frames: the same trace, waveform, reading and keyframes, bit for bit."""
    import kdphys.pipeline.upload as analysis

    one = Engine(EngineSettings(method="pos"), keep_all=True, landmarkers=1)
    eager = analysis.iter_frames
    with monkeypatch.context() as patch:
        patch.setattr(analysis, "iter_frames", lambda source, max_side=None, **_: eager(source, max_side=max_side))
        old = analysis.analyze_video(SAMPLE_VIDEO, engine=one)
    two = Engine(EngineSettings(method="pos"), keep_all=True, landmarkers=2)
    new = analysis.analyze_video(SAMPLE_VIDEO, engine=two)
    assert isinstance(two.tracker.detector, LookaheadDetector) and two.tracker.detector.calls_used > 100
    assert np.array_equal(old.snapshot.trace, new.snapshot.trace, equal_nan=True)
    assert np.array_equal(old.snapshot.bvp, new.snapshot.bvp)
    assert old.snapshot.reading.hr_bpm == new.snapshot.reading.hr_bpm is not None
    assert [t for t, _ in old.keyframes] == [t for t, _ in new.keyframes]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(old.keyframes, new.keyframes))
    one.tracker.close()
    two.tracker.close()


def test_cancelled_upload_leaves_no_landmarker_thread_behind():
    """Cancelling an upload (the page's Cancel button) stops the calls ahead and closes the landmarkers
    of the engine analyze_video built: no worker thread outlives the analysis."""
    from kdphys.pipeline.upload import analyze_video
    from kdphys.pipeline.engine import AnalysisCancelled

    def landmarker_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("landmarker")]

    before = landmarker_threads()
    polls = {"n": 0}

    def cancel() -> bool:
        polls["n"] += 1
        return polls["n"] > 60            # two seconds of the clip

    with pytest.raises(AnalysisCancelled):
        analyze_video(SAMPLE_VIDEO, method="pos", cancel=cancel)
    assert polls["n"] == 61
    assert landmarker_threads() == before
