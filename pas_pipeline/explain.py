"""Why does the account hold (or trade) a ticker? Lineage of one name on one date, as data.

:func:`explain_ticker` follows a ticker backwards through what the pipeline stored:

1. its row of ``target_weights`` on the date (account weight, fraction of equity) and the
   ``sleeves`` attribution, ``strategy:weight`` parts that add up to that weight;
2. for each strategy in the attribution, the ticker's row of that strategy's sleeve on the
   date: the rebalance date in force, the strategy's score and the weight within the sleeve;
3. for each source the strategy reads, the ticker's stored rows in the strategy's look-back
   window (``lookback_sessions`` trading days up to the rebalance date): how many, and the
   newest few;
4. the orders the date's rebalances sent for the ticker (ledger), with their fills.

It reads the DuckDB warehouse (read-only) and the execution ledger; it runs nothing and
changes nothing. :func:`render_explanation` turns the result into the text ``pas explain``
prints.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pas_pipeline.calendar import shift_trading_days
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.strategies.registry import STRATEGIES_BY_NAME

SCHEMA = "public"
"""The warehouse schema the assets are stored in."""


@dataclass(frozen=True)
class SourceEvidence:
    """The ticker's rows of one source table in a strategy's look-back window."""

    source: str
    first_day: dt.date
    last_day: dt.date
    rows: int
    newest: pd.DataFrame
    """Up to ``rows_per_source`` rows, newest ``date`` first (all stored columns)."""


@dataclass(frozen=True)
class SleeveReason:
    """One strategy's part of the account weight."""

    strategy: str
    contribution: float
    """Share of the account weight from this sleeve (fraction of equity)."""
    rebalance_date: dt.date | None
    score: float | None
    """The strategy's ranking score of the ticker (larger is better); None when not stored."""
    sleeve_weight: float | None
    """Weight of the ticker within the sleeve (fraction of the sleeve's capital)."""
    evidence: tuple[SourceEvidence, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """Everything stored about one ticker on one date (see the module docstring)."""

    ticker: str
    as_of: dt.date | None
    """The ``target_weights`` date explained: the latest on or before the asked date."""
    weight: float
    """Account target weight (fraction of equity); 0 when the ticker is not in the target."""
    sleeves: tuple[SleeveReason, ...] = ()
    orders: pd.DataFrame = field(default_factory=pd.DataFrame)
    fills: pd.DataFrame = field(default_factory=pd.DataFrame)


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ?",
        [SCHEMA, table],
    ).fetchall()
    return {str(row[0]) for row in rows}


def _table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(_columns(conn, table))


def _frame(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object]) -> pd.DataFrame:
    return conn.execute(sql, list(params)).df()


def _target_date(conn: duckdb.DuckDBPyConnection, day: dt.date | None) -> dt.date | None:
    if not _table_exists(conn, "target_weights"):
        return None
    sql = f"select max(date) from {SCHEMA}.target_weights"
    row = conn.execute(
        sql + (" where date <= ?" if day else ""), [pd.Timestamp(day)] if day else []
    ).fetchone()
    return None if row is None or row[0] is None else pd.Timestamp(row[0]).date()


def _attribution(text: object) -> list[tuple[str, float]]:
    if not isinstance(text, str):
        return []
    parts = (part.rsplit(":", 1) for part in text.split(";") if part)
    return [(name, float(value)) for name, value in parts]


def _evidence(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    ticker: str,
    first: dt.date,
    last: dt.date,
    rows_per_source: int,
    params: Mapping[str, Any],
) -> SourceEvidence:
    """Rows of ``source`` for ``ticker`` in ``first..last``; a strategy parameter named like
    a column of the table (a politician sleeve's ``bioguide_id``) narrows them to its value."""
    columns = _columns(conn, source)
    if not columns:  # the table was never stored
        return SourceEvidence(source, first, last, 0, pd.DataFrame())
    narrowing = {
        name: value for name, value in params.items() if name in columns and isinstance(value, str)
    }
    window = f"from {SCHEMA}.{source} where ticker = ? and date between ? and ?" + "".join(
        f" and {name} = ?" for name in narrowing
    )
    values = [ticker, pd.Timestamp(first), pd.Timestamp(last), *narrowing.values()]
    count = conn.execute(f"select count(*) {window}", values).fetchone()
    newest = _frame(conn, f"select * {window} order by date desc limit {rows_per_source}", values)
    return SourceEvidence(source, first, last, int(count[0]) if count else 0, newest)


def _sleeve_reason(
    conn: duckdb.DuckDBPyConnection,
    strategy: str,
    contribution: float,
    ticker: str,
    as_of: dt.date,
    rows_per_source: int,
) -> SleeveReason:
    spec = STRATEGIES_BY_NAME.get(strategy)
    row = pd.DataFrame()
    if _table_exists(conn, strategy):
        row = _frame(
            conn,
            f"select rebalance_date, score, weight from {SCHEMA}.{strategy} "
            "where date = ? and ticker = ?",
            [pd.Timestamp(as_of), ticker],
        )
    if row.empty:
        return SleeveReason(strategy, contribution, None, None, None)
    rebalance = pd.Timestamp(row["rebalance_date"].iloc[0]).date()
    score = row["score"].iloc[0]
    evidence: tuple[SourceEvidence, ...] = ()
    if spec is not None:
        first = shift_trading_days(rebalance, -(spec.lookback_sessions - 1))
        evidence = tuple(
            _evidence(conn, source, ticker, first, rebalance, rows_per_source, spec.params)
            for source in spec.sources
        )
    return SleeveReason(
        strategy,
        contribution,
        rebalance,
        None if pd.isna(score) else float(score),
        float(row["weight"].iloc[0]),
        evidence,
    )


