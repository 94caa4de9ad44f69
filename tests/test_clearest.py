"""ClearestOf ("pbv-pos-or-green"): the candidate whose pulse the tracker follows most confidently is read."""

import numpy as np
import pytest

from kdphys.methods import ClearestOf, Green, POS, get_method
from kdphys.methods.clearest import track_clarity
from kdphys.signal import bandpass, hr_from_spectrum
from kdphys.signal.readings import read_signal

FPS = 30.0
SKIN_RGB = np.array([180.0, 120.0, 90.0])


def _t(seconds: float = 40.0) -> np.ndarray:
    return np.arange(int(seconds * FPS)) / FPS


def _brightness_pulse_trace(hr_bpm: float, rng) -> np.ndarray:
    """(N, 3): the pulse moves R, G and B by the same grey levels (what a low-bit-rate codec keeps), which
    POS's projection cancels but for its noise, plus independent per-channel noise of the same size."""
    t = _t()
    pulse = 0.3 * np.sin(2 * np.pi * hr_bpm / 60.0 * t)
    return SKIN_RGB + pulse[:, None] + rng.normal(0.0, 0.3, (t.size, 3))


def _changing_light_trace(hr_bpm: float, rng) -> np.ndarray:
    """(N, 3): a skin pulse in the standardised blood-volume direction (0.1 %) under light whose brightness
    wanders within the pulse band (about 0.7 % std, as a moving head gives); POS cancels the light, the
    green channel does not."""
    t = _t()
    pulse = 1e-3 * np.sin(2 * np.pi * hr_bpm / 60.0 * t)
    light = 1.0 + 2e-2 * bandpass(rng.normal(size=t.size), FPS, (0.5, 3.0))
    relative = 1.0 + pulse[:, None] * np.array([0.33, 0.77, 0.53])
    return SKIN_RGB * relative * light[:, None] + rng.normal(0.0, 0.02, (t.size, 3))


def _headline(bvp: np.ndarray) -> float | None:
    return read_signal(bvp, FPS, np.ones(bvp.size, bool)).summary.hr_bpm


@pytest.mark.parametrize("hr_bpm", [55.0, 110.0, 160.0])
def test_brightness_only_pulse_is_read_from_the_green_channel(hr_bpm, rng):
    trace = _brightness_pulse_trace(hr_bpm, rng)
    name, bvp = ClearestOf().bvp_and_source(trace, FPS)
    assert name == "green"
    hr = _headline(bvp)
    assert hr is not None and abs(hr - hr_bpm) <= 2.0


@pytest.mark.parametrize("hr_bpm", [70.0, 120.0])
def test_pulse_under_changing_light_is_read_with_pos_not_green(hr_bpm, rng):
    trace = _changing_light_trace(hr_bpm, rng)
    assert _headline(get_method("green").bvp(trace, FPS)) is None      # green alone is lost
    pos_or_green = ClearestOf(candidates=(POS(), Green()))
    name, bvp = pos_or_green.bvp_and_source(trace, FPS)
    assert name == "pos"
    hr = _headline(bvp)
    assert hr is not None and abs(hr - hr_bpm) <= 2.0
    assert np.allclose(pos_or_green.bvp(trace, FPS), bvp)
    name, bvp = ClearestOf().bvp_and_source(trace, FPS)           # PBV removes that light as well
    assert name in ("pbv", "pos") and abs(_headline(bvp) - hr_bpm) <= 2.0


def _red_heavy_light_trace(hr_bpm: float, rng) -> np.ndarray:
    """(N, 3): the pulse of _changing_light_trace under light that wanders at 45-66 bpm (1 % std) and moves red
    20 % more than G and B (a warm lamp, a reflection): the green channel keeps all of it, POS part of it."""
    t = _t()
    pulse = 1e-3 * np.sin(2 * np.pi * hr_bpm / 60.0 * t)[:, None] * np.array([0.33, 0.77, 0.53]) / 0.77
    light = bandpass(rng.normal(size=t.size), FPS, (0.75, 1.1))
    light = 1e-2 * (light / light.std())[:, None] * np.array([1.2, 1.0, 1.0])
    return SKIN_RGB * (1.0 - pulse + light) + rng.normal(0.0, 0.02, (t.size, 3))


def test_light_moving_the_channels_nearly_together_is_removed_with_pbv(rng):
    trace = _red_heavy_light_trace(118.0, rng)
    assert abs(hr_from_spectrum(get_method("green").bvp(trace, FPS), FPS).hr_bpm - 118.0) > 5.0
    clarity = {m: track_clarity(get_method(m).bvp(trace, FPS), FPS) for m in ("pbv", "pos")}
    assert clarity["pbv"] > clarity["pos"], clarity
    name, bvp = ClearestOf().bvp_and_source(trace, FPS)
    assert name == "pbv"
    hr = _headline(bvp)
    assert hr is not None and abs(hr - 118.0) <= 2.0


def test_the_name_joins_the_candidates():
    assert ClearestOf().name == "pbv-pos-or-green"
    assert ClearestOf(candidates=(POS(), Green())).name == "pos-or-green"
    assert ClearestOf(candidates=(POS(),)).name == "pos"


def test_clarity_is_high_for_a_pulse_low_for_noise_and_zero_when_too_short(rng):
    t = _t()
    assert track_clarity(np.sin(2 * np.pi * 1.5 * t) + 0.3 * rng.normal(size=t.size), FPS) > 0.8
    assert track_clarity(rng.normal(size=t.size), FPS) < 0.5
    assert track_clarity(np.sin(2 * np.pi * 1.5 * t[:60]), FPS) == 0.0        # 2 s: no 5 s window
    assert track_clarity(np.zeros(t.size), FPS) == 0.0


def test_candidates_must_share_an_input_kind():
    class Crops(type(get_method("pos"))):
        input_kind = "crops"

    with pytest.raises(ValueError, match="at least one"):
        ClearestOf(candidates=())
    with pytest.raises(ValueError, match="'trace' input"):
        ClearestOf(candidates=(get_method("pos"), Crops()))
