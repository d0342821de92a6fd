"""Allocation assets: correlation regime, Black-Litterman posterior, min-max weights, and
target weights (risk-parity pass and VaR budget), each a thin call into
``pas_pipeline.portfolio.allocation``."""

import math
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from pas_pipeline.defs.checks import blocking_check_spec, validated
from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.partitions import lookback, trading_day_partitions
from pas_pipeline.defs.performance import capital_evidence
from pas_pipeline.defs.portfolio import (
    COVARIANCE_SESSIONS,
    SLEEVE_INS,
    stacked_sleeves,
)
from pas_pipeline.defs.resources import WarehouseReader
from pas_pipeline.observability.metrics import record_var
from pas_pipeline.portfolio import allocation as alloc
from pas_pipeline.portfolio.capital import performance_tilted_capital
from pas_pipeline.portfolio.combine import combine_sleeves, equal_risk_capital, latest_sleeves
from pas_pipeline.portfolio.risk_inputs import covariance_wide, wide_returns
from pas_pipeline.portfolio.target_checks import TARGET_CHECKS
from pas_pipeline.risk import correlation_regime as regime_of
from pas_pipeline.risk import sharpe_ratio, sortino_ratio
from pas_pipeline.sources.universe import sector_etfs

SETTINGS = alloc.AllocationSettings()
REGIME_WINDOW, REGIME_HISTORY = 63, 252
REGIME_SESSIONS = REGIME_WINDOW + REGIME_HISTORY - 1
PER_DAY = {
    "partitions_def": trading_day_partitions,
    "backfill_policy": dg.BackfillPolicy.multi_run(1),
    "metadata": {"partition_expr": "date"},
    "kinds": {"pandas"},
}


@dg.asset(
    group_name="risk",
    ins={"returns": dg.AssetIn(partition_mapping=lookback(REGIME_SESSIONS))},
    **PER_DAY,
)
@observed
def correlation_regime(context: dg.AssetExecutionContext, returns: pd.DataFrame) -> dg.Output:
    """Average pairwise correlation of the eleven SPDR sector ETFs over the last 63 sessions,
    ranked against its own last 252 values; ``delta >= 0`` scales risk aversion up in
    stressed markets."""
    as_of = pd.Timestamp(context.partition_key)
    spdrs = sector_etfs().query("leverage == 1")["ticker"].tolist()
    panel = wide_returns(returns, spdrs).dropna(axis=1, how="all").dropna()
    if len(panel) < REGIME_SESSIONS or panel.shape[1] < 2:
        regime = None
        context.log.warning(
            f"only {len(panel)} sessions of sector returns: regime set to normal, delta 0"
        )
    else:
        regime = regime_of(panel, window=REGIME_WINDOW, history=REGIME_HISTORY)
    frame = pd.DataFrame(
        {
            "date": [as_of],
            "average_correlation": [regime.average_correlation if regime else float("nan")],
            "percentile": [regime.percentile if regime else float("nan")],
            "label": [regime.label if regime else "normal"],
            "delta": [regime.delta if regime else 0.0],
        }
    )
    return dg.Output(
        frame,
        metadata={
            "delta": float(frame["delta"].iloc[0]),
            "label": str(frame["label"].iloc[0]),
            "average_correlation": float(frame["average_correlation"].fillna(0.0).iloc[0]),
        },
    )


