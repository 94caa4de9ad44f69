"""``python -m kdphys analyze VIDEO``: heart rate of a face video, with a progress bar and CSV output."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from kdphys.analysis import analyze_video
from kdphys.engine import EngineSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="video file (mp4, avi, mov, mkv, webm)")
    parser.add_argument("--method", default="pos", help="pos | chrom | green | student | teacher (default: pos)")
    parser.add_argument("--out", help="CSV file for the per-sample BVP and sliding-window HR")
    parser.add_argument("--json", help="JSON file for the summary (HR, quality, settings, timings)")
    parser.add_argument("--band", nargs=2, type=float, default=(0.7, 3.5), metavar=("LOW_HZ", "HIGH_HZ"),
                        help="heart-rate pass band in Hz (default 0.7 3.5 = 42-210 bpm)")
    parser.add_argument("--window", type=float, default=10.0, help="sliding-window length for the HR trend, s")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    settings = EngineSettings(method=args.method, band_hz=tuple(args.band), window_s=args.window)
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
        print(f"quality: {reading.quality} (SNR {reading.snr_db:.1f} dB, SQI {reading.sqi:.2f})")
    print(f"face present in {100 * reading.face_fraction:.0f}% of the video")
    for note in result.notes:
        print(f"note: {note}")
    if args.out:
        print(f"wrote {result.write_csv(args.out)}")
    if args.json:
        print(f"wrote {result.write_json(args.json)}")
    return 0 if reading.hr_bpm is not None else 1
