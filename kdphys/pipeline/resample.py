"""Streaming resampling of per-frame values onto a uniform time grid.

Cameras and WebRTC deliver frames at uneven times (jitter, dropped frames, variable frame rate). Every
method downstream assumes a uniform rate, so frames are mapped onto a grid at ``fps`` as they arrive:

    resampler = UniformResampler(fps=30.0)
    for t_s, trace in frames:                   # trace: (3,) float, or None when the face is lost
        for sample in resampler.push(t_s, trace):
            ...                                 # sample.t_s on the grid, sample.value interpolated

Values between two frames are interpolated linearly; a grid point next to a frame without a value
(``None``: face lost) gets ``None``. A gap longer than ``max_gap_s`` is not bridged: its grid points
carry ``None`` so that a frozen stream never looks like a pulse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class GridSample:
    """One point of the uniform grid.

    Attributes:
        t_s: grid time in seconds (k / fps after the first frame).
        value: interpolated value (same shape and dtype kind as pushed), or None when not available.
    """

    t_s: float
    value: Any


class UniformResampler:
    """Map (t_s, value) pairs arriving at uneven times onto a uniform grid at ``fps``.

    Args:
        fps: grid rate in samples per second.
        max_gap_s: longest gap between two frames that is bridged by interpolation, seconds.
    """

    def __init__(self, fps: float, max_gap_s: float = 0.5):
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = float(fps)
        self.max_gap_s = float(max_gap_s)
        self.reset()

    def reset(self) -> None:
        self._t0: float | None = None
        self._prev_t: float | None = None
        self._prev_value: Any = None
        self._next_k = 0

    def push(self, t_s: float, value: Any) -> list[GridSample]:
        """Add one frame; return the grid samples that are now complete (zero, one or more).

        Frames whose time does not move forward are ignored (duplicate or reordered timestamps).
        """
        t_s = float(t_s)
        if self._t0 is None:
            self._t0, self._prev_t, self._prev_value = t_s, t_s, value
            self._next_k = 1
            return [GridSample(0.0, value)]
        if t_s <= self._prev_t:
            return []
        out = []
        period_s = 1.0 / self.fps
        while True:
            grid_t = self._t0 + self._next_k * period_s
            if grid_t > t_s + 1e-9:
                break
            out.append(GridSample(grid_t - self._t0, self._interpolate(grid_t, t_s, value)))
            self._next_k += 1
        self._prev_t, self._prev_value = t_s, value
        return out

    def _interpolate(self, grid_t: float, t_s: float, value: Any) -> Any:
        prev_t, prev_value = self._prev_t, self._prev_value
        if t_s - prev_t > self.max_gap_s:
            return None
        if prev_value is None or value is None:
            return prev_value if grid_t - prev_t <= t_s - grid_t else value
        w = (grid_t - prev_t) / (t_s - prev_t)
        a = np.asarray(prev_value, dtype=np.float32)
        b = np.asarray(value, dtype=np.float32)
        mixed = (1.0 - w) * a + w * b
        if isinstance(value, np.ndarray) and value.dtype == np.uint8:
            return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
        return mixed
