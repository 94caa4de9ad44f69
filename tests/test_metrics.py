"""Metrics against hand-computed values."""

import math

import numpy as np
import pytest

from kdphys.evaluation.metrics import bland_altman, mae, mape, pearson, rmse

EST = [70.0, 82.0, 95.0, 60.0]
REF = [72.0, 80.0, 90.0, 60.0]          # differences: -2, 2, 5, 0


def test_mae_rmse_mape_by_hand():
    assert mae(EST, REF) == pytest.approx(9.0 / 4)                      # (2+2+5+0)/4
    assert rmse(EST, REF) == pytest.approx(math.sqrt(33.0 / 4))         # (4+4+25+0)/4
    assert mape(EST, REF) == pytest.approx(100 * (2 / 72 + 2 / 80 + 5 / 90 + 0) / 4)


def test_pearson_by_hand():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # x=[1,2,3,4], y=[1,3,2,4]: dx=[-1.5,-.5,.5,1.5], dy=[-1.5,.5,-.5,1.5] -> 4/5
    assert pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))


def test_bland_altman_by_hand():
    ba = bland_altman(EST, REF)
    diffs = np.array([-2.0, 2.0, 5.0, 0.0])
    sd = math.sqrt(((diffs - 1.25) ** 2).sum() / 3)                     # sample SD, ddof=1
    assert ba.bias == pytest.approx(1.25)
    assert ba.sd == pytest.approx(sd)
    assert ba.loa_low == pytest.approx(1.25 - 1.96 * sd)
    assert ba.loa_high == pytest.approx(1.25 + 1.96 * sd)


@pytest.mark.parametrize("fn", [mae, rmse, mape, pearson, bland_altman])
def test_length_mismatch_and_empty_raise(fn):
    with pytest.raises(ValueError, match="Length mismatch"):
        fn([70.0, 71.0], [70.0])
    with pytest.raises(ValueError, match="Empty"):
        fn([], [])
    with pytest.raises(ValueError, match="1-D"):
        fn([[70.0]], [[70.0]])


def test_mape_zero_reference_raises():
    with pytest.raises(ValueError, match="non-zero"):
        mape([1.0], [0.0])
