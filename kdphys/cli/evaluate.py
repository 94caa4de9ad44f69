"""``python -m kdphys evaluate``: paper-style table (MAE, RMSE, MAPE, r, SNR) per dataset and method.

    python -m kdphys evaluate --dataset ubfc=/data/UBFC --method pos --method chrom \\
        --method student=runs/distill/best.pt --protocol intra --out runs/eval

Writes per_video.csv, results.md and one Bland-Altman PNG per (dataset, method) into --out and prints
the markdown table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kdphys.errors import KDPhysError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", action="append", required=True, metavar="KIND=ROOT",
                        help="dataset to evaluate, KIND one of folder, ubfc, pure, mmpd (repeatable)")
    parser.add_argument("--method", action="append", metavar="NAME[=WEIGHTS]",
                        help="pos | chrom | pbv | green | student | teacher, or student=PATH / teacher=PATH (.pt or "
                             ".onnx); repeatable (default: pos, chrom and pbv)")
    parser.add_argument("--protocol", choices=("intra", "cross"), default="cross",
                        help="intra: test subjects of the subject-wise split used in training; cross: all videos")
    parser.add_argument("--split", nargs=3, type=float, default=(0.6, 0.2, 0.2), metavar=("TRAIN", "VAL", "TEST"),
                        help="subject shares of the intra split (as data.split_fractions in the training config)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the intra split (data.split_seed)")
    parser.add_argument("--band", nargs=2, type=float, default=(0.75, 2.5), metavar=("LOW_HZ", "HIGH_HZ"),
                        help="HR band in Hz (default 0.75 2.5, the rPPG-Toolbox benchmark convention)")
    parser.add_argument("--window", type=float, default=None,
                        help="HR per window of this many seconds (default: one HR per whole video)")
    parser.add_argument("--cache-dir", default="cache/eval", help="per-video face-crop cache ('' = none)")
    parser.add_argument("--out", default="runs/eval", help="output folder for CSV, table and plots")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parse_datasets(specs: list[str]) -> dict:
    from kdphys.training.data import open_dataset

    datasets = {}
    for spec in specs:
        if "=" not in spec:
            raise KDPhysError(f"--dataset {spec!r}: write KIND=ROOT, e.g. --dataset ubfc=/data/UBFC or "
                              "--dataset folder=my_videos/.")
        kind, root = spec.split("=", 1)
        label = kind if kind not in datasets else f"{kind}:{Path(root).name}"
        datasets[label] = open_dataset(kind, root)
    return datasets


def run(args: argparse.Namespace) -> int:
    from kdphys.evaluation.evaluate import EvalSettings, evaluate

    settings = EvalSettings(protocol=args.protocol, split_fractions=tuple(args.split), split_seed=args.split_seed,
                            band_hz=tuple(args.band), window_s=args.window, cache_dir=args.cache_dir or None)
    report = evaluate(parse_datasets(args.dataset), args.method or ["pos", "chrom", "pbv"], out_dir=args.out,
                      settings=settings, progress=not args.quiet)
    print(report.markdown)
    print(f"per-video results: {report.csv_path}")
    for path in report.plots:
        print(f"Bland-Altman plot: {path}")
    return 0
