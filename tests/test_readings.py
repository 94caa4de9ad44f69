"""kdphys.signal.readings: per-window readings through the gate and their summary."""

import numpy as np
import pytest

from kdphys.data.synthetic.signals import noise_only
from kdphys.signal.readings import read_signal
from tests.test_signal import ppg

FPS = 30.0


def test_every_window_has_a_reading_or_a_reason():
    r = read_signal(ppg(75, duration_s=30.0), FPS, np.ones(900, bool))
    assert len(r.windows) == 21 and r.accepted.all()
    assert np.allclose(r.hr_bpm, 75, atol=0.5)
    assert r.centres_s[0] == pytest.approx(5.0) and r.centres_s[-1] == pytest.approx(25.0)
    assert r.read_mask().all()
    assert r.summary.hr_bpm == pytest.approx(75, abs=0.5) and r.summary.coverage == 1.0


def test_a_face_gap_refuses_only_the_windows_it_spoils():
    """10 s without a face in 40 s: the windows with less than 80 % face are refused ("face"), the rest
    are read, and the summary says how much of the video was read."""
    n = int(40 * FPS)
    face = np.ones(n, bool)
    face[450:750] = False
    bvp = ppg(80, duration_s=40.0)
    bvp[~face] = 0.0
    r = read_signal(bvp, FPS, face)
    causes = {w.reading.cause for w in r.windows if not w.accepted}
    assert causes == {"face"}
    assert 0.2 < r.summary.coverage < 0.8
    assert r.summary.hr_bpm == pytest.approx(80, abs=1.0)
    read = r.read_mask()
    assert not read[520:680].any() and read[:300].all() and read[-300:].all()


def test_pulse_then_noise_reads_the_pulse_part_only():
    rng = np.random.default_rng(0)
    n = int(60 * FPS)
    bvp = ppg(100, duration_s=60.0)
    bvp[n // 2:] = 3.0 * noise_only(rng, "pink", n - n // 2, FPS)
    r = read_signal(bvp, FPS, np.ones(n, bool))
    late = r.centres_s > 40
    assert r.accepted[r.centres_s < 25].all()
    assert not r.accepted[late].any()
    assert {w.reading.cause for w, is_late in zip(r.windows, late) if is_late} == {"unclear"}
    assert r.summary.hr_bpm == pytest.approx(100, abs=1.0)


def test_too_little_read_gives_the_most_common_reason():
    rng = np.random.default_rng(4)
    r = read_signal(noise_only(rng, "white", int(40 * FPS), FPS), FPS, np.ones(int(40 * FPS), bool))
    assert r.summary.hr_bpm is None and r.summary.cause == "unclear"
    assert all(np.isnan(w.candidate_hr_bpm) or w.candidate_hr_bpm > 0 for w in r.windows)


def test_growing_windows_read_early():
    r = read_signal(ppg(70, duration_s=12.0), FPS, np.ones(360, bool), grow=True)
    assert r.windows[0].end_s == pytest.approx(5.0) and r.windows[0].start_s == 0.0
    assert r.windows[0].accepted


def test_face_share_as_one_number():
    r = read_signal(ppg(70), FPS, 0.5)
    assert r.summary.cause == "face" and "50% of the frames" in r.summary.reason
