"""The live page's video callback (webapp/live_frames.py): every queued frame reaches the engine with its own
time, and only the newest goes back, drawn."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from types import SimpleNamespace

import av
import numpy as np
import pytest

from kdphys.pipeline.live import LiveSession
from webapp.live_frames import MAX_BACKLOG_S, frames_callback


class RecordingEngine:
    """Engine stand-in that keeps the time of every frame pushed."""

    def __init__(self, settings):
        self.settings = settings
        self.times: list[float] = []

    def push(self, rgb, t_s):
        self.times.append(t_s)
        return SimpleNamespace(state="lost", box_xyxy=None, skin_mask=None)


def video_frames(n: int, fps: int = 30) -> list[av.VideoFrame]:
    frames = []
    for i in range(n):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 100 + i, np.uint8), format="rgb24")
        frame.pts, frame.time_base = i * 3000, Fraction(1, 90000)      # 90 kHz, as WebRTC video
        frames.append(frame)
    return frames


def test_every_queued_frame_is_pushed_and_only_the_newest_comes_back_drawn():
    engines = []
    session = LiveSession(engine_factory=lambda s: engines.append(RecordingEngine(s)) or engines[-1])
    callback = frames_callback(session)
    frames = video_frames(7)
    out = asyncio.run(callback(frames[:5])) + asyncio.run(callback(frames[5:]))
    assert session.frames_in == 7
    np.testing.assert_allclose(engines[0].times, np.arange(7) / 30.0, atol=1e-9)   # from the first frame's time
    assert [f.pts for f in out] == [frames[4].pts, frames[6].pts]
    drawn = out[-1].to_ndarray(format="rgb24")
    assert drawn.shape == (48, 64, 3) and not np.array_equal(drawn, frames[6].to_ndarray(format="rgb24"))  # "no face"


def test_a_backlog_longer_than_max_backlog_s_is_cut_to_its_newest_frames():
    """A machine too slow for every frame: of 3 s queued at once, the last MAX_BACKLOG_S (and the newest) go in."""
    engines = []
    session = LiveSession(engine_factory=lambda s: engines.append(RecordingEngine(s)) or engines[-1])
    frames = video_frames(91)                                        # 0 to 3 s at 30 fps
    out = asyncio.run(frames_callback(session)(frames))
    kept = 1 + int(round(MAX_BACKLOG_S * 30))
    assert session.frames_in == kept and len(out) == 1 and out[0].pts == frames[-1].pts
    assert engines[0].times[-1] - engines[0].times[0] == pytest.approx(MAX_BACKLOG_S)
