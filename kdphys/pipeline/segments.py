"""Run a windowed method over an unbounded stream of crops in overlapping segments, in bounded memory.

A method that needs a whole clip at once (the 3D teacher) cannot see a 10-minute video in one piece.
``SegmentedRunner`` keeps at most one segment of crops, runs the method on it, z-normalises the segment's
BVP and cross-fades it into the running output over the overlap, so that memory stays flat in video
length: only the BVP (one float per sample) grows.

    runner = SegmentedRunner(method, fps=30.0, segment_s=20.0, overlap_s=2.0)
    for crop in crops:                     # (S, S, 3) uint8
        runner.push(crop)
    bvp = runner.result()                  # (n_samples,) float64

With ``max_samples`` (live) only the last ``max_samples`` output samples are kept, so memory stays flat in
time too. The student runs this way in 128-frame segments from a fresh state: the length and the start
state of its training chunks (docs/DESIGN.md, "Student inference in windows").
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
        max_samples: keep only the last this many output samples (None = all).
    """

    def __init__(self, method: BVPMethod, fps: float, segment_s: float = 20.0, overlap_s: float = 2.0,
                 max_samples: int | None = None):
        self.method = method
        self.fps = float(fps)
        self.segment_len = max(int(round(segment_s * fps)), 2)
        self.overlap_len = min(int(round(overlap_s * fps)), self.segment_len // 2)
        self._pending: list[np.ndarray] = []   # crops not yet run, (S, S, 3) each
        self._output = np.zeros(0)             # finished BVP, the last overlap_len samples still open
        self._n_pushed = 0
        self._dropped = 0                      # output samples trimmed from the front (max_samples)
        self.max_samples = max_samples

    def push(self, crop: np.ndarray) -> None:
        self._pending.append(crop)
        self._n_pushed += 1
        if len(self._pending) == self.segment_len:
            self._run_pending()

    def _run_pending(self) -> None:
        crops = np.stack(self._pending)
        segment = znorm(self.method.bvp(crops, self.fps))
        self._merge(segment)
        self._trim()
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

    def _trim(self) -> None:
        """Drop output older than max_samples (plus the open overlap, which the next merge needs)."""
        if self.max_samples is None:
            return
        excess = len(self._output) - (self.max_samples + self.overlap_len)
        if excess > 0:
            self._output = self._output[excess:]
            self._dropped += excess

    def result(self) -> np.ndarray:
        """BVP of every pushed sample, (n_pushed,) float64, or of the last max_samples (the open tail is run
        on demand)."""
        n_kept = self._n_pushed - self._dropped
        missing = n_kept - len(self._output)
        if missing <= 0:
            out = self._output[:n_kept]
        elif len(self._pending) < 2:
            out = np.concatenate([self._output, np.zeros(missing)])
        else:
            segment = znorm(self.method.bvp(np.stack(self._pending), self.fps))
            saved = self._output
            self._merge(segment)
            out, self._output = self._output[:n_kept], saved
        if self.max_samples is not None:
            out = out[-self.max_samples:]
        return out.copy()
