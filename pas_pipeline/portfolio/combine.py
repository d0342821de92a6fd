"""Combine strategy sleeves into one account-level target weight vector.

Conventions: weights are fractions of account equity, ``>= 0``; they sum to at most 1 and
the remainder is cash. Each sleeve receives a share of capital (``capital``, summing to 1;
equal shares by default) and contributes ``capital_s * w_{s,i}`` to ticker ``i``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

CASH = "$CASH"
"""Ticker of the cash row each stored sleeve carries (so an all-cash sleeve is still stored)."""

SLEEVE_FRAME_COLUMNS = [
    "date",
    "strategy",
    "rebalance_date",
    "ticker",
    "score",
    "weight",
    "view_excess_return",
    "view_confidence",
]
VIEW_EXCESS_RETURN = 0.02
"""Annual return above its equilibrium return a sleeve expects of each name it holds."""
VIEW_CONFIDENCE = 0.5
"""Confidence in (0, 1) of a sleeve's view; 0.5 gives the He-Litterman default uncertainty
``omega = tau p' Sigma p`` (``allocation.view_matrix`` scales it by ``(1 - c) / c``)."""


def latest_sleeves(sleeves: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Rows of each strategy's most recent sleeve stored on or before ``as_of``.

    ``sleeves`` is the long frame of :data:`SLEEVE_FRAME_COLUMNS` (many dates, many
    strategies). A strategy whose sleeve is all cash still has its ``$CASH`` row, so it keeps
    its share of capital (in cash).
    """
    known = sleeves[sleeves["date"] <= as_of]
    if known.empty:
        return known
    newest = known.groupby("strategy")["date"].transform("max")
    return known[known["date"] == newest].reset_index(drop=True)


def equal_capital(strategies: list[str]) -> dict[str, float]:
    """Equal share of capital per strategy (the default until realised performance exists)."""
    if not strategies:
        return {}
    return {name: 1.0 / len(strategies) for name in sorted(strategies)}


def combine_sleeves(sleeves: pd.DataFrame, capital: Mapping[str, float]) -> pd.DataFrame:
    """Account weights from sleeve rows and per-strategy capital shares.

    Returns a frame with columns ``ticker``, ``weight`` (sorted by ticker) and ``sleeves``
    (``strategy:weight`` contributions, ``;``-separated) for attribution.
    """
    total = sum(capital.values())
    if total > 1.0 + 1e-12 or any(share < 0 for share in capital.values()):
        raise ValueError(
            f"sleeve capital must be non-negative and sum to at most 1, got {dict(capital)}"
        )
    rows = sleeves[sleeves["strategy"].isin(list(capital)) & (sleeves["ticker"] != CASH)].copy()
    if rows.empty:
        return pd.DataFrame(
            {
                "ticker": pd.Series(dtype=str),
                "weight": pd.Series(dtype=float),
                "sleeves": pd.Series(dtype=str),
            }
        )
    rows["contribution"] = rows["weight"] * rows["strategy"].map(capital)
    rows["label"] = rows["strategy"] + ":" + rows["contribution"].map("{:.6f}".format)
    grouped = rows.groupby("ticker").agg(
        weight=("contribution", "sum"), sleeves=("label", ";".join)
    )
    return grouped.reset_index().sort_values("ticker").reset_index(drop=True)


def equal_risk_capital(sleeves: pd.DataFrame, cov: pd.DataFrame) -> dict[str, float]:
    """Capital shares giving each strategy the same ex-ante risk (before realised performance
    exists): ``c_s ∝ 1 / sigma_s`` with ``sigma_s = sqrt(w_s' Sigma w_s)`` the annualised
    volatility of one unit of sleeve ``s`` (its cash included). A sleeve with no risk (all
    cash, or no name in ``cov``) gets the mean share of the others; all such -> equal."""
    strategies = sorted(sleeves["strategy"].unique())
    inverse: dict[str, float] = {}
    for name in strategies:
        rows = sleeves[(sleeves["strategy"] == name) & sleeves["ticker"].isin(cov.index)]
        w = rows.set_index("ticker")["weight"]
        sigma = float(np.sqrt(w.to_numpy() @ cov.loc[w.index, w.index].to_numpy() @ w.to_numpy()))
        if sigma > 0:
            inverse[name] = 1.0 / sigma
    if not inverse:
        return equal_capital(strategies)
    fill = float(np.mean(list(inverse.values())))
    raw = {name: inverse.get(name, fill) for name in strategies}
    total = sum(raw.values())
    return {name: value / total for name, value in raw.items()}
