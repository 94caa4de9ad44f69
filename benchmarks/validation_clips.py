"""Per-clip heart rates behind a training run's validation MAE: which clips make it move between epochs.

    .venv/bin/python benchmarks/validation_clips.py runs/exp/distill-att010/best.pt runs/exp/cadence-5/last.pt

For each checkpoint, the release validation set (configs/release/distill.yaml + data.yaml; its chunk cache is
built first if missing) goes through ``kdphys.train.validate`` (chunk predictions z-scored, joined per video,
heart rate by the app's spectral estimator on prediction and reference), which keeps the per-video rates.
Prints one row per checkpoint: per clip "reference -> predicted" bpm, the MAE, and how many clips are within 3 bpm.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from anywhere without installing

from kdphys.commands.train_release import release_config  # noqa: E402
from kdphys.train import load_chunk_sets, model_from_checkpoint, validate  # noqa: E402

WITHIN_BPM = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    args = parser.parse_args()
    cfg = release_config("distill", [])
    _, val_set = load_chunk_sets(cfg.data)
    loader = DataLoader(val_set, batch_size=cfg.batch_size, shuffle=False)
    for ckpt in args.checkpoints:
        model, _ = model_from_checkpoint(ckpt)
        rows = validate(model, loader, cfg.data, cfg.loss, torch.device("cpu")).videos
        errors = np.array([abs(p - r) for _, r, p in rows])
        clips = " ".join(f"{str(rec).split('-')[0][-8:]}:{r:.0f}->{p:.0f}" for rec, r, p in rows)
        print(f"{ckpt}: MAE {errors.mean():.2f} bpm, {int((errors <= WITHIN_BPM).sum())}/{len(rows)} clips within "
              f"{WITHIN_BPM:.0f} bpm | {clips}")


if __name__ == "__main__":
    main()
