"""Experiment: does the student stop depending on the landmark refresh cadence if it trains on several?

    .venv/bin/python benchmarks/cadence_finetune.py --out runs/exp/cadence-mix --cadences 4 5 6 7
    .venv/bin/python benchmarks/cadence_finetune.py --out runs/exp/cadence-5 --cadences 5       # control
    .venv/bin/python benchmarks/cadence_finetune.py --evaluate runs/exp/cadence-mix/last.pt ...

Training: the release distillation run (configs/release/distill.yaml + data.yaml) is continued from a
checkpoint (``--start``, default the shipped run's last.pt, epoch 16) to its end (last epoch or early stop;
~20 min per run on one thread of the 2-core CPU with the other run beside it), with the training clips'
face crops built with the landmarks refreshed every K frames, K = cadences[i % len(cadences)] for
training clip i (validation crops at the shipped K = 5, so validation MAE stays comparable). The control
run (``--cadences 5``) continues the same way on the shipped crops, so the two differ only in the crops.

Evaluation (``--evaluate CKPT ...``): the real clip's reading in the app for each checkpoint with the
landmarks held and refreshed every 4..8 frames and interpolated every 5 and 10 frames
(``benchmarks/upload_limits.py``'s replay trackers; detections computed once). Results (2026-11-25) are in
docs/PERFORMANCE.md: mixed cadences helped no more than the control.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from anywhere without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kdphys import paths, train as train_module  # noqa: E402
from kdphys.commands.train_release import release_config  # noqa: E402
from kdphys.face import TrackerSettings  # noqa: E402

SHIPPED_RUN = paths.REPO_ROOT / "runs" / "exp" / "distill-att010"


def cadence_chunk_cache(cadences: list[int]):
    """A ``build_chunk_cache`` replacement: training clip i cropped with detect_every = cadences[i % n]."""
    from kdphys.data.base import RecordList
    from kdphys.data.cache import ChunkCache
    from kdphys.data.folder import VideoFolder
    from kdphys.synthetic_sets import build_synthetic_set, set_fingerprint

    def build(data, progress: bool = True) -> dict[str, list[Path]]:
        sets = build_synthetic_set(data.root, data.synthetic)
        root = Path(data.cache_dir) / f"synthetic-{set_fingerprint(data.synthetic)}"
        out = {"train": [], "val": []}
        for split, folder in (("train", sets.train_dir), ("val", sets.val_dir)):
            dataset = VideoFolder(folder)
            records = list(dataset.records())
            groups = {k: [r for i, r in enumerate(records) if cadences[i % len(cadences)] == k] for k in cadences}
            if split == "val":
                groups = {5: records}
            for k, subset in groups.items():
                if not subset:
                    continue
                cache = ChunkCache(root / split, crop_size=data.crop_size, chunk_len=data.chunk_len, fps=data.fps,
                                   tracker_settings=TrackerSettings(detect_every=k))
                out[split] += cache.build(RecordList(dataset.name, subset, dataset.root), progress=progress)
        return out

    return build


def finetune(out: Path, cadences: list[int], start: Path, threads: int) -> None:
    cfg = release_config("distill", [f"out_dir={out}", f"num_threads={threads}"])
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "last.pt").is_file():
        shutil.copy(start, out / "last.pt")
        if (start.parent / "log.csv").is_file():
            shutil.copy(start.parent / "log.csv", out / "log.csv")
    train_module.build_chunk_cache = cadence_chunk_cache(cadences)
    result = train_module.train(cfg)
    print(f"done: best validation MAE {result.best_val_mae_bpm:.2f} bpm -> {out}")


def evaluate(checkpoints: list[Path]) -> None:
    from kdphys.face import FaceLandmarkDetector
    from kdphys.methods import get_method
    from upload_limits import HeldReplayTracker, InterpolatedReplayTracker, load_clip, reading_with

    clip = load_clip(paths.SAMPLE_VIDEO)
    detector = FaceLandmarkDetector()
    observations = [detector.detect(rgb) for rgb, _ in clip]
    detector.close()
    print("| checkpoint | landmarks | every K frames | reading |")
    print("|---|---|---|---|")
    for ckpt in checkpoints:
        method = get_method("student-torch", weights=ckpt)
        settings = TrackerSettings(crop_size=method.crop_size)
        rows = [("held", k, HeldReplayTracker(TrackerSettings(crop_size=method.crop_size, detect_every=k),
                                              observations)) for k in (4, 5, 6, 7, 8)]
        rows += [("interpolated", k, InterpolatedReplayTracker(settings, observations, k)) for k in (5, 10)]
        for kind, k, tracker in rows:
            method = get_method("student-torch", weights=ckpt)
            reading = reading_with("student", tracker, clip, model=method)
            print(f"| {ckpt} | {kind} | {k} | {reading} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--cadences", nargs="+", type=int, default=[4, 5, 6, 7])
    parser.add_argument("--start", type=Path, default=SHIPPED_RUN / "last.pt")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--evaluate", nargs="+", type=Path)
    args = parser.parse_args()
    if args.evaluate:
        evaluate(args.evaluate)
    else:
        finetune(args.out, args.cadences, args.start, args.threads)


if __name__ == "__main__":
    main()
