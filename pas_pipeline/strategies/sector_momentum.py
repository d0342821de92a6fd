"""Sector Risk-Parity Momentum (weekly, Friday).

Rule, on each rebalance date ``D`` using adjusted closes up to and including ``D``:

1. Candidates are the eleven SPDR sector ETFs.
2. Score = total return over the last ``momentum_sessions`` (default 126) sessions,
   ``P_D / P_{D-126} - 1``. ETFs without a full history are skipped.
3. Keep the ``top_n`` (4) highest scores that are positive (absolute-momentum filter).
4. Weight the kept ETFs by equal risk contribution on the Ledoit-Wolf covariance of their
   last ``risk_sessions`` (default 63) daily returns.
5. Each of the ``top_n`` slots owns ``1/top_n`` of the sleeve: with ``k`` ETFs kept the
   risk-parity weights are scaled by ``k/top_n`` and the rest stays in cash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from pas_pipeline.risk import daily_returns, ledoit_wolf_covariance, risk_parity_weights
from pas_pipeline.sources.universe import sector_etfs
from pas_pipeline.strategies.prices import adjusted_close_panel
from pas_pipeline.strategies.sleeve import Sleeve

if TYPE_CHECKING:
    from pas_pipeline.strategies.registry import StrategySpec

MOMENTUM_SESSIONS = 126
RISK_SESSIONS = 63


def momentum_scores(closes: pd.DataFrame, sessions: int) -> pd.Series:
    """Total return over the last ``sessions`` rows of a wide close panel, NaN-free."""
    window = closes.iloc[-(sessions + 1) :]
    complete = window.columns[window.notna().all()]
    if len(window) < sessions + 1:
        return pd.Series(dtype=float)
    first, last = window[complete].iloc[0], window[complete].iloc[-1]
    return (last / first - 1.0).sort_values(ascending=False)


def sector_risk_parity_momentum(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """The sleeve of the sector rotation on ``as_of`` (see the module docstring)."""
    etfs = sector_etfs()
    spdrs = etfs.loc[etfs["leverage"] == 1, "ticker"].tolist()
    closes = adjusted_close_panel(data["prices"], as_of, spdrs)
    momentum = int(spec.params.get("momentum_sessions", MOMENTUM_SESSIONS))
    risk = int(spec.params.get("risk_sessions", RISK_SESSIONS))
    scores = momentum_scores(closes, momentum)
    chosen = scores[scores > 0].head(spec.top_n)
    if chosen.empty:
        note = (
            "no sector ETF has a full momentum history"
            if scores.empty
            else "no sector ETF has positive momentum"
        )
        return Sleeve.empty(as_of, note)
    returns = daily_returns(closes[chosen.index].iloc[-(risk + 1) :])
    weights = risk_parity_weights(ledoit_wolf_covariance(returns))
    weights = weights * (len(chosen) / spec.top_n)
    holdings = pd.DataFrame(
        {
            "ticker": chosen.index,
            "score": chosen.to_numpy(),
            "weight": weights[chosen.index].to_numpy(),
        }
    )
    note = (
        ""
        if len(chosen) == spec.top_n
        else (
            f"only {len(chosen)} of {spec.top_n} sector ETFs have positive momentum; "
            "the rest is cash"
        )
    )
    return Sleeve(as_of, holdings, note)
