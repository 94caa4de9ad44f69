"""``python -m kdphys train-release``: regenerate the shipped weights from scratch.

Steps (each resumable: a finished step is skipped when its DONE file exists, unless --fresh), each
train(configs/release/<step>.yaml + data.yaml) -> runs/release/<step>/best.pt:
  1. teacher-synthetic, distill-synthetic, student-synthetic: synthetic faces only (no real subject);
  2. teacher, distill, student: fine-tuned from step 1 on the real subjects mixed with synthetic faces
     (student = the same student without distillation: the ablation baseline of the model card);
  3. ship: export the distilled student to ONNX (parity-checked, skin region in its metadata) and copy
     teacher.pt, student.pt, student-nokd.pt, student.onnx into weights/ as bare state dicts with their
     config, and rewrite weights/SHA256SUMS.
The real subjects are the UBFC-rPPG dev subjects (configs/release/data.yaml: data.real.root; research terms,
see weights/MODEL_CARD.md); without them step 2 stops with a message (--set data.real.root=PATH points at
a copy). ``--synthetic-from DIR`` takes step 1 from an earlier release's files instead of training it:

    git show 5551783:weights/teacher.pt > old/teacher.pt   # and student.pt, student-nokd.pt
    python -m kdphys train-release --synthetic-from old     # step 2 fine-tunes those
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import yaml

from kdphys.paths import REPO_ROOT, WEIGHTS_DIR

RELEASE_DIR = REPO_ROOT / "configs" / "release"
SYNTHETIC_STEPS = ("teacher_synthetic", "distill_synthetic", "student_synthetic")
REAL_STEPS = ("teacher", "distill", "student")
STEPS = SYNTHETIC_STEPS + REAL_STEPS
#: weights/ file name of each step's best checkpoint
SHIPPED_NAMES = {"teacher": "teacher.pt", "distill": "student.pt", "student": "student-nokd.pt"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", nargs="+", choices=STEPS + ("ship",), default=list(STEPS) + ["ship"],
                        help="which steps to run (default: all, in order)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value in every step's config, e.g. --set epochs=2")
    parser.add_argument("--fresh", action="store_true",
                        help="retrain every step from its start, removing an earlier run's checkpoints and log")
    parser.add_argument("--synthetic-from", metavar="DIR",
                        help="take the synthetic steps from the teacher.pt / student.pt / student-nokd.pt in DIR "
                             "(e.g. an earlier release's weights/) instead of training them")
    parser.add_argument("--weights-dir", default=str(WEIGHTS_DIR), help="where the shipped files go")


def release_config(step: str, overrides: list[str]):
    """TrainConfig of one release step: data.yaml deep-merged under configs/release/<step>.yaml."""
    from kdphys.training.config import apply_overrides, config_from_dict

    values = _deep_merge(yaml.safe_load((RELEASE_DIR / "data.yaml").read_text()),
                         yaml.safe_load((RELEASE_DIR / f"{step}.yaml").read_text()))
    for key in ("out_dir", "teacher_checkpoint", "init_checkpoint"):
        if values.get(key):
            values[key] = str(REPO_ROOT / values[key])
    for key in ("root", "cache_dir", "reencode_dir"):
        if values["data"].get(key):
            values["data"][key] = str(REPO_ROOT / values["data"][key])
    real = values["data"].get("real") or {}
    if real.get("root"):
        real["root"] = str(REPO_ROOT / real["root"])
    return config_from_dict(apply_overrides(values, overrides))


def _deep_merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for key, value in top.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def run(args: argparse.Namespace) -> int:
    from kdphys.training.data import prepare
    from kdphys.training.loop import train

    for step in STEPS:
        if step not in args.steps:
            continue
        cfg = release_config(step, args.overrides)
        best = Path(cfg.out_dir) / "best.pt"
        if best.is_file() and not args.fresh and (Path(cfg.out_dir) / "DONE").is_file():
            print(f"[{step}] done already: {best}")
            continue
        if step in SYNTHETIC_STEPS and args.synthetic_from:
            seed_synthetic_step(step, Path(args.synthetic_from), Path(cfg.out_dir))
            print(f"[{step}] taken from {args.synthetic_from}")
            continue
        if args.fresh:
            clear_run(Path(cfg.out_dir))
        print(f"[{step}] training -> {cfg.out_dir}")
        prepare(cfg.data)
        result = train(cfg)
        (Path(cfg.out_dir) / "DONE").write_text(f"best_val_mae_bpm={result.best_val_mae_bpm:.3f}\n")
        print(f"[{step}] best validation HR MAE {result.best_val_mae_bpm:.2f} bpm ({result.epochs_run} epochs)")
    if "ship" in args.steps:
        ship(Path(args.weights_dir), args.overrides)
    return 0


#: What a training run leaves in its out_dir: --fresh removes them, or training would resume from last.pt.
RUN_FILES = ("last.pt", "best.pt", "DONE", "log.csv")


def clear_run(out_dir: Path) -> None:
    """Remove an earlier run's checkpoints, log and DONE from ``out_dir``, so that training starts from its
    init checkpoint instead of resuming (a finished run would resume at its last epoch and train none)."""
    for name in RUN_FILES:
        (out_dir / name).unlink(missing_ok=True)


def seed_synthetic_step(step: str, source_dir: Path, out_dir: Path) -> None:
    """A synthetic step's best.pt (and DONE) copied from a shipped file of ``source_dir``: teacher_synthetic
    from teacher.pt, distill_synthetic from student.pt, student_synthetic from student-nokd.pt."""
    from kdphys.errors import KDPhysError
    from kdphys.models.checkpoints import load_torch

    real_step = step.removesuffix("_synthetic")
    source = source_dir / SHIPPED_NAMES[real_step]
    if not source.is_file():
        raise KDPhysError(f"--synthetic-from: {source} not found (the folder needs {', '.join(SHIPPED_NAMES.values())}).")
    kind = "teacher" if real_step == "teacher" else "student"
    found = load_torch(source).get("kind")
    if found != kind:
        raise KDPhysError(f"--synthetic-from: {source} holds a {found}, not a {kind}.")
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, out_dir / "best.pt")
    (out_dir / "DONE").write_text(f"taken from {source}\n")


#: Training settings that change how a run is shown, not what it learns: left out of the shipped files.
DISPLAY_ONLY_SETTINGS = ("progress",)


def shipped_config(config: dict) -> dict:
    """A checkpoint's training config as shipped: the same from any clone and however the command was run.
    Paths inside the repository become relative to it; DISPLAY_ONLY_SETTINGS are dropped."""
    root = str(REPO_ROOT) + "/"

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in DISPLAY_ONLY_SETTINGS}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, str) and value.startswith(root):
            return value[len(root):]
        return value

    return clean(config)


def ship(weights_dir: Path, overrides: list[str]) -> None:
    """Copy the best checkpoints into weights/ (state dict + model kwargs + config), export ONNX, checksums."""
    import torch

    from kdphys.models.checkpoints import write_checksums
    from kdphys.models.export import export_model

    weights_dir.mkdir(parents=True, exist_ok=True)
    for step, name in SHIPPED_NAMES.items():
        best = Path(release_config(step, overrides).out_dir) / "best.pt"
        if not best.is_file():
            print(f"[ship] {best} missing; {name} not shipped")
            continue
        ckpt = torch.load(best, map_location="cpu", weights_only=True)
        slim = {k: ckpt[k] for k in ("model", "kind", "model_kwargs", "config", "epoch", "best_val_mae_bpm") if k in ckpt}
        if "config" in slim:
            slim["config"] = shipped_config(slim["config"])
        torch.save(slim, weights_dir / name)
        print(f"[ship] {name} <- {best}")
    write_checksums(weights_dir)          # the new .pt files must be listed before they can be loaded
    student = weights_dir / SHIPPED_NAMES["distill"]
    if student.is_file():
        with tempfile.TemporaryDirectory() as tmp:   # exported and parity-checked outside weights/
            result = export_model(student, Path(tmp) / "student.onnx")
            shutil.copyfile(Path(tmp) / "student.onnx", weights_dir / "student.onnx")
        print(f"[ship] student.onnx (ONNX Runtime vs torch max abs diff {result.max_abs_diff:.2e})")
    write_checksums(weights_dir)
