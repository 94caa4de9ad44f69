"""Decide whether a window of pulse signal gives a heart-rate reading, and say why not when it does not.

The candidate heart rate of a window comes from ``kdphys.signal.hr_track`` (windows read together); this module
judges it. ``kdphys.signal.readings`` runs both over a whole recording:

    from kdphys.signal.quality import assess
    reading = assess(bvp, fps=30.0, face_fraction=0.97)
    print(reading.describe())      # "71.2 bpm (good)" or "no reading: the pulse is not clear enough ..."

Gates, in order (the first that fails gives the reason): too short, too few frames with a face, a black
and white video, a still image (the skin colour does not change), a flat or invalid signal, and last
"the pulse is not clear enough": a window is read when the tracker is confident of its heart rate
(the windows around it agree), or when the window on its own repeats at that beat period (SQI); and its
pulse SNR is above a floor. On the UBFC-rPPG dev subjects only the tracker's confidence told right from
wrong heart rates; SNR and SQI tell a pulse from noise (benchmarks/calibrate_gate.py; docs/DESIGN.md
"Quality gate"). The pulse checks share one reason so that a borderline signal does not flicker between
causes; their values stay in the reading's fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from kdphys import signal as sig

Quality = Literal["good", "fair", "poor", "none"]

#: Beats closer than this fraction of the candidate period are not counted (dicrotic waves at low HR).
BEAT_SPACING_OF_PERIOD = 0.6

#: Reason categories, in gate order (``HrReading.cause``).
CAUSES = ("short", "face", "grayscale", "still", "flat", "range", "unclear")


@dataclass(frozen=True)
class HrReading:
    """One heart-rate reading (of a window or a whole recording), or the reason there is none.

    hr_bpm: heart rate, bpm; None = no reading.
    reason: person-readable reason for no reading ("no reading: ..."); None when there is one.
    quality: "good" / "fair" / "poor" for a reading, "none" without one (see ``quality_level``).
    snr_db: pulse SNR at the heart rate, dB (its harmonics in the band vs the rest). sqi: periodicity,
    0..1 (autocorrelation at the beat lag). hr_peaks_bpm: beat-interval HR (median IBI), bpm.
    face_fraction: fraction of samples with a face, 0..1.
    confidence: the tracker's posterior probability near the heart rate, 0..1.
    cause: the reason's category (one of CAUSES) or None.
    Summaries of a recording (``kdphys.signal.readings.summarize``) also carry:
    hr_range_bpm: (low, high) 5th-95th percentile of the accepted windows' heart rates, bpm.
    coverage: share of the recording's windows that gave a reading, 0..1.
    """

    hr_bpm: float | None
    reason: str | None
    quality: Quality
    snr_db: float | None
    sqi: float | None
    hr_peaks_bpm: float | None
    face_fraction: float
    confidence: float | None = None
    cause: str | None = None
    hr_range_bpm: tuple[float, float] | None = None
    coverage: float | None = None

    def describe(self) -> str:
        """"71.2 bpm (good)", "105.2 bpm (fair), 98-112 bpm, read in 85% of the video", or the reason."""
        if self.hr_bpm is None:
            return self.reason or "no reading"
        text = f"{self.hr_bpm:.1f} bpm ({self.quality})"
        if self.hr_range_bpm is not None and round(self.hr_range_bpm[1]) > round(self.hr_range_bpm[0]):
            text += f", {self.hr_range_bpm[0]:.0f}-{self.hr_range_bpm[1]:.0f} bpm"
        if self.coverage is not None:
            text += f", read in {100 * self.coverage:.0f}% of the video"
        return text


@dataclass
class QualitySettings:
    """Gate thresholds (benchmarks/calibrate_gate.py chooses them; docs/DESIGN.md "Readings").

    min_duration_s: shortest window that is read, s. min_face_fraction: share of a window's samples with
    a face, 0..1. min_liveness_std: still-image gate on the raw skin trace: the largest relative in-band
    variation (std / mean) of R, G, B must reach this (a live face's pulse alone is ~1e-3).
    min_confidence: a window is read when the tracker's confidence (kdphys.signal.hr_track) reaches this, 0..1;
    periodic_min_sqi: ... or when its periodicity (autocorrelation at the beat lag, 0..1) reaches this.
    min_snr_db: and in either case its pulse SNR at the heart rate is at least this, dB.
    min_coverage: a recording's summary needs at least this share of its windows read, 0..1.
    good_sqi: a reading is "good" when both ways of supporting it hold (confidence and periodicity) or its
    pulse repeats this regularly (SQI) on its own, else "fair". good_coverage / fair_coverage: a recording's summary is at best
    "fair" below good_coverage of its windows read, and "poor" below fair_coverage.
    """

    min_duration_s: float = 5.0
    min_face_fraction: float = 0.8
    min_liveness_std: float = 1e-4
    min_confidence: float = 0.85
    periodic_min_sqi: float = 0.5
    min_snr_db: float = -np.inf
    min_coverage: float = 0.1
    good_sqi: float = 0.7
    good_coverage: float = 0.5
    fair_coverage: float = 0.25


def no_reading(reason: str, cause: str, face_fraction: float = 0.0, snr=None, sqi=None, hr_peaks=None,
               confidence=None) -> HrReading:
    """An HrReading that says why there is no heart rate (``reason`` without the "no reading: " prefix)."""
    return HrReading(None, f"no reading: {reason}", "none", snr, sqi, hr_peaks, float(face_fraction),
                     confidence=confidence, cause=cause)


REASONS = {
    "face": "a face was found in only {pct:.0f}% of the frames. Keep your face in view and well lit.",
    "grayscale": ("the video has no colour (black and white). The pulse is read from small changes in skin "
                  "colour: record in colour."),
    "still": "the skin colour does not change at all (a photo or a still image?). A live face is needed.",
    "flat": "the pulse signal is flat or invalid, so there is no pulse to read (a still image?).",
    "range": ("the pulse looks slower than {low:.0f} bpm or faster than {high:.0f} bpm, outside what can be read "
              "reliably."),
    "unclear": ("the pulse is not clear enough to read (too weak or too irregular). Hold still, face the "
                "light, and avoid flicker."),
}


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


LEVELS: tuple[Quality, ...] = ("poor", "fair", "good")


def quality_level(confidence: float, sqi: float, settings: QualitySettings, coverage: float | None = None) -> Quality:
    """"good" / "fair" / "poor" of a reading that passed the gates: "good" when both ways of supporting it
    hold (the tracker's confidence, 0..1, and the periodicity SQI, 0..1, each reach their gate) or the SQI
    reaches ``good_sqi``, else "fair"; a recording's summary (``coverage``: share of its windows read) is
    capped by how much of it was read."""
    both = confidence >= settings.min_confidence and sqi >= settings.periodic_min_sqi
    level = "good" if both or sqi >= settings.good_sqi else "fair"
    if coverage is not None:
        cap = "good" if coverage >= settings.good_coverage else "fair" if coverage >= settings.fair_coverage else "poor"
        level = LEVELS[min(LEVELS.index(level), LEVELS.index(cap))]
    return level


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


def signal_checks(duration_s: float, face_fraction: float, settings: QualitySettings,
                  liveness: float | None = None, grayscale: bool = False) -> HrReading | None:
    """The gates that do not depend on the pulse: a no-reading HrReading, or None when all pass.

    Args:
        duration_s: window length, s. face_fraction: 0..1. liveness: ``liveness_variation`` of the raw
            trace (None: not checked). grayscale: ``is_grayscale_trace`` of the raw trace.
    """
    if duration_s < settings.min_duration_s:
        return no_reading(f"the signal is {duration_s:.1f} s long; at least {settings.min_duration_s:.0f} s is "
                          "needed. Keep recording.", "short", face_fraction)
    if face_fraction < settings.min_face_fraction:
        return no_reading(REASONS["face"].format(pct=100 * face_fraction), "face", face_fraction)
    if grayscale:
        return no_reading(REASONS["grayscale"], "grayscale", face_fraction)
    if liveness is not None and liveness < settings.min_liveness_std:
        return no_reading(REASONS["still"], "still", face_fraction)
    return None


def judge_pulse(bvp_f: np.ndarray, fps: float, hr_bpm: float, confidence: float, face_fraction: float,
                settings: QualitySettings, band_hz=sig.DEFAULT_BAND_HZ) -> HrReading:
    """Reading or "not clear enough" for one window whose signal checks (kdphys.signal.readings) passed.

    Args:
        bvp_f: (n,) the window's pre-processed BVP. fps: Hz. hr_bpm: the tracker's heart rate for it, bpm.
        confidence: the tracker's confidence, 0..1. face_fraction: 0..1. band_hz: pre-processing band, Hz.
    """
    z = np.asarray(bvp_f, dtype=np.float64)
    snr = pulse_snr_db(z, fps, hr_bpm, band_hz)
    sqi = sig.sqi_autocorr(z, fps, hr_bpm)
    hr_peaks = sig.hr_from_peaks(z, fps, band_hz, min_interval_s=BEAT_SPACING_OF_PERIOD * 60.0 / hr_bpm).hr_bpm
    supported = confidence >= settings.min_confidence or sqi >= settings.periodic_min_sqi
    if not supported or snr < settings.min_snr_db:
        return no_reading(REASONS["unclear"], "unclear", face_fraction, snr, sqi, hr_peaks, confidence)
    return HrReading(hr_bpm=float(hr_bpm), reason=None, quality=quality_level(confidence, sqi, settings),
                     snr_db=snr, sqi=sqi, hr_peaks_bpm=hr_peaks, face_fraction=float(face_fraction),
                     confidence=float(confidence))


def assess(bvp, fps: float, face_fraction: float, settings: QualitySettings | None = None,
           band_hz=sig.DEFAULT_BAND_HZ, raw_trace=None) -> HrReading:
    """Heart rate of a whole BVP recording (windows tracked, gated and summarised), or no reading.

    A shortcut to ``kdphys.signal.readings.read_signal`` for a recording whose face was present in
    ``face_fraction`` of its samples throughout.

    Args:
        bvp: (N,) raw BVP from a method at fps (``assess`` runs signal.preprocess).
        fps: sampling rate of bvp, Hz. face_fraction: share of samples with a face, 0..1.
        settings: gate thresholds (QualitySettings()). band_hz: (low, high) pre-processing band, Hz.
        raw_trace: optional (N, 3) raw mean skin R, G, B for the colour and still-image gates.
    Returns:
        HrReading (the summary: median HR of the read windows, range, coverage).
    """
    from kdphys.signal.readings import read_signal

    return read_signal(np.asarray(bvp, dtype=np.float64).ravel(), fps, float(face_fraction), raw_trace=raw_trace,
                       quality=settings, band_hz=band_hz).summary