def _orders(ledger: Ledger, ticker: str, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    orders, fills = [], []
    for rebalance_id in ledger.rebalances_on(as_of):
        placed = ledger.orders_for(rebalance_id)
        orders.append(placed[placed["symbol"] == ticker])
        filled = ledger.fills_for(rebalance_id)
        fills.append(filled[filled["symbol"] == ticker])
    if not orders:
        return pd.DataFrame(), pd.DataFrame()
    return (
        pd.concat(orders, ignore_index=True),
        pd.concat(fills, ignore_index=True),
    )


def explain_ticker(
    warehouse: Path | str,
    ledger: Ledger,
    ticker: str,
    day: dt.date | None = None,
    rows_per_source: int = 5,
) -> Explanation:
    """The lineage of ``ticker`` on ``day`` (default: the newest target), see the module
    docstring. ``warehouse`` is the DuckDB file (opened read-only); ``ledger`` an open
    :class:`~pas_pipeline.execution.ledger.Ledger`. Tickers are the pipeline's spelling
    (``BRK.B``)."""
    ticker = ticker.upper()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        as_of = _target_date(conn, day)
        if as_of is None:
            return Explanation(ticker, None, 0.0)
        target = _frame(
            conn,
            f"select weight, sleeves from {SCHEMA}.target_weights where date = ? and ticker = ?",
            [pd.Timestamp(as_of), ticker],
        )
        weight = float(target["weight"].iloc[0]) if len(target) else 0.0
        parts = _attribution(target["sleeves"].iloc[0]) if len(target) else []
        sleeves = tuple(
            _sleeve_reason(conn, strategy, part, ticker, as_of, rows_per_source)
            for strategy, part in parts
        )
    orders, fills = _orders(ledger, ticker, as_of)
    return Explanation(ticker, as_of, weight, sleeves, orders, fills)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: timestamps in ISO 8601, NaN as null."""
    return json.loads(frame.to_json(orient="records", date_format="iso")) if len(frame) else []


def explanation_json(explanation: Explanation) -> str:
    """The explanation as JSON (``pas explain --json``): the same fields as the dataclasses,
    dates ISO 8601, source rows and orders as lists of records."""
    e = explanation
    document = {
        "ticker": e.ticker,
        "as_of": e.as_of.isoformat() if e.as_of else None,
        "weight": e.weight,
        "sleeves": [
            {
                "strategy": s.strategy,
                "contribution": s.contribution,
                "rebalance_date": s.rebalance_date.isoformat() if s.rebalance_date else None,
                "score": s.score,
                "sleeve_weight": s.sleeve_weight,
                "evidence": [
                    {
                        "source": v.source,
                        "first_day": v.first_day.isoformat(),
                        "last_day": v.last_day.isoformat(),
                        "rows": v.rows,
                        "newest": _records(v.newest),
                    }
                    for v in s.evidence
                ],
            }
            for s in e.sleeves
        ],
        "orders": _records(e.orders),
        "fills": _records(e.fills),
    }
    return json.dumps(document, indent=2)


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render_explanation(explanation: Explanation) -> str:
    """Plain text for a terminal: weight, each sleeve with its score and source rows, orders."""
    e = explanation
    if e.as_of is None:
        return f"{e.ticker}: no target weights are stored yet (run a rebalance first)."
    lines = [f"{e.ticker} on {e.as_of}: target weight {e.weight:.4%} of equity"]
    if not e.sleeves:
        lines.append("  not in the target: no sleeve in force holds it on this date")
    for sleeve in e.sleeves:
        lines.append(
            f"  {sleeve.strategy}: {sleeve.contribution:.4%} of equity "
            f"(rebalanced {sleeve.rebalance_date or '-'}, score "
            f"{_number(sleeve.score, '.4g')}, {_number(sleeve.sleeve_weight, '.2%')} of the sleeve)"
        )
        for evidence in sleeve.evidence:
            lines.append(
                f"    {evidence.source}: {evidence.rows} row(s) "
                f"{evidence.first_day}..{evidence.last_day}"
            )
            if not evidence.newest.empty:
                table = evidence.newest.to_string(index=False, max_colwidth=40)
                lines.extend("      " + text for text in table.splitlines())
    if e.orders.empty:
        lines.append("  orders: none sent for it on this date")
    else:
        lines.append("  orders:")
        for order in e.orders.itertuples():
            lines.append(
                f"    {order.client_order_id}  {order.side} {order.qty:g} sh  {order.status}  "
                f"filled {order.filled_qty:g}"
                + (f" @ {order.filled_avg_price:.4f}" if pd.notna(order.filled_avg_price) else "")
            )
    return "\n".join(lines)


__all__ = [
    "Explanation",
    "SleeveReason",
    "SourceEvidence",
    "explain_ticker",
    "explanation_json",
    "render_explanation",
]
