"""Shared input handling of the classical methods: shapes, lost-face gaps, the zero-mean output.

Lost-face frames (NaN rows) are handled the same way by every classical method:

1. rows with any non-finite value are "missing";
2. missing rows are filled by linear interpolation in time between the nearest valid frames (held
   constant before the first and after the last valid frame), so the method's windows stay continuous;
3. the method runs on the filled trace;
4. the output is set to 0 on the missing frames (no invented pulse where there was no face) and the valid
   frames are shifted to zero mean, so the whole output has zero mean.

A trace with fewer than 2 valid frames gives all zeros.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

#: Smallest value a channel mean may take before it is used as a divisor (0..255 scale).
EPS = 1e-9


def as_rgb_trace(x: np.ndarray) -> np.ndarray:
    """Turn a method's input into an RGB trace.

    Args:
        x: RGB trace (n_frames, 3), R, G, B in 0..255, or face crops (n_frames, S, S, 3) RGB 0..255
            (uint8 or float), which are averaged over all pixels of each crop.

    Returns:
        (n_frames, 3) float64 trace; rows may contain NaN (lost face).
    """
    arr = np.asarray(x)
    if arr.ndim == 4 and arr.shape[-1] == 3:
        return arr.reshape(arr.shape[0], -1, 3).mean(axis=1, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 3:
        return arr.astype(np.float64, copy=False)
    hint = " A (3, n_frames) trace needs a transpose (x.T)." if arr.ndim == 2 and arr.shape[0] == 3 else ""
    raise ValueError(
        f"Expected an RGB trace of shape (n_frames, 3) or face crops of shape (n_frames, S, S, 3), "
        f"got shape {arr.shape}.{hint}"
    )


def check_fps(fps: float) -> float:
    """Return ``fps`` as a float, or raise ValueError when it is not a positive finite rate."""
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive frame rate (frames per second), got {fps}.")
    return fps


def fill_gaps(trace: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill missing (non-finite) rows of a trace by linear interpolation in time.

    Args:
        trace: (n_frames, C) float.

    Returns:
        filled: (n_frames, C) float64 without NaN (all zeros when fewer than 2 rows are valid).
        valid: (n_frames,) bool, True where the input row was complete.
    """
    trace = np.asarray(trace, dtype=np.float64)
    valid = np.isfinite(trace).all(axis=1)
    n_valid = int(valid.sum())
    if n_valid < 2:
        return np.zeros_like(trace), valid
    if n_valid == len(trace):
        return trace, valid
    idx = np.arange(len(trace))
    filled = np.empty_like(trace)
    for c in range(trace.shape[1]):
        filled[:, c] = np.interp(idx, idx[valid], trace[valid, c])
    return filled, valid


def finish(bvp: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Zero the output on missing frames and make it zero-mean. (n_frames,) float64."""
    out = np.asarray(bvp, dtype=np.float64).copy()
    out[~np.isfinite(out)] = 0.0
    out[~valid] = 0.0
    if valid.any():
        out[valid] -= out[valid].mean()
    return out


def window_frames(window_s: float, fps: float, n_frames: int) -> int:
    """Window length in frames: ``round(window_s * fps)``, at least 2, at most ``n_frames``."""
    if window_s <= 0:
        raise ValueError(f"window_s must be positive (seconds), got {window_s}.")
    return int(min(max(2, round(window_s * fps)), n_frames))


def hann_overlap_add(n_frames: int, win: int, window_output: Callable[[int], np.ndarray]) -> np.ndarray:
    """Overlap-add of per-window outputs with Hann weights, divided by the summed weight.

    Windows of ``win`` frames start every ``win // 2`` frames, and one more ends on the final frame, so every
    frame is covered and the first and last half-windows are not tapered to zero.

    Args:
        n_frames: trace length, frames (>= win >= 1).
        win: window length, frames.
        window_output: start frame -> (win,) output of the window that starts there.

    Returns:
        (n_frames,) float64.
    """
    hann = np.hanning(win + 2)[1:-1]                       # strictly positive weights
    starts = list(range(0, n_frames - win + 1, max(1, win // 2)))
    if starts[-1] != n_frames - win:
        starts.append(n_frames - win)
    acc = np.zeros(n_frames)
    weight = np.zeros(n_frames)
    for s in starts:
        acc[s:s + win] += hann * window_output(s)
        weight[s:s + win] += hann
    return acc / np.maximum(weight, EPS)
