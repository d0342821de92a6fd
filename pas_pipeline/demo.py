"""One rebalance end to end on the embedded default: what ``make demo`` runs.

1. Pick the rebalance date: the latest session on or before today on which at least one
   strategy of the registry is due.
2. Backfill the data the look-backs need, skipping partitions already stored: prices and
   returns over :data:`HISTORY_SESSIONS` in one run, then one run per alternative-data
   asset, as deep as the strategies reading it look back (:func:`alt_data_sessions`).
3. Run the ``rebalance`` job for that date (every sleeve: the due ones rebalance, the others
   carry their holdings in force).
4. Evaluate the ``execute_after_rebalance`` sensor on that successful run and run the
   execution job it requests (simulated broker unless configured otherwise).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from pas_pipeline.calendar import (
    MAX_SESSIONS_SINCE_REBALANCE,
    is_rebalance_day,
    latest_trading_day,
    previous_trading_day,
    shift_trading_days,
)
from pas_pipeline.defs.alt_data import ALT_DATA
from pas_pipeline.defs.dc_insider import SOURCES as DC_INSIDER_SOURCES
from pas_pipeline.defs.dc_insider import WINDOW_SESSIONS as DC_INSIDER_WINDOW_SESSIONS
from pas_pipeline.defs.partitions import trading_day_partitions
from pas_pipeline.defs.search_interest import NEWS_SESSIONS
from pas_pipeline.strategies.registry import STRATEGIES

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Run config that keeps Dagster's console logger to warnings (the demo prints a summary)."""
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
HISTORY_SESSIONS = 330
"""Sessions of market data before the rebalance date the demo makes sure are stored
(covers the 314-session correlation regime, the 252-session covariance and every sleeve)."""
ALT_DATA_BACKFILL_ORDER = (
    *(spec.name for spec in ALT_DATA),
    "search_interest",
    "dc_insider_scores",
)
"""Alternative-data assets the demo backfills, each as deep as its strategies need; the
derived ones after the assets they read."""


@dataclass(frozen=True)
class DemoResult:
    as_of: dt.date
    due: list[str]
    history_run_id: str | None
    rebalance_run_id: str
    execution_run_id: str | None
    target: pd.DataFrame
    orders: pd.DataFrame


def due_strategies(day: dt.date) -> list[str]:
    return [spec.name for spec in STRATEGIES if is_rebalance_day(spec.rule, day)]


def latest_rebalance_date(today: dt.date) -> dt.date:
    """The latest session on or before ``today`` on which some strategy rebalances."""
    day = latest_trading_day(today)
    while not due_strategies(day):
        day = previous_trading_day(day)
    return day


DERIVED_READS: dict[str, tuple[tuple[str, ...], int]] = {
    "search_interest": (("news_sentiment",), NEWS_SESSIONS),
    "dc_insider_scores": (DC_INSIDER_SOURCES, DC_INSIDER_WINDOW_SESSIONS),
}
"""Alternative-data assets computed from others: (the assets they read, sessions of each)."""


def alt_data_sessions(asset: str) -> int:
    """Sessions of ``asset`` before the rebalance date that the sleeves reading it need: the
    longest look-back of those strategies plus the most sessions a held sleeve can be older
    than its rebalance day, and what derived assets reading it need on their own history."""
    needs = [
        spec.lookback_sessions + MAX_SESSIONS_SINCE_REBALANCE[spec.rule]
        for spec in STRATEGIES
        if asset in spec.sources
    ]
    needs += [
        alt_data_sessions(derived) + sessions
        for derived, (reads, sessions) in DERIVED_READS.items()
        if asset in reads
    ]
    return min(max(needs, default=0), HISTORY_SESSIONS)


def backfill(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str,
    assets: list[str],
    start: dt.date,
    end: dt.date,
) -> str | None:
    """One run of ``job`` over the partitions of ``start..end`` the first asset lacks (only
    ``assets`` are materialised); the run id, or None when nothing was missing."""
    missing = missing_history(instance, start, end, assets[0])
    if not missing:
        return None
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        run_config=QUIET,
        tags={RANGE_START_TAG: missing[0], RANGE_END_TAG: missing[-1]},
        asset_selection=[dg.AssetKey(name) for name in assets],
    )
    return result.run_id


def missing_history(
    instance: dg.DagsterInstance, start: dt.date, end: dt.date, asset: str = "returns"
) -> list[str]:
    """Partition keys in ``[start, end]`` whose ``asset`` is not yet stored."""
    stored = instance.get_materialized_partitions(dg.AssetKey(asset))
    keys = trading_day_partitions.get_partition_keys_in_range(
        dg.PartitionKeyRange(start.isoformat(), end.isoformat())
    )
    return [key for key in keys if key not in stored]


def run_demo(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    today: dt.date | None = None,
    before_execution: Callable[[dt.date], None] | None = None,
) -> DemoResult:
    as_of = latest_rebalance_date(today or dt.date.today())
    start = shift_trading_days(as_of, -HISTORY_SESSIONS)
    missing = missing_history(instance, start, as_of, "returns")
    if missing:  # the first day's returns need the close before it
        defs.resolve_job_def("market_data").execute_in_process(
            instance=instance,
            run_config=QUIET,
            partition_key=previous_trading_day(missing[0]).isoformat(),
            asset_selection=[dg.AssetKey("universe"), dg.AssetKey("prices")],
        )
    history_run_id = backfill(
        defs, instance, "market_data", ["returns", "universe", "prices"], start, as_of
    )
    for asset in ALT_DATA_BACKFILL_ORDER:
        first = shift_trading_days(as_of, -alt_data_sessions(asset))
        run_id = backfill(defs, instance, "alt_data", [asset], first, as_of)
        history_run_id = history_run_id or run_id
    rebalance = defs.resolve_job_def("rebalance").execute_in_process(
        instance=instance,
        partition_key=as_of.isoformat(),
        run_config=QUIET,
        tags={"pas/strategies": ",".join(due_strategies(as_of))},
    )
    if before_execution is not None:  # e.g. give a stand-in broker the session's prices
        before_execution(as_of)
    execution_run_id = launch_execution(defs, instance, rebalance.run_id)
    target = rebalance.asset_value("target_weights")
    orders = recorded_orders(defs, execution_run_id, instance)
    return DemoResult(
        as_of,
        due_strategies(as_of),
        history_run_id,
        rebalance.run_id,
        execution_run_id,
        target,
        orders,
    )


def launch_execution(defs: dg.Definitions, instance: dg.DagsterInstance, run_id: str) -> str | None:
    """Evaluate the execution sensor on a finished run and execute what it requests."""
    run = instance.get_run_by_id(run_id)
    success = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
    sensor = defs.resolve_sensor_def("execute_after_rebalance")
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=success[0].event_log_entry.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
    )
    request = sensor(context)
    if not isinstance(request, dg.RunRequest):
        return None
    result = defs.resolve_job_def("execute_orders_job").execute_in_process(
        instance=instance, run_config={**request.run_config, **QUIET}, tags=request.tags
    )
    return result.run_id


def recorded_orders(
    defs: dg.Definitions, run_id: str | None, instance: dg.DagsterInstance
) -> pd.DataFrame:
    """Orders the ledger holds for the rebalance that execution run traded."""
    if run_id is None:
        return pd.DataFrame()
    materializations = instance.fetch_materializations(dg.AssetKey("orders"), limit=1).records
    rebalance = materializations[0].asset_materialization.metadata["rebalance_id"].value
    with defs.resources["ledger"].open() as ledger:
        return ledger.orders_for(rebalance)