def _held(sleeves: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    return latest_sleeves(stacked_sleeves(sleeves), as_of)


def sleeve_capital(
    held: pd.DataFrame, cov: pd.DataFrame, performance: pd.DataFrame
) -> dict[str, float]:
    """Capital per sleeve: equal ex-ante risk, tilted by each sleeve's realised Sharpe ratio
    once it has a track record (``pas_pipeline.portfolio.capital``)."""
    return performance_tilted_capital(equal_risk_capital(held, cov), capital_evidence(performance))


@dg.asset(
    group_name="portfolio",
    ins={"covariance": dg.AssetIn(), "universe": dg.AssetIn(), **SLEEVE_INS},
    **PER_DAY,
)
@observed
def bl_posterior(
    context: dg.AssetExecutionContext,
    covariance: pd.DataFrame,
    universe: pd.DataFrame,
    **sleeves: pd.DataFrame,
) -> dg.Output:
    """Black-Litterman posterior expected returns (annualised) of the names the sleeves hold:
    equilibrium from market-cap weights, one absolute view per sleeve holding."""
    as_of = pd.Timestamp(context.partition_key)
    caps = pd.Series(universe["market_cap"].to_numpy(), index=universe["ticker"].to_numpy())
    frame = alloc.bl_posterior(_held(sleeves, as_of), covariance_wide(covariance), caps, SETTINGS)
    frame.insert(0, "date", as_of)
    return dg.Output(
        frame,
        metadata={
            "names": len(frame),
            "mean_view_tilt": float((frame["mu"] - frame["pi"]).mean()) if len(frame) else 0.0,
        },
    )


@dg.asset(
    group_name="portfolio",
    ins={
        "bl_posterior": dg.AssetIn(),
        "covariance": dg.AssetIn(),
        "correlation_regime": dg.AssetIn(),
        "realised_performance": dg.AssetIn(),
        **SLEEVE_INS,
    },
    **PER_DAY,
)
@observed
def min_max_weights(
    context: dg.AssetExecutionContext,
    bl_posterior: pd.DataFrame,
    covariance: pd.DataFrame,
    correlation_regime: pd.DataFrame,
    realised_performance: pd.DataFrame,
    **sleeves: pd.DataFrame,
) -> dg.Output:
    """``argmax w'mu - gamma (1 + delta) w'Sigma w`` with ``sum w = 1`` and position caps."""
    as_of = pd.Timestamp(context.partition_key)
    held = _held(sleeves, as_of)
    cov = covariance_wide(covariance)
    invested = alloc.invested_fraction(held, sleeve_capital(held, cov, realised_performance))
    delta = float(correlation_regime["delta"].iloc[0]) if len(correlation_regime) else 0.0
    stage = alloc.min_max_stage(bl_posterior, cov, delta, invested, SETTINGS)
    frame = pd.DataFrame(
        {"date": as_of, "ticker": stage.index, "weight": stage.to_numpy(), "invested": invested}
    )
    return dg.Output(
        frame,
        metadata={
            "names": int((stage > SETTINGS.min_budget).sum()),
            "delta": delta,
            "invested": invested,
        },
    )


@dg.asset(
    group_name="portfolio",
    ins={
        "min_max_weights": dg.AssetIn(),
        "covariance": dg.AssetIn(),
        "returns": dg.AssetIn(partition_mapping=lookback(COVARIANCE_SESSIONS - 1)),
        "realised_performance": dg.AssetIn(),
        "universe": dg.AssetIn(),
        **SLEEVE_INS,
    },
    check_specs=[
        blocking_check_spec("target_weights", name, check.description)
        for name, check in TARGET_CHECKS.items()
    ],
    **PER_DAY,
)
@observed
def target_weights(
    context: dg.AssetExecutionContext,
    min_max_weights: pd.DataFrame,
    covariance: pd.DataFrame,
    returns: pd.DataFrame,
    realised_performance: pd.DataFrame,
    universe: pd.DataFrame,
    warehouse: WarehouseReader,
    **sleeves: pd.DataFrame,
) -> Iterator[Any]:
    """Account target weights (fractions of equity, ``>= 0``, sum <= 1, rest in cash): the
    risk-parity pass over the min-max weights, scaled down to the VaR budget."""
    as_of = pd.Timestamp(context.partition_key)
    held = _held(sleeves, as_of)
    cov = covariance_wide(covariance)
    capital = sleeve_capital(held, cov, realised_performance)
    invested = alloc.invested_fraction(held, capital)
    stage = pd.Series(min_max_weights["weight"].to_numpy(), index=min_max_weights["ticker"])
    weights = alloc.risk_parity_pass(stage, cov, invested, SETTINGS)
    daily = wide_returns(returns, list(weights.index))
    budget = alloc.var_budget(weights, daily, SETTINGS)
    final = budget.weights
    frame = (
        pd.DataFrame(
            {
                "date": as_of,
                "ticker": final.index,
                "weight": final.to_numpy(),
                "sleeves": alloc.attribute(final, combine_sleeves(held, capital)).to_numpy(),
            }
        )
        .sort_values("ticker")
        .reset_index(drop=True)
    )
    previous = warehouse.latest_before("target_weights", as_of)
    metadata = _metadata(frame, final, budget, cov, daily, previous, capital)
    by_sector = alloc.sector_weights(final, _sectors(universe))
    metadata["largest_sector_weight"] = float(by_sector.max()) if len(by_sector) else 0.0
    metadata["sector_weights"] = dg.MetadataValue.json(by_sector.round(6).to_dict())
    if math.isfinite(budget.var_after):
        record_var(budget.var_after)
    yield from validated(frame, {n: c.validate for n, c in TARGET_CHECKS.items()}, metadata)


def _sectors(universe: pd.DataFrame) -> dict[str, str]:
    """GICS sector of every universe stock and sector ETF, by ticker."""
    listed = pd.concat([universe[["ticker", "sector"]], sector_etfs()[["ticker", "sector"]]])
    return dict(zip(listed["ticker"], listed["sector"], strict=True))


def _metadata(
    frame: pd.DataFrame,
    final: pd.Series,
    budget: alloc.VarBudget,
    cov: pd.DataFrame,
    daily: pd.DataFrame,
    previous: pd.DataFrame,
    capital: dict[str, float],
) -> dict[str, Any]:
    """Numeric metadata the UI plots over time (risk figures are of the final weights)."""
    book = alloc.portfolio_returns(final, daily)
    enough = len(book) > 2 and book.std() > 0 and (book < 0).sum() > 1
    return {
        "positions": len(frame),
        "gross_exposure": float(final.sum()),
        "cash_weight": float(1.0 - final.sum()),
        "expected_volatility": alloc.expected_volatility(final, cov),
        "var_95": budget.var_after,
        "cvar_95": budget.cvar_after,
        "var_95_before_budget": budget.var_before,
        "var_scale": budget.scale,
        "largest_weight": float(final.max()) if len(final) else 0.0,
        "sharpe": float(sharpe_ratio(book)) if enough else 0.0,
        "sortino": float(sortino_ratio(book)) if enough else 0.0,
        "turnover": alloc.turnover(final, previous),
        "strategies": ", ".join(capital),
        "capital": dg.MetadataValue.json({k: round(v, 6) for k, v in capital.items()}),
        "weights": dg.MetadataValue.md(frame[["ticker", "weight"]].to_markdown(index=False))
        if len(frame)
        else "all cash",
    }
