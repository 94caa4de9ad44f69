"""Calibrate the quality gate: how often noise gives a reading, how often a pulse reads correctly.

    .venv/bin/python benchmarks/calibrate_quality.py            # 500 trials per case (about 2 min)
    .venv/bin/python benchmarks/calibrate_quality.py --trials 100 --sweep

Cases, each at window lengths 5, 10, 15, 20, 30 s and 30 fps:
- noise: band-limited white noise, pink (1/f) noise, a constant plus quantisation noise (integer
  levels of 120 + N(0, 0.5)); the gate should give a reading in < 1% of trials.
- pulse: a realistic PPG (systolic peak, dicrotic wave, 2 bpm HRV) at 45-150 bpm plus white noise at
  input SNR -6..6 dB (power of the filtered pulse / filtered noise); the gate should read it
  correctly (|error| <= 5 bpm) and almost never read it wrongly.
--sweep also prints the noise and pulse rates for a grid of (min_snr_db, min_sqi, max disagreement).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kdphys import signal as sig  # noqa: E402
from kdphys.quality import QualitySettings, assess  # noqa: E402

FPS = 30.0
DURATIONS_S = (5.0, 10.0, 15.0, 20.0, 30.0)
PULSE_SNRS_DB = (-6.0, -3.0, -1.5, 0.0, 3.0, 6.0)
OPEN_GATE = QualitySettings(
    min_snr_db=-np.inf, min_sqi=0.0, short_window_min_sqi=0.0, max_peak_disagreement_bpm=np.inf,
    weak_pulse_max_peak_disagreement_bpm=np.inf, long_window_min_snr_db=-np.inf
)


def realistic_ppg(hr_bpm: float, n: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """(n,) PPG: asymmetric systolic peak + dicrotic wave 0.3-0.4 s later, sinusoidal 2 bpm HRV."""
    t_s = np.arange(n) / fps
    f_hz = hr_bpm / 60.0 + (2.0 / 60.0) * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t_s)
    phase = np.cumsum(f_hz) / fps + rng.uniform()
    period_s = 1.0 / f_hz
    u_s = np.mod(phase, 1.0) * period_s

    def bump(centre_s, rise_s, fall_s):
        d = u_s - centre_s
        d = np.where(d > period_s / 2, d - period_s, d)
        return np.exp(-0.5 * (d / np.where(d < 0, rise_s, fall_s)) ** 2)

    gap_s = rng.uniform(0.3, 0.4)
    return bump(0.15, 0.07, 0.15) + rng.uniform(0.2, 0.6) * bump(0.15 + gap_s, 0.07, 0.1)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=float)
    f[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n)


def noise_case(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "white":
        return sig.bandpass(rng.standard_normal(n), FPS)
    if kind == "pink":
        return pink_noise(n, rng)
    return np.round(120.0 + 0.5 * rng.standard_normal(n))          # constant + quantisation


def pulse_case(snr_db: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    hr_bpm = rng.uniform(45.0, 150.0)
    pulse = sig.preprocess(realistic_ppg(hr_bpm, n, FPS, rng), FPS)
    noise = sig.preprocess(rng.standard_normal(n), FPS)
    noise *= np.std(pulse) / np.std(noise) * 10 ** (-snr_db / 20)
    return pulse + noise, hr_bpm


def features(bvp: np.ndarray) -> tuple[float, float, float, float]:
    """(hr_bpm, snr_db, sqi, |hr - hr_peaks|) with every threshold gate open."""
    r = assess(bvp, FPS, face_fraction=1.0, settings=OPEN_GATE)
    if r.hr_bpm is None:           # flat signal: never a reading
        return np.nan, -np.inf, 0.0, np.inf
    gap = abs(r.hr_bpm - r.hr_peaks_bpm) if r.hr_peaks_bpm is not None else np.inf
    return r.hr_bpm, r.snr_db, r.sqi, gap


def passes(f: np.ndarray, s: QualitySettings, dur: float) -> np.ndarray:
    """(trials,) bool: the same decision as quality.assess from the open-gate features."""
    min_snr, min_sqi = s.thresholds(dur)
    max_gap = np.array([s.max_disagreement_bpm(snr) for snr in f[:, 1]])
    return (f[:, 1] >= min_snr) & (f[:, 2] >= min_sqi) & (f[:, 3] <= max_gap)


def collect(trials: int, seed: int):
    rng = np.random.default_rng(seed)
    noise, pulse = {}, {}
    for dur in DURATIONS_S:
        n = int(dur * FPS)
        for kind in ("white", "pink", "constant"):
            noise[kind, dur] = np.array([features(noise_case(kind, n, rng)) for _ in range(trials)])
        for snr in PULSE_SNRS_DB:
            rows = []
            for _ in range(trials):
                bvp, hr = pulse_case(snr, n, rng)
                rows.append((*features(bvp), hr))
            pulse[snr, dur] = np.array(rows)
    return noise, pulse


def report(noise, pulse, s: QualitySettings) -> tuple[float, float]:
    print(f"settings: min_snr_db={s.min_snr_db} (>= {s.long_window_s:.0f} s: {s.long_window_min_snr_db}) "
          f"min_sqi={s.min_sqi} short_window_min_sqi={s.short_window_min_sqi} "
          f"max_peak_disagreement_bpm={s.max_peak_disagreement_bpm} (SNR < {s.min_snr_db}: "
          f"{s.weak_pulse_max_peak_disagreement_bpm})")
    print("noise -> reading rate (want < 1%)")
    worst = 0.0
    for (kind, dur), f in noise.items():
        rate = passes(f, s, dur).mean()
        worst = max(worst, rate)
        print(f"  {kind:8s} {dur:4.0f} s: {100 * rate:5.1f}%")
    print("pulse + noise -> correct (|err| <= 5 bpm) / wrong reading / no reading")
    for (snr, dur), f in pulse.items():
        ok = passes(f, s, dur)
        correct = ok & (np.abs(f[:, 0] - f[:, 4]) <= 5.0)
        print(f"  SNR {snr:+4.0f} dB {dur:4.0f} s: {100 * correct.mean():5.1f}% / "
              f"{100 * (ok & ~correct).mean():4.1f}% / {100 * (~ok).mean():5.1f}%")
    at0 = np.mean([(passes(f, s, dur) & (np.abs(f[:, 0] - f[:, 4]) <= 5)).mean()
                   for (snr, dur), f in pulse.items() if snr == 0.0 and dur >= 10])
    return worst, at0


def sweep(noise, pulse, base: QualitySettings) -> None:
    grid = itertools.product((-1.0, 0.0, 1.0), (-3.0, -2.0, 0.0), (0.4, 0.5, 0.6), (0.6, 0.7, 0.8), (5.0, 8.0))
    print("sweep: min_snr_db long_window_min_snr_db min_sqi short_window_min_sqi max_gap -> worst noise reading "
          "rate, correct at 0 dB (10-30 s)")
    for snr_db, snr_long, sqi, sqi_short, gap in grid:
        s = dataclasses.replace(base, min_snr_db=snr_db, long_window_min_snr_db=snr_long, min_sqi=sqi,
                                short_window_min_sqi=sqi_short, max_peak_disagreement_bpm=gap)
        worst = max(passes(f, s, dur).mean() for (_kind, dur), f in noise.items())
        at0 = np.mean([(passes(f, s, dur) & (np.abs(f[:, 0] - f[:, 4]) <= 5)).mean()
                       for (snr, dur), f in pulse.items() if snr == 0.0 and dur >= 10])
        print(f"  {snr_db:5.1f} {snr_long:5.1f} {sqi:4.2f} {sqi_short:4.2f} {gap:4.1f} -> {100 * worst:5.2f}%  {100 * at0:5.1f}%")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    noise, pulse = collect(args.trials, args.seed)
    settings = QualitySettings()
    if args.sweep:
        sweep(noise, pulse, settings)
    worst, at0 = report(noise, pulse, settings)
    print(f"worst noise reading rate {100 * worst:.2f}%; correct readings at 0 dB, 10-30 s: {100 * at0:.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
