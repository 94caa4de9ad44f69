"""Per-clip heart rates behind a training run's validation MAE: which clips make it move between epochs.

    .venv/bin/python benchmarks/validation_clips.py runs/exp/distill-att010/best.pt runs/exp/cadence-5/last.pt

For each checkpoint, the release validation set (configs/release/distill.yaml + data.yaml; its chunk cache is
built first if missing) goes through ``kdphys.train.validate``'s steps: chunk predictions z-scored, joined
per video, heart rate by the app's spectral estimator on prediction and reference. Prints one row per
checkpoint: per clip "reference -> predicted" bpm, the MAE, and how many clips are within 3 bpm.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from anywhere without installing

from kdphys import signal as sig  # noqa: E402
from kdphys.commands.train_release import release_config  # noqa: E402
from kdphys.train import load_chunk_sets, model_from_checkpoint  # noqa: E402

WITHIN_BPM = 3.0


def clip_heart_rates(checkpoint: Path, val_set, fps: float, band_hz) -> list[tuple[str, float, float]]:
    """[(clip id, reference HR, predicted HR)] in bpm, one per validation video."""
    from torch.utils.data import DataLoader

    model, _ = model_from_checkpoint(checkpoint)
    preds, refs = [], []
    with torch.no_grad():
        for clips, bvp in DataLoader(val_set, batch_size=4, shuffle=False):
            preds += [sig.znorm(p) for p in model(clips).bvp.numpy()]
            refs += list(bvp.numpy())
    ids = val_set.record_ids
    out = []
    for rec in dict.fromkeys(ids):
        idx = [i for i, r in enumerate(ids) if r == rec]
        pred = np.concatenate([preds[i] for i in idx])
        ref = np.concatenate([refs[i] for i in idx])
        out.append((str(rec), sig.spectral_hr_bpm(ref, fps, band_hz), sig.spectral_hr_bpm(pred, fps, band_hz)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    args = parser.parse_args()
    cfg = release_config("distill", [])
    _, val_set = load_chunk_sets(cfg.data)
    for ckpt in args.checkpoints:
        rows = clip_heart_rates(ckpt, val_set, cfg.data.fps, cfg.data.band_hz)
        errors = np.array([abs(p - r) for _, r, p in rows])
        clips = " ".join(f"{rec.split('-')[0][-8:]}:{r:.0f}->{p:.0f}" for rec, r, p in rows)
        print(f"{ckpt}: MAE {errors.mean():.2f} bpm, {int((errors <= WITHIN_BPM).sum())}/{len(rows)} clips within "
              f"{WITHIN_BPM:.0f} bpm | {clips}")


if __name__ == "__main__":
    main()
