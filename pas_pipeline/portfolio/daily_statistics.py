"""Daily statistics of the live book: what it earned and how much risk it carries now.

Two halves, both from data known at the end of the day:

* **realised** (from the account's end-of-day values, :mod:`pas_pipeline.execution.
  performance`): the day's return, the cumulative return, the drawdown below the running
  peak, annualised volatility, Sharpe and Sortino of the daily returns so far;
* **ex ante** (the positions held at the end of the day, as weights of equity, applied to
  the last ``window`` sessions of the holdings' daily returns): the book's annualised
  volatility and its one-day historical VaR and CVaR at 95 % (losses positive, fractions of
  equity).

Undefined figures (too little history, nothing held) are NaN, never an exception.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pas_pipeline.risk import historical_cvar, historical_var

PERIODS_PER_YEAR = 252
VAR_WINDOW = 252
"""Sessions of holdings' returns the ex-ante VaR/CVaR and volatility use."""
STATISTICS_COLUMNS = [
    "daily_return",
    "cumulative_return",
    "drawdown",
    "realised_volatility",
    "sharpe",
    "sortino",
    "gross_exposure",
    "positions",
    "ex_ante_volatility",
    "var_95",
    "cvar_95",
]


def book_weights(positions: pd.DataFrame, equity: float) -> pd.Series:
    """Weights of equity (market value / equity) by symbol of one day's positions
    (``symbol``, ``market_value``); empty when nothing is held or equity is not positive."""
    if positions.empty or not equity > 0:
        return pd.Series(dtype=float)
    values = positions.groupby("symbol")["market_value"].sum()
    return (values / equity).astype(float)


def ex_ante_risk(
    weights: pd.Series, returns: pd.DataFrame, window: int = VAR_WINDOW
) -> tuple[float, float, float]:
    """(annualised volatility, one-day VaR 95, CVaR 95) of ``weights`` over the last
    ``window`` rows of ``returns`` (dates x symbols, daily); sessions where a held symbol
    has no return are dropped. NaN triple when fewer than 20 complete sessions remain."""
    if weights.empty:
        return 0.0, 0.0, 0.0
    panel = returns.reindex(columns=weights.index).tail(window).dropna()
    if len(panel) < 20:
        return math.nan, math.nan, math.nan
    book = panel.to_numpy() @ weights.to_numpy()
    volatility = float(np.std(book, ddof=1) * math.sqrt(PERIODS_PER_YEAR))
    return volatility, float(historical_var(book, 0.95)), float(historical_cvar(book, 0.95))


def daily_statistics(
    path: pd.DataFrame,
    summary: dict[str, object],
    positions: pd.DataFrame,
    returns: pd.DataFrame,
) -> dict[str, float]:
    """The statistics of :data:`STATISTICS_COLUMNS` for the last day of ``path``.

    ``path``: the account's daily ``value``, ``return``, ``cumulative_return`` and
    ``drawdown`` (``RealisedPerformance.sleeve("total")``); ``summary``: its ``sharpe`` and
    ``sortino`` (None when undefined); ``positions``: the last day's ``symbol`` and
    ``market_value``; ``returns``: daily returns, dates x symbols.
    """
    last = path.iloc[-1]
    daily = path["return"].dropna()
    equity = float(last["value"])
    weights = book_weights(positions, equity)
    volatility, var_95, cvar_95 = ex_ante_risk(weights, returns)

    def number(value: object) -> float:
        return math.nan if value is None else float(value)  # type: ignore[arg-type]

    return {
        "daily_return": number(last["return"]),
        "cumulative_return": float(last["cumulative_return"]),
        "drawdown": float(last["drawdown"]),
        "realised_volatility": float(daily.std(ddof=1) * math.sqrt(PERIODS_PER_YEAR))
        if len(daily) > 1
        else math.nan,
        "sharpe": number(summary.get("sharpe")),
        "sortino": number(summary.get("sortino")),
        "gross_exposure": float(weights.abs().sum()),
        "positions": float(len(weights)),
        "ex_ante_volatility": volatility,
        "var_95": var_95,
        "cvar_95": cvar_95,
    }
