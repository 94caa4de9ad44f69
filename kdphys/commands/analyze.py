"""``python -m kdphys analyze VIDEO``: heart rate of a face video, with a progress bar and CSV output.

The second line printed is the reading, one line that scripts can parse::

    heart rate: 105.2 bpm (fair), 98-112 bpm, read in 85% of the video
    heart rate: no reading: <reason>
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from tqdm import tqdm

from kdphys.analysis import analyze_video
from kdphys.engine import EngineSettings
from kdphys.hr_track import TrackSettings
from kdphys.signal import DEFAULT_BAND_HZ


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="video file (mp4, avi, mov, mkv, webm)")
    parser.add_argument("--method", default="pos", help="pos | chrom | green | student | teacher (default: pos)")
    parser.add_argument("--out", help="CSV file, one row per window: its heart rate (empty where refused), "
                                      "accepted flag, quality, SNR, confidence, reason")
    parser.add_argument("--waveform", help="CSV file, one row per sample: time, BVP, face, read, beat")
    parser.add_argument("--json", help="JSON file for the summary (HR, range, coverage, quality, settings, "
                                       "timings, every window)")
    parser.add_argument("--band", nargs=2, type=float, default=DEFAULT_BAND_HZ, metavar=("LOW_HZ", "HIGH_HZ"),
                        help="pre-processing band in Hz (default 0.5 4.0; heart rates 40-200 bpm are read)")
    parser.add_argument("--window", type=float, default=TrackSettings.window_s,
                        help="length of each window read, s (default 10; one every second)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    settings = EngineSettings(method=args.method, band_hz=tuple(args.band),
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
    reading = result.snapshot.reading
    print(f"method: {result.snapshot.method}")
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
    return 0 if reading.hr_bpm is not None else 1
