"""kdphys.quality.assess: readings for pulses, no reading (with a reason) for everything else."""

import numpy as np
import pytest

from kdphys.quality import HrReading, QualitySettings, assess, liveness_variation
from tests.test_signal import ppg

FPS = 30.0


def test_clean_pulse_gives_good_reading():
    r = assess(ppg(72.4), FPS, face_fraction=1.0)
    assert r.reason is None and r.hr_bpm == pytest.approx(72.4, abs=0.5)
    assert r.quality == "good"
    assert r.hr_peaks_bpm == pytest.approx(72.4, abs=0.5)
    assert r.snr_db > 6 and r.sqi > 0.8 and r.face_fraction == 1.0
    assert r.describe() == f"{r.hr_bpm:.1f} bpm (good)"


@pytest.mark.parametrize("hr_bpm", [45, 55, 90, 150])
def test_noisy_pulse_reads_correctly(hr_bpm):
    rng = np.random.default_rng(int(hr_bpm))
    x = ppg(hr_bpm, phase0=rng.uniform()) + 0.1 * rng.standard_normal(600) + np.linspace(0, 3, 600)
    r = assess(x * 40 + 100, FPS, face_fraction=0.95)      # scale and offset do not matter
    assert r.hr_bpm == pytest.approx(hr_bpm, abs=1.0), r.describe()


@pytest.mark.parametrize("kind", ["white", "pink", "walk"])
def test_noise_gives_no_reading(kind):
    rng = np.random.default_rng(42)
    for _ in range(20):
        n = rng.standard_normal(600)
        if kind == "pink":
            spec = np.fft.rfft(n)
            n = np.fft.irfft(spec / np.sqrt(np.maximum(np.arange(spec.size), 1)), 600)
        elif kind == "walk":
            n = np.cumsum(n)
        r = assess(n, FPS, face_fraction=1.0)
        assert r.hr_bpm is None and r.quality == "none"
        assert r.reason.startswith("no reading: ") and r.describe() == r.reason


def test_constant_signal_gives_no_reading():
    r = assess(np.full(600, 3.0), FPS, face_fraction=1.0)
    assert r.hr_bpm is None and "flat" in r.reason


def test_still_image_trace_gives_no_reading():
    rng = np.random.default_rng(0)
    still = np.array([150.0, 110.0, 90.0]) + 0.005 * rng.standard_normal((600, 3))
    pulse = ppg(72)                                       # even with a pulse-like BVP
    r = assess(pulse, FPS, face_fraction=1.0, raw_trace=still)
    assert r.hr_bpm is None and "photo" in r.reason
    live = still + np.outer(0.3 * (pulse - pulse.mean()), [0.3, 1.0, 0.5])   # ~0.1 level pulse
    assert liveness_variation(live, FPS) > 5 * QualitySettings().min_liveness_std
    assert assess(pulse, FPS, face_fraction=1.0, raw_trace=live).hr_bpm == pytest.approx(72, abs=0.5)


def test_too_short_gives_no_reading_first():
    r = assess(ppg(72, duration_s=3.0), FPS, face_fraction=0.1)   # also no face: "short" comes first
    assert r.hr_bpm is None and "3.0 s long" in r.reason and "5 s" in r.reason


def test_few_face_frames_gives_no_reading():
    r = assess(ppg(72), FPS, face_fraction=0.5)
    assert r.hr_bpm is None and "50% of frames" in r.reason and r.face_fraction == 0.5


def test_slower_than_band_is_refused_not_doubled():
    r = assess(ppg(38), FPS, face_fraction=1.0)           # default band starts at 42 bpm
    assert r.hr_bpm is None and r.reason.startswith("no reading: ")      # not 76 bpm
    assert r.hr_peaks_bpm == pytest.approx(38, abs=0.5)
    r = assess(ppg(38), FPS, face_fraction=1.0, band_hz=(0.55, 3.5))
    assert r.hr_bpm == pytest.approx(38, abs=0.5)


