"""From strategy sleeves to account weights: Black-Litterman, min-max, risk parity, VaR budget.

Every step is a pure function on pandas objects; the Dagster assets ``bl_posterior``,
``min_max_weights`` and ``target_weights`` call them in this order (formulas in
``docs/models.md``):

1. **Candidates and invested fraction.** The names the sleeves in force hold, and
   ``invested = sum_s c_s (1 - cash_s)``: the share of equity the sleeves want invested
   (their cash rows stay cash).
2. **Equilibrium.** ``pi = lambda * Sigma * w_mkt`` with market-capitalisation weights of the
   candidates (equal weights when a candidate has no market cap, e.g. an ETF).
3. **Views.** One absolute view per (strategy, name) held: the name returns
   ``pi_i + view_excess_return`` a year; ``Omega = diag(tau P Sigma P')``.
4. **Posterior.** Black-Litterman mean ``mu``.
5. **Min-max.** ``w* = argmax w'mu - gamma (1 + delta) w'Sigma w`` with ``sum w = 1`` and
   ``0 <= w <= cap / invested``, where ``gamma = lambda / 2`` (so that with no views the
   optimum is the market portfolio) and ``delta`` the correlation regime term.
6. **Risk-parity pass.** Risk budgeting with budgets ``w*``: each kept name's risk
   contribution ``w_i (Sigma w)_i`` is proportional to its min-max weight; then positions
   above the cap are capped and the excess spread pro rata (water-filling), and the vector
   is scaled to ``invested``.
7. **VaR budget.** When the historical daily VaR (95 %) of the weights over the return
   window exceeds ``var_limit``, all weights are scaled by ``var_limit / VaR`` (VaR is
   positively homogeneous, so the scaled book's VaR equals the limit); the rest is cash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pas_pipeline.portfolio.combine import CASH
from pas_pipeline.risk import (
    black_litterman,
    historical_cvar,
    historical_var,
    market_implied_returns,
    min_max_weights,
    risk_parity_weights,
)


@dataclass(frozen=True)
class AllocationSettings:
    """Parameters of the allocation (annualised unless stated; weights are fractions)."""

    risk_aversion: float = 2.5
    """``lambda`` of the equilibrium ``pi = lambda Sigma w_mkt``."""
    tau: float = 0.05
    view_excess_return: float = 0.02
    """Annual excess return over equilibrium each sleeve's view assigns to a held name."""
    max_position_weight: float = 0.40
    var_alpha: float = 0.95
    var_limit: float = 0.02
    """Largest acceptable one-day historical VaR of the book (fraction of equity)."""
    min_budget: float = 1e-6
    """Min-max weights below this are dropped before the risk-parity pass."""

    @property
    def gamma(self) -> float:
        """Risk aversion of the min-max objective consistent with the equilibrium."""
        return self.risk_aversion / 2.0


def invested_fraction(held: pd.DataFrame, capital: dict[str, float]) -> float:
    """``sum_s c_s (1 - cash_s)`` from sleeve rows (with their ``$CASH`` rows)."""
    cash = held[held["ticker"] == CASH].set_index("strategy")["weight"]
    return float(sum(share * (1.0 - float(cash.get(s, 0.0))) for s, share in capital.items()))


def market_weights(candidates: list[str], market_caps: pd.Series) -> pd.Series:
    """Cap weights of ``candidates``; equal weights if any candidate lacks a cap."""
    caps = market_caps.reindex(candidates)
    if caps.isna().any() or (caps <= 0).any():
        return pd.Series(1.0 / len(candidates), index=candidates)
    return caps / caps.sum()


