"""Synthetic BVP signals (no video) for calibrating and testing the reading logic.

    from kdphys.data.synthetic.signals import noisy_pulse, noise_only
    rng = np.random.default_rng(0)
    bvp, hr_bpm = noisy_pulse(rng, n=1800, fps=30.0, hr_start_bpm=60, hr_end_bpm=90, snr_db=0.0)
    bvp = noise_only(rng, "pink", n=1800, fps=30.0)

The pulse is ``synthetic_pulse.beat_shape`` (systolic wave, dicrotic notch, diastolic wave) driven by a
heart rate that moves smoothly from ``hr_start_bpm`` to ``hr_end_bpm`` with respiratory sinus arrhythmia;
the noise is a mix of pink (1/f, like motion and light drift) and white noise. ``snr_db`` is the power
ratio of pulse to noise after ``signal.preprocess``.
"""

from __future__ import annotations

import numpy as np

from kdphys import signal as sig
from kdphys.data.synthetic.pulse import RESPIRATION_HZ, beat_shape

NOISE_KINDS = ("white", "pink", "constant")


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n,) noise with a 1/f power spectrum, unit standard deviation."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=float)
    f[0] = 1.0
    x = np.fft.irfft(spectrum / np.sqrt(f), n)
    return x / max(float(np.std(x)), 1e-12)


def pulse(rng: np.random.Generator, n: int, fps: float, hr_start_bpm: float, hr_end_bpm: float | None = None,
          rsa_bpm: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A PPG-like pulse whose rate moves smoothly (raised cosine) from hr_start_bpm to hr_end_bpm.

    Returns:
        (bvp (n,), about unit peak-to-peak; hr_bpm (n,) instantaneous heart rate, bpm).
    """
    hr_end_bpm = hr_start_bpm if hr_end_bpm is None else hr_end_bpm
    t_s = np.arange(n) / fps
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.clip(t_s / max(t_s[-1], 1e-9), 0.0, 1.0))
    resp_hz = RESPIRATION_HZ * rng.uniform(0.8, 1.2)
    hr = hr_start_bpm + (hr_end_bpm - hr_start_bpm) * ramp + rsa_bpm * np.sin(2 * np.pi * resp_hz * t_s
                                                                              + rng.uniform(0, 2 * np.pi))
    phase = np.cumsum(hr / 60.0) / fps + rng.uniform()
    return beat_shape(phase), hr


def noise_only(rng: np.random.Generator, kind: str, n: int, fps: float) -> np.ndarray:
    """(n,) noise of one kind: "white" (band-passed), "pink", or "constant" (integer levels of 120 plus
    N(0, 0.5): a still image's quantisation)."""
    if kind == "white":
        return sig.bandpass(rng.standard_normal(n), fps)
    if kind == "pink":
        return pink_noise(rng, n)
    if kind == "constant":
        return np.round(120.0 + 0.5 * rng.standard_normal(n))
    raise ValueError(f"kind must be one of {NOISE_KINDS}, got {kind!r}.")


def noisy_pulse(rng: np.random.Generator, n: int, fps: float, hr_start_bpm: float, hr_end_bpm: float | None = None,
                snr_db: float = 0.0, pink_share: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """A pulse (``pulse``) plus pink and white noise at ``snr_db`` (pre-processed power ratio).

    Args:
        pink_share: share of the noise power that is pink, 0..1.
    Returns:
        (bvp (n,), hr_bpm (n,) the true instantaneous heart rate, bpm).
    """
    clean, hr = pulse(rng, n, fps, hr_start_bpm, hr_end_bpm)
    noise = np.sqrt(pink_share) * pink_noise(rng, n) + np.sqrt(1 - pink_share) * rng.standard_normal(n)
    p_pulse = np.var(sig.preprocess(clean, fps))
    p_noise = np.var(sig.preprocess(noise, fps))
    noise *= np.sqrt(p_pulse / max(p_noise, 1e-300) * 10 ** (-snr_db / 10))
    return clean + noise, hr
