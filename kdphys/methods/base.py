"""One interface for every rPPG method, classical or neural.

A method turns what the face tracker produces into a blood-volume-pulse (BVP) waveform sampled at
the frame rate. Classical methods read the mean skin colour per frame (an "RGB trace"); neural
methods read square face crops. Each method says which it needs through ``input_kind``; the engine
feeds it accordingly.

    method = get_method("pos")
    bvp = method.bvp(rgb_trace, fps=30.0)        # rgb_trace: (n_frames, 3) float, 0..255
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np

InputKind = Literal["trace", "crops"]


class BVPMethod(ABC):
    """Base class of all methods.

    Attributes:
        name: short identifier used on the CLI and in the app ("pos", "chrom", "green", "student", "teacher").
        input_kind: "trace" -> ``bvp`` takes an RGB trace of shape (n_frames, 3), mean skin colour per
            frame in R, G, B order, 0..255 float. "crops" -> ``bvp`` takes face crops of shape
            (n_frames, size, size, 3) uint8 RGB.
    """

    name: str = "base"
    input_kind: InputKind = "trace"

    @abstractmethod
    def bvp(self, x: np.ndarray, fps: float) -> np.ndarray:
        """Return the BVP waveform, shape (n_frames,), float64, arbitrary units, zero mean.

        Args:
            x: RGB trace (n_frames, 3) or crops (n_frames, size, size, 3), as ``input_kind`` says.
            fps: sampling rate of ``x`` in frames per second (uniform).
        """

    def bvp_and_source(self, x: np.ndarray, fps: float) -> tuple[str, np.ndarray]:
        """(name of the method whose signal was used, ``bvp(x, fps)``): this method's own name, except for
        methods that choose among others (``kdphys.methods.clearest.ClearestOf``)."""
        return self.name, self.bvp(x, fps)


def crop_size_for(methods, default: int = 72) -> int:
    """Side (pixels) of the face crops to cut for ``methods``: the one crop size their neural members
    were trained on, else ``default``.

    Crops must be cut at the model's own size, not cut larger and resized: skin-only crops
    (kdphys.face.crop_square_skin) resized from 72 to 36 px get half-skin edge pixels the models never
    saw in training (the release teacher read the real clip at 123.5 bpm that way, 69.4 bpm on 36x36
    crops; oximeter 71.1).

    Args:
        methods: iterable of BVPMethod.
        default: side used when no method takes crops or they disagree, pixels.
    """
    sizes = {int(m.crop_size) for m in methods if m.input_kind == "crops" and getattr(m, "crop_size", None)}
    return sizes.pop() if len(sizes) == 1 else int(default)


def skin_region_for(methods, default: str | None = None) -> str:
    """Skin region (``kdphys.face.SKIN_REGIONS``) to cut crops and the skin trace from for ``methods``: the
    one region their neural members were trained on, else ``default`` (None: the tracker's default)."""
    from kdphys.face import DEFAULT_SKIN_REGION

    regions = {str(m.skin_region) for m in methods if m.input_kind == "crops" and getattr(m, "skin_region", None)}
    return regions.pop() if len(regions) == 1 else (default or DEFAULT_SKIN_REGION)
