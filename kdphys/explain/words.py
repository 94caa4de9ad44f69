"""A result in plain words: what the quality level means for this reading, the signal's figures, the beats.

    quality_explanation(result.snapshot.reading)    # "Fair: the pulse was clear in 36% of the video ..."
    count_beats(result.snapshot)                    # the beats marked and the heart rate they give
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

def quality_explanation(reading, settings=None) -> str:
    """What a reading's quality means, in one or two plain sentences (kdphys.signal.quality.quality_level's rule:
    "good" = the heart rate was followed with certainty across windows and the beats are regular, or the
    beats are very regular; "fair" = one of the two; a recording read in less than half is at best "fair",
    in less than a quarter "poor").

    Args:
        reading: kdphys.signal.quality.HrReading (a recording's summary or one window).
        settings: kdphys.signal.quality.QualitySettings (the defaults when None).
    """
    from kdphys.signal.quality import QualitySettings, quality_level

    if reading.hr_bpm is None:
        return "No reading: " + (reading.reason or "no reading").removeprefix("no reading: ")
    s = settings or QualitySettings()
    confident = reading.confidence is not None and reading.confidence >= s.min_confidence
    regular = reading.sqi is not None and reading.sqi >= s.periodic_min_sqi
    signal = quality_level(reading.confidence or 0.0, reading.sqi or 0.0, s)
    cov = reading.coverage
    where = "" if cov is None else f" in the {100 * cov:.0f}% of the video that was read"
    if reading.quality == "poor":
        return (f"Poor: the pulse was clear in only {100 * (cov or 0):.0f}% of the video (less than "
                f"{100 * s.fair_coverage:.0f}%), so the number rests on little of it. Take it as a rough guide.")
    if reading.quality == "good":
        return f"Good: the heart rate was followed with certainty and the beats were regular{where}."
    if signal == "good":
        return (f"Fair: the pulse was clear and regular where it was read, but that was only {100 * (cov or 0):.0f}% "
                f"of the video (good needs {100 * s.good_coverage:.0f}% or more).")
    if confident and not regular:
        return f"Fair: the heart rate was followed with certainty, but the beats were faint or irregular{where}."
    return f"Fair: the beats were regular, but the heart rate could not be followed with full certainty{where}."


def signal_details(reading) -> list[str]:
    """The measurements behind a reading's quality, each in words with its unit (empty without a reading)."""
    if reading.hr_bpm is None:
        return []
    lines = []
    if reading.snr_db is not None and np.isfinite(reading.snr_db):
        lines.append(f"Pulse strength: {reading.snr_db:.1f} dB against the noise (signal-to-noise ratio; "
                     "0 dB = as strong as the noise, higher is clearer).")
    if reading.sqi is not None:
        lines.append(f"Beat regularity: {reading.sqi:.2f} of 1 (how alike one beat is to the next).")
    if reading.confidence is not None:
        lines.append(f"Tracking certainty: {reading.confidence:.2f} of 1 (how sure the heart-rate tracker is, "
                     "from the windows before and after).")
    lines.append(f"Face found in {100 * reading.face_fraction:.0f}% of the video.")
    return lines


@dataclass(frozen=True)
class BeatCount:
    """The beats marked on a waveform and the heart rate a person counting them gets.

    n_beats: marks. n_intervals: beat-to-beat intervals between neighbouring marks (gaps between read parts
    excluded). intervals_s: their total length, s. hr_bpm: 60 x n_intervals / intervals_s, bpm.
    """

    n_beats: int
    n_intervals: int
    intervals_s: float
    hr_bpm: float


def count_beats(snapshot) -> BeatCount | None:
    """The marks of ``snapshot.beats`` counted as a person would (intervals between neighbouring marks);
    None when the recording gave no reading (no beat is shown then) or fewer than two beats are marked."""
    beats = snapshot.beats
    if snapshot.reading.hr_bpm is None or beats is None or beats.ibi_s.size == 0:
        return None
    total_s = float(np.sum(beats.ibi_s))
    return BeatCount(n_beats=int(beats.peaks.size), n_intervals=int(beats.ibi_s.size), intervals_s=total_s,
                     hr_bpm=60.0 * beats.ibi_s.size / total_s)


def hr_text(reading) -> str:
    """A reading's heart rate to the whole bpm ("70 bpm": windows of the same recording differ by about a
    bpm, so a decimal would claim more than it holds), or "no reading"."""
    return "no reading" if reading.hr_bpm is None else f"{reading.hr_bpm:.0f} bpm"


def coverage_text(reading, n_windows: int | None = None) -> str:
    """"Range 69-70 bpm over the windows read · read in 36% of the video (4 of 11 windows of 10 s)", or ""
    for a reading without a range (one live window) or without a heart rate."""
    if reading.hr_bpm is None:
        return ""
    parts = []
    if reading.hr_range_bpm is not None:
        low, high = (round(v) for v in reading.hr_range_bpm)
        parts.append(f"range {low}–{high} bpm over the windows read" if high > low else f"steady at {low} bpm")
    if reading.coverage is not None:
        text = f"read in {100 * reading.coverage:.0f}% of the video"
        if n_windows:
            text += f" ({round(reading.coverage * n_windows)} of {n_windows} windows)"
        parts.append(text)
    text = " · ".join(parts)
    return text[:1].upper() + text[1:]
