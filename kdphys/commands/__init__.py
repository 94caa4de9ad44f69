"""Subcommands of ``python -m kdphys``: each module has ``add_arguments(parser)`` and ``run(args) -> int``.

The three training commands share their arguments and their run function (below): a YAML config
(configs/*.yaml), ``--set key=value`` overrides, and a few common flags; the mode is fixed by the command.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_CONFIGS = {"teacher": "configs/teacher.yaml", "student": "configs/student.yaml",
                   "distill": "configs/distill.yaml"}


def add_training_arguments(parser: argparse.ArgumentParser, mode: str) -> None:
    parser.add_argument("--config", default=DEFAULT_CONFIGS[mode],
                        help=f"YAML config (default {DEFAULT_CONFIGS[mode]}; configs/tiny.yaml for a 1-minute run)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set epochs=5 --set loss.attention_weight=0.5")
    parser.add_argument("--out-dir", help="where checkpoints and log.csv go (config: out_dir)")
    parser.add_argument("--epochs", type=int, help="number of epochs (config: epochs)")
    parser.add_argument("--device", help="auto | cpu | cuda (config: device)")
    parser.add_argument("--no-resume", action="store_true", help="start from scratch even if out_dir/last.pt exists")
    if mode == "distill":
        parser.add_argument("--teacher", help="teacher checkpoint, e.g. runs/teacher/best.pt (config: teacher_checkpoint)")


def run_training(args: argparse.Namespace, mode: str) -> int:
    """Load the config, apply overrides and flags, train, print where the results are. Works under torchrun."""
    from kdphys.config import load_config
    from kdphys.paths import REPO_ROOT
    from kdphys.train import cleanup_distributed, train

    overrides = list(args.overrides) + [f"mode={mode}"]
    for flag, key in (("out_dir", "out_dir"), ("epochs", "epochs"), ("device", "device"), ("teacher", "teacher_checkpoint")):
        value = getattr(args, flag, None)
        if value is not None:
            overrides.append(f"{key}={value}")
    if args.no_resume:
        overrides.append("resume=false")
    config_path = Path(args.config)
    if not config_path.is_file() and (REPO_ROOT / config_path).is_file():   # configs/... from any folder
        config_path = REPO_ROOT / config_path
    cfg = load_config(config_path, overrides)
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
