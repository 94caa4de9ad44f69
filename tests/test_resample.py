"""UniformResampler: uneven timestamps, drops, gaps and lost-face samples onto a uniform grid."""

import numpy as np

from kdphys.pipeline.resample import UniformResampler


def _run(times, values, fps=30.0, max_gap_s=0.5):
    r = UniformResampler(fps, max_gap_s=max_gap_s)
    out = []
    for t, v in zip(times, values):
        out.extend(r.push(t, v))
    return out


def test_regular_frames_map_one_to_one():
    t = np.arange(90) / 30.0
    out = _run(t, [np.array([i, 0, 0], float) for i in range(90)])
    assert len(out) == 90
    assert np.allclose([s.t_s for s in out], t)
    assert np.allclose([s.value[0] for s in out], np.arange(90))


def test_dropped_frames_are_interpolated_linearly():
    t = np.arange(300) / 30.0
    keep = np.ones(300, bool)
    keep[np.random.default_rng(0).choice(np.arange(1, 299), 30, replace=False)] = False  # drop 10%
    x = np.sin(2 * np.pi * 1.2 * t)
    out = _run(t[keep], [np.array([v]) for v in x[keep]])
    assert len(out) == 300
    grid = np.array([s.t_s for s in out])
    values = np.array([s.value[0] for s in out])
    assert np.allclose(grid, t)
    assert np.max(np.abs(values - x)) < 0.1


def test_jittered_timestamps_land_on_the_grid():
    rng = np.random.default_rng(1)
    t = np.arange(300) / 30.0 + rng.uniform(-0.008, 0.008, 300)
    t[0] = 0.0
    out = _run(t, [np.array([v]) for v in t])           # the value is its own time stamp
    grid = np.array([s.t_s for s in out])
    assert np.allclose(np.diff(grid), 1 / 30.0)
    assert np.max(np.abs(np.array([s.value[0] for s in out]) - grid)) < 1e-4


def test_long_gap_is_not_bridged():
    t = np.concatenate([np.arange(30) / 30.0, 3.0 + np.arange(30) / 30.0])
    out = _run(t, [np.array([1.0])] * 60, max_gap_s=0.5)
    missing = [s for s in out if s.value is None]
    assert 55 <= len(missing) <= 62      # about 2 s at 30 Hz


def test_lost_face_samples_stay_missing_and_uint8_is_kept():
    crop = np.full((4, 4, 3), 100, np.uint8)
    values = [crop, crop, None, None, crop * 2]
    out = _run(np.arange(5) / 30.0, values)
    assert [s.value is None for s in out] == [False, False, True, True, False]
    assert out[-1].value.dtype == np.uint8


def test_non_increasing_time_stamps_are_ignored():
    out = _run([0.0, 1 / 30, 1 / 30, 0.5 / 30, 2 / 30], [np.array([float(i)]) for i in range(5)])
    assert [round(s.t_s * 30) for s in out] == [0, 1, 2]
