"""The live page's video callback: every frame the browser sends goes into the session's engine.

    from webapp.live_frames import frames_callback
    webrtc_streamer(..., queued_video_frames_callback=frames_callback(session), async_processing=True)

streamlit-webrtc hands the callback the frames that queued up since its last call (it runs in a worker
thread). Each is pushed, with its presentation time, into the LiveSession; only the newest is drawn and
sent back. With one frame per call (``video_frame_callback``) streamlit-webrtc drops the frames that
arrive while a call runs: whenever the page's once-a-second update held the CPU, a few hundred ms of
pulse went missing (in Chromium with the sample clip as camera: 23 fps reached the engine of 30 sent,
gaps up to 434 ms once a second), a dent in the signal at 60 bpm, close to a resting pulse.

A machine too slow for every frame would fall further behind with each call; frames older than
``MAX_BACKLOG_S`` before the newest are dropped (the engine fills such a gap as it always has).
"""

from __future__ import annotations

import time
from typing import Awaitable, Callable

import av

from kdphys.pipeline.live import LiveSession

#: Queued frames older than this before the newest are dropped, s.
MAX_BACKLOG_S = 1.0


def frames_callback(session: LiveSession) -> Callable[[list[av.VideoFrame]], Awaitable[list[av.VideoFrame]]]:
    """An async callback bound to one session: (queued frames) -> [the newest, with the ROI drawn]."""

    async def callback(frames: list[av.VideoFrame]) -> list[av.VideoFrame]:
        if not frames:
            return []
        *earlier, newest = frames
        newest_s = _time_s(newest)
        for frame in earlier:
            t_s = _time_s(frame)
            if newest_s - t_s <= MAX_BACKLOG_S:
                session.push(frame.to_ndarray(format="rgb24"), t_s)
        out = av.VideoFrame.from_ndarray(session.process(newest.to_ndarray(format="rgb24"), newest_s),
                                         format="rgb24")
        out.pts, out.time_base = newest.pts, newest.time_base
        return [out]

    return callback


def _time_s(frame: av.VideoFrame) -> float:
    """The frame's presentation time, s (the wall clock for a frame without one)."""
    return float(frame.time) if frame.time is not None else time.monotonic()
