"""A video's readings against a contact reference recording, window by window.

    ref = on_video_clock(load_reference_csv(path), started_before_s=0.0)   # time 0 = first video frame
    cmp = compare_with_reference(result.snapshot, ref)                     # MAE, r, Bland-Altman
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdphys import paths
from kdphys.errors import KDPhysError

@dataclass(frozen=True)
class ReferenceComparison:
    """Video heart rate against a reference recording, window by window (time 0 = the first video frame).

    Attributes:
        ref_hr_bpm: the reference's heart rate over the video: median of its windows, bpm.
        est_hr_bpm: the video's reading (None when there was none), bpm.
        ref_hr_read_bpm: the reference's median over the windows the video read (the span the reading
            covers; None when none was read), bpm.
        t_s: (m,) centres of the windows the video read and the reference gives a heart rate in, s.
        est_trend_bpm, ref_trend_bpm: (m,) their heart rates, video and reference, bpm.
        mae_bpm, pearson_r: over those windows (NaN when none; pearson NaN below 3 or when constant).
        bias_bpm, loa_low_bpm, loa_high_bpm: Bland-Altman bias and 95% limits of agreement, est - ref, bpm.
        read_without_reference: windows the video read where the reference has no heart rate (no clear beats,
            or it ended before the window did): left out of everything above.
    """

    ref_hr_bpm: float
    est_hr_bpm: float | None
    ref_hr_read_bpm: float | None
    t_s: np.ndarray
    est_trend_bpm: np.ndarray
    ref_trend_bpm: np.ndarray
    mae_bpm: float
    pearson_r: float
    bias_bpm: float
    loa_low_bpm: float
    loa_high_bpm: float
    read_without_reference: int = 0


def compare_with_reference(snapshot, reference) -> ReferenceComparison:
    """Compare an engine Snapshot with a Reference already aligned to the video (time 0 = first frame): each
    window the video read against the reference's heart rate in the same window (its beats).

    Raises:
        KDPhysError: the reference does not overlap the video, or the video is too short for a window.
    """
    from kdphys.evaluation import metrics
    duration_s = float(snapshot.t_s[-1] - snapshot.t_s[0]) if len(snapshot.t_s) else 0.0
    if len(reference.clipped(0.0, duration_s).t_s) < 3:
        raise KDPhysError("The reference does not overlap the video in time. Check that its time column "
                          "starts with the video (or give the time of the first video frame).")
    windows = snapshot.readings.windows
    if not windows:
        raise KDPhysError("The video is too short to compare with a reference (no window of signal).")
    fps = snapshot.fps
    slices = [slice(int(round(w.start_s * fps)), int(round(w.end_s * fps))) for w in windows]
    ref_hr = reference.hr_in_windows(snapshot.t_s, slices)
    if not np.isfinite(ref_hr).any():
        raise KDPhysError("The reference gave no heart rate over the video (no clear beats in it).")
    read = snapshot.readings.accepted & np.isfinite(ref_hr)
    est, ref = snapshot.readings.hr_bpm[read], ref_hr[read]
    nan = float("nan")
    ba = metrics.bland_altman(est, ref) if read.any() else None
    est_hr = snapshot.reading.hr_bpm
    return ReferenceComparison(
        ref_hr_bpm=float(np.nanmedian(ref_hr)), est_hr_bpm=None if est_hr is None else float(est_hr),
        ref_hr_read_bpm=float(np.median(ref)) if read.any() else None,
        t_s=snapshot.readings.centres_s[read], est_trend_bpm=est, ref_trend_bpm=ref,
        mae_bpm=float(metrics.mae(est, ref)) if read.any() else nan,
        pearson_r=float(metrics.pearson(est, ref)) if read.sum() >= 3 and est.std() > 0 and ref.std() > 0 else nan,
        bias_bpm=ba.bias if ba else nan, loa_low_bpm=ba.loa_low if ba else nan, loa_high_bpm=ba.loa_high if ba else nan,
        read_without_reference=int((snapshot.readings.accepted & ~np.isfinite(ref_hr)).sum()))


def on_video_clock(reference, started_before_s: float = 0.0):
    """A Reference (kdphys.data.reference) on the video's clock, time 0 = the first video frame, whatever its own
    time column holds (seconds from 0, or Unix time).

    Args:
        reference: kdphys.data.reference.Reference as loaded from its CSV.
        started_before_s: how long before the first video frame the reference's first row was recorded, s
            (0: they started together; negative: the reference started later).
    """
    return reference.aligned(float(reference.t_s[0]) + float(started_before_s))


def sample_reference_started_before_s() -> float:
    """How long before the sample clip's first frame its oximeter recording (BVP.csv) starts, s (from the
    two files' Unix time stamps), so that ``on_video_clock`` gives ``reference.sample_clip_reference()``."""
    from kdphys.data.reference import load_frame_times_csv, load_reference_csv

    first_frame_s = float(load_frame_times_csv(paths.SAMPLE_FRAME_TIMES_CSV)[0])
    return first_frame_s - float(load_reference_csv(paths.SAMPLE_BVP_CSV).t_s[0])
