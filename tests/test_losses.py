"""Negative Pearson, soft-DTW (against brute-force recursions), DILATE, attention transfer, output KD."""

import math

import numpy as np
import pytest
import torch

from kdphys.training.losses import (
    attention_transfer,
    dilate,
    neg_pearson,
    output_kd,
    pairwise_sq_cost,
    soft_dtw,
    soft_dtw_from_cost,
)

# soft-DTW is ~2T sequential steps of tiny tensor ops: one thread is fastest, and with two threads on a
# loaded 2-core machine OpenMP waits between ops made it 10-100x slower (measured), so use one here.


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _brute_force_dtw(x: np.ndarray, y: np.ndarray, gamma: float | None = None) -> float:
    """Textbook (soft-)DTW with a python double loop; gamma=None gives the hard minimum."""
    n, m = len(x), len(y)
    r = np.full((n + 1, m + 1), np.inf)
    r[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            prev = np.array([r[i - 1, j - 1], r[i - 1, j], r[i, j - 1]])
            if gamma is None:
                best = prev.min()
            else:
                finite = prev[np.isfinite(prev)]
                best = -gamma * np.log(np.sum(np.exp(-finite / gamma)))
            r[i, j] = (x[i - 1] - y[j - 1]) ** 2 + best
    return float(r[n, m])


def _pulse(n_frames: int, delay_frames: float = 0.0) -> torch.Tensor:
    """A pulse-like chirp (1.1-1.6 Hz at 30 fps) delayed by delay_frames, (1, T)."""
    t_s = (torch.arange(n_frames, dtype=torch.float64) - delay_frames) / 30.0
    return torch.sin(2 * math.pi * (1.1 * t_s + 0.06 * t_s**2))[None]


# ----- negative Pearson -----

def test_neg_pearson_identical_negated_and_scale_invariant():
    x = torch.randn(4, 64, generator=torch.Generator().manual_seed(0))
    assert neg_pearson(x, x).item() == pytest.approx(0.0, abs=1e-6)
    assert neg_pearson(-x, x).item() == pytest.approx(2.0, abs=1e-6)
    assert neg_pearson(3 * x + 5, x).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        neg_pearson(x[0], x[0])


# ----- soft-DTW -----

def test_soft_dtw_tends_to_brute_force_dtw():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 12, generator=g, dtype=torch.float64)
    y = torch.randn(3, 9, generator=g, dtype=torch.float64)
    gamma = 1e-3
    soft = soft_dtw(x, y, gamma)
    for b in range(3):
        hard = _brute_force_dtw(x[b].numpy(), y[b].numpy())
        assert soft[b].item() <= hard + 1e-9                       # softmin <= min
        assert soft[b].item() == pytest.approx(hard, rel=2e-3, abs=gamma * math.log(3) * 21)


@pytest.mark.parametrize("gamma", [0.1, 1.0])
def test_soft_dtw_equals_brute_force_soft_recursion(gamma):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 7, generator=g, dtype=torch.float64)
    y = torch.randn(2, 10, generator=g, dtype=torch.float64)
    soft = soft_dtw(x, y, gamma)
    for b in range(2):
        assert soft[b].item() == pytest.approx(_brute_force_dtw(x[b].numpy(), y[b].numpy(), gamma), rel=1e-10)


def test_soft_dtw_float32_matches_float64():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(2, 40, generator=g), torch.randn(2, 40, generator=g)
    assert torch.allclose(soft_dtw(x, y, 0.01).double(), soft_dtw(x.double(), y.double(), 0.01), rtol=1e-4)


def test_soft_dtw_gradcheck():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 5, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: soft_dtw(a, b, 0.1), (x, y))
    assert torch.autograd.gradgradcheck(lambda a, b: soft_dtw(a, b, 0.1), (x, y))