def view_matrix(
    held: pd.DataFrame,
    candidates: list[str],
    pi: pd.Series,
    excess: float,
    sigma: pd.DataFrame | None = None,
    tau: float = 0.05,
) -> tuple[pd.DataFrame, pd.Series, pd.Series | None]:
    """Pick matrix ``P`` (one absolute view per strategy and held name), view returns ``Q``
    and the views' variances ``omega``.

    ``Q = pi + e`` with ``e`` the sleeve row's ``view_excess_return`` (``excess`` for rows
    without one). With ``sigma``, each view's variance is ``tau p' Sigma p (1 - c) / c`` for
    the row's ``view_confidence`` ``c`` (0.5 when absent): ``c = 0.5`` is the He-Litterman
    default, higher confidence shrinks the variance. Without ``sigma``, ``omega`` is None.
    """
    rows = held[held["ticker"].isin(candidates)]
    labels = [f"{s}:{t}" for s, t in zip(rows["strategy"], rows["ticker"], strict=True)]
    pick = pd.DataFrame(0.0, index=labels, columns=candidates)
    for label, ticker in zip(labels, rows["ticker"], strict=True):
        pick.loc[label, ticker] = 1.0
    own = rows.get("view_excess_return", pd.Series(np.nan, index=rows.index)).to_numpy(float)
    excess_by_row = np.where(np.isnan(own), excess, own)
    views = pd.Series(pi.reindex(rows["ticker"]).to_numpy() + excess_by_row, index=labels)
    if sigma is None:
        return pick, views, None
    confidence = rows.get("view_confidence", pd.Series(np.nan, index=rows.index))
    c = np.where(np.isnan(confidence.to_numpy(float)), 0.5, confidence.to_numpy(float))
    variance = np.diag(sigma.loc[list(rows["ticker"]), list(rows["ticker"])].to_numpy())
    omega = pd.Series(tau * variance * (1.0 - c) / c, index=labels)
    return pick, views, omega


def bl_posterior(
    held: pd.DataFrame, cov: pd.DataFrame, market_caps: pd.Series, settings: AllocationSettings
) -> pd.DataFrame:
    """Per candidate: market weight, equilibrium ``pi`` and posterior ``mu`` (annualised)."""
    candidates = sorted(set(held["ticker"]) - {CASH} & set(cov.index))
    if not candidates:
        return pd.DataFrame(columns=["ticker", "market_weight", "pi", "mu"])
    sigma = cov.loc[candidates, candidates]
    w_mkt = market_weights(candidates, market_caps)
    pi = market_implied_returns(sigma, w_mkt, settings.risk_aversion)
    pick, views, omega = view_matrix(
        held, candidates, pi, settings.view_excess_return, sigma, settings.tau
    )
    mu = black_litterman(sigma, pi, pick, views, omega=omega.to_numpy(), tau=settings.tau).mean
    return pd.DataFrame(
        {
            "ticker": candidates,
            "market_weight": w_mkt.to_numpy(),
            "pi": pi.to_numpy(),
            "mu": pd.Series(mu).reindex(candidates).to_numpy(),
        }
    )


def min_max_stage(
    posterior: pd.DataFrame,
    cov: pd.DataFrame,
    delta: float,
    invested: float,
    settings: AllocationSettings,
) -> pd.Series:
    """Min-max weights (sum 1) of the candidates, each at most ``cap / invested``."""
    names = list(posterior["ticker"])
    if not names or invested <= 0:
        return pd.Series(dtype=float)
    upper = max(min(1.0, settings.max_position_weight / invested), 1.0 / len(names))
    mu = pd.Series(posterior["mu"].to_numpy(), index=names)
    return min_max_weights(mu, cov.loc[names, names], settings.gamma, delta=delta, upper=upper)


def cap_weights(weights: pd.Series, cap: float) -> pd.Series:
    """Cap each weight at ``cap``, spreading the excess pro rata over the uncapped names
    (water-filling); the sum is kept when ``cap * n >= sum``."""
    w = weights.copy()
    for _ in range(len(w)):
        over = w > cap + 1e-15
        if not over.any():
            break
        excess = float((w[over] - cap).sum())
        w[over] = cap
        free = w[w < cap - 1e-15]
        if free.empty:
            break
        w[free.index] += excess * free / free.sum()
    return w


