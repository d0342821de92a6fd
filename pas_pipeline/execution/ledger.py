"""The execution ledger: rebalances, order plans, broker orders, fills, snapshots, kill switch.

One schema (:mod:`pas_pipeline.execution.migrations`) in a DuckDB file (default) or in
PostgreSQL (``psycopg`` 3) when given a ``postgresql://`` URI. Queries are written once with
``?`` placeholders; :class:`_Database` adapts them to the backend. Each public writer is one
transaction, and writing the same thing twice leaves the same rows (no duplicates).
Every call opens and closes its own connection, so DuckDB's single-writer file is only held
while a call runs. Units: quantities in shares, prices/notionals USD, weights fractions of
equity, timestamps UTC (a naive datetime given to the ledger is taken to be UTC).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import duckdb
import pandas as pd
import psycopg

from pas_pipeline.alerts import Alert
from pas_pipeline.config import Secret
from pas_pipeline.execution.ids import as_date, canonical_json
from pas_pipeline.execution.migrations import apply_migrations
from pas_pipeline.execution.model import (
    TERMINAL_STATUSES,
    BrokerOrder,
    PlannedOrder,
    Position,
    TradingState,
)

_TERMINAL = sorted(str(status) for status in TERMINAL_STATUSES)
_TERMINAL_MARKS = ", ".join("?" for _ in _TERMINAL)
"""The terminal order statuses as SQL parameters, and their placeholders."""

_PG_SCHEMES = ("postgresql://", "postgres://")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_PG_MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(727001)"
_PLAN_COLUMNS = (
    "client_order_id, rebalance_id, symbol, side, qty, reference_price, notional, "
    "current_weight, target_weight"
)
_ORDER_STATE = (
    "broker_order_id",
    "rebalance_id",
    "symbol",
    "side",
    "qty",
    "status",
    "filled_qty",
    "filled_avg_price",
    "submitted_at",
    "filled_at",
)


class LedgerError(Exception):
    """The ledger cannot be reached or used (messages never contain a password)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def redact_uri(uri: str) -> str:
    """``uri`` with its password (in the user part or a ``password=`` parameter) as ``***``."""
    parts = urlsplit(uri)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostinfo}"
    query = urlencode([(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class _Cursor:
    """An open transaction; SQL uses ``?`` placeholders whatever the backend."""

    def __init__(self, conn: Any, placeholder: str) -> None:
        self._conn = conn
        self._placeholder = placeholder

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        if "%" in sql:
            raise ValueError("ledger SQL must not contain '%' (psycopg placeholder syntax)")
        return self._conn.execute(sql.replace("?", self._placeholder), list(params))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self._run(sql, row)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._run(sql, params).fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._run(sql, params).fetchone()
        return None if row is None else tuple(row)

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        result = self._run(sql, params)
        columns = [d[0] for d in result.description]
        df = pd.DataFrame([tuple(r) for r in result.fetchall()], columns=columns)
        for col in df.columns:
            if isinstance(df[col].dtype, pd.DatetimeTZDtype):
                df[col] = df[col].dt.tz_convert("UTC")
        return df


@dataclass(frozen=True)
class _Database:
    """How to open a connection to one backend, and its placeholder and migration lock.

    One connection is opened on first use and reused for every transaction (opening one
    costs ~10 ms, which dominated a rebalance of a hundred orders); :meth:`close` releases it
    (for DuckDB that also releases the file to other processes).
    """

    description: str
    open: Callable[[], Any]
    placeholder: str
    preamble: tuple[str, ...] = ()
    _cache: list[Any] = field(default_factory=list, compare=False, repr=False)

    def _connection(self) -> Any:
        if self._cache and not getattr(self._cache[0], "closed", False):
            return self._cache[0]
        self._cache[:] = [self.open()]
        return self._cache[0]

    def close(self) -> None:
        while self._cache:
            with contextlib.suppress(Exception):
                self._cache.pop().close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        conn = self._connection()
        try:
            conn.execute("BEGIN TRANSACTION")
            yield _Cursor(conn, self.placeholder)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise


def _duckdb_database(path: Path) -> _Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    return _Database(f"duckdb:{path}", lambda: duckdb.connect(str(path)), "?")


def _postgres_database(uri: str, schema: str | None) -> _Database:
    redacted = redact_uri(uri)
    password = urlsplit(uri).password
    kwargs: dict[str, Any] = {"autocommit": True}
    preamble = [_PG_MIGRATION_LOCK]
    if schema is not None:
        if not _IDENTIFIER.match(schema):
            raise ValueError(f"schema {schema!r} is not a plain SQL identifier")
        kwargs["options"] = f"-c search_path={schema}"
        preamble.append(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')

    def open_connection() -> psycopg.Connection:
        try:
            return psycopg.connect(uri, **kwargs)
        except psycopg.Error as exc:
            message = str(exc).replace(password, "***") if password else str(exc)
            raise LedgerError(f"cannot connect to the ledger at {redacted}: {message}") from None

    suffix = f" (schema {schema})" if schema else ""
    return _Database(redacted + suffix, open_connection, "%s", tuple(preamble))


@dataclass(frozen=True)
class TradingStateRecord:
    """The kill switch's state, why it was set, and when (UTC)."""

    state: TradingState
    reason: str
    updated_at: datetime


def _utc(moment: datetime) -> datetime:
    """``moment`` as a plain UTC datetime; a naive datetime is taken to be UTC already."""
    if isinstance(moment, pd.Timestamp):
        moment = moment.to_pydatetime()
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _day_start(day: date) -> datetime:
    """00:00 UTC of ``day``: the time stamp end-of-day snapshots are stored under."""
    day = as_date(day)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _finite(value: float, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return number


class Ledger:
    """Record of what the pipeline planned and what the broker did. Build with
    :meth:`Ledger.connect`; the schema is migrated on connect."""

    def __init__(self, database: _Database, clock: Callable[[], datetime] = _utcnow) -> None:
        self._db = database
        self._clock = clock
        apply_migrations(self._db.transaction, self._db.preamble)

    @classmethod
    def connect(
        cls,
        target: str | Path | Secret,
        schema: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> Ledger:
        """Open (creating and migrating if needed) the ledger at ``target``.

        ``target``: a DuckDB file path, or a ``postgresql://`` URI (optionally a
        :class:`~pas_pipeline.config.Secret`); ``schema`` (PostgreSQL only): use, and create
        if missing, this schema instead of the URI's ``search_path``.
        """
        text = target.value if isinstance(target, Secret) else target
        if isinstance(text, str) and text.startswith(_PG_SCHEMES):
            return cls(_postgres_database(text, schema), clock)
        if isinstance(text, str) and "://" in text:
            raise ValueError(f"unsupported ledger URI {redact_uri(text)}: use postgresql://")
        if schema is not None:
            raise ValueError("schema is only supported for PostgreSQL ledgers")
        return cls(_duckdb_database(Path(text)), clock)

    def __repr__(self) -> str:
        return f"Ledger({self._db.description})"

    def close(self) -> None:
        """Release the connection (a later call opens a new one)."""
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def backend(self) -> str:
        """``"duckdb"`` or ``"postgres"``."""
        return "duckdb" if self._db.placeholder == "?" else "postgres"

    # -- writers ---------------------------------------------------------------------------

    def record_rebalance(
        self,
        rebalance_id: str,
        as_of_date: date | str,
        strategies: Iterable[str],
        config_hash: str,
        input_partitions: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert or update the rebalance row (``created_at`` is kept from the first call).

        ``strategies`` are stored as a sorted JSON list, ``input_partitions`` (e.g. asset key
        → partition key) as canonical JSON.
        """
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO rebalances (rebalance_id, as_of_date, strategies, config_hash, "
                "input_partitions, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (rebalance_id) DO UPDATE SET as_of_date = EXCLUDED.as_of_date, "
                "strategies = EXCLUDED.strategies, config_hash = EXCLUDED.config_hash, "
                "input_partitions = EXCLUDED.input_partitions",
                [
                    rebalance_id,
                    as_date(as_of_date),
                    canonical_json(sorted(set(strategies))),
                    config_hash,
                    canonical_json(dict(input_partitions or {})),
                    self._clock(),
                ],
            )

    def record_plan(self, rebalance_id: str, orders: Sequence[PlannedOrder]) -> None:
        """Store the planned orders of ``rebalance_id``.

        An order whose ``client_order_id`` is already recorded keeps its first recorded values
        (that order may already be at the broker as first planned); new ids are added.
        """
        ids = [o.client_order_id for o in orders]
        if len(set(ids)) != len(ids):
            raise ValueError(f"plan of {rebalance_id} repeats client order ids")
        foreign = sorted({o.rebalance_id for o in orders} - {rebalance_id})
        if foreign:
            raise ValueError(f"plan of {rebalance_id} contains orders of {foreign}")
        now = self._clock()
        with self._db.transaction() as tx:
            tx.executemany(
                f"INSERT INTO order_plans ({_PLAN_COLUMNS}, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_order_id) DO NOTHING",
                [
                    [
                        o.client_order_id,
                        o.rebalance_id,
                        o.symbol,
                        o.side,
                        o.qty,
                        o.reference_price,
                        o.notional,
                        o.current_weight,
                        o.target_weight,
                        now,
                    ]
                    for o in orders
                ],
            )

    def record_order(
        self, order: BrokerOrder, rebalance_id: str | None = None, detail: str | None = None
    ) -> bool:
        """Insert or update the broker's view of an order, and its fill once it can fill no
        further; returns False when nothing changed.

        ``rebalance_id`` defaults to the one already stored, else to the plan's. A change adds
        an ``order_events`` row (``detail`` or the filled quantity).

        Fill rule: when the order is terminal (``TERMINAL_STATUSES``) with ``filled_qty`` > 0,
        completely or partially filled, one ``fills`` row of exactly ``filled_qty`` shares at
        ``filled_avg_price`` is added (time: ``filled_at``, else the broker's ``updated_at``,
        else ``submitted_at``; see ``BrokerOrder.final_fill``), in the same transaction as the
        order. At most one such row per order: an order that already has a fill row gets no
        other, so seeing the same terminal order again (a retried step, a re-run, a later
        reconciliation, even with a different time stamp) adds nothing. A non-terminal order
        (``partially_filled``, ``accepted``, …) gets no fill row yet.
        """
        submitted_at = _utc(order.submitted_at)
        filled_at = None if order.filled_at is None else _utc(order.filled_at)
        now = self._clock()
        with self._db.transaction() as tx:
            cols = ", ".join(_ORDER_STATE)
            row = tx.fetchone(
                f"SELECT {cols} FROM orders WHERE client_order_id = ?", [order.client_order_id]
            )
            if rebalance_id is None:
                rebalance_id = row[1] if row else self._planned_rebalance(tx, order)
            state = (
                order.broker_order_id,
                rebalance_id,
                order.symbol,
                order.side,
                order.qty,
                str(order.status),
                order.filled_qty,
                order.filled_avg_price,
                submitted_at,
                filled_at,
            )
            changed = row != state
            if changed:
                if row is not None and row[2:4] != state[2:4]:
                    raise ValueError(
                        f"{order.client_order_id}: recorded as {row[2:4]}, broker says {state[2:4]}"
                    )
                tx.execute("DELETE FROM orders WHERE client_order_id = ?", [order.client_order_id])
                tx.execute(
                    f"INSERT INTO orders (client_order_id, {cols}, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [order.client_order_id, *state, now],
                )
                self._event(
                    tx,
                    order.client_order_id,
                    str(order.status),
                    detail or f"filled_qty={order.filled_qty!r}",
                    now,
                )
            filled = self._record_final_fill(tx, order)
        return changed or filled

    @staticmethod
    def _record_final_fill(tx: _Cursor, order: BrokerOrder) -> bool:
        """Add the fill of a terminal order unless the order has a fill row; True if added."""
        fill = order.final_fill
        if fill is None:
            return False
        qty, price, moment = fill
        qty, price = _finite(qty, "fill qty"), _finite(price, "fill price")
        if tx.fetchone("SELECT 1 FROM fills WHERE client_order_id = ?", [order.client_order_id]):
            return False
        tx.execute(
            "INSERT INTO fills (client_order_id, qty, price, filled_at) VALUES (?, ?, ?, ?)",
            [order.client_order_id, qty, price, _utc(moment)],
        )
        return True

    @staticmethod
    def _planned_rebalance(tx: _Cursor, order: BrokerOrder) -> str | None:
        row = tx.fetchone(
            "SELECT rebalance_id FROM order_plans WHERE client_order_id = ?",
            [order.client_order_id],
        )
        return None if row is None else row[0]

    @staticmethod
    def _event(
        tx: _Cursor, client_order_id: str, status: str, detail: str | None, at: datetime
    ) -> None:
        tx.execute(
            'INSERT INTO order_events (client_order_id, status, "at", detail) VALUES (?, ?, ?, ?)',
            [client_order_id, status, at, detail],
        )

    def record_event(self, client_order_id: str, status: str, detail: str | None = None) -> None:
        """Append an event for an order, e.g. ``submit_failed`` with the error message."""
        with self._db.transaction() as tx:
            self._event(tx, client_order_id, status, detail, self._clock())

    def record_fill(
        self, client_order_id: str, qty: float, price: float, filled_at: datetime
    ) -> None:
        """Record ``qty`` shares filled at ``price`` USD; the same (order, time) is kept once."""
        qty, price = _finite(qty, "fill qty"), _finite(price, "fill price")
        if qty <= 0 or price <= 0:
            raise ValueError(f"{client_order_id}: fill qty and price must be > 0")
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO fills (client_order_id, qty, price, filled_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (client_order_id, filled_at) DO NOTHING",
                [client_order_id, qty, price, _utc(filled_at)],
            )

    def snapshot_positions(
        self,
        as_of: datetime,
        positions: Mapping[str, Position],
        source: str,
        prices: Mapping[str, float] | None = None,
    ) -> None:
        """Replace the snapshot (``as_of``, ``source``) with ``positions``.

        ``price`` is ``prices[symbol]`` when given, else market value / qty.
        """
        rows = self._position_rows(_utc(as_of), positions, source, prices)
        with self._db.transaction() as tx:
            self._replace_positions(tx, _utc(as_of), source, rows)

    def snapshot_end_of_day(
        self,
        day: date,
        cash: float,
        positions: Mapping[str, Position],
        closes: Mapping[str, float],
        source: str = "eod",
    ) -> None:
        """Replace the end-of-day snapshot of ``day`` (stored at 00:00 UTC of that date):
        ``positions`` marked at ``closes`` (USD per share; a symbol without a close keeps the
        broker's market value) and the account's ``cash``; ``equity`` = cash + Σ values.
        One transaction, so positions and cash of a day always belong together."""
        as_of = _day_start(day)
        marked = {
            symbol: Position(
                symbol,
                pos.qty,
                pos.avg_entry_price,
                pos.qty * float(closes[symbol]) if symbol in closes else pos.market_value,
            )
            for symbol, pos in positions.items()
        }
        marks = {s: p.market_value / p.qty for s, p in marked.items() if p.qty}
        rows = self._position_rows(as_of, marked, source, {**marks, **closes})
        equity = _finite(cash, "cash") + sum(row[5] for row in rows)
        with self._db.transaction() as tx:
            self._replace_positions(tx, as_of, source, rows)
            tx.execute(
                "DELETE FROM account_snapshots WHERE as_of = ? AND source = ?", [as_of, source]
            )
            tx.execute(
                "INSERT INTO account_snapshots (as_of, source, cash, equity) VALUES (?, ?, ?, ?)",
                [as_of, source, float(cash), _finite(equity, "equity")],
            )

    @staticmethod
    def _replace_positions(tx: _Cursor, as_of: datetime, source: str, rows: list[list]) -> None:
        tx.execute("DELETE FROM position_snapshots WHERE as_of = ? AND source = ?", [as_of, source])
        tx.executemany(
            "INSERT INTO position_snapshots (as_of, source, symbol, qty, price, "
            "market_value) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    @staticmethod
    def _position_rows(
        as_of: datetime,
        positions: Mapping[str, Position],
        source: str,
        prices: Mapping[str, float] | None,
    ) -> list[list]:
        rows = []
        for symbol, pos in sorted(positions.items()):
            price = (
                prices.get(symbol)
                if prices is not None
                else (pos.market_value / pos.qty if pos.qty else None)
            )
            rows.append(
                [
                    as_of,
                    source,
                    symbol,
                    _finite(pos.qty, f"{symbol} qty"),
                    None if price is None else _finite(price, f"{symbol} price"),
                    _finite(pos.market_value, f"{symbol} market value"),
                ]
            )
        return rows

    def record_sleeve_books(
        self, rebalance_id: str, books: Mapping[str, Mapping[str, float] | pd.Series]
    ) -> None:
        """Replace the sleeve books of ``rebalance_id``: sleeve → (symbol → weight)."""
        rows = [
            [rebalance_id, sleeve, str(symbol), _finite(w, f"{sleeve}/{symbol} weight")]
            for sleeve, book in sorted(books.items())
            for symbol, w in dict(book).items()
        ]
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM sleeve_books WHERE rebalance_id = ?", [rebalance_id])
            tx.executemany(
                "INSERT INTO sleeve_books (rebalance_id, sleeve, symbol, weight) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    def record_alert(self, alert: Alert) -> bool:
        """Store ``alert`` once (by its id); True when it is new."""
        with self._db.transaction() as tx:
            known = tx.fetchone("SELECT 1 FROM alerts WHERE alert_id = ?", [alert.alert_id])
            if known:
                return False
            tx.execute(
                "INSERT INTO alerts (alert_id, kind, subject, severity, message, raised_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    alert.alert_id,
                    alert.kind,
                    alert.subject,
                    alert.severity,
                    alert.message,
                    self._clock(),
                ],
            )
        return True

    def mark_alert_delivered(self, alert_id: str) -> None:
        """Note that the webhook accepted the alert ``alert_id``."""
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE alerts SET delivered_at = ? WHERE alert_id = ?", [self._clock(), alert_id]
            )

    def alerts(self, undelivered_only: bool = False) -> pd.DataFrame:
        """Recorded alerts, oldest first (only those the webhook has not accepted yet when
        ``undelivered_only``)."""
        where = " WHERE delivered_at IS NULL" if undelivered_only else ""
        return self._frame(
            "SELECT alert_id, kind, subject, severity, message, raised_at, delivered_at "
            f"FROM alerts{where} ORDER BY raised_at, alert_id"
        )

    def set_trading_state(self, state: TradingState | str, reason: str) -> None:
        """Set the kill switch (ACTIVE, REDUCE_ONLY or HALTED) with a non-empty reason."""
        checked = TradingState(state)
        if not reason or not reason.strip():
            raise ValueError("a reason is required to change the trading state")
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE trading_state SET state = ?, reason = ?, updated_at = ? WHERE id = 1",
                [checked.value, reason, self._clock()],
            )

    # -- readers ---------------------------------------------------------------------------

    def _frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        with self._db.transaction() as tx:
            return tx.frame(sql, params)

    def schema_version(self) -> int:
        """Highest applied migration version."""
        with self._db.transaction() as tx:
            row = tx.fetchone("SELECT MAX(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0

    def get_trading_state(self) -> TradingState:
        """The current kill-switch state (``TradingState.ACTIVE`` on a new ledger)."""
        return self.trading_state_detail().state

    def trading_state_detail(self) -> TradingStateRecord:
        """State, reason and time of the last change."""
        with self._db.transaction() as tx:
            row = tx.fetchone("SELECT state, reason, updated_at FROM trading_state WHERE id = 1")
        if row is None:
            raise LedgerError("trading_state row is missing; the ledger schema is damaged")
        return TradingStateRecord(TradingState(row[0]), row[1], row[2])

    def get_rebalance(self, rebalance_id: str) -> dict[str, Any] | None:
        """The rebalance row (strategies and input partitions decoded), or None."""
        df = self._frame("SELECT * FROM rebalances WHERE rebalance_id = ?", [rebalance_id])
        if df.empty:
            return None
        record = df.iloc[0].to_dict()
        record["strategies"] = json.loads(record["strategies"])
        record["input_partitions"] = json.loads(record["input_partitions"])
        return record

    def rebalances_on(self, day: date) -> list[str]:
        """Ids of the rebalances dated ``day`` (the target date they traded), oldest first."""
        with self._db.transaction() as tx:
            rows = tx.fetchall(
                "SELECT rebalance_id FROM rebalances WHERE as_of_date = ? "
                "ORDER BY created_at, rebalance_id",
                [as_date(day)],
            )
        return [str(row[0]) for row in rows]

    def plan_for(self, rebalance_id: str) -> list[PlannedOrder]:
        """Planned orders of ``rebalance_id``: sells then buys, each by symbol."""
        with self._db.transaction() as tx:
            rows = tx.fetchall(
                f"SELECT {_PLAN_COLUMNS} FROM order_plans WHERE rebalance_id = ? "
                "ORDER BY CASE side WHEN 'sell' THEN 0 ELSE 1 END, symbol",
                [rebalance_id],
            )
        return [PlannedOrder(*row) for row in rows]

    def orders_for(self, rebalance_id: str) -> pd.DataFrame:
        """Orders of ``rebalance_id`` as last seen at the broker, by client order id."""
        return self._frame(
            "SELECT * FROM orders WHERE rebalance_id = ? ORDER BY client_order_id", [rebalance_id]
        )

    def unfinished_orders(self) -> pd.DataFrame:
        """Orders whose last known status is not terminal (``client_order_id``,
        ``rebalance_id``, ``status``): what a later look-up at the broker must refresh."""
        return self._frame(
            "SELECT client_order_id, rebalance_id, status FROM orders "
            f"WHERE status NOT IN ({_TERMINAL_MARKS}) ORDER BY client_order_id",
            _TERMINAL,
        )

    def partially_filled_orders(self, since: datetime) -> pd.DataFrame:
        """Orders that ended (terminal status) with only part of their shares filled, last
        recorded in the ledger at or after ``since``: ``client_order_id``, ``symbol``,
        ``side``, ``qty``, ``filled_qty`` (shares), ``status``, ``updated_at``; oldest
        update first."""
        return self._frame(
            "SELECT client_order_id, symbol, side, qty, filled_qty, status, updated_at "
            f"FROM orders WHERE status IN ({_TERMINAL_MARKS}) AND filled_qty > 0 "
            "AND filled_qty < qty AND updated_at >= ? ORDER BY updated_at, client_order_id",
            [*_TERMINAL, since],
        )

    def traded_notional_on(self, day: date, excluding_rebalance: str | None = None) -> float:
        """Planned notional (USD) of the orders that reached the broker for the rebalances
        dated ``day``, other than ``excluding_rebalance``: what today's turnover limit must
        count besides the plan at hand."""
        row = None
        with self._db.transaction() as tx:
            row = tx.fetchone(
                "SELECT COALESCE(SUM(p.notional), 0) FROM order_plans p "
                "JOIN orders o ON o.client_order_id = p.client_order_id "
                "JOIN rebalances r ON r.rebalance_id = p.rebalance_id "
                "WHERE r.as_of_date = ? AND r.rebalance_id <> ?",
                [as_date(day), excluding_rebalance or ""],
            )
        return float(row[0]) if row else 0.0

    def fills_for(self, rebalance_id: str) -> pd.DataFrame:
        """Fills of the orders of ``rebalance_id`` (qty shares, price USD), by order and time."""
        return self._frame(
            "SELECT f.client_order_id, o.symbol, o.side, f.qty, f.price, "
            "f.filled_at FROM fills f JOIN orders o "
            "ON o.client_order_id = f.client_order_id WHERE o.rebalance_id = ? "
            "ORDER BY f.client_order_id, f.filled_at",
            [rebalance_id],
        )

    def order_events_for(self, client_order_id: str) -> pd.DataFrame:
        """Status changes of one order, oldest first."""
        return self._frame(
            'SELECT client_order_id, status, "at", detail FROM order_events '
            'WHERE client_order_id = ? ORDER BY "at"',
            [client_order_id],
        )

    def position_snapshot(self, as_of: datetime, source: str) -> pd.DataFrame:
        """The positions recorded for (``as_of``, ``source``), by symbol."""
        return self._frame(
            "SELECT symbol, qty, price, market_value FROM position_snapshots "
            "WHERE as_of = ? AND source = ? ORDER BY symbol",
            [_utc(as_of), source],
        )

    def end_of_day_history(
        self, before: date | None = None, source: str = "eod"
    ) -> tuple[pd.DataFrame, pd.Series]:
        """End-of-day snapshots dated before ``before`` (all when None): the positions
        (``as_of``, ``symbol``, ``qty``, ``price``, ``market_value``) and the cash (USD,
        indexed by ``as_of``), in the shape :func:`~pas_pipeline.execution.performance.
        realised_performance` takes."""
        limit = "" if before is None else " AND as_of < ?"
        params: list[Any] = [source] if before is None else [source, _day_start(before)]
        positions = self._frame(
            "SELECT as_of, symbol, qty, price, market_value FROM position_snapshots "
            f"WHERE source = ?{limit} ORDER BY as_of, symbol",
            params,
        )
        accounts = self._frame(
            f"SELECT as_of, cash FROM account_snapshots WHERE source = ?{limit} ORDER BY as_of",
            params,
        )
        cash = pd.Series(
            accounts["cash"].to_numpy(dtype=float),
            index=pd.DatetimeIndex(pd.to_datetime(accounts["as_of"], utc=True), name="as_of"),
            name="cash",
        )
        return positions, cash

    def sleeve_book_history(self, before: date | None = None) -> pd.DataFrame:
        """Sleeve books (``rebalance_id``, ``sleeve``, ``symbol``, ``weight``) of the
        rebalances dated before ``before`` (all when None); of several rebalances on one
        date only the one recorded last counts (it replaced the earlier decision)."""
        limit = "" if before is None else "WHERE as_of_date < ?"
        params = [] if before is None else [as_date(before)]
        return self._frame(
            "SELECT b.rebalance_id, b.sleeve, b.symbol, b.weight FROM sleeve_books b "
            "JOIN (SELECT rebalance_id, ROW_NUMBER() OVER (PARTITION BY as_of_date "
            f"ORDER BY created_at DESC, rebalance_id DESC) AS newest FROM rebalances {limit}) r "
            "ON r.rebalance_id = b.rebalance_id WHERE r.newest = 1 "
            "ORDER BY b.rebalance_id, b.sleeve, b.symbol",
            params,
        )

    def sleeve_books_for(self, rebalance_id: str) -> pd.DataFrame:
        """Sleeve weights of ``rebalance_id``, by sleeve and symbol."""
        return self._frame(
            "SELECT sleeve, symbol, weight FROM sleeve_books "
            "WHERE rebalance_id = ? ORDER BY sleeve, symbol",
            [rebalance_id],
        )
