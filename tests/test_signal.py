"""kdphys.signal on synthetic signals with known answers: realistic PPG waveforms (systolic peak,
dicrotic notch and wave) at 40-180 bpm, noise, beats along a known heart rate."""

import numpy as np
import pytest

from kdphys.signal import (
    DEFAULT_BAND_HZ,
    bandpass,
    beats_along,
    detrend,
    hr_from_peaks,
    hr_from_spectrum,
    power_spectrum,
    preprocess,
    snr_db,
    sqi_autocorr,
)

FPS = 30.0


def ppg(hr_bpm, duration_s=20.0, fps=FPS, dicrotic=0.4, gap=None, rise=0.07, fall=0.15, dia=0.10,
        gap_fraction=None, phase0=0.1):
    """(N,) PPG: asymmetric systolic peak, dicrotic notch, diastolic wave `gap` s later (or
    gap_fraction of a period later). Widths in s. hr_bpm may be an array (N,) for a changing rate."""
    n = int(round(duration_s * fps))
    f_hz = np.broadcast_to(np.asarray(hr_bpm, dtype=float) / 60.0, (n,))
    phase = np.cumsum(f_hz) / fps + phase0
    period = 1.0 / f_hz
    u = np.mod(phase, 1.0) * period                     # time since the beat's onset, s
    gap_s = period * gap_fraction if gap_fraction is not None else (0.32 if gap is None else gap)

    def bump(centre_s, rise_s, fall_s):
        d = u - centre_s
        d = np.where(d > period / 2, d - period, d)
        return np.exp(-0.5 * (d / np.where(d < 0, rise_s, fall_s)) ** 2)

    return bump(0.15, rise, fall) + dicrotic * bump(0.15 + gap_s, 0.7 * dia, dia)


def harmonic_ratio(x, hr_bpm, fps=FPS):
    """Power at 2 x HR / power at HR of a Hann-windowed spectrum."""
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size), 1 << 15)) ** 2
    freqs = np.fft.rfftfreq(1 << 15, 1 / fps)
    p1 = spec[np.argmin(np.abs(freqs - hr_bpm / 60))]
    p2 = spec[np.argmin(np.abs(freqs - 2 * hr_bpm / 60))]
    return p2 / p1


# -- detrend / band-pass --------------------------------------------------------------------------
def test_detrend_removes_quadratic_trend():
    t = np.arange(int(30 * FPS)) / FPS
    pulse = np.sin(2 * np.pi * 1.2 * t)
    out = detrend(pulse + 50.0 + 2.0 * t + 0.3 * t**2)           # trend spans ~330 units
    inner = slice(int(2 * FPS), -int(2 * FPS))
    assert np.sqrt(np.mean((out[inner] - pulse[inner]) ** 2)) < 0.1
    assert abs(out.mean()) < 0.05


def test_detrend_handles_30_minutes():
    x = np.random.default_rng(0).standard_normal(54_000) + np.linspace(0, 100, 54_000)
    out = detrend(x)
    assert out.shape == (54_000,) and np.all(np.isfinite(out))
    assert abs(np.polyfit(np.arange(out.size), out, 1)[0]) < 1e-5    # the ramp is gone


def _gain_db(f_hz, band_hz=(0.7, 3.5)):
    t = np.arange(int(60 * FPS)) / FPS
    x = np.sin(2 * np.pi * f_hz * t)
    y = bandpass(x, FPS, band_hz)
    inner = slice(int(10 * FPS), -int(10 * FPS))
    return 20 * np.log10(np.std(y[inner]) / np.std(x[inner]))


@pytest.mark.parametrize("f_hz", [0.1, 0.2, 6.0, 10.0])
def test_bandpass_attenuates_out_of_band_sines(f_hz):
    assert _gain_db(f_hz) < -20.0


@pytest.mark.parametrize("f_hz", [1.0, 1.5, 2.5])
def test_bandpass_passes_in_band_sines(f_hz):
    assert _gain_db(f_hz) > -1.0


def test_bandpass_band_is_configurable():
    assert _gain_db(3.0, band_hz=(0.75, 2.5)) < -6.0    # rPPG-Toolbox band cuts 180 bpm
    assert _gain_db(3.0) > -3.0                          # the app band keeps it (-2.6 dB)


