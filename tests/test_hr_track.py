"""kdphys.signal.hr_track: windows, the forward-backward posterior, and the tracked heart rate on synthetic signals."""

import numpy as np
import pytest

from kdphys.data.synthetic.signals import noise_only, noisy_pulse
from kdphys.signal.hr_track import TrackSettings, forward_backward, track_hr, window_slices
from kdphys.signal import preprocess
from tests.test_signal import ppg

FPS = 30.0


def test_windows_end_every_hop_and_cover_the_end():
    s = TrackSettings(window_s=10.0, hop_s=1.0, min_window_s=5.0)
    w = window_slices(int(20 * FPS), FPS, s)
    assert len(w) == 11 and w[0] == slice(0, 300) and w[-1] == slice(300, 600)
    assert all(b.stop - a.stop == 30 for a, b in zip(w, w[1:]))
    grow = window_slices(int(20 * FPS), FPS, s, grow=True)
    assert grow[0] == slice(0, 150) and grow[5] == slice(0, 300) and grow[-1] == slice(300, 600)
    assert window_slices(int(7 * FPS), FPS, s) == [slice(0, 210)]           # shorter than a window: one
    assert window_slices(int(4 * FPS), FPS, s) == []                        # shorter than min_window_s


def test_forward_backward_rows_are_distributions_and_uniform_stays_uniform():
    grid = np.arange(40.0, 200.5, 0.5)
    rng = np.random.default_rng(0)
    evidence = rng.random((12, grid.size))
    evidence /= evidence.sum(axis=1, keepdims=True)
    post = forward_backward(evidence, grid, 2.0, 1e-3, 0.1)
    assert post.shape == evidence.shape and np.allclose(post.sum(axis=1), 1.0)
    flat = forward_backward(np.full((5, grid.size), 1.0 / grid.size), grid, 2.0, 1e-3, 0.1)
    assert np.allclose(flat, 1.0 / grid.size, rtol=0.02)


@pytest.mark.parametrize("start,end", [(40, 60), (60, 120), (120, 90), (150, 180)])
def test_track_follows_a_changing_rate(start, end):
    n = int(60 * FPS)
    hr = np.linspace(start, end, n)
    track = track_hr(preprocess(ppg(hr, duration_s=60.0), FPS), FPS)
    truth = np.array([hr[w].mean() for w in track.windows])
    assert np.max(np.abs(track.hr_bpm - truth)) < 2.0
    assert np.min(track.confidence) > 0.8


@pytest.mark.parametrize("hr_bpm", range(40, 181, 10))
def test_noisy_pulses_40_to_180_bpm_are_neither_halved_nor_doubled(hr_bpm):
    rng = np.random.default_rng(hr_bpm)
    bvp, hr = noisy_pulse(rng, int(60 * FPS), FPS, hr_bpm, hr_bpm, snr_db=0.0)
    track = track_hr(preprocess(bvp, FPS), FPS)
    truth = np.array([hr[w].mean() for w in track.windows])
    assert np.mean(np.abs(track.hr_bpm - truth) <= 5.0) > 0.9


def test_noise_gives_low_confidence():
    rng = np.random.default_rng(1)
    for kind in ("white", "pink"):
        track = track_hr(preprocess(noise_only(rng, kind, int(60 * FPS), FPS), FPS), FPS)
        assert np.median(track.confidence) < 0.6


def test_uninformative_windows_are_bridged_by_their_neighbours():
    x = preprocess(ppg(75, duration_s=40.0), FPS)
    rng = np.random.default_rng(2)
    x[450:750] = 5 * rng.standard_normal(300)             # 10 s of junk in the middle
    windows = window_slices(x.size, FPS, TrackSettings())
    informative = np.array([w.stop <= 450 or w.start >= 750 for w in windows])
    track = track_hr(x, FPS, windows=windows, informative=informative)
    assert np.all(np.abs(track.hr_bpm[~informative] - 75) < 3.0)
