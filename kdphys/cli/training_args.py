"""Arguments and run function shared by the training commands (prepare, train-teacher, train-student,
distill): a YAML config (configs/*.yaml), ``--set key=value`` overrides, and one flag per top-level
field of kdphys.training.config.TrainConfig (``--epochs 5`` is ``--set epochs=5``)."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path

DEFAULT_CONFIGS = {"teacher": "configs/teacher.yaml", "student": "configs/student.yaml",
                   "distill": "configs/distill.yaml"}
#: TrainConfig fields that get no flag of their own (the command sets the mode; sections go through --set).
NOT_FLAGS = {"mode", "data", "model", "loss", "optim"}


def config_flags():
    """(field name, type, help) for every scalar top-level TrainConfig field."""
    from kdphys.training.config import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    out = []
    for f in dataclasses.fields(TrainConfig):
        if f.name in NOT_FLAGS:
            continue
        out.append((f.name, hints[f.name], f"config: {f.name} (default {f.default!r})"))
    return out


def add_training_arguments(parser: argparse.ArgumentParser, mode: str) -> None:
    parser.add_argument("--config", default=DEFAULT_CONFIGS[mode],
                        help=f"YAML config (default {DEFAULT_CONFIGS[mode]}; configs/tiny.yaml for a 1-minute run)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config value, e.g. --set loss.attention_weight=0.5 --set data.crop_size=36")
    for name, hint, help_text in config_flags():
        flag = "--" + name.replace("_", "-")
        if hint is bool:
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            parser.add_argument(flag, dest=name, default=None, metavar=name.upper(), help=help_text)


def training_config(args: argparse.Namespace, mode: str):
    """The TrainConfig of a training command: its YAML, then --set, then the field flags, mode fixed."""
    from kdphys.paths import REPO_ROOT
    from kdphys.training.config import load_config

    overrides = list(args.overrides) + [f"mode={mode}"]
    for name, _hint, _help in config_flags():
        value = getattr(args, name, None)
        if value is not None:
            overrides.append(f"{name}={str(value).lower() if isinstance(value, bool) else value}")
    config_path = Path(args.config)
    if not config_path.is_file() and (REPO_ROOT / config_path).is_file():   # configs/... from any folder
        config_path = REPO_ROOT / config_path
    return load_config(config_path, overrides)


def run_training(args: argparse.Namespace, mode: str) -> int:
    """Train (prepared data only: ``python -m kdphys prepare`` first), print where the results are.
    Works under torchrun."""
    from kdphys.training.loop import cleanup_distributed, train

    cfg = training_config(args, mode)
    try:
        result = train(cfg)
    finally:
        cleanup_distributed()
    if result.initial_val is not None:
        print(f"untrained validation HR MAE: {result.initial_val.mae_bpm:.2f} bpm")
    if result.initial_val is not None or result.epochs_run:
        print(f"best validation HR MAE: {result.best_val_mae_bpm:.2f} bpm after {result.epochs_run} epoch(s)"
              f"{' (early stop)' if result.stopped_early else ''}")
        print(f"checkpoint: {result.checkpoint}  log: {result.checkpoint.parent / 'log.csv'}")
    return 0
