"""``python -m kdphys cv``: leave-subject-out cross-validation of the release recipe on a real dataset.

    python -m kdphys cv                                   # every subject of data.real.root, all steps
    python -m kdphys cv --folds subject3 subject5 --steps teacher distill --set epochs=2

The release's synthetic steps (configs/release/*_synthetic.yaml: no real subject) run once, as for the
release, into ``runs/release``. For each held-out subject the release's real steps (teacher, distilled
student, student without distillation, each fine-tuned from its synthetic step) are trained on the other
subjects (plus the synthetic set), with the held-out subject as validation, into ``runs/cv/<subject>/<step>``. Each fold's models and POS then read the held-out subject
through the app's path (kdphys.evaluation.evaluate.evaluate_video: the shared extraction, ``kdphys.signal.readings``) and the
table (``runs/cv/results.md``, rows in ``runs/cv/per_fold.csv``) gives, per method: the periodogram MAE
(rPPG-Toolbox convention), the app's ungated whole-clip MAE (median of the tracked windows), the gated MAE
of the readings and how many subjects and windows were read, and the spread (SD) over folds.
A finished step is skipped (its DONE file), so an interrupted run continues.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from kdphys.cli.train_release import REAL_STEPS as STEPS
from kdphys.cli.train_release import SYNTHETIC_STEPS
from kdphys.paths import REPO_ROOT
LABELS = {"teacher": "teacher", "distill": "student (KD)", "student": "student (no KD)"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folds", nargs="*", help="held-out subjects (default: every subject of data.real.root)")
    parser.add_argument("--steps", nargs="+", choices=STEPS + ("eval",), default=list(STEPS) + ["eval"],
                        help="steps to run per fold, then 'eval' (default: all)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value in every step's config, e.g. --set epochs=2")
    parser.add_argument("--out", default=str(REPO_ROOT / "runs" / "cv"), help="folder of the folds and the table")
    parser.add_argument("--release-dir", default=str(REPO_ROOT / "runs" / "release"),
                        help="where the shared synthetic steps are (and are trained when missing)")


def fold_config(step: str, held_out: str, out_root: Path, overrides: list[str], release_dir: Path):
    """The release config of a real ``step`` with ``held_out`` as the only validation (and never trained on)
    subject, fine-tuned from the synthetic step in ``release_dir``."""
    from kdphys.cli.train_release import release_config

    fold_dir = out_root / held_out
    extra = [f"data.real.val_subjects=[{held_out}]", "data.real.train_subjects=null",
             f"out_dir={fold_dir / step}", f"teacher_checkpoint={fold_dir / 'teacher' / 'best.pt'}",
             f"init_checkpoint={release_dir / (step + '-synthetic') / 'best.pt'}"]
    return release_config(step, list(overrides) + extra)


def synthetic_config(step: str, overrides: list[str], release_dir: Path):
    """The release config of a synthetic step (``teacher_synthetic``, ...) in ``release_dir``; never real data."""
    from kdphys.cli.train_release import release_config

    name = step.replace("_", "-")
    extra = [f"out_dir={release_dir / name}", f"teacher_checkpoint={release_dir / 'teacher-synthetic' / 'best.pt'}",
             'data.real.dataset=""']
    return release_config(step, list(overrides) + extra)


def subjects_of(cfg) -> list[str]:
    from kdphys.training.data import open_dataset

    return sorted({str(r.subject_id) for r in open_dataset(cfg.data.real.dataset, cfg.data.real.root).records()},
                  key=_natural)


def _natural(text: str):
    import re
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def run(args: argparse.Namespace) -> int:
    from kdphys.training.data import prepare
    from kdphys.training.loop import train

    out_root, release_dir = Path(args.out), Path(args.release_dir)
    probe = fold_config("teacher", "none", out_root, args.overrides, release_dir)
    if not probe.data.real.dataset:
        print("error: the release data config has no real dataset (data.real.dataset); nothing to cross-validate.")
        return 2
    folds = args.folds or subjects_of(probe)
    if any(step in args.steps for step in STEPS):
        for step in SYNTHETIC_STEPS:          # shared by every fold: no real subject in them, whatever --set says
            cfg = synthetic_config(step, args.overrides, release_dir)
            if not (Path(cfg.out_dir) / "DONE").is_file():
                print(f"[{step}] training -> {cfg.out_dir}", flush=True)
                prepare(cfg.data)
                result = train(cfg)
                (Path(cfg.out_dir) / "DONE").write_text(f"val_mae_bpm={result.best_val_mae_bpm:.3f}\n")
    for held in folds:
        for step in STEPS:
            if step not in args.steps:
                continue
            cfg = fold_config(step, held, out_root, args.overrides, release_dir)
            done = Path(cfg.out_dir) / "DONE"
            if done.is_file():
                print(f"[{held} {step}] done already")
                continue
            print(f"[{held} {step}] training -> {cfg.out_dir}", flush=True)
            prepare(cfg.data)
            result = train(cfg)
            done.write_text(f"val_mae_bpm={result.best_val_mae_bpm:.3f}\n")
    if "eval" in args.steps:
        rows = evaluate_folds(folds, out_root, args.overrides, release_dir)
        print(write_table(rows, out_root))
    return 0


def evaluate_folds(folds: list[str], out_root: Path, overrides: list[str], release_dir: Path) -> list:
    """VideoResult rows: each fold's models (those trained) and POS on the held-out subject's video."""
    from kdphys.evaluation.evaluate import EvalSettings, evaluate_video
    from kdphys.pipeline.extract import ExtractSettings, cached_extract
    from kdphys.methods import get_method
    from kdphys.methods.neural import NeuralMethod
    from kdphys.training.data import open_dataset

    rows = []
    for held in folds:
        cfg = fold_config("teacher", held, out_root, overrides, release_dir)
        data = cfg.data
        record = next(r for r in open_dataset(data.real.dataset, data.real.root).records() if str(r.subject_id) == held)
        signals = cached_extract(record, ExtractSettings(fps=data.fps, crop_size=data.crop_size,
                                                         skin_region=data.skin_region, cache_dir=data.cache_dir))
        methods = {"pos": get_method("pos")}
        for step in STEPS:
            best = Path(fold_config(step, held, out_root, overrides, release_dir).out_dir) / "best.pt"
            if best.is_file():
                kind = "teacher" if step == "teacher" else "student"
                methods[LABELS[step]] = NeuralMethod.from_file(best, kind=kind, name=LABELS[step])
        rows += evaluate_video("cv", record, signals, methods, EvalSettings(crop_size=data.crop_size))
    return rows


def write_table(rows: list, out_root: Path) -> str:
    """results.md (returned) and per_fold.csv in ``out_root``."""
    from kdphys.evaluation.evaluate import write_csv

    out_root.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out_root / "per_fold.csv")
    lines = [f"Leave-subject-out, {len({r.subject_id for r in rows})} folds (one held-out subject each).", "",
             "| method | periodogram MAE (bpm) | app MAE, ungated (bpm) | SD over folds | app MAE, readings (bpm) "
             "| subjects read | within 5 bpm | windows read |",
             "|---|---|---|---|---|---|---|---|"]
    for method in dict.fromkeys(r.method for r in rows):
        sel = [r for r in rows if r.method == method]
        periodogram = np.array([r.abs_error_bpm for r in sel])
        ungated = np.array([abs(r.hr_tracked_bpm - r.hr_ref_beats_bpm) for r in sel])
        read = [r for r in sel if np.isfinite(r.hr_read_bpm)]
        gated = np.array([abs(r.hr_read_bpm - r.hr_ref_read_bpm) for r in read])
        lines.append(f"| {method} | {periodogram.mean():.2f} | {np.nanmean(ungated):.2f} | {np.nanstd(ungated):.2f} | "
                     f"{gated.mean() if len(gated) else float('nan'):.2f} | {len(read)} of {len(sel)} | "
                     f"{int(np.sum(gated <= 5.0))} | {100 * np.mean([r.read_share for r in sel]):.0f}% |")
    lines += ["", "Per subject (app, ungated error / reading error, bpm):", "",
              "| subject | " + " | ".join(dict.fromkeys(r.method for r in rows)) + " |",
              "|---|" + "---|" * len(dict.fromkeys(r.method for r in rows))]
    for subject in dict.fromkeys(r.subject_id for r in rows):
        cells = []
        for method in dict.fromkeys(r.method for r in rows):
            r = next(x for x in rows if x.subject_id == subject and x.method == method)
            read = f"{r.hr_read_bpm - r.hr_ref_read_bpm:+.1f}" if np.isfinite(r.hr_read_bpm) else "no reading"
            cells.append(f"{r.hr_tracked_bpm - r.hr_ref_beats_bpm:+.1f} / {read}")
        lines.append(f"| {subject} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (out_root / "results.md").write_text(text)
    return text

