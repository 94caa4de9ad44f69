"""``python -m kdphys analyze VIDEO``: heart rate of a face video, with a progress bar and CSV output.

The second line printed is the reading, one line that scripts can parse::

    heart rate: 105.2 bpm (fair), 98-112 bpm, read in 85% of the video
    heart rate: no reading: <reason>
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from tqdm import tqdm

from kdphys.methods.registry import default_method, source_note, upload_fallback
from kdphys.pipeline.upload import analyze_video
from kdphys.pipeline.engine import EngineSettings
from kdphys.signal.hr_track import TrackSettings
from kdphys.signal import DEFAULT_BAND_HZ


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="video file (mp4, avi, mov, mkv, webm)")
    default = default_method()
    parser.add_argument("--method", default=default,
                        help=f"pbv-pos-or-green | pos | pbv | chrom | green | student | teacher (default: {default})")
    parser.add_argument("--out", help="CSV file, one row per window: its heart rate (empty where refused), "
                                      "accepted flag, quality, SNR, confidence, reason")
    parser.add_argument("--waveform", help="CSV file, one row per sample: time, BVP, face, read, beat")
    parser.add_argument("--json", help="JSON file for the summary (HR, range, coverage, quality, settings, "
                                       "timings, every window)")
    parser.add_argument("--report", help="PDF file: a one-page report (file and its SHA-256, method, heart rate "
                                         "with range and quality, waveform, trend, spectrum, reference)")
    parser.add_argument("--reference", help="reference CSV (time + ppg/bvp waveform or hr_bpm) to compare with; "
                                            "shown in the report and printed")
    parser.add_argument("--reference-started-before", type=float, default=0.0, metavar="SECONDS",
                        help="how long before the first video frame the reference's first row was recorded, s "
                             "(default 0: they started together; negative: the reference started later)")
    parser.add_argument("--band", nargs=2, type=float, default=DEFAULT_BAND_HZ, metavar=("LOW_HZ", "HIGH_HZ"),
                        help="pre-processing band in Hz (default 0.5 4.0; heart rates 40-200 bpm are read)")
    parser.add_argument("--window", type=float, default=TrackSettings.window_s,
                        help="length of each window read, s (default 10; one every second)")
    parser.add_argument("--no-fallback", action="store_true",
                        help="the method alone: no second reading by PBV, POS or green where the student gives none")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    settings = EngineSettings(method=args.method, band_hz=tuple(args.band),
                              fallback=None if args.no_fallback else upload_fallback(args.method),
                              track=dataclasses.replace(TrackSettings(), window_s=args.window,
                                                        min_window_s=min(TrackSettings.min_window_s, args.window)))
    bar = tqdm(total=100, unit="%", desc="analysing", disable=args.quiet, file=sys.stderr,
               bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}]")

    def progress(fraction: float, _message: str) -> None:
        bar.update(round(100 * fraction) - bar.n)

    try:
        result = analyze_video(args.video, settings=settings, progress=progress)
    finally:
        bar.close()
    snap = result.snapshot
    reading = snap.reading
    note = source_note(snap.method, snap.signal_source)
    print(f"method: {snap.method}" + (f" ({note})" if note else ""))
    print(f"heart rate: {reading.describe()}")
    if reading.hr_bpm is not None:
        print(f"quality: {reading.quality} (confidence {reading.confidence:.2f}, periodicity {reading.sqi:.2f}, "
              f"SNR {reading.snr_db:.1f} dB)")
    print(f"face present in {100 * reading.face_fraction:.0f}% of the video")
    for note in result.notes:
        print(f"note: {note}")
    if args.out:
        print(f"wrote {result.write_csv(args.out)}")
    if args.waveform:
        print(f"wrote {result.write_waveform_csv(args.waveform)}")
    if args.json:
        print(f"wrote {result.write_json(args.json)}")
    comparison = _compare(result, args) if args.reference else None
    if args.report:
        from kdphys.explain.report import write_report

        print(f"wrote {write_report(result, args.report, source_name=Path(args.video).name, comparison=comparison)}")
    return 0 if reading.hr_bpm is not None else 1


def _compare(result, args: argparse.Namespace):
    """The reference comparison (printed), or None with the reason printed when there is none."""
    from kdphys.errors import KDPhysError
    from kdphys.explain import compare_with_reference, on_video_clock
    from kdphys.data.reference import load_reference_csv

    try:
        reference = on_video_clock(load_reference_csv(args.reference), args.reference_started_before)
        cmp = compare_with_reference(result.snapshot, reference)
    except (KDPhysError, OSError) as err:
        print(f"reference: not compared: {err}")
        return None
    if len(cmp.t_s) == 0:
        print(f"reference: {cmp.ref_hr_bpm:.1f} bpm; nothing to compare (the video gave no reading)")
    else:
        extra = f" ({cmp.read_without_reference} more read, without a heart rate in the reference)" \
            if cmp.read_without_reference else ""
        print(f"reference: {cmp.ref_hr_bpm:.1f} bpm; {len(cmp.t_s)} windows compared{extra}, mean absolute difference "
              f"{cmp.mae_bpm:.1f} bpm, bias {cmp.bias_bpm:+.1f} bpm, limits of agreement {cmp.loa_low_bpm:+.1f} to "
              f"{cmp.loa_high_bpm:+.1f} bpm")
    return cmp
