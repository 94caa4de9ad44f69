"""Readings over windows: a heart rate per sliding window, each through the quality gate, and a summary.

The one per-window logic for uploads, live and evaluation::

    from kdphys.signal.readings import read_signal
    result = read_signal(bvp, fps=30.0, face=face_flags, raw_trace=rgb_trace)
    result.summary.describe()     # "105.2 bpm (fair), 98-112 bpm, read in 85% of the video"
    [w.reading.hr_bpm for w in result.windows]     # each window's HR, or None where it was refused

Steps: the raw BVP is pre-processed once (``signal.preprocess``); windows of ``TrackSettings.window_s``
end every ``hop_s``; the checks that do not depend on the pulse (too short, face, colour, still image)
run per window; the tracker (``kdphys.signal.hr_track``) reads the spectra of the windows that passed them
together; ``quality.judge_pulse`` then accepts or refuses each window's heart rate. The summary is the
median of the accepted windows with their 5th-95th percentile range and the share of windows read; a
heart rate that changes during a recording is normal and no reason for "no reading".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from kdphys import signal as sig
from kdphys.signal.hr_track import HrTrack, TrackSettings, track_hr, window_slices
from kdphys.signal.quality import (CAUSES, REASONS, HrReading, QualitySettings, is_grayscale_trace, judge_pulse,
                            no_reading, quality_level, signal_checks)


@dataclass(frozen=True)
class WindowReading:
    """One window of a recording.

    start_s, end_s: its span, s from the first sample. reading: its HrReading (hr_bpm None when refused).
    candidate_hr_bpm: the tracker's heart rate for it, bpm, whether accepted or not (nan when the window
    failed a check before the tracker; a diagnostic, never a reading).
    """

    start_s: float
    end_s: float
    reading: HrReading
    candidate_hr_bpm: float

    @property
    def centre_s(self) -> float:
        return 0.5 * (self.start_s + self.end_s)

    @property
    def accepted(self) -> bool:
        return self.reading.hr_bpm is not None


@dataclass(frozen=True)
class Readings:
    """All windows of a recording and their summary.

    windows: WindowReading per window, in time order. summary: the recording's HrReading (median HR,
    range, coverage; or the most common reason). bvp_f: (N,) pre-processed BVP. track: the tracker's
    output (None when no window reached it). fps: sample rate, Hz.
    """

    windows: list[WindowReading]
    summary: HrReading
    bvp_f: np.ndarray
    track: HrTrack | None
    fps: float

    @property
    def accepted(self) -> np.ndarray:
        """(W,) bool: windows that gave a reading."""
        return np.array([w.accepted for w in self.windows], dtype=bool)

    @property
    def centres_s(self) -> np.ndarray:
        """(W,) window centres, s."""
        return np.array([w.centre_s for w in self.windows])

    @property
    def hr_bpm(self) -> np.ndarray:
        """(W,) each window's reading, bpm; nan where refused."""
        return np.array([np.nan if w.reading.hr_bpm is None else w.reading.hr_bpm for w in self.windows])

    def read_mask(self, n: int | None = None) -> np.ndarray:
        """(N,) bool: samples inside at least one accepted window."""
        n = self.bvp_f.size if n is None else n
        mask = np.zeros(n, dtype=bool)
        for w in self.windows:
            if w.accepted:
                mask[int(round(w.start_s * self.fps)):int(round(w.end_s * self.fps))] = True
        return mask


def read_signal(bvp, fps: float, face, raw_trace=None, quality: QualitySettings | None = None,
                track: TrackSettings | None = None, band_hz=sig.DEFAULT_BAND_HZ, grow: bool = False) -> Readings:
    """Per-window readings and their summary (see the module docstring).

    Args:
        bvp: (N,) raw BVP from a method (any scale; lost-face samples already bridged by the method).
        fps: Hz. face: (N,) bool, a face was present at the sample; or one share 0..1 for every window.
        raw_trace: optional (N, 3) mean skin R, G, B (NaN rows where no face) for the colour and
            still-image checks. quality: gate thresholds. track: tracker settings.
        band_hz: (low, high) pre-processing band, Hz. grow: the first windows grow from
            ``track.min_window_s`` (live: a reading as soon as there is enough signal).
    Returns:
        Readings.
    """
    quality = quality or QualitySettings()
    track = track or TrackSettings(min_window_s=min(quality.min_duration_s, TrackSettings.window_s))
    z = np.asarray(bvp, dtype=np.float64).ravel()
    if np.ndim(face) == 0:
        share = float(face)
        face_in = lambda w: share          # noqa: E731 - one share for every window
        overall = share
    else:
        flags = np.asarray(face, dtype=bool).ravel()
        if flags.size != z.size:
            raise ValueError(f"face has {flags.size} samples, the BVP {z.size}.")
        face_in = lambda w: float(flags[w].mean()) if w.stop > w.start else 0.0   # noqa: E731
        overall = float(flags.mean()) if flags.size else 0.0
    bvp_f = _preprocessed(z, fps, band_hz)
    slices = window_slices(z.size, fps, track, grow=grow)
    if not slices:
        duration_s = z.size / fps if fps > 0 else 0.0
        reason = signal_checks(duration_s, overall, quality) or \
            no_reading(f"the signal is {duration_s:.1f} s long; at least {quality.min_duration_s:.0f} s is needed.",
                       "short")
        return Readings([], reason, bvp_f, None, fps)
    liveness, grayscale = _colour_checks(raw_trace, fps, band_hz, slices, z.size)
    first = [signal_checks((w.stop - w.start) / fps, face_in(w), quality, liveness[i], grayscale[i])
             for i, w in enumerate(slices)]
    flat = [not np.all(np.isfinite(z[w])) or _is_flat(bvp_f[w]) for w in slices]
    first = [f or (no_reading(REASONS["flat"], "flat", face_in(w)) if is_flat else None)
             for f, w, is_flat in zip(first, slices, flat)]
    informative = np.array([f is None for f in first])
    hr_track = track_hr(bvp_f, fps, track, band_hz, windows=slices, informative=informative) if informative.any() else None
    windows = []
    for i, w in enumerate(slices):
        if first[i] is not None:
            reading, candidate = first[i], float("nan")
        elif not track.hr_range_bpm[0] <= hr_track.hr_bpm[i] <= track.hr_range_bpm[1]:
            candidate = float(hr_track.hr_bpm[i])
            low, high = track.hr_range_bpm
            reading = no_reading(REASONS["range"].format(low=low, high=high), "range", face_in(w))
        else:
            candidate = float(hr_track.hr_bpm[i])
            reading = judge_pulse(bvp_f[w], fps, candidate, float(hr_track.confidence[i]), face_in(w),
                                  quality, band_hz)
        windows.append(WindowReading(w.start / fps, w.stop / fps, reading, candidate))
    return Readings(windows, summarize(windows, quality, overall), bvp_f, hr_track, fps)


