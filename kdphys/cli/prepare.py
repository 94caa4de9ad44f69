"""``python -m kdphys prepare --config C``: write the training data a config needs (synthetic set, re-encoded
copies, every recording's extraction), cached, so that ``train-teacher`` / ``train-student`` / ``distill``
with the same config only train."""

from __future__ import annotations

import argparse

from kdphys.cli.training_args import add_training_arguments, training_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_arguments(parser, "student")


def run(args: argparse.Namespace) -> int:
    from kdphys.training.data import prepare

    cfg = training_config(args, "student")
    groups, val = prepare(cfg.data)
    for name, (share, recordings) in groups.items():
        print(f"{name}: {len(recordings)} recordings ({100 * share:.0f}% of the training clips)")
    print(f"validation: {len(val)} recordings; cached in {cfg.data.cache_dir}")
    return 0
