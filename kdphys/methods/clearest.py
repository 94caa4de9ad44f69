"""PBV, POS or the green channel, whichever shows the clearer pulse: the app's classical method for uploads.

Each of the three wins where the others lose, so all three are computed from the same skin trace and the
recording is read with the one whose heart-rate track is the most certain: the mean confidence of the
tracker (``kdphys.signal.hr_track``) over the recording's windows. No parameter to fit.

- POS cancels what the colour channels do in equal proportion (light, movement).
- The green channel keeps a pulse that moves R, G and B together, which POS cancels: at the bit rates of
  web video (UBFC-rPPG's H.264 at ~100-200 kbit/s) the codec keeps mostly the skin's brightness.
- PBV removes light that moves the channels nearly, not exactly, together, which POS and green keep
  (UBFC-rPPG subject 10); its weights cancel part of a strong, clean pulse whose colour differs from its
  signature (synthetic still faces through H.264 at 130-160 bpm), where POS or green read.

On the eight UBFC-rPPG dev subjects, the sample clip and the 30 synthetic sweep clips the rule reads every
clip, none more than 5 bpm off (benchmarks/dev_readings.py, benchmarks/synthetic_sweep.py; docs/DESIGN.md).

Limits: a light that flickers, or a head that nods, at a steady rate inside the pulse band is as clear a
track in the green channel as a pulse, and wins; on a rolling 30 s (live) the choice is made on too few
windows and picked such tracks on dev subjects, so the live page runs POS (methods.registry.LIVE_CLASSICAL).

    method = ClearestOf()                      # candidates PBV, POS, green: "pbv-pos-or-green"
    bvp = method.bvp(rgb_trace, fps=30.0)      # (n_frames, 3) 0..255 -> (n_frames,)
    name, bvp = method.bvp_and_source(rgb_trace, 30.0)   # and which candidate was used ("pbv", "pos", "green")
    ClearestOf(candidates=(POS(), Green())).name          # "pos-or-green"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from kdphys import signal as sig
from kdphys.methods.base import BVPMethod
from kdphys.methods.green import Green
from kdphys.methods.pbv import PBV
from kdphys.methods.pos import POS
from kdphys.signal.hr_track import TrackSettings, track_hr, window_slices


def track_clarity(bvp: np.ndarray, fps: float, band_hz=sig.DEFAULT_BAND_HZ) -> float:
    """How certain the heart-rate tracker is of a BVP: its mean confidence over the windows, 0..1.

    Args:
        bvp: (n,) raw BVP from a method. fps: Hz. band_hz: pre-processing band, Hz.
    Returns:
        mean of ``HrTrack.confidence``; 0 for a signal too short for one window or without variation.
    """
    z = np.asarray(bvp, dtype=np.float64)
    settings = TrackSettings()
    if not window_slices(z.size, fps, settings) or not np.all(np.isfinite(z)) or np.ptp(z) <= 0:
        return 0.0
    return float(np.mean(track_hr(sig.preprocess(z, fps, band_hz), fps, settings, band_hz).confidence))


@dataclass
class ClearestOf(BVPMethod):
    """The candidate method whose pulse the tracker follows with the most confidence (see the module
    docstring). ``bvp(x, fps)``: x as the candidates take it (an RGB trace (n_frames, 3) 0..255 or crops);
    returns (n_frames,) float64, zero mean. Ties go to the first candidate.

    Attributes:
        candidates: the methods to choose from, all of the same ``input_kind``.
    """

    input_kind: ClassVar[str] = "trace"
    candidates: tuple[BVPMethod, ...] = field(default_factory=lambda: (PBV(), POS(), Green()))

    @property
    def name(self) -> str:
        """The candidates' names joined: "pbv-pos-or-green" for the default ones."""
        *first, last = [m.name for m in self.candidates]
        return "-".join(first) + f"-or-{last}" if first else last

    def __post_init__(self) -> None:
        if not self.candidates:
            raise ValueError("ClearestOf needs at least one candidate method.")
        if any(m.input_kind != self.input_kind for m in self.candidates):
            raise ValueError(f"ClearestOf candidates must all take a {self.input_kind!r} input.")

    def bvp_and_source(self, x: np.ndarray, fps: float) -> tuple[str, np.ndarray]:
        """(name of the candidate used, its BVP (n_frames,))."""
        outputs = [(m.name, m.bvp(x, fps)) for m in self.candidates]
        scores = [track_clarity(bvp, fps) for _, bvp in outputs]
        return outputs[int(np.argmax(scores))]

    def bvp(self, x: np.ndarray, fps: float) -> np.ndarray:
        return self.bvp_and_source(x, fps)[1]
