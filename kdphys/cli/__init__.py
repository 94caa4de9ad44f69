"""Command line: ``python -m kdphys {analyze, prepare, train-teacher, train-student, distill, train-release, evaluate,
cv, export, bench}`` (also installed as the ``kdphys`` command).

Each subcommand lives in ``kdphys/cli/<name>.py`` with ``add_arguments(parser)`` and
``run(args) -> int``; it is imported only when asked for, so ``analyze`` never loads training code.
Errors a user can cause (KDPhysError) print one line and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from kdphys.errors import KDPhysError

COMMANDS = {
    "analyze": ("analyze", "estimate the heart rate of a face video"),
    "prepare": ("prepare", "write the training data a config needs (synthetic set, extraction caches)"),
    "train-teacher": ("train_teacher", "train the 3D-CNN teacher"),
    "train-student": ("train_student", "train the 2D-CNN student without distillation (ablation baseline)"),
    "distill": ("distill", "distil the frozen teacher into the student"),
    "train-release": ("train_release", "regenerate the shipped weights from scratch"),
    "evaluate": ("evaluate", "paper-style table on a dataset (MAE, RMSE, MAPE, r, SNR)"),
    "cv": ("cv", "leave-subject-out cross-validation of the release recipe on a real dataset"),
    "export": ("export", "export student/teacher to ONNX with a parity check"),
    "bench": ("bench", "print parameters, speed and memory of every model and the pipeline"),
}


def _load(module_name: str):
    return importlib.import_module(f"kdphys.cli.{module_name}")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kdphys", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = argv[0] if argv else None
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # only the chosen command's module is imported
            _load(module_name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        try:
            _load(COMMANDS[argv[0]][0])
        except ModuleNotFoundError as err:
            print(f"error: the '{argv[0]}' command is not available in this build ({err})", file=sys.stderr)
            return 2
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(_load(COMMANDS[args.command][0]).run(args) or 0)
    except KDPhysError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
