"""Risk assets: daily returns and the Ledoit-Wolf covariance of the names the sleeves hold."""

import dagster as dg
import numpy as np
import pandas as pd

from pas_pipeline.calendar import MAX_SESSIONS_SINCE_REBALANCE
from pas_pipeline.defs.market_data import partition_dates
from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.partitions import lookback, trading_day_partitions
from pas_pipeline.defs.strategies import SLEEVE_ASSETS
from pas_pipeline.portfolio.combine import CASH, latest_sleeves
from pas_pipeline.portfolio.risk_inputs import covariance_long, tidy_returns
from pas_pipeline.risk import ledoit_wolf_covariance
from pas_pipeline.strategies.registry import STRATEGIES

COVARIANCE_SESSIONS = 252
SLEEVE_WINDOW = max(MAX_SESSIONS_SINCE_REBALANCE[spec.rule] for spec in STRATEGIES) + 1
SLEEVE_INS = {
    asset.key.path[-1]: dg.AssetIn(key=asset.key, partition_mapping=lookback(SLEEVE_WINDOW))
    for asset in SLEEVE_ASSETS
}


@dg.asset(
    group_name="risk",
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    ins={"prices": dg.AssetIn(partition_mapping=lookback(1))},
    metadata={"partition_expr": "date"},
    kinds={"pandas"},
)
@observed
def returns(context: dg.AssetExecutionContext, prices: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Simple daily returns of adjusted closes (``adj_close_t / adj_close_{t-1} - 1``), one
    row per ticker and session; the first session of a ticker has no row."""
    start, end = partition_dates(context)
    frame = tidy_returns(prices, pd.Timestamp(start), pd.Timestamp(end))
    empty = sorted(
        set(context.partition_keys) - {d.strftime("%Y-%m-%d") for d in frame["date"].unique()}
    )
    if empty:
        context.log.warning(
            f"no returns for {len(empty)} session(s) {empty[:5]}: the previous session's "
            "prices are not stored (backfill prices from one session earlier)"
        )
    return dg.Output(
        frame,
        metadata={
            "rows": len(frame),
            "tickers": int(frame["ticker"].nunique()),
            "sessions_without_returns": len(empty),
        },
    )


def stacked_sleeves(sleeves: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(list(sleeves.values()), ignore_index=True)


@dg.asset(
    group_name="risk",
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(1),
    ins={"returns": dg.AssetIn(partition_mapping=lookback(COVARIANCE_SESSIONS - 1)), **SLEEVE_INS},
    metadata={"partition_expr": "date"},
    kinds={"pandas"},
)
@observed
def covariance(
    context: dg.AssetExecutionContext, returns: pd.DataFrame, **sleeves: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """Annualised Ledoit-Wolf covariance (``252 * LW(r)``) of the names the sleeves hold,
    from the last 252 sessions of daily returns; stored long (``ticker``, ``other``, ``value``)."""
    as_of = pd.Timestamp(context.partition_key)
    held = latest_sleeves(stacked_sleeves(sleeves), as_of)
    names = sorted(set(held["ticker"]) - {CASH})
    wide = returns[returns["ticker"].isin(names)].pivot(
        index="date", columns="ticker", values="ret"
    )
    wide = wide.dropna(axis=1, thresh=int(0.9 * len(wide))).dropna()
    cov = ledoit_wolf_covariance(wide) if wide.shape[1] else pd.DataFrame(dtype=float)
    frame = covariance_long(cov, as_of)
    vols = np.sqrt(np.diag(cov.to_numpy())) if len(cov) else np.array([])
    return dg.Output(
        frame,
        metadata={
            "names": len(cov),
            "sessions": len(wide),
            "median_volatility": float(np.median(vols)) if len(vols) else 0.0,
        },
    )
