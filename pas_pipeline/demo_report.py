"""Text report of a demo run: what ``make demo`` prints."""

from __future__ import annotations

from pathlib import Path

from pas_pipeline.config import Settings
from pas_pipeline.demo import DemoResult


def format_report(result: DemoResult, settings: Settings, dagster_home: Path) -> str:
    """The rebalance date, strategies due, target weights, orders, and where to look next."""
    lines = [
        f"Rebalance date        {result.as_of.isoformat()}",
        f"Strategies due        {', '.join(result.due) or 'none'}",
        f"Data mode / broker    {settings.data_mode.value} / {settings.broker.value}",
        f"History backfill run  {result.history_run_id or 'not needed (already stored)'}",
        f"Rebalance run         {result.rebalance_run_id}",
        f"Execution run         {result.execution_run_id or 'not launched'}",
        "",
        "Target weights (fraction of equity; the rest is cash)",
    ]
    target = result.target
    if target.empty:
        lines.append("  all cash")
    for row in target.itertuples():
        lines.append(f"  {row.ticker:<8} {row.weight:8.4f}")
    lines.append(f"  {'cash':<8} {max(0.0, 1.0 - float(target['weight'].sum())):8.4f}")
    lines += [
        "",
        "Orders (simulated broker fills at the session's close)"
        if settings.broker.value == "simulated"
        else "Orders",
    ]
    if result.orders.empty:
        lines.append("  none (already placed, or within the no-trade band)")
    for row in result.orders.itertuples():
        lines.append(
            f"  {row.side:<4} {row.symbol:<8} qty {row.qty:14.6f}  {row.status:<10} "
            f"{row.client_order_id}"
        )
    lines += [
        "",
        f"Warehouse  {settings.warehouse_path}",
        f"Ledger     {settings.ledger_path if not settings.pg_uri else 'PostgreSQL (PG_URI)'}",
        f"Dagster    DAGSTER_HOME={dagster_home}",
        "",
        "Open the UI with `make dev`, then http://127.0.0.1:3000 (runs, asset graph, lineage).",
    ]
    return "\n".join(lines)
