"""Signals of the synthetic generator, as functions of time: the blood-volume pulse and smooth randomness.

Everything here is evaluated at arbitrary times ``t_s`` from parameters drawn once, so a clip can be
rendered frame by frame (streaming) and gives the same values whatever the chunking.

* ``SmoothNoise``: a sum of random sinusoids in a frequency band, unit standard deviation, with an
  exact integral. Used for head motion, illumination drift and the slow part of heart-rate variability.
* ``PulseModel``: a PPG-like waveform (systolic peak, dicrotic notch, diastolic wave) whose beat-to-beat
  intervals follow an instantaneous heart rate with respiratory sinus arrhythmia plus slow randomness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Beat template: (centre, width, height) of Gaussians over the beat phase u in [0, 1). The gap between
#: the systolic wave (0.18) and the diastolic wave (0.47) is the dicrotic notch (about u = 0.36).
BEAT_WAVES = ((0.18, 0.065, 1.0), (0.47, 0.085, 0.42))
#: Mean respiration rate, Hz (15 breaths per minute).
RESPIRATION_HZ = 0.25
#: Band of the slow random heart-rate component, Hz (the low-frequency band of HRV).
HRV_RANDOM_BAND_HZ = (0.02, 0.15)
#: Per-beat random amplitude variation (standard deviation, fraction of the mean amplitude).
BEAT_AMPLITUDE_JITTER = 0.05
#: Respiratory amplitude modulation of the pulse (fraction of the mean amplitude).
RESPIRATORY_AMPLITUDE_MODULATION = 0.08


class SmoothNoise:
    """Smooth zero-mean random signal with unit standard deviation: sum of ``n_waves`` sinusoids.

    Args:
        rng: source of the random frequencies (uniform in ``band_hz``) and phases.
        band_hz: (low, high) frequency range, Hz.
        n_waves: number of sinusoids (more = less periodic looking).
    """

    def __init__(self, rng: np.random.Generator, band_hz: tuple[float, float], n_waves: int = 6):
        self.freqs_hz = rng.uniform(band_hz[0], band_hz[1], size=n_waves)
        self.phases = rng.uniform(0.0, 2.0 * np.pi, size=n_waves)
        self.amplitude = np.sqrt(2.0 / n_waves)       # each wave has variance a^2 / 2

    def __call__(self, t_s: np.ndarray | float) -> np.ndarray:
        """Value at times ``t_s`` (any shape), same shape."""
        t = np.asarray(t_s, dtype=np.float64)[..., None]
        return self.amplitude * np.sin(2 * np.pi * self.freqs_hz * t + self.phases).sum(axis=-1)

    def integral(self, t_s: np.ndarray | float) -> np.ndarray:
        """Exact integral from 0 to ``t_s`` (unit * seconds), same shape as ``t_s``."""
        t = np.asarray(t_s, dtype=np.float64)[..., None]
        w = 2 * np.pi * self.freqs_hz
        return self.amplitude * ((np.cos(self.phases) - np.cos(w * t + self.phases)) / w).sum(axis=-1)


def _beat_template(u: np.ndarray) -> np.ndarray:
    """Periodic beat shape over phase ``u`` (any real; period 1), before normalisation."""
    u = np.mod(u, 1.0)
    out = np.zeros_like(u)
    for centre, width, height in BEAT_WAVES:
        for shift in (-1.0, 0.0, 1.0):
            out += height * np.exp(-0.5 * ((u - centre - shift) / width) ** 2)
    return out


_U = np.linspace(0.0, 1.0, 2000, endpoint=False)
_TEMPLATE_MEAN = float(_beat_template(_U).mean())
_TEMPLATE_PTP = float(np.ptp(_beat_template(_U)))


def beat_shape(u: np.ndarray) -> np.ndarray:
    """Normalised beat shape: zero mean over one beat, peak-to-peak 1, systolic peak at u = 0.18."""
    return (_beat_template(np.asarray(u, dtype=np.float64)) - _TEMPLATE_MEAN) / _TEMPLATE_PTP


@dataclass(frozen=True)
class PulseSample:
    """The pulse at some times. All arrays have the shape of the requested ``t_s``.

    Attributes:
        bvp: blood-volume pulse, arbitrary units, about zero mean, peak-to-peak about 1 (up = more blood).
        hr_bpm: instantaneous heart rate, beats per minute.
        beat_phase: beats elapsed since t = 0 (the integer part counts beats).
    """

    bvp: np.ndarray
    hr_bpm: np.ndarray
    beat_phase: np.ndarray


class PulseModel:
    """Heart rate with variability, and the PPG-like waveform it drives.

    Instantaneous heart rate: hr(t) = hr_bpm + hrv_bpm * sin(2 pi f_resp t + phi)    (RSA, peak hrv_bpm)
                                     + hrv_bpm / sqrt(2) * slow_noise(t)             (0.02-0.15 Hz)
    so that its standard deviation about the mean is about ``hrv_bpm``. The beat phase is the exact
    integral of hr / 60, and the waveform is ``beat_shape`` of the phase, scaled per beat by a random
    factor (5 %) and by respiration (8 %).

    Args:
        hr_bpm: mean heart rate, beats per minute (> 0).
        hrv_bpm: heart-rate variability, bpm (0 = a perfectly regular pulse).
        rng: source of every random choice (respiration rate and phase, slow noise, beat amplitudes).
        max_beats: how many per-beat amplitudes to draw (enough for the clip).
    """

    def __init__(self, hr_bpm: float, hrv_bpm: float, rng: np.random.Generator, max_beats: int):
        if not hr_bpm > 0:
            raise ValueError(f"hr_bpm must be positive, got {hr_bpm}.")
        if hrv_bpm < 0 or hrv_bpm > 0.25 * hr_bpm:
            raise ValueError(f"hrv_bpm must be in [0, hr_bpm / 4] so that the rate stays positive, got "
                             f"{hrv_bpm} with hr_bpm={hr_bpm}.")
        self.hr_bpm = float(hr_bpm)
        self.hrv_bpm = float(hrv_bpm)
        self.resp_hz = RESPIRATION_HZ * rng.uniform(0.9, 1.1)
        self.resp_phase = rng.uniform(0.0, 2 * np.pi)
        self.slow = SmoothNoise(rng, HRV_RANDOM_BAND_HZ, n_waves=4)
        self.beat_gain = 1.0 + BEAT_AMPLITUDE_JITTER * rng.standard_normal(max(int(max_beats), 1) + 2)

    def hr_at(self, t_s: np.ndarray) -> np.ndarray:
        """Instantaneous heart rate (bpm) at ``t_s``."""
        t = np.asarray(t_s, dtype=np.float64)
        rsa = self.hrv_bpm * np.sin(2 * np.pi * self.resp_hz * t + self.resp_phase)
        return self.hr_bpm + rsa + self.hrv_bpm / np.sqrt(2.0) * self.slow(t)

    def beat_phase(self, t_s: np.ndarray) -> np.ndarray:
        """Beats since t = 0: integral of hr / 60 from 0 to ``t_s``."""
        t = np.asarray(t_s, dtype=np.float64)
        w = 2 * np.pi * self.resp_hz
        rsa = self.hrv_bpm * (np.cos(self.resp_phase) - np.cos(w * t + self.resp_phase)) / w
        slow = self.hrv_bpm / np.sqrt(2.0) * self.slow.integral(t)
        return (self.hr_bpm * t + rsa + slow) / 60.0

    def __call__(self, t_s: np.ndarray | float) -> PulseSample:
        t = np.asarray(t_s, dtype=np.float64)
        phase = self.beat_phase(t)
        beat_index = np.clip(phase, 0, len(self.beat_gain) - 1)
        gain = np.interp(beat_index, np.arange(len(self.beat_gain)), self.beat_gain)
        gain = gain * (1.0 + RESPIRATORY_AMPLITUDE_MODULATION * np.sin(2 * np.pi * self.resp_hz * t))
        return PulseSample(bvp=gain * beat_shape(phase), hr_bpm=self.hr_at(t), beat_phase=phase)
