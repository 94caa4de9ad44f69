"""Pearson r of each method's waveform against the finger oximeter on the real clip. Prints a table.

    .venv/bin/python benchmarks/real_clip_waveform.py

Both signals go through the same post-processing (detrend + 0.7-3.5 Hz band-pass on the 30 Hz grid; the
oximeter resampled onto the video's grid). r is given at zero lag and at the best lag within ±0.5 s
(the finger pulse arrives later than the face pulse), with the lag.
"""

from __future__ import annotations


import numpy as np


from kdphys import paths, signal as sig  # noqa: E402
from kdphys.pipeline.upload import analyze_video  # noqa: E402
from kdphys.pipeline.engine import Engine, EngineSettings  # noqa: E402
from kdphys.methods.neural import NeuralMethod  # noqa: E402
from kdphys.data.reference import sample_clip_reference  # noqa: E402

BAND_HZ = (0.7, 3.5)


def waveform_r(method_name: str, method=None) -> tuple[float, float, float, str]:
    engine = Engine(EngineSettings(method=method_name), method=method, keep_all=True)
    snap = analyze_video(paths.SAMPLE_VIDEO, engine=engine).snapshot
    ref = sample_clip_reference()
    ref_wave = sig.preprocess(np.interp(snap.t_s, ref.t_s, ref.values), snap.fps, BAND_HZ)
    edge = int(2 * snap.fps)          # filter edges
    def r_at(lag: int) -> float:
        a = np.roll(snap.bvp, lag)[edge:-edge]
        return float(np.corrcoef(a, ref_wave[edge:-edge])[0, 1])
    lags = range(-int(0.5 * snap.fps), int(0.5 * snap.fps) + 1)
    best = max(lags, key=r_at)
    return r_at(0), r_at(best), best / snap.fps, snap.reading.describe()


def main() -> None:
    rows = [("pos", None), ("chrom", None)]
    for label, kind, name in (("teacher", "teacher", "teacher.pt"), ("student (distilled)", "student", "student.onnx"),
                              ("student (no distillation)", "student", "student-nokd.pt")):
        rows.append((label, NeuralMethod.from_file(paths.WEIGHTS_DIR / name, kind=kind)))
    print("| method | r at lag 0 | best r (lag, s) | app reading |\n|---|---|---|---|")
    for label, method in rows:
        r0, rbest, lag_s, reading = waveform_r(label if method is None else method.name, method)
        print(f"| {label} | {r0:.2f} | {rbest:.2f} ({lag_s:+.2f}) | {reading} |")


if __name__ == "__main__":
    main()
