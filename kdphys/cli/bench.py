"""``python -m kdphys bench``: parameters, speed and memory of every model, the live pipeline, upload
analysis, open-rppg peers and the INT8 student, side by side in one run (prints Markdown tables).

    python -m kdphys bench                   # everything (~10 min on 2 cores; first run builds caches)
    python -m kdphys bench --params          # parameter and MAC counts only (seconds, no video)
    python -m kdphys bench --models --pipeline --out docs/bench.md

Not a pass/fail test: it measures this machine as it is (say so when something else is running).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from kdphys.bench.suite import SECTIONS, BenchSettings, run_bench

HELP = {
    "params": "parameters and MACs/frame of student and teacher (fast, no video)",
    "models": "ms/frame of student torch, student ONNX, teacher, POS on the real clip's crops",
    "pipeline": "live pipeline fps at 640x480 with a per-stage breakdown",
    "upload": "upload analysis of a 60 s 640x480 video: x real time, peak memory",
    "memory": "peak memory of a 10-minute vs a 1-minute upload (flat in length?)",
    "peers": "open-rppg PhysNet and FacePhys in benchmarks/.venv-openrppg (created if missing)",
    "int8": "INT8-quantized student: speed and accuracy change",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for name in SECTIONS:
        parser.add_argument(f"--{name}", action="store_true", help=HELP[name])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model (median; default 5)")
    parser.add_argument("--frames", type=int, default=300, help="frames per timed run of streaming models")
    parser.add_argument("--upload-repeats", type=int, default=3,
                        help="timed analyses of the 60 s upload video per model (median; default 3)")
    parser.add_argument("--memory-minutes", type=float, default=10.0, help="length of the long memory video")
    parser.add_argument("--out", help="also write the tables to this Markdown file")


def run(args: argparse.Namespace) -> int:
    chosen = tuple(name for name in SECTIONS if getattr(args, name))
    settings = BenchSettings(sections=chosen or SECTIONS, repeats=args.repeats, n_frames=args.frames,
                             upload_repeats=args.upload_repeats, memory_long_s=60.0 * args.memory_minutes)
    chunks: list[str] = []

    def emit(text: str) -> None:
        print(text, flush=True)
        chunks.append(text)

    t0 = time.perf_counter()
    run_bench(settings, emit=emit)
    command = "python -m kdphys bench" + "".join(f" --{s}" for s in chosen)
    emit(f"_{command}: {time.perf_counter() - t0:.0f} s._\n")
    if args.out:
        Path(args.out).write_text("\n".join(chunks))
        print(f"wrote {args.out}")
    return 0
