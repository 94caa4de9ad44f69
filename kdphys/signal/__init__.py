"""From a BVP waveform to readings: ``dsp`` (detrend, band-pass, spectrum, beats, SNR, periodicity; its
names are re-exported here), ``hr_track`` (windows read together), ``quality`` (the gate), ``readings``
(per-window readings and their summary)."""

from kdphys.signal.dsp import *  # noqa: F401,F403
from kdphys.signal.dsp import DEFAULT_BAND_HZ, znorm  # noqa: F401  (explicit for readers and linters)
