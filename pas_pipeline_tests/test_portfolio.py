"""Combining sleeves into account weights, and the checks target weights must pass."""

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.portfolio.combine import (
    CASH,
    combine_sleeves,
    equal_capital,
    equal_risk_capital,
    latest_sleeves,
)
from pas_pipeline.portfolio.target_checks import TARGET_CHECKS


def sleeves() -> pd.DataFrame:
    d = pd.Timestamp
    return pd.DataFrame(
        {
            "date": [
                d("2024-07-01"),
                d("2024-07-01"),
                d("2024-07-05"),
                d("2024-07-05"),
                d("2024-07-03"),
                d("2024-07-03"),
            ],
            "strategy": ["a", "a", "a", "a", "b", "b"],
            "rebalance_date": [d("2024-07-01")] * 2 + [d("2024-07-05")] * 2 + [d("2024-07-03")] * 2,
            "ticker": ["XLK", CASH, "XLE", "XLK", "XLK", CASH],
            "score": [1.0, np.nan, 2.0, 1.0, 0.5, np.nan],
            "weight": [0.5, 0.5, 0.6, 0.4, 0.8, 0.2],
        }
    )


def test_latest_sleeve_per_strategy_on_or_before_the_date():
    held = latest_sleeves(sleeves(), pd.Timestamp("2024-07-04"))
    assert sorted(zip(held["strategy"], held["ticker"], strict=True)) == [
        ("a", CASH),
        ("a", "XLK"),
        ("b", CASH),
        ("b", "XLK"),
    ]


def test_equal_capital_splits_between_strategies():
    assert equal_capital(["b", "a"]) == {"a": 0.5, "b": 0.5}


def test_combined_weight_is_the_capital_weighted_sum_and_cash_is_implicit():
    held = latest_sleeves(sleeves(), pd.Timestamp("2024-07-05"))
    combined = combine_sleeves(held, {"a": 0.5, "b": 0.5}).set_index("ticker")
    # XLK: 0.5*0.4 + 0.5*0.8 = 0.6; XLE: 0.5*0.6 = 0.3; cash 0.1
    assert combined["weight"].to_dict() == pytest.approx({"XLE": 0.3, "XLK": 0.6}, abs=1e-15)
    assert combined.loc["XLK", "sleeves"] == "a:0.200000;b:0.400000"


def test_capital_over_one_is_refused():
    with pytest.raises(ValueError, match="sum to at most 1"):
        combine_sleeves(sleeves(), {"a": 0.7, "b": 0.7})


def target(weights: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"ticker": list(weights), "weight": list(weights.values())})


@pytest.mark.parametrize(
    ("name", "weights", "message"),
    [
        ("weights_finite", {"XLK": np.nan}, "not finite at row 0 (ticker XLK)"),
        (
            "weights_within_bounds",
            {"XLK": 0.2, "XLE": -0.1},
            "outside [0, 0.4] at row 1 (ticker XLE)",
        ),
        ("weights_sum_at_most_one", {"XLK": 0.4, "XLE": 0.4, "XLF": 0.3}, "sums to 1.100000000"),
    ],
)
def test_each_target_check_names_the_field_and_row(name, weights, message):
    with pytest.raises(ValueError, match=r"field 'weight'") as error:
        TARGET_CHECKS[name].validate(target(weights))
    assert message in str(error.value)


def test_duplicate_ticker_is_refused():
    frame = pd.DataFrame({"ticker": ["XLK", "XLK"], "weight": [0.1, 0.1]})
    with pytest.raises(ValueError, match="repeats XLK at row 1"):
        TARGET_CHECKS["tickers_unique"].validate(frame)


def test_a_valid_target_passes_every_check():
    for check in TARGET_CHECKS.values():
        check.validate(target({"XLK": 0.4, "XLE": 0.35, "XLF": 0.25}))


def test_equal_risk_capital_is_inverse_to_each_sleeves_volatility():
    cov = pd.DataFrame([[0.04, 0.0], [0.0, 0.16]], index=["XLK", "XLE"], columns=["XLK", "XLE"])
    rows = pd.DataFrame(
        {"strategy": ["a", "b", "c"], "ticker": ["XLK", "XLE", CASH], "weight": [1.0, 1.0, 1.0]}
    )
    # sigma_a = 0.2, sigma_b = 0.4 -> 5 : 2.5; c (all cash) gets the mean 3.75 -> / 11.25
    capital = equal_risk_capital(rows, cov)
    assert capital == pytest.approx({"a": 5 / 11.25, "b": 2.5 / 11.25, "c": 3.75 / 11.25})
