"""Training losses on BVP signals and feature maps: negative Pearson, DILATE, attention transfer, output KD.

All signal losses take ``(B, T)`` tensors (batch of BVP waveforms, one value per frame, arbitrary units)
and return a scalar tensor (mean over the batch) that autograd can differentiate.

DILATE (Le Guen & Thome, NeurIPS 2019) = ``alpha * shape + (1 - alpha) * temporal``:

- shape: soft-DTW (Cuturi & Blondel 2017) between prediction and target with a squared-Euclidean
  pairwise cost, computed by a recursion over anti-diagonals that is vectorised over the batch and
  the cells of each anti-diagonal (``2T`` sequential steps for length ``T``);
- temporal (TDI): ``sum(E * Omega) / T^2`` where ``E = d softDTW / d Delta`` is the expected
  alignment path (obtained with ``torch.autograd.grad(create_graph=True)``, so the loss is
  differentiable through it) and ``Omega[i, j] = (i - j)^2`` penalises alignments far from the
  diagonal, i.e. time shifts.

Because an rPPG target's amplitude is arbitrary (pulse strength depends on skin, light and camera),
:func:`dilate` z-normalises prediction and target per sample first: DILATE then compares waveform
shape and timing, not scale or offset.

Five-line use::

    from kdphys.training.losses import dilate, neg_pearson
    d = dilate(pred_bvp, ref_bvp)                 # DilateLoss(total, shape, temporal)
    loss = d.total + neg_pearson(pred_bvp, ref_bvp)
    loss.backward()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F

from kdphys.models.attention import LAYER_PAIRS, align_maps, attention_map

_EPS = 1e-8
# Stand-in for +inf in the soft-DTW table: finite so that gradients through masked cells stay 0, not NaN.
_BIG = 1e10
_SOFTMIN_RANGE = 50.0


@dataclass
class DilateLoss:
    """DILATE terms, each a scalar tensor (mean over the batch).

    total = alpha * shape + (1 - alpha) * temporal. ``shape`` is a soft-DTW value: a sum of squared
    differences along the soft alignment of two z-scored signals, so it grows with T (~70 for two
    unrelated signals at T = 128) and can be slightly negative (soft-min over many near-equal paths).
    ``temporal`` >= 0 is about shift^2 / T for a copy delayed by ``shift`` samples (0.78 at T = 128,
    shift 10); for identical signals it is ~0, small but not exactly 0 when gamma is comparable to the
    cost between neighbouring samples (flat parts of a waveform): 0.0015 for a 72 bpm pulse at T = 128.
    """

    total: torch.Tensor
    shape: torch.Tensor
    temporal: torch.Tensor


def _check_signals(pred: torch.Tensor, target: torch.Tensor, name: str) -> None:
    if pred.ndim != 2 or target.ndim != 2:
        raise ValueError(
            f"{name} expects (B, T) tensors, got pred {tuple(pred.shape)} and target {tuple(target.shape)}; "
            "add a batch dimension with x[None] for a single signal."
        )
    if pred.shape != target.shape:
        raise ValueError(f"{name}: pred {tuple(pred.shape)} and target {tuple(target.shape)} must have one shape.")
    if pred.shape[1] < 2:
        raise ValueError(f"{name} needs at least 2 samples per signal, got T={pred.shape[1]}.")


def zscore(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-sample z-score of ``x`` (B, T) along time (population std); a constant signal maps to 0."""
    mean = x.mean(dim=1, keepdim=True)
    std = x.std(dim=1, keepdim=True, unbiased=False)
    return (x - mean) / (std + eps)


