"""POS: the plane-orthogonal-to-skin method (Wang, den Brinker, Stuijk, de Haan, IEEE TBME 2017).

For every window of ``window_s`` seconds (1.6 s in the paper), ending at each frame in turn:

1. temporal normalisation: Cn = C / mean(C) per channel over the window;
2. projection onto the plane orthogonal to the skin tone: S1 = G - B, S2 = G + B - 2R;
3. alpha tuning: h = S1 + (std(S1) / std(S2)) * S2, made zero-mean;
4. overlap-add: H[m : m + l] += h.

    bvp = POS().bvp(rgb_trace, fps=30.0)      # rgb_trace (n_frames, 3), 0..255 -> (n_frames,)

The output has the polarity of a contact PPG (up = more blood): skin gets darker when blood volume
rises, so the projection (which follows intensity) is negated. No detrending or band-pass here: that
is ``kdphys.signal.preprocess``, the one post-processing path. Lost-face frames (NaN rows): see
``kdphys.methods._trace``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kdphys.methods._trace import EPS, as_rgb_trace, check_fps, fill_gaps, finish, window_frames
from kdphys.methods.base import BVPMethod

#: Projection matrix of the paper: rows give S1 = G - B and S2 = -2R + G + B.
POS_PROJECTION = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])
#: Windows processed at once (bounds memory to about this many * window length * 3 floats).
_WINDOWS_PER_CHUNK = 4096


def pos_bvp(rgb: np.ndarray, fps: float, window_s: float = 1.6) -> np.ndarray:
    """POS on a gap-free trace.

    Args:
        rgb: (n_frames, 3) float, R, G, B > 0, no NaN.
        fps: frames per second.
        window_s: sliding window length, seconds.

    Returns:
        (n_frames,) float64 BVP, contact-PPG polarity, not yet zero-mean.
    """
    n_frames = len(rgb)
    out = np.zeros(n_frames)
    if n_frames < 2:
        return out
    win = window_frames(window_s, fps, n_frames)
    n_windows = n_frames - win + 1
    windows = np.lib.stride_tricks.sliding_window_view(rgb, win, axis=0)   # (n_windows, 3, win)
    for start in range(0, n_windows, _WINDOWS_PER_CHUNK):
        chunk = windows[start:start + _WINDOWS_PER_CHUNK]
        cn = chunk / np.maximum(chunk.mean(axis=2, keepdims=True), EPS)
        s = np.einsum("pc,wct->wpt", POS_PROJECTION, cn)                    # (w, 2, win)
        alpha = s[:, 0].std(axis=1) / np.maximum(s[:, 1].std(axis=1), EPS)
        h = s[:, 0] + alpha[:, None] * s[:, 1]
        h -= h.mean(axis=1, keepdims=True)
        for k in range(win):                      # overlap-add: window w covers frames w .. w + win - 1
            out[start + k:start + k + len(h)] += h[:, k]
    return -out


@dataclass
class POS(BVPMethod):
    """POS method. ``bvp(x, fps)``: x is an RGB trace (n_frames, 3) 0..255 (NaN rows = no face) or crops
    (n_frames, S, S, 3), which are averaged over all pixels; returns (n_frames,) float64, zero mean.

    Attributes:
        window_s: sliding window length in seconds (1.6 s as in the paper; it should span at least one
            heart beat at the lowest rate of interest).
    """

    name: ClassVar[str] = "pos"
    input_kind: ClassVar[str] = "trace"
    window_s: float = 1.6

    def bvp(self, x: np.ndarray, fps: float) -> np.ndarray:
        fps = check_fps(fps)
        filled, valid = fill_gaps(as_rgb_trace(x))
        return finish(pos_bvp(filled, fps, self.window_s), valid)
