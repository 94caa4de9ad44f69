"""GREEN: the green channel alone (Verkruysse, Svaasand, Nelson, Optics Express 2008).

    bvp = Green().bvp(rgb_trace, fps=30.0)    # (n_frames, 3) 0..255 -> (n_frames,)

The green channel carries the strongest pulse (haemoglobin absorbs green most). Output: minus the
green channel relative to its mean, -(G / mean(G) - 1), so that the polarity matches a contact PPG
(skin darkens as blood volume rises). No detrending or band-pass here (``kdphys.signal.preprocess``
does that). Lost-face frames (NaN rows): see ``kdphys.methods._trace``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kdphys.methods._trace import EPS, as_rgb_trace, check_fps, fill_gaps, finish
from kdphys.methods.base import BVPMethod


def green_bvp(rgb: np.ndarray) -> np.ndarray:
    """(n_frames, 3) gap-free trace -> (n_frames,) float64 relative green variation, PPG polarity."""
    green = rgb[:, 1]
    if len(green) == 0:
        return np.zeros(0)
    return -(green / max(float(green.mean()), EPS) - 1.0)


@dataclass
class Green(BVPMethod):
    """GREEN method. ``bvp(x, fps)``: x is an RGB trace (n_frames, 3) 0..255 (NaN rows = no face) or
    crops (n_frames, S, S, 3), averaged over all pixels; returns (n_frames,) float64, zero mean."""

    name: ClassVar[str] = "green"
    input_kind: ClassVar[str] = "trace"

    def bvp(self, x: np.ndarray, fps: float) -> np.ndarray:
        check_fps(fps)
        filled, valid = fill_gaps(as_rgb_trace(x))
        return finish(green_bvp(filled), valid)
