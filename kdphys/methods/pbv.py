"""PBV: the blood-volume-pulse signature method (de Haan and van Leest, Physiol. Meas. 2014).

The pulse changes the skin's relative colour along a known direction, its signature (R, G, B ~ 0.33, 0.77,
0.53: haemoglobin absorbs green most); light changes and movement change it along other directions. For
every window of ``window_s`` seconds (50 % overlap, the last one ending on the final frame):

1. temporal normalisation: Cn = C / (centred moving mean of C over ``norm_s``) - 1, per channel;
2. band-pass of each channel (``band_hz``, zero phase), over the whole trace;
3. the weights w that pass the signature unchanged (w . signature = 1) and leave the least power
   otherwise: w = Q^-1 signature / (signature . Q^-1 signature), Q the window's 3 x 3 covariance of Cn
   (the minimum-variance distortionless response); h = Cn . w;
4. Hann-weighted overlap-add, divided by the summed weight.

    bvp = PBV().bvp(rgb_trace, fps=30.0)      # (n_frames, 3) 0..255 -> (n_frames,)

Where POS removes only what R, G and B do in equal proportion, PBV removes whatever the window shows in
any direction but the signature's: on compressed web video a light or head movement that moves the
channels nearly, not exactly, together is what POS keeps (UBFC-rPPG subject 10: a 50-60 bpm component
that POS follows; benchmarks/dev_readings.py --method pbv; docs/DESIGN.md). The windows are long (10 s)
because the covariance of a short one follows the pulse's own noise and cancels part of it.

Limits: the signature belongs to the camera's colour response. The literature value (``PBV_SIGNATURE``)
serves UBFC-rPPG's webcam and the sample clip's; a camera that records the pulse with a very different
colour weighting loses pulse power to the suppression (a signature of 0.5, 0.75, 0.5 halved subject 11's
heart rate). Output polarity: a contact PPG's (skin darkens as blood volume rises, so h is negated). No
detrending beyond the band-pass (``kdphys.signal.preprocess`` does the rest). Lost-face frames (NaN rows):
see ``kdphys.methods._trace``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.ndimage import uniform_filter1d

from kdphys.methods._trace import EPS, as_rgb_trace, check_fps, fill_gaps, finish, hann_overlap_add, window_frames
from kdphys.methods.base import BVPMethod
from kdphys.signal import DEFAULT_BAND_HZ, bandpass

#: Relative pulse amplitude of R, G, B (de Haan and van Leest 2014): the direction the weights keep.
PBV_SIGNATURE = (0.33, 0.77, 0.53)


def pbv_weights(cn: np.ndarray, signature: np.ndarray) -> np.ndarray:
    """The minimum-variance weights that keep ``signature``.

    Args:
        cn: (n, 3) normalised, band-passed colour of one window.
        signature: (3,) pulse direction.

    Returns:
        (3,) weights w with w . signature = 1; zeros when the window has no variance.
    """
    q = cn.T @ cn / max(len(cn), 1)
    scale = float(np.trace(q))
    if not np.isfinite(scale) or scale <= 0:
        return np.zeros(3)
    q = q + 1e-9 * scale * np.eye(3)              # keeps a rank-deficient window solvable
    w = np.linalg.solve(q, signature)
    return w / (signature @ w)


def pbv_bvp(rgb: np.ndarray, fps: float, window_s: float = 10.0, norm_s: float = 1.6,
            band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
            signature: tuple[float, float, float] = PBV_SIGNATURE) -> np.ndarray:
    """PBV on a gap-free trace.

    Args:
        rgb: (n_frames, 3) float, R, G, B > 0, no NaN.
        fps: frames per second.
        window_s: window of the weights, seconds.
        norm_s: moving mean of the temporal normalisation, seconds.
        band_hz: (low, high) band-pass of the normalised channels, Hz.
        signature: relative pulse amplitude of R, G, B.

    Returns:
        (n_frames,) float64 BVP, contact-PPG polarity.
    """
    n_frames = len(rgb)
    if n_frames < 4:
        return np.zeros(n_frames)
    norm = window_frames(norm_s, fps, n_frames)
    cn = rgb / np.maximum(uniform_filter1d(rgb, size=norm, axis=0, mode="nearest"), EPS) - 1.0
    cn = np.stack([bandpass(cn[:, c], fps, band_hz) for c in range(3)], axis=1)
    p = np.asarray(signature, dtype=np.float64)

    win = window_frames(window_s, fps, n_frames)
    return -hann_overlap_add(n_frames, win, lambda s: cn[s:s + win] @ pbv_weights(cn[s:s + win], p))


@dataclass
class PBV(BVPMethod):
    """PBV method. ``bvp(x, fps)``: x is an RGB trace (n_frames, 3) 0..255 (NaN rows = no face) or crops
    (n_frames, S, S, 3), averaged over all pixels; returns (n_frames,) float64, zero mean.

    Attributes:
        window_s: window of the weights, seconds (10 s: see the module docstring).
        norm_s: moving mean of the temporal normalisation, seconds (POS's 1.6 s).
        band_hz: band-pass of the normalised channels, Hz (the app's pre-processing band).
        signature: relative pulse amplitude of R, G, B.
    """

    name: ClassVar[str] = "pbv"
    input_kind: ClassVar[str] = "trace"
    window_s: float = 10.0
    norm_s: float = 1.6
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ
    signature: tuple[float, float, float] = PBV_SIGNATURE

    def bvp(self, x: np.ndarray, fps: float) -> np.ndarray:
        fps = check_fps(fps)
        filled, valid = fill_gaps(as_rgb_trace(x))
        return finish(pbv_bvp(filled, fps, self.window_s, self.norm_s, self.band_hz, self.signature), valid)