@pytest.mark.parametrize("n", [1, 2, 5, 20, 60])
def test_bandpass_short_inputs_do_not_fail(n):
    y = bandpass(np.sin(np.arange(n) / 3.0) + 5.0, FPS)
    assert y.shape == (n,) and np.all(np.isfinite(y))


def test_bandpass_band_above_nyquist_says_what_to_do():
    with pytest.raises(ValueError, match="below half the frame rate"):
        bandpass(np.zeros(100), fps=6.0, band_hz=(0.7, 3.5))


def test_preprocess_survives_nan_samples():
    x = ppg(72)
    x[100:103] = np.nan
    y = preprocess(x, FPS)
    assert np.all(np.isfinite(y))
    assert abs(hr_from_spectrum(y, FPS).hr_bpm - 72) < 0.5


# -- spectral heart rate --------------------------------------------------------------------------
@pytest.mark.parametrize("hr_bpm", [40, 45, 47.7, 50, 55, 60, 71.3, 90, 104.6, 120, 150, 180])
def test_hr_from_spectrum_clean_ppg_within_half_bpm(hr_bpm):
    x = preprocess(ppg(hr_bpm), FPS)
    assert abs(hr_from_spectrum(x, FPS).hr_bpm - hr_bpm) < 0.5


def test_hr_from_spectrum_has_no_coarse_steps():
    true_bpm = np.arange(60.0, 62.01, 0.1)
    est = np.array([hr_from_spectrum(preprocess(ppg(h, 10.0), FPS), FPS).hr_bpm for h in true_bpm])
    assert np.max(np.abs(est - true_bpm)) < 0.5
    assert np.all(np.diff(est) > 0.02)                   # every 0.1 bpm step shows up
    spec = power_spectrum(ppg(60, 10.0), FPS)
    assert 60 * np.diff(spec.freqs_hz).max() <= 0.25     # FFT grid <= 0.25 bpm


@pytest.mark.parametrize("hr_bpm", [40, 45, 50, 55, 60])
@pytest.mark.parametrize("shape", [dict(dicrotic=0.6), dict(dicrotic=0.8, gap=0.35), dict(dicrotic=0.4, gap=0.25)])
def test_default_band_keeps_a_slow_pulses_fundamental_on_top(hr_bpm, shape):
    """A band edge near a slow pulse (0.7 Hz for 40-45 bpm) attenuates its fundamental below the second
    harmonic, which is what a harmonic rule then had to undo (and got wrong for fast noisy pulses): with the
    default 0.5 Hz edge the fundamental of a PPG-like pulse stays the highest peak."""
    assert DEFAULT_BAND_HZ[0] <= 0.5
    x = preprocess(ppg(hr_bpm, **shape), FPS)
    assert harmonic_ratio(x, hr_bpm) < 1.0
    assert abs(hr_from_spectrum(x, FPS).hr_bpm - hr_bpm) < 0.5
    narrow = preprocess(ppg(40, dicrotic=0.6), FPS, (0.7, 3.5))
    assert harmonic_ratio(narrow, 40) > 1.0               # the old band's edge: the harmonic wins


@pytest.mark.parametrize("hr_bpm", [45, 50, 55, 60])
@pytest.mark.parametrize("seed", [0, 1])
def test_low_hr_with_noise_is_not_doubled(hr_bpm, seed):
    rng = np.random.default_rng(seed)
    x = ppg(hr_bpm, dicrotic=0.6, phase0=rng.uniform())
    x = x + 0.1 * rng.standard_normal(x.size)
    est = hr_from_spectrum(preprocess(x, FPS), FPS)
    assert abs(est.hr_bpm - hr_bpm) < 1.0


@pytest.mark.parametrize("hr_bpm", [90, 100, 120, 150, 180])
def test_high_hr_is_not_halved(hr_bpm):
    rng = np.random.default_rng(hr_bpm)
    x = ppg(hr_bpm, dicrotic=0.5, gap=0.3) + 0.1 * rng.standard_normal(int(20 * FPS))
    est = hr_from_spectrum(preprocess(x, FPS), FPS)
    assert abs(est.hr_bpm - hr_bpm) < 1.0


