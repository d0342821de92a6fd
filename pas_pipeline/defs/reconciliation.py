"""Reconciliation: the broker's positions against the positions the ledger's fills imply.

``account_positions`` stores the broker's positions with both quantities; its blocking check
``positions_match_broker`` fails (naming each symbol and both quantities) when a position
changed behind the system's back. It runs after every successful execution run (sensor) and
daily after the close (schedule).
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from pas_pipeline.calendar import EXCHANGE_TIMEZONE
from pas_pipeline.defs.resources import BrokerResource, LedgerResource
from pas_pipeline.execution.reconcile import (
    ledger_fills,
    ledger_positions,
    reconcile,
    refresh_orders,
)

CHECK = "positions_match_broker"


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
def account_positions(broker: BrokerResource, ledger: LedgerResource) -> Iterator[Any]:
    """The broker's positions (shares) next to the ledger's, one row per symbol."""
    account = broker.open()
    with ledger.open() as book:
        try:
            pending = book.unfinished_orders()
            still_open = refresh_orders(  # fills since the execution run land first
                account,
                book,
                dict(zip(pending["client_order_id"], pending["rebalance_id"], strict=True)),
            )
            held = account.get_positions()
        finally:
            account.close()
        expected = ledger_positions(ledger_fills(book))
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
        return dg.RunRequest(run_key=context.dagster_run.run_id)

    return reconcile_after_execution
