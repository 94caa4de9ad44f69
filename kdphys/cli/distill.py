"""``python -m kdphys distill``: distil the frozen teacher into the student (attention transfer + DILATE + neg Pearson).

    python -m kdphys distill --config configs/distill.yaml --teacher runs/teacher/best.pt
    torchrun --nproc_per_node=2 -m kdphys distill --config configs/distill.yaml   # DDP
"""

from __future__ import annotations

import argparse

from kdphys.cli.training_args import add_training_arguments, run_training


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_arguments(parser, "distill")


def run(args: argparse.Namespace) -> int:
    return run_training(args, "distill")
