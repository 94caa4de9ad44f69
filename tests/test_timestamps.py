"""Frame drops and jitter in a live stream are handled from the real timestamps (resampling), not frame counts.

A synthetic face (20 s, 78 bpm, 240x320) is rendered at 60 fps; the "camera" takes every second frame
(30 fps) but each capture lands one 60 fps frame early or late at random (+-16.7 ms jitter), and 10 % of
the frames (random) never arrive. The engine gets each frame with its true capture time. The HR must be
within 2 bpm of the truth; the same frames stamped as if they came at an even 30 fps (what a frame
counter would assume) must be clearly wrong, which shows the test can fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from kdphys.data.synthetic import SyntheticConfig, generate_clip
from kdphys.pipeline.engine import Engine, EngineSettings
from kdphys.pipeline.live import LiveSession

HR_BPM = 78.0
DROP_FRACTION = 0.10


@pytest.fixture(scope="module")
def stream():
    """(frames list, true capture times (N,) s, true mean HR) of the dropped-and-jittered stream."""
    clip = generate_clip(SyntheticConfig(hr_bpm=HR_BPM, duration_s=20.0, fps=60.0, size=(240, 320), seed=21))
    rng = np.random.default_rng(7)
    nominal = np.arange(1, len(clip.frames) // 2 - 1) * 2              # every second 60 fps frame
    taken = np.clip(nominal + rng.integers(-1, 2, nominal.size), 0, len(clip.frames) - 1)
    kept = np.sort(rng.choice(taken.size, size=int(round((1 - DROP_FRACTION) * taken.size)), replace=False))
    idx = taken[kept]
    return [clip.frames[k] for k in idx], idx / 60.0, clip.hr_bpm


def _engine_hr(frames, t_s) -> float | None:
    engine = Engine(EngineSettings(method="pos"), keep_all=True)
    for rgb, t in zip(frames, t_s):
        engine.push(rgb, float(t))
    return engine.snapshot().reading.hr_bpm


def test_stream_is_dropped_and_jittered(stream):
    frames, t_s, _ = stream
    dt_ms = np.diff(t_s) * 1000
    assert 0.08 <= 1 - len(frames) / 598 <= 0.12                      # about 10 % of 598 frames dropped
    assert dt_ms.min() < 25 and dt_ms.max() > 60 and np.std(dt_ms) > 8


def test_hr_from_true_timestamps_within_2_bpm(stream):
    frames, t_s, true_hr = stream
    hr = _engine_hr(frames, t_s)
    print(f"\ntrue {true_hr:.2f} bpm, from true timestamps {hr}")
    assert hr is not None and abs(hr - true_hr) <= 2.0, (hr, true_hr)


def test_frame_counter_timestamps_would_be_wrong(stream):
    """Control: the same frames stamped index/30 (drops ignored) read about 10 % high, or not at all."""
    frames, _, true_hr = stream
    hr = _engine_hr(frames, np.arange(len(frames)) / 30.0)
    print(f"\nfrom frame-counter timestamps {hr}")
    assert hr is None or abs(hr - true_hr) > 4.0, hr


def test_live_session_with_drops_and_jitter(stream):
    """The live path (10 s window, webcam-style timestamps with an arbitrary origin) reads the same HR."""
    frames, t_s, true_hr = stream
    clock = [0.0]
    session = LiveSession(method="pos", clock=lambda: clock[0])
    for rgb, t in zip(frames, t_s):
        clock[0] = float(t)
        session.process(rgb, 1000.0 + float(t))
    reading = session.status().reading
    assert reading.hr_bpm is not None and abs(reading.hr_bpm - true_hr) <= 2.0, reading.describe()
