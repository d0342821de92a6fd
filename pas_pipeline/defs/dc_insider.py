"""The DC insider score as its own asset, derived from three Quiver datasets.

Quiver publishes no API for its "DC insider" score; it describes it as built from rankings
of congressional trading, lobbying and government contracts. ``dc_insider_scores`` rebuilds
it each trading day from those assets (``pas_pipeline.strategies.alt_signals.
dc_insider_scores``), so lineage runs congress trades / lobbying / contracts -> scores ->
the DC Insider Score Tilt sleeve, and the scores can be inspected on their own.
"""

import dagster as dg
import pandas as pd

from pas_pipeline.calendar import trading_days
from pas_pipeline.defs.market_data import partition_dates
from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.partitions import lookback, trading_day_partitions
from pas_pipeline.strategies.alt_signals import dc_insider_scores
from pas_pipeline.strategies.registry import STRATEGIES_BY_NAME
from pas_pipeline.strategies.run import known_on

WINDOW_SESSIONS = 260
"""Sessions of each source loaded: more than the 365 calendar days of the score's window."""
SOURCES = ("congress_trades", "lobbying", "gov_contracts")
WINDOW_DAYS = int(STRATEGIES_BY_NAME["dc_insider_score"].params["window_days"])
"""Calendar days of rows the score ranks (the registry row's ``window_days``)."""


@dg.asset(
    name="dc_insider_scores",
    group_name="alt_data",
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "date"},
    io_manager_key="alt_data_io_manager",
    kinds={"pandas"},
    ins={name: dg.AssetIn(partition_mapping=lookback(WINDOW_SESSIONS)) for name in SOURCES},
)
@observed
def dc_insider_scores_asset(
    context: dg.AssetExecutionContext, **sources: pd.DataFrame
) -> dg.Output:
    """DC insider score (0-100) per ticker and session: 100 x the mean of its percentile
    ranks in congressional trades (count), lobbying spend and contract awards over the last
    365 days of rows known on that session (a partition range computes each session)."""
    first, last = partition_dates(context)
    daily = []
    for session in trading_days(first, last):
        day = pd.Timestamp(session)
        known = {name: known_on(frame, day) for name, frame in sources.items()}
        daily.append(dc_insider_scores(known, day, WINDOW_DAYS).assign(date=day))
    scores = pd.concat(daily, ignore_index=True)
    scores = scores[["date", *scores.columns.drop("date")]]
    missing = scores["missing_sources"].iloc[-1] if len(scores) else ",".join(SOURCES)
    return dg.Output(
        scores,
        metadata={
            "tickers": len(scores),
            "top_score": float(scores["score"].max()) if len(scores) else 0.0,
            "missing_sources": missing or "none",
        },
    )
