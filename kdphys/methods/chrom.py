"""CHROM: the chrominance method (de Haan and Jeanne, IEEE TBME 2013).

1. normalise each channel by its local mean (a centred moving average of ``window_s``), which removes
   slow illumination changes the way the paper's per-window normalisation does;
2. chrominance signals Xs = 3R - 2G and Ys = 1.5R + G - 1.5B (standardised skin-tone white balance);
3. band-pass both over the whole trace (Butterworth, zero phase, ``band_hz``);
4. in windows of ``window_s`` with 50 % overlap: S = Xf - alpha * Yf, alpha = std(Xf) / std(Yf);
5. Hann-weighted overlap-add, divided by the summed Hann weight (so the first and last half-windows are
   not tapered to zero and a last window that ends on the final frame can be added).

    bvp = CHROM().bvp(rgb_trace, fps=30.0)    # (n_frames, 3) 0..255 -> (n_frames,)

Band-passing once over the whole trace (step 3) instead of inside each 1.6 s window avoids the filter's
edge transients on 48-sample windows; the result is the same signal model. The output has contact-PPG
polarity (up = more blood). Lost-face frames (NaN rows): see ``kdphys.methods._trace``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, sosfiltfilt

from kdphys.methods._trace import EPS, as_rgb_trace, check_fps, fill_gaps, finish, hann_overlap_add, window_frames
from kdphys.methods.base import BVPMethod
from kdphys.signal import DEFAULT_BAND_HZ


def _bandpass(x: np.ndarray, fps: float, band_hz: tuple[float, float], order: int) -> np.ndarray:
    """Zero-phase Butterworth band-pass of (n,) ``x``; the upper edge is capped below Nyquist."""
    low_hz, high_hz = float(band_hz[0]), min(float(band_hz[1]), 0.45 * fps)
    if not 0 < low_hz < high_hz:
        raise ValueError(
            f"band_hz={tuple(band_hz)} is not a usable pass band at {fps} fps: it needs 0 < low < high "
            f"< fps/2 (e.g. (0.7, 3.5) Hz at 30 fps)."
        )
    sos = butter(order, (low_hz, high_hz), btype="bandpass", fs=fps, output="sos")
    padlen = min(3 * (2 * len(sos) + 1), len(x) - 1)
    return sosfiltfilt(sos, x, padlen=padlen)


def chrom_bvp(rgb: np.ndarray, fps: float, window_s: float = 1.6,
              band_hz: tuple[float, float] = DEFAULT_BAND_HZ, order: int = 3) -> np.ndarray:
    """CHROM on a gap-free trace.

    Args:
        rgb: (n_frames, 3) float, R, G, B > 0, no NaN.
        fps: frames per second.
        window_s: window length for the alpha estimate and the moving-mean normalisation, seconds.
        band_hz: (low, high) band-pass of the chrominance signals, Hz.
        order: Butterworth order.

    Returns:
        (n_frames,) float64 BVP, contact-PPG polarity, not yet zero-mean.
    """
    n_frames = len(rgb)
    if n_frames < 4:
        return np.zeros(n_frames)
    win = window_frames(window_s, fps, n_frames)
    win += win % 2                                         # even, so that 50 % overlap is exact
    win = min(win, n_frames)
    local_mean = uniform_filter1d(rgb, size=win, axis=0, mode="nearest")
    cn = rgb / np.maximum(local_mean, EPS)
    xs = 3.0 * cn[:, 0] - 2.0 * cn[:, 1]
    ys = 1.5 * cn[:, 0] + cn[:, 1] - 1.5 * cn[:, 2]
    xf = _bandpass(xs, fps, band_hz, order)
    yf = _bandpass(ys, fps, band_hz, order)

    def window_output(s: int) -> np.ndarray:
        x_w, y_w = xf[s:s + win], yf[s:s + win]
        segment = x_w - x_w.std() / max(y_w.std(), EPS) * y_w
        return segment - segment.mean()

    # With the paper's signs S already follows blood volume (Xs rises when G falls more than R).
    return hann_overlap_add(n_frames, win, window_output)


@dataclass
class CHROM(BVPMethod):
    """CHROM method. ``bvp(x, fps)``: x is an RGB trace (n_frames, 3) 0..255 (NaN rows = no face) or
    crops (n_frames, S, S, 3), averaged over all pixels; returns (n_frames,) float64, zero mean.

    Attributes:
        window_s: window length, seconds (1.6 s as in rPPG-Toolbox).
        band_hz: band-pass of the chrominance signals, Hz (the app's 0.7-3.5 Hz = 42-210 bpm).
        order: Butterworth order of that band-pass.
    """

    name: ClassVar[str] = "chrom"
    input_kind: ClassVar[str] = "trace"
    window_s: float = 1.6
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ
    order: int = 3

    def bvp(self, x: np.ndarray, fps: float) -> np.ndarray:
        fps = check_fps(fps)
        filled, valid = fill_gaps(as_rgb_trace(x))
        return finish(chrom_bvp(filled, fps, self.window_s, self.band_hz, self.order), valid)
