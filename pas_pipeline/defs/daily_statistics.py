"""The ``daily_statistics`` asset: the live book's returns and risk each trading day, as
numeric metadata the UI plots over time (``pas_pipeline.portfolio.daily_statistics``).

It reads the ledger's end-of-day snapshots up to and including its day (written by the
18:00 reconciliation) and the holdings' daily returns, and runs from its own schedule at
18:15 New York.
"""

import dagster as dg
import pandas as pd

from pas_pipeline.calendar import EXCHANGE_TIMEZONE, is_trading_day
from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.partitions import lookback, trading_day_partitions
from pas_pipeline.defs.resources import LedgerResource
from pas_pipeline.execution import performance as perf
from pas_pipeline.observability.metrics import record_portfolio
from pas_pipeline.portfolio.daily_statistics import (
    STATISTICS_COLUMNS,
    VAR_WINDOW,
    daily_statistics,
)
from pas_pipeline.portfolio.risk_inputs import wide_returns


@dg.asset(
    name="daily_statistics",
    group_name="monitoring",
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(1),
    metadata={"partition_expr": "date"},
    kinds={"pandas"},
    ins={"returns": dg.AssetIn(partition_mapping=lookback(VAR_WINDOW))},
)
@observed
def daily_statistics_asset(
    context: dg.AssetExecutionContext, returns: pd.DataFrame, ledger: LedgerResource
) -> dg.Output:
    """Daily return, cumulative return, drawdown, realised and ex-ante volatility, Sharpe,
    Sortino, gross exposure and one-day 95% VaR/CVaR (fractions; losses positive) of the
    account on this session, from its end-of-day snapshots."""
    day = pd.Timestamp(context.partition_key)
    with ledger.open() as book:
        snapshots, cash = book.end_of_day_history(before=(day + pd.Timedelta(days=1)).date())
    row: dict[str, object] = {"date": day, **dict.fromkeys(STATISTICS_COLUMNS, float("nan"))}
    if cash.empty:
        context.log.info("no end-of-day snapshot yet: nothing to measure")
    else:
        result = perf.realised_performance(snapshots, cash)
        held = snapshots[pd.to_datetime(snapshots["as_of"], utc=True) == cash.index.max()]
        daily = wide_returns(returns, sorted(set(held["symbol"])))
        row.update(
            daily_statistics(result.sleeve(perf.TOTAL), result.summary[perf.TOTAL], held, daily)
        )
        total = result.sleeve(perf.TOTAL).iloc[-1]
        record_portfolio(
            float(total["value"]),
            float(row["gross_exposure"]),
            None,  # pas_var_95 is the target's VaR, set by target_weights
            float(row["drawdown"]),
        )
    frame = pd.DataFrame([row])
    metadata = {
        name: float(value) for name, value in row.items() if name != "date" and pd.notna(value)
    }
    return dg.Output(frame, metadata=metadata)


daily_statistics_job = dg.define_asset_job(
    "daily_statistics_job",
    selection=[daily_statistics_asset],
    partitions_def=trading_day_partitions,
    description="The live book's daily returns and risk (after the daily reconciliation).",
)


@dg.schedule(
    name="daily_statistics_schedule",
    cron_schedule="15 18 * * 1-5",
    execution_timezone=EXCHANGE_TIMEZONE,
    job=daily_statistics_job,
    description="Daily statistics of the live book at 18:15, after the reconciliation.",
)
def daily_statistics_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    day = context.scheduled_execution_time.date()
    if not is_trading_day(day):
        return dg.SkipReason(f"{day} is not a trading day")
    return dg.RunRequest(run_key=f"daily_statistics_job:{day}", partition_key=day.isoformat())
