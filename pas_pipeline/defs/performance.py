"""Realised performance: what the account and each sleeve actually earned, from the ledger.

The daily reconciliation writes an end-of-day snapshot (positions marked at the session's
closes, and cash) into the ledger; execution records each rebalance's sleeve books. This
asset turns them into daily P&L, returns, drawdown, Sharpe and Sortino in total and per
sleeve (``pas_pipeline.execution.performance``), and the allocator reads it to tilt capital
toward the sleeves that earned more (``pas_pipeline.portfolio.capital``).
"""

from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.partitions import trading_day_partitions
from pas_pipeline.defs.resources import LedgerResource, WarehouseReader
from pas_pipeline.execution import performance as perf
from pas_pipeline.execution.performance import TOTAL

PERFORMANCE_COLUMNS = [
    "date",
    "sleeve",
    "as_of",
    "value",
    "pnl",
    "daily_return",
    "cumulative_return",
    "drawdown",
    "max_drawdown",
    "sharpe",
    "sortino",
    "days",
]


def performance_frame(
    day: pd.Timestamp,
    snapshots: pd.DataFrame,
    cash: pd.Series,
    books: pd.DataFrame,
    closes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per sleeve (``total`` first) with its latest realised figures as of the
    newest snapshot before ``day``; a single ``total`` row with ``days = 0`` and NaN figures
    when the ledger has no snapshot yet. ``closes`` (date x symbol, USD) price the symbols
    sold between two snapshots (needed for the sleeves' P&L). Money USD, returns and
    drawdowns fractions, Sharpe and Sortino annualised (252)."""
    if cash.empty:
        row = {column: np.nan for column in PERFORMANCE_COLUMNS}
        row.update(date=day, sleeve=TOTAL, as_of=pd.NaT, days=0)
        return pd.DataFrame([row], columns=PERFORMANCE_COLUMNS).astype({"days": "int64"})
    result = perf.realised_performance(
        snapshots, cash, books if len(books) else None, prices=closes
    )
    rows = []
    for sleeve, summary in result.summary.items():
        last = result.sleeve(sleeve).iloc[-1]
        rows.append(
            {
                "date": day,
                "sleeve": sleeve,
                "as_of": last.name,
                "value": float(last["value"]),
                "pnl": float(last["pnl"]),
                "daily_return": float(last["return"]),
                "cumulative_return": summary["cumulative_return"],
                "drawdown": summary["current_drawdown"],
                "max_drawdown": summary["max_drawdown"],
                "sharpe": np.nan if summary["sharpe"] is None else summary["sharpe"],
                "sortino": np.nan if summary["sortino"] is None else summary["sortino"],
                "days": summary["days"],
            }
        )
    frame = pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    return frame.astype({"days": "int64"})


def capital_evidence(performance: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Sleeve → ``{"sharpe", "days"}`` from a stored ``realised_performance`` partition (the
    input of :func:`pas_pipeline.portfolio.capital.performance_tilted_capital`)."""
    if performance.empty:
        return {}
    return {
        str(row.sleeve): {
            "sharpe": None if pd.isna(row.sharpe) else float(row.sharpe),
            "days": int(row.days),
        }
        for row in performance.itertuples()
        if row.sleeve != TOTAL
    }


def _closes(warehouse: WarehouseReader, snapshots: pd.DataFrame) -> pd.DataFrame | None:
    """Closes (date x symbol) of the snapshots' symbols over their dates, from ``prices``."""
    if snapshots.empty:
        return None
    days = pd.to_datetime(snapshots["as_of"], utc=True).dt.tz_convert(None).dt.normalize()
    rows = warehouse.query(
        "select date, ticker, close from prices where date between ? and ? "
        "and ticker in (select unnest(?))",
        [days.min(), days.max(), sorted(set(snapshots["symbol"]))],
    )
    return rows.pivot(index="date", columns="ticker", values="close") if len(rows) else None


def _metadata(frame: pd.DataFrame) -> dict[str, Any]:
    total = frame[frame["sleeve"] == TOTAL].iloc[0]

    def number(value: Any) -> float:
        return float(value) if pd.notna(value) else 0.0

    metadata: dict[str, Any] = {
        "days": int(total["days"]),
        "value": number(total["value"]),
        "daily_pnl": number(total["pnl"]),
        "cumulative_return": number(total["cumulative_return"]),
        "drawdown": number(total["drawdown"]),
        "max_drawdown": number(total["max_drawdown"]),
        "sharpe": number(total["sharpe"]),
        "sortino": number(total["sortino"]),
    }
    for row in frame[frame["sleeve"] != TOTAL].itertuples():
        metadata[f"sharpe/{row.sleeve}"] = number(row.sharpe)
    return metadata


@dg.asset(
    group_name="portfolio",
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(1),
    metadata={"partition_expr": "date"},
    kinds={"pandas"},
)
@observed
def realised_performance(
    context: dg.AssetExecutionContext, ledger: LedgerResource, warehouse: WarehouseReader
) -> dg.Output:
    """Realised P&L, return, drawdown, Sharpe and Sortino of the account and of each sleeve,
    from the ledger's end-of-day snapshots dated before this session (what was known when
    its rebalance ran)."""
    day = pd.Timestamp(context.partition_key)
    with ledger.open() as book:
        snapshots, cash = book.end_of_day_history(before=day.date())
        books = book.sleeve_book_history(before=day.date())
    frame = performance_frame(day, snapshots, cash, books, _closes(warehouse, snapshots))
    if frame["days"].iloc[0] == 0:
        context.log.info("no realised history yet: capital stays at equal risk")
    return dg.Output(frame, metadata=_metadata(frame))