def test_expected_alignment_is_the_dtw_path_for_small_gamma():
    x = torch.tensor([[0.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64)
    cost = pairwise_sq_cost(x, y).requires_grad_(True)
    (path,) = torch.autograd.grad(soft_dtw_from_cost(cost, 1e-3).sum(), cost)
    expected = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=torch.float64)
    assert torch.allclose(path[0], expected, atol=1e-6)


def test_soft_dtw_rejects_bad_gamma():
    with pytest.raises(ValueError, match="gamma"):
        soft_dtw(torch.zeros(1, 3), torch.zeros(1, 3), 0.0)


# ----- DILATE -----

def test_dilate_gradcheck():
    g = torch.Generator().manual_seed(5)
    pred = torch.randn(2, 6, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 6, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: dilate(p, target, gamma=0.1).total, (pred,))
    assert torch.autograd.gradcheck(lambda p: dilate(p, target, gamma=0.1).temporal, (pred,))


def test_dilate_temporal_term_grows_with_time_shift():
    target = _pulse(128).float()
    temporal = {k: dilate(_pulse(128, k).float(), target).temporal.item() for k in (0, 1, 3, 10)}
    # gamma > 0 spreads the expected path where the waveform is flat, so "identical" is small, not 0
    assert temporal[0] < 0.2 * temporal[1]
    assert temporal[1] < temporal[3] < temporal[10]
    assert temporal[10] == pytest.approx(10**2 / 128, rel=0.3)   # about shift^2 / T
    # no two neighbouring samples alike (every off-diagonal step costs >> gamma): the path is the diagonal
    zigzag = torch.tensor([[(-1.0) ** i * (1 + i / 64) for i in range(64)]])
    assert dilate(zigzag, zigzag).temporal.item() == pytest.approx(0.0, abs=1e-9)


def test_dilate_terms_and_scale_invariance():
    g = torch.Generator().manual_seed(7)
    pred, target = torch.randn(3, 32, generator=g), torch.randn(3, 32, generator=g)
    d = dilate(pred, target, alpha=0.3)
    assert d.total.item() == pytest.approx(0.3 * d.shape.item() + 0.7 * d.temporal.item(), rel=1e-5)
    assert d.shape.item() > 1.0 and d.temporal.item() > 0.0
    scaled = dilate(5 * pred - 2, target, alpha=0.3)      # z-normalised first: scale and offset do not matter
    assert scaled.total.item() == pytest.approx(d.total.item(), rel=1e-4)


def test_dilate_backward_reaches_prediction_and_works_without_grad():
    g = torch.Generator().manual_seed(8)
    pred = torch.randn(2, 32, generator=g, requires_grad=True)
    target = torch.randn(2, 32, generator=g)
    d = dilate(pred, target)
    d.total.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    with torch.no_grad():
        evaluated = dilate(pred, target)
    assert evaluated.total.item() == pytest.approx(d.total.item(), rel=1e-5)
    assert not evaluated.total.requires_grad


def test_dilate_downsample_option():
    target = _pulse(128).float()
    full = dilate(_pulse(128, 6).float(), target).temporal.item()
    half = dilate(_pulse(128, 6).float(), target, downsample=2).temporal.item()
    assert half == pytest.approx(3**2 / 64, rel=0.4) and full == pytest.approx(6**2 / 128, rel=0.4)
    with pytest.raises(ValueError, match="downsample"):
        dilate(target, target, downsample=100)


# ----- attention transfer and output KD -----

def _paired_features(seed: int):
    g = torch.Generator().manual_seed(seed)
    teacher = {"b3": torch.randn(2, 8, 16, 18, 18, generator=g), "b5": torch.randn(2, 8, 8, 9, 9, generator=g)}
    student = {"s1": torch.randn(2, 16, 4, 36, 36, generator=g), "s2": torch.randn(2, 16, 4, 9, 9, generator=g)}
    return teacher, student


def test_attention_transfer_zero_for_identical_features():
    teacher, _ = _paired_features(0)
    as_student = {"s1": teacher["b3"].permute(0, 2, 1, 3, 4), "s2": teacher["b5"].permute(0, 2, 1, 3, 4)}
    # b5 has T' = 8 != 16 frames: pair only the full-rate layer for the exact identity
    loss = attention_transfer(teacher, as_student, pairs=(("b3", "s1"),))
    assert loss.item() == pytest.approx(0.0, abs=1e-10)


def test_attention_transfer_positive_and_trains_only_the_student():
    teacher, student = _paired_features(1)
    teacher = {k: v.requires_grad_(True) for k, v in teacher.items()}
    student = {k: v.requires_grad_(True) for k, v in student.items()}
    loss = attention_transfer(teacher, student, pairs=(("b3", "s1"), ("b5", "s2")))
    assert 0.0 < loss.item() <= 2.0
    loss.backward()
    assert all(v.grad is not None and v.grad.abs().sum() > 0 for v in student.values())
    assert all(v.grad is None for v in teacher.values())
    with pytest.raises(KeyError, match="b9"):
        attention_transfer(teacher, student, pairs=(("b9", "s1"),))


def test_output_kd():
    g = torch.Generator().manual_seed(9)
    teacher_bvp = torch.randn(2, 64, generator=g, requires_grad=True)
    student_bvp = torch.randn(2, 64, generator=g, requires_grad=True)
    assert output_kd(teacher_bvp * 2, teacher_bvp).item() == pytest.approx(0.0, abs=1e-6)
    loss = output_kd(student_bvp, teacher_bvp)
    loss.backward()
    assert loss.item() > 0.5 and student_bvp.grad is not None and teacher_bvp.grad is None


def test_align_to_best_lag_finds_the_shift_and_keeps_gradients():
    from kdphys.training.losses import align_to_best_lag, neg_pearson

    t = torch.arange(128, dtype=torch.float32)
    target = torch.stack([torch.sin(t / 4.0), torch.sin(t / 6.0)])
    pred = torch.stack([torch.roll(target[0], 9), torch.roll(target[1], -5)]).requires_grad_(True)
    assert neg_pearson(pred, target) > 0.2                      # out of phase at lag 0
    p, g = align_to_best_lag(pred, target, 15)
    assert p.shape == g.shape == (2, 98)
    assert float(neg_pearson(p, g)) < 1e-3                      # in phase at the lag found
    neg_pearson(p, g).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    same_p, same_g = align_to_best_lag(pred, target, 0)
    assert same_p is pred and same_g is target
    with pytest.raises(ValueError, match="T > 2"):
        align_to_best_lag(pred[:, :20], target[:, :20], 15)
