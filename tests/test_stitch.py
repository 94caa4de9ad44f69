"""SegmentedRunner: a windowed model over a long frame stream equals one pass, in bounded memory."""

import numpy as np

from kdphys.methods.base import BVPMethod
from kdphys.methods.segments import SegmentedRunner


class MeanGreen(BVPMethod):
    """Toy crop method: mean green per crop (a local operation, so segments must agree with one pass)."""

    name = "mean-green"
    input_kind = "crops"

    def __init__(self):
        self.max_batch = 0

    def bvp(self, x, fps):
        self.max_batch = max(self.max_batch, len(x))
        return x[..., 1].astype(float).mean(axis=(1, 2))


def _crops(n, fps=30.0):
    t = np.arange(n) / fps
    g = 128 + 20 * np.sin(2 * np.pi * 1.1 * t)
    crops = np.zeros((n, 4, 4, 3), np.uint8)
    crops[..., 1] = np.rint(g)[:, None, None]
    return crops, g


def test_segments_match_a_single_pass_and_bound_the_batch():
    crops, g = _crops(1000)
    method = MeanGreen()
    runner = SegmentedRunner(lambda x: method.bvp(x, 30.0), segment_len=150, overlap_len=30)
    for c in crops:
        runner.push(c)
    out = runner.result()
    ref = (np.rint(g) - np.rint(g).mean()) / np.rint(g).std()
    assert out.shape == (1000,)
    # Each segment is z-normalised on its own (neural outputs have no fixed scale), so offsets differ slightly.
    assert np.corrcoef(out, ref)[0, 1] > 0.995
    assert method.max_batch <= 150


def test_result_can_be_read_repeatedly_while_streaming():
    crops, _ = _crops(400)
    runner = SegmentedRunner(lambda x: MeanGreen().bvp(x, 30.0), segment_len=150, overlap_len=30)
    for c in crops[:200]:
        runner.push(c)
    first = runner.result()
    assert len(first) == 200
    for c in crops[200:]:
        runner.push(c)
    assert len(runner.result()) == 400
    assert np.allclose(runner.result()[:100], first[:100])


def test_max_samples_keeps_the_same_last_samples_in_bounded_memory():
    crops, _ = _crops(1000)
    full = SegmentedRunner(lambda x: MeanGreen().bvp(x, 30.0), segment_len=128, overlap_len=32)
    live = SegmentedRunner(lambda x: MeanGreen().bvp(x, 30.0), segment_len=128, overlap_len=32, max_samples=300)
    longest = 0
    for k, c in enumerate(crops, start=1):
        full.push(c)
        live.push(c)
        longest = max(longest, len(live._output))
        if k in (50, 299, 300, 301, 777, 1000):           # before, at and after the first trim; open tails
            expected = full.result()[-300:]
            got = live.result()
            assert got.shape == (min(k, 300),)
            np.testing.assert_allclose(got, expected, atol=1e-12)
    assert longest <= 300 + 32