def test_noise_bump_at_half_rate_does_not_halve():
    rng = np.random.default_rng(3)
    t = np.arange(int(20 * FPS)) / FPS
    x = ppg(96) + 0.15 * np.sin(2 * np.pi * 0.8 * t) + 0.1 * rng.standard_normal(t.size)
    est = hr_from_spectrum(preprocess(x, FPS), FPS)
    assert abs(est.hr_bpm - 96) < 1.0


# -- beats, SNR, SQI, trend -----------------------------------------------------------------------
@pytest.mark.parametrize("hr_bpm", [45, 71.3, 120, 180])
def test_hr_from_peaks(hr_bpm):
    beats = hr_from_peaks(preprocess(ppg(hr_bpm, dicrotic=0.5), FPS), FPS)
    assert abs(beats.hr_bpm - hr_bpm) < 0.5
    n_beats = 20 * hr_bpm / 60
    assert n_beats - 2.5 <= beats.peaks.size <= n_beats + 1    # dicrotic waves are not beats
    assert beats.ibi_s.size == beats.peaks.size - 1
    assert np.allclose(np.median(beats.ibi_s), 60 / hr_bpm, atol=0.01)


def test_hr_from_peaks_flat_signal_has_no_beats():
    assert hr_from_peaks(np.zeros(300), FPS).hr_bpm is None


def test_snr_larger_for_cleaner_signals():
    rng = np.random.default_rng(7)
    clean = ppg(75)
    noise = rng.standard_normal(clean.size)
    snrs = [snr_db(preprocess(clean + a * noise, FPS), FPS, 75) for a in (0.05, 0.3, 1.0, 3.0)]
    assert all(a > b for a, b in zip(snrs, snrs[1:]))
    assert snrs[0] > 10.0 and snrs[-1] < 0.0


def test_sqi_high_for_pulse_low_for_noise():
    x = preprocess(ppg(75), FPS)
    assert sqi_autocorr(x, FPS, 75) > 0.9
    rng = np.random.default_rng(11)
    sqis = []
    for _ in range(10):
        n = preprocess(rng.standard_normal(600), FPS)
        sqis.append(sqi_autocorr(n, FPS, hr_from_spectrum(n, FPS).hr_bpm))
    assert np.median(sqis) < 0.5
    assert all(0.0 <= s <= 1.0 for s in sqis)


@pytest.mark.parametrize("hr_bpm", [40, 60, 90, 120, 150, 180])
def test_beats_along_mark_one_beat_per_cycle_in_noise(hr_bpm):
    """One beat per cycle of the known rate, even where noise hides some beats from a peak detector."""
    rng = np.random.default_rng(int(hr_bpm))
    x = preprocess(ppg(hr_bpm, duration_s=30.0, dicrotic=0.5) + 0.5 * rng.standard_normal(int(30 * FPS)), FPS)
    beats = beats_along(x, FPS, [0.0, 30.0], [hr_bpm, hr_bpm])
    expected = 30.0 * hr_bpm / 60.0
    assert abs(beats.peaks.size - expected) <= 1.0
    assert beats.hr_bpm == pytest.approx(hr_bpm, abs=0.05 * hr_bpm)
    assert np.all(np.diff(beats.peaks) > 0)


def test_beats_along_follow_a_changing_rate():
    n = int(60 * FPS)
    hr = np.linspace(70.0, 130.0, n)
    x = preprocess(ppg(hr, duration_s=60.0), FPS)
    beats = beats_along(x, FPS, np.arange(n) / FPS, hr)
    assert abs(beats.peaks.size - hr.mean()) <= 1.0        # 60 s at a mean of 100 bpm
    assert np.all(np.abs(beats.peaks - np.round(beats.peaks)) == 0)


def test_beats_along_without_a_rate_or_signal_is_empty():
    assert beats_along(np.zeros(300), FPS, [0.0], [70.0]).hr_bpm is None
    assert beats_along(ppg(70), FPS, [0.0], [np.nan]).peaks.size == 0
