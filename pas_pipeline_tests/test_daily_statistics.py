"""Daily statistics of the live book on a hand-worked account."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.portfolio.daily_statistics import book_weights, daily_statistics, ex_ante_risk

PATH = pd.DataFrame(
    {
        "value": [100.0, 110.0, 99.0],
        "return": [np.nan, 0.10, -0.10],
        "cumulative_return": [0.0, 0.10, 1.1 * 0.9 - 1.0],
        "drawdown": [0.0, 0.0, 1.0 - 0.99 / 1.1],
    }
)
POSITIONS = pd.DataFrame({"symbol": ["AAA", "BBB"], "market_value": [49.5, 24.75]})


def returns_panel(rows: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    dates = pd.bdate_range("2024-01-01", periods=rows)
    return pd.DataFrame(rng.normal(0, 0.01, (rows, 2)), index=dates, columns=["AAA", "BBB"])


def test_weights_are_market_values_over_equity() -> None:
    weights = book_weights(POSITIONS, 99.0)
    assert weights.to_dict() == pytest.approx({"AAA": 0.5, "BBB": 0.25}, abs=1e-15)
    assert book_weights(POSITIONS, 0.0).empty


def test_ex_ante_var_is_the_books_historical_quantile() -> None:
    panel = returns_panel()
    weights = pd.Series({"AAA": 0.5, "BBB": 0.25})
    volatility, var_95, cvar_95 = ex_ante_risk(weights, panel)
    book = panel["AAA"] * 0.5 + panel["BBB"] * 0.25
    assert var_95 == pytest.approx(-np.quantile(book, 0.05), abs=1e-15)
    assert cvar_95 == pytest.approx(-book[book <= -var_95].mean(), abs=1e-15)
    assert volatility == pytest.approx(book.std(ddof=1) * math.sqrt(252), rel=1e-12)


def test_too_little_history_gives_nan_and_no_positions_gives_zero_risk() -> None:
    weights = pd.Series({"AAA": 1.0})
    assert all(math.isnan(x) for x in ex_ante_risk(weights, returns_panel(19)))
    assert ex_ante_risk(pd.Series(dtype=float), returns_panel()) == (0.0, 0.0, 0.0)


def test_the_days_statistics_from_the_account_path() -> None:
    stats = daily_statistics(PATH, {"sharpe": 0.0, "sortino": None}, POSITIONS, returns_panel())
    assert stats["daily_return"] == pytest.approx(-0.10, abs=1e-15)
    assert stats["cumulative_return"] == pytest.approx(-0.01, abs=1e-15)
    assert stats["drawdown"] == pytest.approx(0.1, abs=1e-15)
    # std of (0.1, -0.1) with ddof 1 is sqrt(0.02)
    assert stats["realised_volatility"] == pytest.approx(math.sqrt(0.02 * 252), rel=1e-12)
    assert stats["gross_exposure"] == pytest.approx(0.75, abs=1e-15)
    assert stats["positions"] == 2.0
    assert stats["sharpe"] == 0.0 and math.isnan(stats["sortino"])
    assert stats["var_95"] > 0 and stats["cvar_95"] >= stats["var_95"]
