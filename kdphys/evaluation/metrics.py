"""Agreement between estimated and reference heart rates (bpm): MAE, RMSE, MAPE, Pearson r,
Bland-Altman. Every function takes two 1-D arrays of the same, non-zero length.

    from kdphys.evaluation.metrics import mae, bland_altman
    mae([70, 80], [72, 79])                 # 1.5
    bland_altman([70, 80], [72, 79]).bias   # -0.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"Expected two 1-D arrays, got shapes {x.shape} and {y.shape}.")
    if x.size != y.size:
        raise ValueError(
            f"Length mismatch: {x.size} estimates vs {y.size} references. Pair each estimate with "
            "exactly one reference value."
        )
    if x.size == 0:
        raise ValueError("Empty input: there are no (estimate, reference) pairs to compare.")
    return x, y


def mae(est, ref) -> float:
    """Mean absolute error, same unit as the inputs (bpm). est, ref: (N,)."""
    x, y = _pair(est, ref)
    return float(np.mean(np.abs(x - y)))


def rmse(est, ref) -> float:
    """Root-mean-square error, same unit as the inputs (bpm). est, ref: (N,)."""
    x, y = _pair(est, ref)
    return float(np.sqrt(np.mean((x - y) ** 2)))


def mape(est, ref) -> float:
    """Mean absolute percentage error, % of the reference. est, ref: (N,); ref must be non-zero."""
    x, y = _pair(est, ref)
    if np.any(y == 0):
        raise ValueError("MAPE needs non-zero reference values (a heart rate of 0 bpm was given).")
    return float(100.0 * np.mean(np.abs(x - y) / np.abs(y)))


def pearson(est, ref) -> float:
    """Pearson correlation coefficient r, -1..1. est, ref: (N,), N >= 2.

    Returns nan when either input is constant (r is undefined).
    """
    x, y = _pair(est, ref)
    if x.size < 2:
        raise ValueError("Pearson r needs at least 2 pairs.")
    dx, dy = x - x.mean(), y - y.mean()
    denom = np.sqrt(np.dot(dx, dx) * np.dot(dy, dy))
    return float(np.dot(dx, dy) / denom) if denom > 0 else float("nan")


@dataclass(frozen=True)
class BlandAltman:
    """Bland-Altman agreement, bpm: bias = mean(est - ref), sd = sample SD (ddof=1) of the
    differences (0 for one pair), limits of agreement = bias -/+ 1.96 sd."""

    bias: float
    sd: float
    loa_low: float
    loa_high: float


def bland_altman(est, ref) -> BlandAltman:
    """Bland-Altman statistics of est - ref. est, ref: (N,) bpm."""
    x, y = _pair(est, ref)
    diff = x - y
    bias = float(diff.mean())
    sd = float(diff.std(ddof=1)) if diff.size > 1 else 0.0
    return BlandAltman(bias=bias, sd=sd, loa_low=bias - 1.96 * sd, loa_high=bias + 1.96 * sd)
