"""How much of a model's pulse sits at twice the heart rate: power at the fundamental against the second
harmonic on the sample clip (a person never trained on, oximeter 71.1 bpm). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/harmonic_power.py                                  # the shipped models
    .venv/bin/python benchmarks/harmonic_power.py --models teacher=runs/cv/subject3/teacher/best.pt
    .venv/bin/python benchmarks/harmonic_power.py --skin-colour-only      # no texture, no motion: colour alone

Each model's BVP over the whole clip (the app's crops and windows, ``NeuralMethod.bvp``), pre-processed as the
app does (``signal.preprocess``); power = the highest periodogram bin (Hann window, 8x zero padding) within
±3 bpm of the oximeter's rate f0 and of 2 f0. A ratio under 1 means the model's waveform repeats twice per beat
more strongly than once: the tracker then follows 2 f0, or nothing. ``--skin-colour-only`` sets every skin pixel
of each crop to that crop's mean skin colour: what is left is the colour signal, without the face's texture or
its motion.
"""

from __future__ import annotations

import argparse

import numpy as np


from kdphys import paths, signal as sig  # noqa: E402
from kdphys.bench.clips import face_crops  # noqa: E402
from kdphys.methods.neural import NeuralMethod  # noqa: E402

SHIPPED = {"teacher": paths.WEIGHTS_DIR / "teacher.pt", "student": paths.WEIGHTS_DIR / "student.pt",
           "student-nokd": paths.WEIGHTS_DIR / "student-nokd.pt"}


def peak_power(bvp: np.ndarray, fps: float, bpm: float, half_bpm: float = 3.0) -> float:
    """Highest periodogram power of (N,) ``bvp`` within ±``half_bpm`` of ``bpm``."""
    n = 8 * len(bvp)
    freqs_bpm = np.fft.rfftfreq(n, 1.0 / fps) * 60.0
    power = np.abs(np.fft.rfft(bvp * np.hanning(len(bvp)), n)) ** 2
    return float(power[np.abs(freqs_bpm - bpm) <= half_bpm].max())


def skin_colour_only(crops: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 skin crops (black = not skin) with each crop's skin pixels set to their mean colour."""
    skin = crops.max(axis=-1) > 0
    out = np.zeros_like(crops)
    for i, (crop, mask) in enumerate(zip(crops, skin)):
        if mask.any():
            out[i][mask] = np.round(crop[mask].mean(axis=0)).astype(np.uint8)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", metavar="NAME=PATH",
                        help="checkpoints to compare (kind from the name: 'teacher...' or a student); "
                             "default: the shipped teacher, student and student-nokd")
    parser.add_argument("--skin-colour-only", action="store_true",
                        help="each crop's skin pixels set to their mean colour (no texture, no motion)")
    args = parser.parse_args()
    models = dict(m.split("=", 1) for m in args.models) if args.models else SHIPPED
    crops = face_crops()
    frames = skin_colour_only(crops.crops) if args.skin_colour_only else crops.crops
    f0 = crops.hr_bpm
    print(f"sample clip, {len(crops.crops)} frames, oximeter {f0:.1f} bpm"
          + (", skin set to each crop's mean colour" if args.skin_colour_only else ""))
    print("| model | power f0 / 2 f0 | spectral peak (bpm) |\n|---|---|---|")
    for name, path in models.items():
        kind = "teacher" if name.startswith("teacher") else "student"
        bvp = sig.preprocess(NeuralMethod.from_file(path, kind=kind).bvp(frames, crops.fps), crops.fps,
                             sig.DEFAULT_BAND_HZ)
        ratio = peak_power(bvp, crops.fps, f0) / peak_power(bvp, crops.fps, 2 * f0)
        print(f"| {name} ({path}) | {ratio:.2f} | {sig.spectral_hr_bpm(bvp, crops.fps, sig.DEFAULT_BAND_HZ):.1f} |")


if __name__ == "__main__":
    main()
