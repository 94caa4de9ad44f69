"""How strong is the pulse in the sample clip, in the synthetic generator's units? Prints figures.

    .venv/bin/python benchmarks/real_pulse_strength.py

The app's skin trace (mean R, G, B over the tracker's skin mask, kdphys.pipeline.engine) of a video is divided by its
mean (relative change), band-passed 0.7-3.5 Hz, and regressed on the band-passed, z-scored reference pulse
at the lag (within +-1.5 s) where green correlates best: the slope per channel is that channel's pulse
amplitude. The same estimator runs on synthetic clips of known ``pulse_amplitude`` (H.264 crf 0, 640x480,
the sample clip's size), so the real clip's green slope divided by the synthetic slope per unit amplitude
is its pulse strength in ``SyntheticConfig.pulse_amplitude`` units (1 = 0.6 % green peak-to-peak).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np


from kdphys import paths, signal as sig  # noqa: E402
from kdphys.pipeline.upload import analyze_video  # noqa: E402
from kdphys.data.reference import sample_clip_reference  # noqa: E402

BAND_HZ = (0.7, 3.5)
FPS = 30.0
MAX_LAG_S = 1.5


def skin_trace(video: Path) -> tuple[np.ndarray, np.ndarray]:
    """(t_s (n,), mean skin RGB (n, 3)) on the engine's 30 Hz grid."""
    snapshot = analyze_video(video, method="pos").snapshot
    return snapshot.t_s, snapshot.trace


def channel_amplitudes(trace: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, float, float]:
    """trace (n, 3) raw RGB, reference (n,) pulse on the same grid -> (slope per channel (3,) in relative
    intensity per reference standard deviation, green correlation, lag s)."""
    rel = trace / trace.mean(axis=0) - 1.0
    channels = np.stack([sig.preprocess(rel[:, c], FPS, BAND_HZ) for c in range(3)], axis=1)
    ref = sig.znorm(sig.preprocess(reference, FPS, BAND_HZ))
    edge = int(2 * FPS)
    best = None
    for lag in range(-int(MAX_LAG_S * FPS), int(MAX_LAG_S * FPS) + 1):
        shifted = np.roll(ref, lag)[edge:-edge]
        r = abs(float(np.corrcoef(shifted, channels[edge:-edge, 1])[0, 1]))
        if best is None or r > best[0]:
            slopes = np.array([np.polyfit(shifted, channels[edge:-edge, c], 1)[0] for c in range(3)])
            best = (r, lag, slopes)
    r, lag, slopes = best
    return slopes, r, lag / FPS


def synthetic_slope(amplitude: float, seed: int, folder: Path) -> tuple[np.ndarray, float]:
    from kdphys.data.synthetic import SyntheticConfig, generate_clip, write_clip

    clip = generate_clip(SyntheticConfig(hr_bpm=72.0, duration_s=20.0, size=(480, 640), pulse_amplitude=amplitude,
                                         seed=seed))
    write_clip(clip, folder, name=f"amp{amplitude}_{seed}", crf=0)
    t_s, trace = skin_trace(folder / f"amp{amplitude}_{seed}.mp4")
    slopes, r, _lag = channel_amplitudes(trace, np.interp(t_s, clip.t_s, clip.bvp))
    return slopes, r


def main() -> None:
    t_s, trace = skin_trace(paths.SAMPLE_VIDEO)
    ref = sample_clip_reference()
    real, r_real, lag_s = channel_amplitudes(trace, np.interp(t_s, ref.t_s, ref.values))
    print("| clip | slope R, G, B (relative change per reference SD) | R/G, B/G | green r | lag (s) |")
    print("|---|---|---|---|---|")
    print(f"| sample clip (oximeter) | {real[0]:.2e}, {real[1]:.2e}, {real[2]:.2e} | {real[0] / real[1]:.2f}, "
          f"{real[2] / real[1]:.2f} | {r_real:.2f} | {lag_s:+.2f} |")
    per_unit = []
    with tempfile.TemporaryDirectory() as tmp:
        for amplitude, seed in ((1.0, 1), (1.0, 2), (0.25, 1)):
            slopes, r = synthetic_slope(amplitude, seed, Path(tmp))
            per_unit.append(slopes[1] / amplitude)
            print(f"| synthetic, pulse_amplitude {amplitude} (seed {seed}) | {slopes[0]:.2e}, {slopes[1]:.2e}, "
                  f"{slopes[2]:.2e} | {slopes[0] / slopes[1]:.2f}, {slopes[2] / slopes[1]:.2f} | {r:.2f} | - |")
    unit = float(np.mean(per_unit[:2]))
    print(f"\nsynthetic green slope per unit pulse_amplitude: {unit:.2e} (amplitude 0.25 reads "
          f"{per_unit[2] * 0.25 / unit:.2f})")
    print(f"sample clip pulse strength: {real[1] / unit:.2f} in pulse_amplitude units "
          f"({100 * real[1] / unit * 0.006:.3f} % green peak-to-peak)")


if __name__ == "__main__":
    main()