def summarize(windows: list[WindowReading], quality: QualitySettings, face_fraction: float) -> HrReading:
    """The recording's reading: median of the accepted windows, their 5th-95th percentile range and the
    share read; or, when too little was read, the most common reason of the refused windows.

    Args:
        windows: WindowReading list. quality: settings (``min_coverage``, quality levels).
        face_fraction: share of the recording's samples with a face, 0..1.
    """
    if not windows:
        return no_reading("the recording is too short to read.", "short", face_fraction)
    accepted = [w.reading for w in windows if w.accepted]
    coverage = len(accepted) / len(windows)
    if not accepted or coverage < quality.min_coverage:
        return _summary_reason(windows, coverage, face_fraction)
    hr = np.array([r.hr_bpm for r in accepted])
    confidence = float(np.median([r.confidence for r in accepted]))
    snr = float(np.median([r.snr_db for r in accepted]))
    sqi = float(np.median([r.sqi for r in accepted]))
    peaks = [r.hr_peaks_bpm for r in accepted if r.hr_peaks_bpm is not None]
    return HrReading(hr_bpm=float(np.median(hr)), reason=None,
                     quality=quality_level(confidence, sqi, quality, coverage), snr_db=snr, sqi=sqi,
                     hr_peaks_bpm=float(np.median(peaks)) if peaks else None, face_fraction=face_fraction,
                     confidence=confidence,
                     hr_range_bpm=(float(np.percentile(hr, 5)), float(np.percentile(hr, 95))), coverage=coverage)


def _summary_reason(windows: list[WindowReading], coverage: float, face_fraction: float) -> HrReading:
    """The most common cause among the refused windows (ties: the earlier gate), with its reason."""
    refused = [w.reading for w in windows if not w.accepted]
    counts = Counter(r.cause for r in refused)
    cause = min(counts, key=lambda c: (-counts[c], CAUSES.index(c) if c in CAUSES else len(CAUSES)))
    example = next(r for r in refused if r.cause == cause)
    if cause == "face":
        return no_reading(REASONS["face"].format(pct=100 * face_fraction), "face", face_fraction)
    reason = example.reason.removeprefix("no reading: ")
    if cause == "unclear" and coverage > 0:
        reason = reason.replace("to read", f"to read in most of the video (read in only {100 * coverage:.0f}%)", 1)
    return no_reading(reason, cause, face_fraction)


def _is_flat(x: np.ndarray) -> bool:
    """A window with no variation to speak of (a constant or a still image's BVP)."""
    return x.size < 2 or float(np.ptp(x)) <= 1e-9 * max(1.0, float(np.abs(x).max()))


def _preprocessed(z: np.ndarray, fps: float, band_hz) -> np.ndarray:
    """signal.preprocess, or zeros for fewer than 2 samples."""
    return sig.preprocess(z, fps, band_hz) if z.size >= 2 else np.zeros(z.size)


def _colour_checks(raw_trace, fps: float, band_hz, slices: list[slice], n: int) -> tuple[list, list]:
    """Per window: the still-image variation (None without a trace) and whether the colour is grey."""
    if raw_trace is None:
        return [None] * len(slices), [False] * len(slices)
    trace = np.asarray(raw_trace, dtype=np.float64)
    if trace.shape != (n, 3):
        raise ValueError(f"raw_trace must be ({n}, 3), got {trace.shape}.")
    filled = _fill_rows(trace)
    if filled is None:
        return [0.0] * len(slices), [False] * len(slices)
    filtered = np.stack([_preprocessed(c, fps, band_hz) for c in filled.T], axis=1)
    means = np.abs(filled)
    liveness, grey = [], []
    for w in slices:
        scale = np.maximum(means[w].mean(axis=0), 1e-12)
        liveness.append(float(np.max(filtered[w].std(axis=0) / scale)))
        grey.append(is_grayscale_trace(trace[w]))
    return liveness, grey


def _fill_rows(trace: np.ndarray) -> np.ndarray | None:
    """(N, 3) with NaN rows linearly bridged (ends held); None when no row is valid."""
    valid = np.isfinite(trace).all(axis=1)
    if not valid.any():
        return None
    if valid.all():
        return trace
    idx = np.arange(len(trace))
    return np.stack([np.interp(idx, idx[valid], trace[valid, c]) for c in range(trace.shape[1])], axis=1)
