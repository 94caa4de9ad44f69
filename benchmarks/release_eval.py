"""Evaluate the shipped weights: the model card's tables. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/release_eval.py [--n-clips 20] [--out runs/release/eval]

1. A held-out synthetic set: seeds of the "test" split (kdphys.data.synthetic.sets.SPLIT_SEED_OFFSET), never
   used in training; HR 45-160 bpm, head motion, lighting, noise and H.264 compression (crf 0/8/12),
   320x240 frames (training used 192x192).
2. The real clip webapp/sample/physrecorder-v01 with its finger-oximeter waveform.
Rows: teacher, student with distillation, the same student without distillation, POS, CHROM — same clips,
same face crops, same post-processing (detrend + 0.7-3.5 Hz band-pass + spectral peak, one HR per video).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path


from kdphys import paths
from kdphys.training.config import SyntheticSetConfig
from kdphys.data.folder import VideoFolder
from kdphys.evaluation.evaluate import EvalSettings, evaluate
from kdphys.data.reference import sample_clip_reference
from kdphys.data.synthetic.sets import write_split

HELD_OUT = SyntheticSetConfig(n_train=0, n_val=0, duration_s=20.0, size_hw=(240, 320), hr_range_bpm=(45.0, 160.0),
                              pulse_amplitude_range=(0.8, 2.0), nuisance=1.0, crf_choices=(0, 8, 12), seed=0)


def real_clip_folder(folder: Path) -> VideoFolder:
    """The sample clip as a one-video folder dataset: the oximeter CSV re-timed to the first frame."""
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "physrecorder.avi"
    if not video.exists():
        video.symlink_to(paths.SAMPLE_VIDEO)
    ref = sample_clip_reference()
    with (folder / "physrecorder.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["time_s", "bvp"])
        writer.writerows(zip(ref.t_s, ref.values))
    return VideoFolder(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clips", type=int, default=20)
    parser.add_argument("--out", default=str(paths.REPO_ROOT / "runs" / "release" / "eval"))
    parser.add_argument("--weights", default=str(paths.WEIGHTS_DIR))
    args = parser.parse_args()
    out, weights = Path(args.out), Path(args.weights)
    held_out = write_split(out / "held_out", args.n_clips, HELD_OUT, "test")
    methods = ["pos", "chrom"]
    for label, kind, name in (("teacher", "teacher", "teacher.pt"), ("student (distilled)", "student", "student.pt"),
                              ("student (no distillation)", "student", "student-nokd.pt"),
                              ("student ONNX", "student", "student.onnx")):
        if (weights / name).is_file():
            methods.append(f"{label}={kind}={weights / name}")
    settings = EvalSettings(protocol="cross", band_hz=(0.7, 3.5), cache_dir=str(out / "cache"))
    with tempfile.TemporaryDirectory() as tmp:
        datasets = {"synthetic held-out": VideoFolder(held_out), "real clip": real_clip_folder(Path(tmp) / "real")}
        report = evaluate(datasets, methods, out_dir=out, settings=settings)
    print(report.markdown)
    print(f"per-video CSV: {report.csv_path}")


if __name__ == "__main__":
    main()