def neg_pearson(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``1 - r`` (Pearson correlation along time). 0 = identical shape, 2 = negated.

    pred, target: (B, T). Invariant to each signal's offset and positive scale.
    """
    _check_signals(pred, target, "neg_pearson")
    p = pred - pred.mean(dim=1, keepdim=True)
    t = target - target.mean(dim=1, keepdim=True)
    r = (p * t).sum(dim=1) / torch.sqrt((p * p).sum(dim=1) * (t * t).sum(dim=1) + _EPS)
    return (1.0 - r).mean()


def align_to_best_lag(pred: torch.Tensor, target: torch.Tensor, max_lag: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference shifted, per clip, to the lag |l| <= max_lag at which it correlates best with the
    prediction (chosen without gradient), and both cut to the frames they then share.

    The contact reference and the face's pulse are not in phase: the pulse reaches face and finger at
    different times and recordings' clocks differ (on the UBFC-rPPG dev subjects POS correlated best with
    the oximeter at lags from -17 to +16 frames), so a zero-lag loss asks a model for a phase the face does
    not show. The losses then compare shapes at the lag the face has.

    pred, target: (B, T), T > 2 * max_lag. Returns (pred (B, T - 2 max_lag), target (B, T - 2 max_lag)).
    """
    _check_signals(pred, target, "align_to_best_lag")
    n = pred.shape[1]
    if max_lag <= 0:
        return pred, target
    if n <= 2 * max_lag:
        raise ValueError(f"align_to_best_lag needs T > 2 * max_lag; got T={n}, max_lag={max_lag}.")
    core = slice(max_lag, n - max_lag)
    with torch.no_grad():
        p = pred[:, core] - pred[:, core].mean(dim=1, keepdim=True)
        scores = []
        for lag in range(-max_lag, max_lag + 1):
            t = target[:, max_lag - lag:n - max_lag - lag]
            t = t - t.mean(dim=1, keepdim=True)
            scores.append((p * t).sum(dim=1) / torch.sqrt((p * p).sum(dim=1) * (t * t).sum(dim=1) + _EPS))
        best = torch.stack(scores, dim=1).argmax(dim=1) - max_lag                      # (B,)
    idx = torch.arange(max_lag, n - max_lag, device=target.device)[None, :] - best[:, None]
    return pred[:, core], torch.gather(target, 1, idx)


def pairwise_sq_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared-Euclidean cost matrix Delta[b, i, j] = (x[b, i] - y[b, j])^2 of (B, N) and (B, M) -> (B, N, M)."""
    return (x[:, :, None] - y[:, None, :]) ** 2


def _diagonal_index(n: int, m: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat index into a (n, m) cost matrix for every anti-diagonal cell, and which cells are real.

    Anti-diagonal d (d = i + j over the 1-based table, 2 <= d <= n + m) is stored as a vector over
    i = 0..n; cell i on diagonal d is the cost Delta[i - 1, d - i - 1]. Returns (flat_index (n+m+1, n+1),
    valid (n+m+1, n+1)); invalid cells (i = 0, j out of range) point at index 0 and are masked.
    """
    d = torch.arange(n + m + 1, device=device)[:, None]
    i = torch.arange(n + 1, device=device)[None, :]
    j = d - i
    valid = (i >= 1) & (j >= 1) & (j <= m)
    flat = torch.where(valid, (i - 1) * m + (j - 1), torch.zeros_like(j))
    return flat, valid


def soft_dtw_from_cost(cost: torch.Tensor, gamma: float) -> torch.Tensor:
    """Soft-DTW value for each cost matrix ``cost`` (B, N, M) -> (B,), smoothing ``gamma`` > 0.

    R[i, j] = cost[i-1, j-1] + softmin_gamma(R[i-1, j-1], R[i-1, j], R[i, j-1]), R[0, 0] = 0,
    softmin_gamma(a) = -gamma * log(sum(exp(-a / gamma))). Written with plain torch ops (no in-place
    writes, no custom backward), so autograd gives d value / d cost = the expected alignment and can
    differentiate that again (needed by the DILATE temporal term).
    """
    if gamma <= 0:
        raise ValueError(f"soft-DTW needs gamma > 0, got {gamma}; use a small value such as 0.01.")
    if cost.ndim != 3:
        raise ValueError(f"soft_dtw_from_cost expects a (B, N, M) cost, got {tuple(cost.shape)}.")
    b, n, m = cost.shape
    flat, valid = _diagonal_index(n, m, cost.device)
    # skewed[b, d, i] = cost of cell i on anti-diagonal d (one gather for the whole table)
    skewed = cost.reshape(b, n * m)[:, flat.reshape(-1)].reshape(b, n + m + 1, n + 1)
    big_col = cost.new_full((b, 1), _BIG)
    # diagonal 0 holds R[0, 0] = 0; diagonal 1 holds only boundary cells (+inf)
    prev2 = torch.cat([cost.new_zeros((b, 1)), cost.new_full((b, n), _BIG)], dim=1)
    prev1 = cost.new_full((b, n + 1), _BIG)
    costs_by_diagonal = skewed.unbind(dim=1)    # one backward node for all diagonals, not one per step
    valid_by_diagonal = valid.unbind(dim=0)
    for d in range(2, n + m + 1):
        diag_up = torch.cat([big_col, prev2[:, :-1]], dim=1)      # R[i-1, j-1]
        up = torch.cat([big_col, prev1[:, :-1]], dim=1)           # R[i-1, j]
        left = prev1                                               # R[i, j-1]
        softmin = _softmin(torch.stack([diag_up, up, left], dim=0), gamma)
        current = torch.where(valid_by_diagonal[d], costs_by_diagonal[d] + softmin, big_col)
        prev2, prev1 = prev1, current
    return prev1[:, n]


def _softmin(values: torch.Tensor, gamma: float) -> torch.Tensor:
    """-gamma * log(sum(exp(-values / gamma), dim=0)) for (3, ...) tensors.

    Exponents more than ``_SOFTMIN_RANGE`` below the largest are raised to that floor (a change of at
    most exp(-50) in relative weight): otherwise exp() produces float32 denormals, which make the CPU
    20-50x slower, in forward and backward.
    """
    z = values / -gamma
    floor = (z.amax(dim=0) - _SOFTMIN_RANGE).detach()
    return -gamma * torch.logsumexp(torch.maximum(z, floor), dim=0)


def soft_dtw(x: torch.Tensor, y: torch.Tensor, gamma: float = 0.01) -> torch.Tensor:
    """Soft-DTW between sequences x (B, N) and y (B, M) with squared-Euclidean cost -> (B,).

    As gamma -> 0 it tends to the classical DTW (minimum-cost alignment); it is always <= DTW and
    >= DTW - gamma * log(number of alignment paths).
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"soft_dtw expects (B, N) and (B, M) tensors, got {tuple(x.shape)} and {tuple(y.shape)}.")
    return soft_dtw_from_cost(pairwise_sq_cost(x, y), gamma)


def _expected_alignment(cost: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-DTW values (B,) and expected alignment E = d softDTW / d cost (B, N, M), E in [0, 1].

    E stays in the autograd graph when gradients are enabled and ``cost`` requires grad; otherwise it
    is computed on a detached copy (evaluation under ``torch.no_grad``).
    """
    differentiable = torch.is_grad_enabled() and cost.requires_grad
    with torch.enable_grad():
        leaf = cost if differentiable else cost.detach().requires_grad_(True)
        value = soft_dtw_from_cost(leaf, gamma)
        (path,) = torch.autograd.grad(value.sum(), leaf, create_graph=differentiable)
    if not differentiable:
        value, path = value.detach(), path.detach()
    return value, path


def dilate(
    pred: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.5,
    gamma: float = 0.01,
    downsample: int = 1,
) -> DilateLoss:
    """DILATE loss between BVP prediction and target, both (B, T), after per-sample z-normalisation.

    alpha: weight of the shape term (1 - alpha goes to the temporal term). gamma: soft-DTW smoothing.
    downsample: average-pool both signals by this factor in time first (T -> T // downsample); the cost
    is O(T^2) memory and O(T) sequential steps of small ops. Measured forward + backward, B = 8, T = 128,
    one CPU thread: ~250 ms (downsample=1), ~90 ms (downsample=2). Small ops make it thread-sensitive:
    with 2 threads on a busy 2-core machine it was 10x slower than with one.
    """
    _check_signals(pred, target, "dilate")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"dilate: alpha must be in [0, 1], got {alpha}.")
    if downsample < 1 or pred.shape[1] // downsample < 2:
        raise ValueError(f"dilate: downsample must be >= 1 and leave >= 2 samples, got {downsample}.")
    p, t = zscore(pred), zscore(target)
    if downsample > 1:
        p = F.avg_pool1d(p[:, None], downsample)[:, 0]
        t = F.avg_pool1d(t[:, None], downsample)[:, 0]
    n = p.shape[1]
    cost = pairwise_sq_cost(p, t)
    value, path = _expected_alignment(cost, gamma)
    idx = torch.arange(n, device=p.device, dtype=p.dtype)
    omega = (idx[:, None] - idx[None, :]) ** 2
    shape = value.mean()
    temporal = (path * omega).sum(dim=(1, 2)).mean() / (n * n)
    return DilateLoss(total=alpha * shape + (1.0 - alpha) * temporal, shape=shape, temporal=temporal)


