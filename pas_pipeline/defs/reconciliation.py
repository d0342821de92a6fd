"""Reconciliation: the broker's positions against the positions the ledger's fills imply.

``account_positions`` stores the broker's positions with both quantities; its blocking check
``positions_match_broker`` fails (naming each symbol and both quantities) when a position
changed behind the system's back. It runs after every successful execution run (sensor) and
daily after the close (schedule).
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pandas as pd

from pas_pipeline.calendar import EXCHANGE_TIMEZONE, latest_trading_day
from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.resources import BrokerResource, LedgerResource, WarehouseReader
from pas_pipeline.execution.reconcile import (
    ledger_fills,
    ledger_positions,
    reconcile,
    refresh_order_states,
    unfinished,
)

CHECK = "positions_match_broker"


class ReconcileConfig(dg.Config):
    """``session``: the trading day (YYYY-MM-DD) the end-of-day snapshot belongs to; empty
    means the latest session on or before today in New York."""

    session: str = ""

    def session_date(self) -> dt.date:
        if self.session:
            return dt.date.fromisoformat(self.session)
        return latest_trading_day(dt.datetime.now(ZoneInfo(EXCHANGE_TIMEZONE)).date())


def session_closes(warehouse: WarehouseReader, day: dt.date) -> dict[str, float]:
    """Closes (USD) of the newest ``prices`` partition on or before ``day`` (empty when the
    warehouse has none yet)."""
    try:
        rows = warehouse.query(
            "select ticker, close from prices where date = "
            "(select max(date) from prices where date <= ?)",
            [pd.Timestamp(day)],
        )
    except duckdb.CatalogException:  # no prices table yet: positions keep the broker's marks
        return {}
    return dict(zip(rows["ticker"], rows["close"].astype(float), strict=True))


@dg.asset(
    group_name="execution",
    deps=["orders"],
    kinds={"broker"},
    pool="broker",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset="account_positions",
            blocking=True,
            description="Broker positions equal the ledger's fills.",
        )
    ],
)
@observed
def account_positions(
    config: ReconcileConfig,
    broker: BrokerResource,
    ledger: LedgerResource,
    warehouse: WarehouseReader,
) -> Iterator[Any]:
    """The broker's positions (shares) next to the ledger's, one row per symbol; also writes
    the session's end-of-day snapshot (positions marked at the closes, cash) to the ledger,
    which realised performance is computed from."""
    day = config.session_date()
    account = broker.open()
    with ledger.open() as book:
        try:
            pending = book.unfinished_orders()
            seen = refresh_order_states(  # fills since the execution run land first
                account,
                book,
                dict(zip(pending["client_order_id"], pending["rebalance_id"], strict=True)),
            )
            still_open = unfinished(seen)
            held = account.get_positions()
            cash = account.get_account().cash
        finally:
            account.close()
        expected = ledger_positions(ledger_fills(book))
        book.snapshot_end_of_day(day, cash, held, session_closes(warehouse, day))
    report = reconcile(held, expected)
    symbols = sorted(set(held) | {s for s, q in expected.items() if q != 0})
    frame = pd.DataFrame(
        {
            "symbol": symbols,
            "broker_qty": [float(held[s].qty) if s in held else 0.0 for s in symbols],
            "ledger_qty": [float(expected.get(s, 0.0)) for s in symbols],
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=report.ok,
        severity=dg.AssetCheckSeverity.ERROR,
        description=report.summary(),
        metadata={"mismatches": len(report.mismatches), "matched": len(report.matched)},
    )
    yield dg.Output(
        frame,
        metadata={
            "positions": len(held),
            "mismatches": len(report.mismatches),
            "orders_still_open": len(still_open),
            "session": day.isoformat(),
            "cash": float(cash),
        },
    )


reconcile_job = dg.define_asset_job(
    "reconcile",
    selection=[account_positions],
    description="Compare the broker's positions with the ledger (fails on any mismatch).",
)

reconcile_schedule = dg.ScheduleDefinition(
    name="reconcile_schedule",
    job=reconcile_job,
    cron_schedule="0 18 * * 1-5",
    execution_timezone=EXCHANGE_TIMEZONE,
    description="Daily reconciliation after the close.",
)


def build_reconcile_sensor(execution_job: Any) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        name="reconcile_after_execution",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[execution_job],
        request_job=reconcile_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def reconcile_after_execution(context: dg.RunStatusSensorContext) -> dg.RunRequest:
        executed = context.dagster_run.run_config.get("ops", {}).get("execute_orders", {})
        session = executed.get("config", {}).get("partition_date", "")
        return dg.RunRequest(
            run_key=context.dagster_run.run_id,
            run_config={"ops": {"account_positions": {"config": {"session": session}}}},
        )

    return reconcile_after_execution