def test_weak_pulse_reason_names_snr():
    rng = np.random.default_rng(5)
    x = ppg(80) + 3.0 * rng.standard_normal(600)
    r = assess(x, FPS, face_fraction=1.0)
    assert r.hr_bpm is None
    assert any(word in r.reason for word in ("SNR", "periodicity", "ambiguous", "heartbeats"))


def test_settings_are_used():
    x = ppg(72)
    assert assess(x, FPS, 1.0, QualitySettings(min_duration_s=30.0)).hr_bpm is None
    assert assess(x, FPS, 0.5, QualitySettings(min_face_fraction=0.4)).hr_bpm is not None
    assert isinstance(assess(x, FPS, 1.0), HrReading)


def test_shipped_contact_bvp_reads_about_71_bpm():
    from kdphys import paths

    data = np.loadtxt(paths.SAMPLE_BVP_CSV, delimiter=",", skiprows=1)     # unix s, bvp at ~20 Hz
    t_s = data[:, 0] - data[0, 0]
    fs = 20.0
    bvp = np.interp(np.arange(0.0, t_s[-1], 1 / fs), t_s, data[:, 1])
    r = assess(bvp, fs, face_fraction=1.0)
    assert r.hr_bpm == pytest.approx(70.75, abs=1.0), r.describe()          # oximeter: 70.75 bpm
    assert r.quality == "good"


def test_long_windows_use_their_own_snr_threshold():
    """Windows of at least long_window_s are gated at long_window_min_snr_db, shorter ones at min_snr_db."""
    x = ppg(72)                                                      # 20 s at 30 fps
    strict_long = QualitySettings(long_window_min_snr_db=60.0)
    r = assess(x, FPS, 1.0, strict_long)
    assert r.hr_bpm is None and "need 60.0 dB" in r.reason
    assert assess(x[:int(12 * FPS)], FPS, 1.0, strict_long).hr_bpm == pytest.approx(72, abs=1.5)
    strict_short = QualitySettings(min_snr_db=60.0)
    assert assess(x, FPS, 1.0, strict_short).hr_bpm == pytest.approx(72, abs=1.0)
    assert "need 60.0 dB" in assess(x[:int(12 * FPS)], FPS, 1.0, strict_short).reason


def test_noise_in_long_windows_gives_no_reading():
    """The lower SNR threshold of long windows still refuses noise (calibrated: <= 0.25 % of trials)."""
    rng = np.random.default_rng(7)
    readings = 0
    for seconds in (15, 20, 30):
        for _ in range(40):
            readings += assess(rng.standard_normal(int(seconds * FPS)), FPS, 1.0).hr_bpm is not None
    assert readings == 0


def test_weak_pulses_need_closer_beat_intervals():
    """Readings below min_snr_db (they pass only through the long-window gate) use the weak-pulse gap limit."""
    s = QualitySettings()
    assert s.max_disagreement_bpm(s.min_snr_db - 0.1) == s.weak_pulse_max_peak_disagreement_bpm < \
        s.max_peak_disagreement_bpm == s.max_disagreement_bpm(s.min_snr_db)
    x = ppg(72)                                                      # 20 s at 30 fps, SNR far above 0 dB
    no_gap_allowed = -1.0                                            # |spectral - beat-interval HR| is never below it
    weak_everywhere = QualitySettings(min_snr_db=60.0, long_window_min_snr_db=-2.0,
                                      weak_pulse_max_peak_disagreement_bpm=no_gap_allowed)
    r = assess(x, FPS, 1.0, weak_everywhere)
    assert r.hr_bpm is None and "ambiguous" in r.reason and r.snr_db < 60.0
    assert assess(x, FPS, 1.0, QualitySettings(weak_pulse_max_peak_disagreement_bpm=no_gap_allowed)).hr_bpm == \
        pytest.approx(72, abs=1.0)                                   # strong pulse: the usual 8 bpm limit
