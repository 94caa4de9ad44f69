"""Short distillation run on synthetic data: does the distilled student beat the untrained one?

    .venv/bin/python benchmarks/short_distill.py                 # a few minutes on 2 CPU cores
    .venv/bin/python benchmarks/short_distill.py --baseline      # also the student trained alone (ablation)

Builds the tiny synthetic set of configs/tiny.yaml (clips -> the shared extraction, cached), trains the teacher,
distils it into the student (attention transfer + DILATE + negative Pearson), and prints the validation
HR MAE (bpm) and loss of the untrained and the trained student. Outputs go to runs/bench-short-distill/.
"""

from __future__ import annotations

import argparse
import time

import torch

from kdphys.training.config import load_config
from kdphys.paths import REPO_ROOT
from kdphys.training.loop import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO_ROOT / "runs" / "bench-short-distill"))
    parser.add_argument("--teacher-epochs", type=int, default=6)
    parser.add_argument("--student-epochs", type=int, default=8)
    parser.add_argument("--baseline", action="store_true", help="also train the student without the teacher")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)

    def cfg(mode: str, epochs: int, *extra: str):
        return load_config(REPO_ROOT / "configs" / "tiny.yaml",
                           [f"mode={mode}", f"epochs={epochs}", f"seed={args.seed}", "resume=false",
                            f"out_dir={args.out}/{mode}", f"data.root={args.out}/synthetic",
                            f"data.cache_dir={args.out}/cache", *extra])

    t0 = time.perf_counter()
    teacher = train(cfg("teacher", args.teacher_epochs))
    t_teacher = time.perf_counter() - t0
    distill = train(cfg("distill", args.student_epochs, f"teacher_checkpoint={teacher.checkpoint}"))
    t_distill = time.perf_counter() - t0 - t_teacher
    rows = [("teacher (trained)", teacher.initial_val, teacher.best_val_mae_bpm, teacher.history, t_teacher),
            ("student distilled", distill.initial_val, distill.best_val_mae_bpm, distill.history, t_distill)]
    if args.baseline:
        t1 = time.perf_counter()
        alone = train(cfg("student", args.student_epochs))
        rows.append(("student alone", alone.initial_val, alone.best_val_mae_bpm, alone.history,
                     time.perf_counter() - t1))

    print(f"\nvalidation set: {distill.initial_val.n_clips} synthetic videos (configs/tiny.yaml), HR MAE in bpm")
    print("| model | untrained MAE | untrained loss | best MAE | loss at best | epochs | wall s |")
    print("|---|---|---|---|---|---|---|")
    for name, init, best_mae, history, wall_s in rows:
        best = min(history[1:], key=lambda r: r["val_mae_bpm"])
        print(f"| {name} | {init.mae_bpm:.2f} | {init.loss:.3f} | {best_mae:.2f} | {best['val_loss']:.3f} "
              f"| {len(history) - 1} | {wall_s:.0f} |")
    print(f"\ndistilled student: validation MAE {distill.initial_val.mae_bpm:.2f} -> {distill.best_val_mae_bpm:.2f} bpm "
          f"({'lower' if distill.best_val_mae_bpm < distill.initial_val.mae_bpm else 'NOT lower'}); "
          f"checkpoint {distill.checkpoint}")


if __name__ == "__main__":
    main()
