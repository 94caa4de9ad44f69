"""Run a windowed method over an unbounded stream of crops in overlapping segments, in bounded memory.

A method that needs a whole clip at once (the 3D teacher) cannot see a 10-minute video in one piece.
``SegmentedRunner`` keeps at most one segment of crops, runs the method on it, z-normalises the segment's
BVP and cross-fades it into the running output over the overlap, so that memory stays flat in video
length: only the BVP (one float per sample) grows.

    runner = SegmentedRunner(method, fps=30.0, segment_s=20.0, overlap_s=2.0)
    for crop in crops:                     # (S, S, 3) uint8
        runner.push(crop)
    bvp = runner.result()                  # (n_samples,) float64
"""

from __future__ import annotations

import numpy as np

from kdphys.methods.base import BVPMethod
from kdphys.signal import znorm


class SegmentedRunner:
    """Overlap-and-cross-fade execution of ``method.bvp`` over fixed-length segments.

    Args:
        method: a BVPMethod whose input_kind is "crops".
        fps: sample rate of the crops, samples per second.
        segment_s: segment length, seconds.
        overlap_s: overlap between consecutive segments, seconds (cross-faded linearly).
    """

    def __init__(self, method: BVPMethod, fps: float, segment_s: float = 20.0, overlap_s: float = 2.0):
        self.method = method
        self.fps = float(fps)
        self.segment_len = max(int(round(segment_s * fps)), 2)
        self.overlap_len = min(int(round(overlap_s * fps)), self.segment_len // 2)
        self._pending: list[np.ndarray] = []   # crops not yet run, (S, S, 3) each
        self._output = np.zeros(0)             # finished BVP, the last overlap_len samples still open
        self._n_pushed = 0

    def push(self, crop: np.ndarray) -> None:
        self._pending.append(crop)
        self._n_pushed += 1
        if len(self._pending) == self.segment_len:
            self._run_pending()

    def _run_pending(self) -> None:
        crops = np.stack(self._pending)
        segment = znorm(self.method.bvp(crops, self.fps))
        self._merge(segment)
        # Keep the tail so that the next segment starts overlap_len samples before this one ended.
        self._pending = self._pending[len(self._pending) - self.overlap_len:] if self.overlap_len else []

    def _merge(self, segment: np.ndarray) -> None:
        n_overlap = min(self.overlap_len, len(self._output), len(segment))
        if n_overlap == 0:
            self._output = np.concatenate([self._output, segment])
            return
        fade_in = np.linspace(0.0, 1.0, n_overlap + 2)[1:-1]
        head = self._output[:-n_overlap]
        blended = (1.0 - fade_in) * self._output[-n_overlap:] + fade_in * segment[:n_overlap]
        self._output = np.concatenate([head, blended, segment[n_overlap:]])

    def result(self) -> np.ndarray:
        """BVP of every pushed sample, (n_pushed,) float64 (the open tail is run on demand)."""
        covered = len(self._output)
        missing = self._n_pushed - covered
        if missing <= 0:
            return self._output[: self._n_pushed].copy()
        tail = self._pending
        if len(tail) < 2:
            return np.concatenate([self._output, np.zeros(missing)])
        segment = znorm(self.method.bvp(np.stack(tail), self.fps))
        saved = self._output
        self._merge(segment)
        out, self._output = self._output, saved
        return out[: self._n_pushed].copy()
