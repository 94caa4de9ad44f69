"""The one windowing of KDPhys: run a model over a stream of frames in overlapping segments, in bounded memory.

A network sees a clip of a fixed length from a fresh state (the teacher a 3D clip, the student its
128-frame training chunks), so a long video runs in segments. ``SegmentedRunner`` keeps at most one
segment of frames, runs ``run_segment`` on it, z-normalises the segment's BVP and cross-fades it into the
running output over the overlap, so that memory stays flat in video length: only the BVP (one float per
sample) grows. ``NeuralMethod.bvp`` (a whole array at once) and the engine (frame by frame, uploads and
live) both run their models through it.

    runner = SegmentedRunner(lambda crops: method.bvp(crops, 30.0), segment_len=128, overlap_len=32)
    for crop in crops:                     # (S, S, 3) uint8, one per sample
        runner.push(crop)
    bvp = runner.result()                  # (n_samples,) float64

With ``max_samples`` (live) only the last ``max_samples`` output samples are kept, so memory stays flat in
time too.
"""

from __future__ import annotations

import numpy as np

from collections.abc import Callable

from kdphys.signal import znorm


class SegmentedRunner:
    """Overlap-and-cross-fade execution of ``run_segment`` over fixed-length segments.

    Args:
        run_segment: frames (n, ...) stacked along axis 0 -> BVP (n,); called with segment_len frames, and
            once with the shorter open tail when ``result`` is read.
        segment_len: frames per segment (at least 2).
        overlap_len: frames shared by consecutive segments, cross-faded linearly (at most segment_len // 2).
        max_samples: keep only the last this many output samples (None = all).
    """

    def __init__(self, run_segment: Callable[[np.ndarray], np.ndarray], segment_len: int, overlap_len: int,
                 max_samples: int | None = None):
        self.run_segment = run_segment
        self.segment_len = max(int(segment_len), 2)
        self.overlap_len = max(min(int(overlap_len), self.segment_len // 2), 0)
        self._pending: list[np.ndarray] = []   # frames not yet run
        self._output = np.zeros(0)             # finished BVP, the last overlap_len samples still open
        self._n_pushed = 0
        self._dropped = 0                      # output samples trimmed from the front (max_samples)
        self.max_samples = max_samples

    def push(self, frame: np.ndarray) -> None:
        self._pending.append(frame)
        self._n_pushed += 1
        if len(self._pending) == self.segment_len:
            self._run_pending()

    def _run_pending(self) -> None:
        crops = np.stack(self._pending)
        segment = znorm(self.run_segment(crops))
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
            segment = znorm(self.run_segment(np.stack(self._pending)))
            saved = self._output
            self._merge(segment)
            out, self._output = self._output[:n_kept], saved
        if self.max_samples is not None:
            out = out[-self.max_samples:]
        return out.copy()