def risk_parity_pass(
    stage: pd.Series, cov: pd.DataFrame, invested: float, settings: AllocationSettings
) -> pd.Series:
    """Risk budgeting with budgets = min-max weights, capped, scaled to ``invested``."""
    budgets = stage[stage > settings.min_budget]
    if budgets.empty:
        return pd.Series(dtype=float)
    names = list(budgets.index)
    rp = risk_parity_weights(cov.loc[names, names], budgets=budgets / budgets.sum())
    return cap_weights(rp * invested, settings.max_position_weight)


@dataclass(frozen=True)
class VarBudget:
    weights: pd.Series
    var_before: float
    var_after: float
    cvar_after: float
    scale: float


def var_budget(
    weights: pd.Series, returns: pd.DataFrame, settings: AllocationSettings
) -> VarBudget:
    """Scale ``weights`` down so the daily historical VaR of ``returns @ weights`` (losses
    positive) is at most ``settings.var_limit``."""
    if weights.empty:
        return VarBudget(weights, 0.0, 0.0, 0.0, 1.0)
    window = returns[list(weights.index)].dropna()
    var = float(historical_var(window, settings.var_alpha, weights=weights))
    scale = min(1.0, settings.var_limit / var) if var > 0 else 1.0
    scaled = weights * scale
    return VarBudget(
        scaled,
        var,
        var * scale,
        float(historical_cvar(window, settings.var_alpha, weights=scaled)),
        scale,
    )


def attribute(weights: pd.Series, combined: pd.DataFrame) -> pd.Series:
    """``strategy:weight`` contributions per ticker, scaled so they add up to the final weight
    (combined holds each ticker's capital-weighted sleeve contributions)."""
    labels = {}
    for row in combined.itertuples():
        if row.ticker not in weights.index:
            continue
        parts = [p.split(":") for p in row.sleeves.split(";") if p]
        total = sum(float(v) for _, v in parts) or 1.0
        labels[row.ticker] = ";".join(
            f"{name}:{float(v) / total * weights[row.ticker]:.6f}" for name, v in parts
        )
    return pd.Series(labels).reindex(weights.index)


UNKNOWN_SECTOR = "Unknown"


def sector_weights(weights: pd.Series, sectors: Mapping[str, str]) -> pd.Series:
    """Weight (fraction of equity) per GICS sector: ``weights`` summed by ``sectors[ticker]``
    (:data:`UNKNOWN_SECTOR` for a ticker without one), largest first, ties by name."""
    if weights.empty:
        return pd.Series(dtype=float)
    labels = [sectors.get(str(ticker), UNKNOWN_SECTOR) for ticker in weights.index]
    totals = weights.groupby(labels).sum()
    order = sorted(totals.index, key=lambda sector: (-totals[sector], sector))
    return totals.reindex(order)


def portfolio_returns(weights: pd.Series, returns: pd.DataFrame) -> pd.Series:
    """Daily returns of holding ``weights`` (rest in cash at 0) over the return window."""
    if weights.empty:
        return pd.Series(dtype=float)
    window = returns[list(weights.index)].dropna()
    return pd.Series(window.to_numpy() @ weights.to_numpy(), index=window.index)


def expected_volatility(weights: pd.Series, cov: pd.DataFrame) -> float:
    """Annualised ex-ante volatility ``sqrt(w' Sigma w)``."""
    if weights.empty:
        return 0.0
    sigma = cov.loc[weights.index, weights.index].to_numpy()
    return float(np.sqrt(weights.to_numpy() @ sigma @ weights.to_numpy()))


def turnover(weights: pd.Series, previous: pd.DataFrame) -> float:
    """One-way turnover ``sum |w - w_prev| / 2`` against the latest earlier stored target
    (``previous`` holds earlier target frames; empty -> against all cash)."""
    if previous.empty:
        before = pd.Series(dtype=float)
    else:
        latest = previous[previous["date"] == previous["date"].max()]
        before = pd.Series(latest["weight"].to_numpy(), index=latest["ticker"].to_numpy())
    names = weights.index.union(before.index)
    diff = weights.reindex(names, fill_value=0.0) - before.reindex(names, fill_value=0.0)
    return float(diff.abs().sum() / 2.0)
