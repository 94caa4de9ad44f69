"""``python -m kdphys export``: student/teacher to ONNX, with an ONNX Runtime parity check (max |diff| <= 1e-4).

    python -m kdphys export --checkpoint runs/distill/best.pt --out runs/distill/student.onnx
    python -m kdphys export            # weights/student.pt -> runs/export/student.onnx (and the teacher)

Files in weights/ are checksummed (weights/SHA256SUMS) and only ``train-release --steps ship`` replaces
them, so this command never writes into weights/ by default.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kdphys.errors import WeightsError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="a .pt checkpoint from training (default: weights/student.pt and "
                                             "weights/teacher.pt)")
    parser.add_argument("--out", help="output .onnx path (default: the checkpoint's path with .onnx; "
                                      "runs/export/<kind>.onnx for the shipped weights)")
    parser.add_argument("--kind", choices=("student", "teacher"),
                        help="only needed for a bare state dict (training checkpoints say what they hold)")
    parser.add_argument("--frames", type=int, default=128, help="teacher graph's clip length T (default 128)")
    parser.add_argument("--tol", type=float, default=1e-4, help="parity tolerance, max abs BVP difference")


def run(args: argparse.Namespace) -> int:
    from kdphys.models.export import export_model
    from kdphys.paths import REPO_ROOT, WEIGHTS_DIR

    if args.checkpoint:
        jobs = [(Path(args.checkpoint), Path(args.out) if args.out else Path(args.checkpoint).with_suffix(".onnx"),
                 args.kind)]
    else:
        out_dir = REPO_ROOT / "runs" / "export"
        out_dir.mkdir(parents=True, exist_ok=True)
        jobs = [(WEIGHTS_DIR / f"{kind}.pt", out_dir / f"{kind}.onnx", kind) for kind in ("student", "teacher")
                if (WEIGHTS_DIR / f"{kind}.pt").is_file()]
        if not jobs:
            raise WeightsError(f"No weights to export in {WEIGHTS_DIR}; pass --checkpoint runs/<run>/best.pt.")
    for checkpoint, out, kind in jobs:
        result = export_model(checkpoint, out, kind=kind, n_frames=args.frames, tol=args.tol)
        print(f"{result.kind}: {checkpoint} -> {result.path}  parity max |diff| {result.max_abs_diff:.2e} "
              f"over {result.n_frames} frames (tolerance {args.tol:.0e})")
    return 0
