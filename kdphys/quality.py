"""Decide whether a BVP window gives a heart-rate reading, and say why not when it does not.

    from kdphys.quality import assess
    reading = assess(bvp, fps=30.0, face_fraction=0.97)
    print(reading.describe())      # "71.2 bpm (good)" or "no reading: the pulse signal is too weak ..."

Gates, in order (the first that fails gives the reason): too short, too few frames with a face, no
pulse (flat signal / still image), SNR too low, periodicity (SQI) too low, spectral and beat-interval
heart rates disagree. Thresholds are calibrated by benchmarks/calibrate_quality.py (numbers in
QualitySettings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from kdphys import signal as sig

Quality = Literal["good", "fair", "poor", "none"]


#: Beats closer than this fraction of the spectral period are not counted (dicrotic waves at low HR).
BEAT_SPACING_OF_PERIOD = 0.6


@dataclass(frozen=True)
class HrReading:
    """One heart-rate reading, or the reason there is none.

    hr_bpm: heart rate (spectral, harmonic-checked), bpm; None = no reading.
    reason: person-readable reason for no reading ("no reading: ..."); None when there is one.
    quality: "good" / "fair" / "poor" for a reading, "none" without one.
    snr_db: pulse SNR, dB (fundamental and its harmonics in the band vs the rest). sqi: periodicity,
    0..1 (autocorrelation at the beat lag). hr_peaks_bpm: beat-interval HR (median IBI), bpm.
    face_fraction: fraction of frames in which a face was found, 0..1.
    """

    hr_bpm: float | None
    reason: str | None
    quality: Quality
    snr_db: float | None
    sqi: float | None
    hr_peaks_bpm: float | None
    face_fraction: float

    def describe(self) -> str:
        """"71.2 bpm (good)" or the reason, e.g. "no reading: a face was found in only 20% ..."."""
        if self.hr_bpm is None:
            return self.reason or "no reading"
        return f"{self.hr_bpm:.1f} bpm ({self.quality})"


@dataclass
class QualitySettings:
    """Gate thresholds, calibrated with benchmarks/calibrate_quality.py (500 trials per case, windows
    of 5, 10, 20, 30 s at 30 fps). With these defaults band-limited white noise, pink noise and a
    constant plus quantisation noise give a reading in at most 0.4% of trials (0% for 5 s windows),
    and a realistic PPG (45-150 bpm) plus white noise at input SNR 0 dB reads correctly (within 5
    bpm) in 54-67% of 10-30 s windows, at +3 dB in 90-92%, at +6 dB in 96-98%, never wrongly. The
    shipped real clip (POS on the face skin trace, about +1 dB, SQI 0.48) reads 70.7 bpm (oximeter
    70.75).

    min_duration_s: shortest window that is read, s. min_face_fraction: 0..1.
    min_snr_db: pulse SNR, dB. min_sqi: autocorrelation at the beat lag, 0..1.
    short_window_s / short_window_min_sqi: windows shorter than short_window_s (5-10 s: fewer beats,
    so noise looks periodic more often) need this higher SQI.
    long_window_s / long_window_min_snr_db: windows of at least long_window_s (more beats: the SQI and
    beat-interval gates reject noise on their own) need only this SNR. benchmarks/calibrate_quality.py,
    400 trials per case: at 15, 20 and 30 s, white, pink and constant noise read in at most 0.25% of
    trials at -2 dB (0% at 0 dB), while a pulse at input SNR -1.5 dB reads correctly in 52-54% instead
    of 38-44%, wrongly in at most 1% either way (before the weak-pulse rule below; with it, 500 trials:
    47-52% correct, at most 0.6% wrong).
    max_peak_disagreement_bpm: largest allowed |spectral HR - beat-interval HR|, bpm.
    weak_pulse_max_peak_disagreement_bpm: the same for readings whose SNR is below min_snr_db (those
    that pass only through the long-window gate), bpm. The sample clip sent through VP8 and read by the
    live engine (benchmarks/live_vp8.py --bitrates 0 3e5 5e5 7e5 1e6 1.5e6 --offsets 0 5 10 15
    --windows 20 --repeats 2 --alt-gate weak_pulse_max_peak_disagreement_bpm=8: the same frames through
    both gates, 44 runs) read 935 times with 8 bpm here, 8 of them more than 5 bpm off (up to 6.1);
    with 5 bpm, 854 readings, none more than 5 bpm off (19 vs 29 more than 3 bpm off). On synthetic pulses
    (benchmarks/calibrate_quality.py, 500 trials) it costs 0.8-4.6 points of correct readings at input
    SNR -3..0 dB in 15-30 s windows and changes no noise or wrong-reading rate.
    min_liveness_std: still-image gate on `raw_trace`: the largest relative in-band variation
    (std / mean) of the R, G, B skin trace must reach this (a live face's pulse alone is ~1e-3).
    good_snr_db / good_sqi, fair_snr_db / fair_sqi: quality levels of a reading.
    """

    min_duration_s: float = 5.0
    min_face_fraction: float = 0.8
    min_snr_db: float = 0.0
    min_sqi: float = 0.4
    short_window_s: float = 10.0
    short_window_min_sqi: float = 0.7
    long_window_s: float = 15.0
    long_window_min_snr_db: float = -2.0
    max_peak_disagreement_bpm: float = 8.0
    weak_pulse_max_peak_disagreement_bpm: float = 5.0
    min_liveness_std: float = 1e-4
    good_snr_db: float = 6.0
    good_sqi: float = 0.8
    fair_snr_db: float = 3.0
    fair_sqi: float = 0.6

    def thresholds(self, duration_s: float) -> tuple[float, float]:
        """(min SNR in dB, min SQI) for a window of ``duration_s`` seconds (short and long windows differ)."""
        min_snr = self.long_window_min_snr_db if duration_s >= self.long_window_s else self.min_snr_db
        min_sqi = self.short_window_min_sqi if duration_s < self.short_window_s else self.min_sqi
        return min_snr, min_sqi

    def max_disagreement_bpm(self, snr_db: float) -> float:
        """Largest allowed |spectral HR - beat-interval HR|, bpm, for a reading with pulse SNR ``snr_db`` (dB)."""
        if snr_db < self.min_snr_db:
            return self.weak_pulse_max_peak_disagreement_bpm
        return self.max_peak_disagreement_bpm


def _no_reading(reason: str, face_fraction: float, snr=None, sqi=None, hr_peaks=None) -> HrReading:
    return HrReading(None, f"no reading: {reason}", "none", snr, sqi, hr_peaks, float(face_fraction))


def liveness_variation(raw_trace, fps: float, band_hz=sig.DEFAULT_BAND_HZ) -> float:
    """Largest relative in-band variation of a raw skin-colour trace.

    Args:
        raw_trace: (N, 3) mean skin R, G, B per frame (any positive scale, e.g. 0..255).
        fps: Hz. band_hz: pulse band, Hz.
    Returns:
        max over channels of std(preprocess(channel)) / mean(channel); 0 for a still image.
    """
    trace = np.asarray(raw_trace, dtype=np.float64)
    if trace.ndim != 2 or trace.shape[0] < 2:
        raise ValueError(f"raw_trace must be (N, C) with N >= 2, got shape {trace.shape}.")
    out = 0.0
    for channel in trace.T:
        channel = channel[np.isfinite(channel)]
        mean = abs(float(channel.mean())) if channel.size else 0.0
        if channel.size < 2 or mean <= 0:
            continue
        out = max(out, float(np.std(sig.preprocess(channel, fps, band_hz))) / mean)
    return out


def is_grayscale_trace(raw_trace, max_channel_spread: float = 0.5) -> bool:
    """Whether a (N, 3) mean skin R, G, B trace (0..255) comes from a black-and-white video: the three
    channels agree within ``max_channel_spread`` grey levels on average (skin has R - B of tens of levels)."""
    trace = np.asarray(raw_trace, dtype=np.float64)
    if trace.ndim != 2 or trace.shape[1] != 3:
        return False
    rows = trace[np.isfinite(trace).all(axis=1)]
    if rows.size == 0:
        return False
    return float(np.mean(rows.max(axis=1) - rows.min(axis=1))) < max_channel_spread


def quality_level(snr_db: float, sqi: float, settings: QualitySettings) -> Quality:
    """"good" / "fair" / "poor" from SNR (dB) and SQI (0..1) of a reading that passed the gates."""
    if snr_db >= settings.good_snr_db and sqi >= settings.good_sqi:
        return "good"
    if snr_db >= settings.fair_snr_db and sqi >= settings.fair_sqi:
        return "fair"
    return "poor"


def pulse_snr_db(bvp_f: np.ndarray, fps: float, hr_bpm: float, band_hz) -> float:
    """SNR used by the gate: like `signal.snr_db`, but every harmonic of hr_bpm inside the band
    counts as pulse (a slow, sharp pulse has strong 3rd and 4th harmonics), dB."""
    spec = sig.power_spectrum(bvp_f, fps, band_hz)
    tol_hz = max(6.0 / 60.0, 1.0 / max(spec.segment_s, 1e-9))
    f0 = hr_bpm / 60.0
    harmonics = f0 * np.arange(1, int(band_hz[1] / f0) + 2)
    inside = np.min(np.abs(spec.freqs_hz[:, None] - harmonics[None, :]), axis=1) <= tol_hz
    p_in, p_out = float(spec.power[inside].sum()), float(spec.power[~inside].sum())
    if p_in <= 0:
        return float("-inf")
    return float("inf") if p_out <= 0 else float(10.0 * np.log10(p_in / p_out))


def assess(
    bvp,
    fps: float,
    face_fraction: float,
    settings: QualitySettings | None = None,
    band_hz=sig.DEFAULT_BAND_HZ,
    raw_trace=None,
) -> HrReading:
    """Heart rate from a BVP window, or no reading with a reason.

    Args:
        bvp: (N,) raw BVP from a method at fps (not yet filtered; `assess` runs signal.preprocess).
        fps: sampling rate of bvp, Hz.
        face_fraction: fraction of the window's frames with a face, 0..1.
        settings: gate thresholds (QualitySettings()).
        band_hz: (low, high) plausible HR band, Hz.
        raw_trace: optional (N, 3) raw mean skin R, G, B for the still-image (liveness) gate.
    Returns:
        HrReading.
    """
    settings = settings or QualitySettings()
    z = np.asarray(bvp, dtype=np.float64).ravel()
    duration_s = z.size / fps if fps > 0 else 0.0
    if duration_s < settings.min_duration_s:
        return _no_reading(
            f"the signal is {duration_s:.1f} s long; at least {settings.min_duration_s:.0f} s is "
            "needed. Keep recording.",
            face_fraction,
        )
    if face_fraction < settings.min_face_fraction:
        return _no_reading(
            f"a face was found in only {100 * face_fraction:.0f}% of frames (need "
            f"{100 * settings.min_face_fraction:.0f}%). Keep your face in view and well lit.",
            face_fraction,
        )
    if raw_trace is not None and is_grayscale_trace(raw_trace):
        return _no_reading(
            "the video has no colour (black and white). The pulse is read from small changes in skin "
            "colour: record in colour.",
            face_fraction,
        )
    if raw_trace is not None and liveness_variation(raw_trace, fps, band_hz) < settings.min_liveness_std:
        return _no_reading(
            "the skin colour does not change at all (a photo or a still image?). A live face is needed.",
            face_fraction,
        )
    finite = z[np.isfinite(z)]
    if finite.size < 0.9 * z.size or finite.size < 2 or np.ptp(finite) <= 1e-12 * max(1.0, np.abs(finite).max()):
        return _no_reading(
            "the pulse signal is flat or invalid, so there is no pulse to read (a still image?).",
            face_fraction,
        )
    bvp_f = sig.preprocess(z, fps, band_hz)
    est = sig.hr_from_spectrum(bvp_f, fps, band_hz)
    snr = pulse_snr_db(bvp_f, fps, est.hr_bpm, band_hz)
    sqi = sig.sqi_autocorr(bvp_f, fps, est.hr_bpm)
    hr_peaks = sig.hr_from_peaks(bvp_f, fps, band_hz, min_interval_s=BEAT_SPACING_OF_PERIOD * 60.0 / est.hr_bpm).hr_bpm
    min_snr, min_sqi = settings.thresholds(duration_s)
    if snr < min_snr:
        return _no_reading(
            f"the pulse signal is too weak (SNR {snr:.1f} dB, need {min_snr:.1f} dB). "
            "Hold still, face the light, and avoid flicker.",
            face_fraction, snr, sqi, hr_peaks,
        )
    if sqi < min_sqi:
        return _no_reading(
            f"the pulse is not regular enough (periodicity {sqi:.2f}, need {min_sqi:.2f}). "
            "Hold still and keep talking and moving to a minimum.",
            face_fraction, snr, sqi, hr_peaks,
        )
    if hr_peaks is None or abs(hr_peaks - est.hr_bpm) > settings.max_disagreement_bpm(snr):
        return _no_reading(_disagreement_reason(est.hr_bpm, hr_peaks, band_hz), face_fraction, snr, sqi, hr_peaks)
    return HrReading(
        hr_bpm=float(est.hr_bpm),
        reason=None,
        quality=quality_level(snr, sqi, settings),
        snr_db=snr,
        sqi=sqi,
        hr_peaks_bpm=hr_peaks,
        face_fraction=float(face_fraction),
    )


def _disagreement_reason(hr_spec_bpm: float, hr_peaks_bpm: float | None, band_hz) -> str:
    if hr_peaks_bpm is None:
        return "no clear heartbeats were found in the signal. Hold still and try again."
    low_bpm = 60.0 * band_hz[0]
    if hr_peaks_bpm < low_bpm and abs(hr_spec_bpm - 2.0 * hr_peaks_bpm) < 0.1 * hr_spec_bpm:
        return (
            f"the pulse looks slower ({hr_peaks_bpm:.0f} bpm) than the lowest rate the band can read "
            f"({low_bpm:.0f} bpm). Lower the band's low edge (band_hz) to read it."
        )
    return (
        f"the heart rate is ambiguous (spectrum says {hr_spec_bpm:.0f} bpm, beat intervals say "
        f"{hr_peaks_bpm:.0f} bpm). Hold still and try again."
    )