def attention_transfer(
    teacher_features: Mapping[str, torch.Tensor],
    student_features: Mapping[str, torch.Tensor],
    pairs: Sequence[tuple[str, str]] = LAYER_PAIRS,
) -> torch.Tensor:
    """Attention-transfer loss: mean over pairs of the per-frame squared L2 distance of normalised maps.

    teacher_features[name]: (B, C, T', H, W) from the 3D teacher; student_features[name]: (B, T, C, h, w)
    from the 2D student. Each pair's maps are aligned (teacher resampled T' -> T, both pooled to the
    smaller spatial size, re-normalised to unit L2 per frame), then ||a_s - a_t||^2 = 2 - 2 cos is
    averaged over batch and frames (range 0..2 for non-negative maps). The teacher maps are detached:
    the teacher is a fixed target.
    """
    if not pairs:
        raise ValueError("attention_transfer needs at least one (teacher, student) layer pair.")
    losses = []
    for teacher_name, student_name in pairs:
        if teacher_name not in teacher_features or student_name not in student_features:
            raise KeyError(
                f"attention_transfer: pair ({teacher_name!r}, {student_name!r}) not found; teacher has "
                f"{sorted(teacher_features)}, student has {sorted(student_features)}."
            )
        a_t = attention_map(teacher_features[teacher_name].detach(), layout="BCTHW")
        a_s = attention_map(student_features[student_name], layout="BTCHW")
        a_t, a_s = align_maps(a_t, a_s)
        losses.append(((a_s - a_t) ** 2).sum(dim=(2, 3)).mean())
    return torch.stack(losses).mean()


def output_kd(student_bvp: torch.Tensor, teacher_bvp: torch.Tensor) -> torch.Tensor:
    """Output distillation: negative Pearson between the student's BVP and the (detached) teacher's, (B, T).

    For z-scored signals MSE = 2 (1 - r), so this is MSE on z-scored signals up to a factor 2; negative
    Pearson is used for the same units as the supervised term and invariance to the teacher's
    uncalibrated amplitude.
    """
    return neg_pearson(student_bvp, teacher_bvp.detach())

