"""Capital across sleeves learns from realised Sharpe ratios (hand-worked numbers)."""

from __future__ import annotations

import pytest

from pas_pipeline.portfolio.capital import CapitalLearning, performance_tilted_capital

PRIOR = {"a": 0.5, "b": 0.3, "c": 0.2}


def test_without_history_the_prior_is_kept() -> None:
    assert performance_tilted_capital(PRIOR, {}) == PRIOR


def test_short_histories_do_not_count() -> None:
    short = {"a": {"sharpe": 2.0, "days": 19}, "b": {"sharpe": -1.0, "days": 5}}
    assert performance_tilted_capital(PRIOR, short) == PRIOR


def test_a_full_year_tilts_toward_the_better_sharpe() -> None:
    # kappa = 1 for a and b, c has no record. Average Sharpe weighted by prior:
    # (0.5*2 + 0.3*0) / 0.8 = 1.25. Tilts: a 1 + 0.5*(2 - 1.25) = 1.375,
    # b 1 + 0.5*(0 - 1.25) = 0.375, c 1. Raw: 0.6875, 0.1125, 0.2 (sum 1.0).
    performance = {"a": {"sharpe": 2.0, "days": 252}, "b": {"sharpe": 0.0, "days": 300}}
    capital = performance_tilted_capital(PRIOR, performance)
    assert capital == pytest.approx({"a": 0.6875, "b": 0.1125, "c": 0.2}, abs=1e-15)


def test_half_a_year_counts_half() -> None:
    # kappa = 126/252 = 0.5 for both; average (0.5*0.5*2 + 0.3*0.5*0) / 0.4 = 1.25.
    # a: 1 + 0.5*0.5*0.75 = 1.1875; b: 1 - 0.5*0.5*1.25 = 0.6875; c: 1.
    # Raw 0.59375, 0.20625, 0.2 (sum 1.0).
    performance = {"a": {"sharpe": 2.0, "days": 126}, "b": {"sharpe": 0.0, "days": 126}}
    capital = performance_tilted_capital(PRIOR, performance)
    assert capital == pytest.approx({"a": 0.59375, "b": 0.20625, "c": 0.2}, abs=1e-15)


def test_a_losing_sleeve_keeps_the_floor_and_shares_sum_as_the_prior() -> None:
    # a: Sharpe clipped to 3; b: clipped to -3. Average (0.5*3 - 0.3*3)/0.8 = 0.75.
    # a: 1 + 0.5*2.25 = 2.125; b: max(0.25, 1 - 0.5*3.75) = 0.25; c: 1.
    # Raw 1.0625, 0.075, 0.2, sum 1.3375 -> scaled to sum 1.
    performance = {"a": {"sharpe": 9.0, "days": 400}, "b": {"sharpe": -8.0, "days": 400}}
    capital = performance_tilted_capital(PRIOR, performance)
    total = 1.3375
    assert capital == pytest.approx(
        {"a": 1.0625 / total, "b": 0.075 / total, "c": 0.2 / total}, abs=1e-15
    )
    assert sum(capital.values()) == pytest.approx(1.0, abs=1e-15)


def test_an_undefined_sharpe_keeps_the_prior_share_of_its_sleeve() -> None:
    performance = {"a": {"sharpe": None, "days": 300}, "b": {"sharpe": 1.0, "days": 300}}
    # only b has evidence: the average is b's own Sharpe, so nothing tilts.
    assert performance_tilted_capital(PRIOR, performance) == pytest.approx(PRIOR, abs=1e-15)


def test_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="floor"):
        CapitalLearning(floor=0.0)
    with pytest.raises(ValueError, match="prior"):
        performance_tilted_capital({"a": -0.1}, {})
