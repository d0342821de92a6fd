"""Sharpe and Sortino ratios: hand-worked examples, shapes, NaN handling, errors."""

import math

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.risk import sharpe_ratio, sortino_ratio

# mean 0.01, sample std sqrt(0.001 / 4) = 0.0158114
# -> Sharpe = 0.01 / 0.0158114 * sqrt(252) = sqrt(100.8)
SHARPE_CASE = [0.01, 0.02, -0.01, 0.03, 0.00]
# mean 0.02/6; negatives -0.01, -0.04 have sample std 0.015*sqrt(2)
# -> Sortino = (1/300) / (0.015*sqrt(2)) * sqrt(252) = sqrt(126) / 4.5 = 2.494438...
SORTINO_CASE = [0.02, 0.01, -0.01, 0.03, -0.04, 0.01]


def test_sharpe_by_hand() -> None:
    assert sharpe_ratio(pd.Series(SHARPE_CASE)) == pytest.approx(math.sqrt(100.8), rel=1e-12)
    # a per-period risk-free rate of 0.001 lowers the mean to 0.009, std unchanged
    assert sharpe_ratio(np.array(SHARPE_CASE), risk_free=0.001) == pytest.approx(
        0.9 * math.sqrt(100.8), rel=1e-12
    )


def test_sortino_by_hand_and_differs_from_target_downside_deviation() -> None:
    value = sortino_ratio(pd.Series(SORTINO_CASE))
    assert value == pytest.approx(math.sqrt(126) / 4.5, rel=1e-12)
    r = np.array(SORTINO_CASE)
    target_dd = r.mean() / math.sqrt(np.mean(np.minimum(r, 0) ** 2)) * math.sqrt(252)
    assert target_dd == pytest.approx(3.1436, abs=1e-4)  # the other convention, for contrast
    assert abs(value - target_dd) > 0.5


def test_dataframe_gives_series_per_column_and_ignores_nan() -> None:
    frame = pd.DataFrame({"A": [*SHARPE_CASE, np.nan], "B": SORTINO_CASE})
    out = sharpe_ratio(frame)
    assert list(out.index) == ["A", "B"]
    assert out["A"] == pytest.approx(math.sqrt(100.8), rel=1e-12)  # NaN dropped
    sortino = sortino_ratio(frame[["B"]])
    assert sortino["B"] == pytest.approx(math.sqrt(126) / 4.5, rel=1e-12)


def test_periods_per_year_scales_by_sqrt() -> None:
    daily = sharpe_ratio(pd.Series(SHARPE_CASE), periods_per_year=1)
    assert sharpe_ratio(pd.Series(SHARPE_CASE), periods_per_year=12) == pytest.approx(
        daily * math.sqrt(12), rel=1e-14
    )


@pytest.mark.parametrize("func", [sharpe_ratio, sortino_ratio])
def test_undefined_ratios_raise_and_name_the_column(func) -> None:
    frame = pd.DataFrame({"FLAT": [0.01] * 5, "OK": SORTINO_CASE[:5]})
    with pytest.raises(ValueError, match="FLAT"):
        func(frame)
    with pytest.raises(ValueError, match="EMPTY"):
        func(pd.DataFrame({"EMPTY": [np.nan] * 5}))


def test_sortino_needs_two_losing_days() -> None:
    with pytest.raises(ValueError, match="negative excess returns"):
        sortino_ratio(pd.Series([0.01, 0.02, -0.01, 0.03]))
