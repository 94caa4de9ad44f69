"""``python -m kdphys train-teacher``: train the PhysNet-like 3D-CNN teacher (single process or torchrun)."""

from __future__ import annotations

import argparse

from kdphys.cli.training_args import add_training_arguments, run_training


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_arguments(parser, "teacher")


def run(args: argparse.Namespace) -> int:
    return run_training(args, "teacher")
