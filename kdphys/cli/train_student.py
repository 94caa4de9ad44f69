"""``python -m kdphys train-student``: train the 2D-CNN student alone, without distillation (the ablation baseline)."""

from __future__ import annotations

import argparse

from kdphys.cli.training_args import add_training_arguments, run_training


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_arguments(parser, "student")


def run(args: argparse.Namespace) -> int:
    return run_training(args, "student")
