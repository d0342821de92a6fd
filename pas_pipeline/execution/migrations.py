"""Versioned schema of the execution ledger, valid SQL for both DuckDB and PostgreSQL.

``MIGRATIONS`` is an append-only list of ``(version, statements)``: never edit a released
migration, add a new version. :func:`apply_migrations` runs, in one transaction, every
version not yet listed in ``schema_migrations(version, applied_at)``; running it again does
nothing. Only portable SQL is used here (``TEXT``, ``DOUBLE PRECISION``, ``DATE``,
``TIMESTAMPTZ``, primary keys, ``CHECK``); ``"at"`` is quoted because it is a DuckDB keyword.

Quantities are shares, prices and amounts USD, weights fractions of equity, timestamps UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            """CREATE TABLE rebalances (
            rebalance_id TEXT PRIMARY KEY,
            as_of_date DATE NOT NULL,
            strategies TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            input_partitions TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL)""",
            """CREATE TABLE order_plans (
            client_order_id TEXT PRIMARY KEY,
            rebalance_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
            qty DOUBLE PRECISION NOT NULL CHECK (qty > 0),
            reference_price DOUBLE PRECISION NOT NULL,
            notional DOUBLE PRECISION NOT NULL,
            current_weight DOUBLE PRECISION NOT NULL,
            target_weight DOUBLE PRECISION NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL)""",
            """CREATE TABLE orders (
            client_order_id TEXT PRIMARY KEY,
            broker_order_id TEXT NOT NULL,
            rebalance_id TEXT,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
            qty DOUBLE PRECISION NOT NULL,
            status TEXT NOT NULL,
            filled_qty DOUBLE PRECISION NOT NULL,
            filled_avg_price DOUBLE PRECISION,
            submitted_at TIMESTAMPTZ NOT NULL,
            filled_at TIMESTAMPTZ,
            updated_at TIMESTAMPTZ NOT NULL)""",
            """CREATE TABLE order_events (
            client_order_id TEXT NOT NULL,
            status TEXT NOT NULL,
            "at" TIMESTAMPTZ NOT NULL,
            detail TEXT)""",
            """CREATE TABLE fills (
            client_order_id TEXT NOT NULL,
            qty DOUBLE PRECISION NOT NULL CHECK (qty > 0),
            price DOUBLE PRECISION NOT NULL CHECK (price > 0),
            filled_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (client_order_id, filled_at))""",
            """CREATE TABLE position_snapshots (
            as_of TIMESTAMPTZ NOT NULL,
            source TEXT NOT NULL,
            symbol TEXT NOT NULL,
            qty DOUBLE PRECISION NOT NULL,
            price DOUBLE PRECISION,
            market_value DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (as_of, source, symbol))""",
            """CREATE TABLE sleeve_books (
            rebalance_id TEXT NOT NULL,
            sleeve TEXT NOT NULL,
            symbol TEXT NOT NULL,
            weight DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (rebalance_id, sleeve, symbol))""",
            """CREATE TABLE trading_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            state TEXT NOT NULL CHECK (state IN ('ACTIVE', 'REDUCE_ONLY', 'HALTED')),
            reason TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL)""",
            "INSERT INTO trading_state (id, state, reason, updated_at) "
            "VALUES (1, 'ACTIVE', 'initial state', CURRENT_TIMESTAMP)",
        ),
    ),
    (
        2,
        (
            # End-of-day account totals next to position_snapshots (source 'eod'): what
            # realised performance needs besides the positions.
            """CREATE TABLE account_snapshots (
            as_of TIMESTAMPTZ NOT NULL,
            source TEXT NOT NULL,
            cash DOUBLE PRECISION NOT NULL,
            equity DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (as_of, source))""",
        ),
    ),
    (
        3,
        (
            # Alerts raised by the sensors (pas_pipeline.alerts); delivered_at is set once the
            # webhook accepted one.
            """CREATE TABLE alerts (
            alert_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
            message TEXT NOT NULL,
            raised_at TIMESTAMPTZ NOT NULL,
            delivered_at TIMESTAMPTZ)""",
        ),
    ),
    (
        4,
        (
            # Partial fills: an order that ended (canceled, expired, replaced, rejected,
            # filled) with shares filled now has one fills row of its filled_qty at
            # filled_avg_price. Before, only completely filled orders got one, so add the
            # missing rows of orders already recorded as ended, at filled_at, else the time
            # the ledger recorded that state. No schema change; the statuses are spelled out
            # so that this migration never changes with the code.
            """INSERT INTO fills (client_order_id, qty, price, filled_at)
            SELECT o.client_order_id, o.filled_qty, o.filled_avg_price,
                COALESCE(o.filled_at, o.updated_at)
            FROM orders o
            WHERE o.status IN ('filled', 'canceled', 'expired', 'replaced', 'rejected')
                AND o.filled_qty > 0 AND o.filled_avg_price > 0
                AND NOT EXISTS (
                    SELECT 1 FROM fills f WHERE f.client_order_id = o.client_order_id)""",
        ),
    ),
]

_CREATE_VERSIONS = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL)"""


class Cursor(Protocol):
    """What a migration needs from a transaction: run a statement (``?`` placeholders)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def apply_migrations(
    transaction: Callable[[], AbstractContextManager[Cursor]],
    preamble: Sequence[str] = (),
) -> list[int]:
    """Apply the missing migrations in one transaction; returns the versions applied now.

    ``preamble`` statements run first in the same transaction (PostgreSQL: an advisory lock,
    so concurrent callers take turns and the second finds everything applied, and the
    creation of the target schema).
    """
    applied_now: list[int] = []
    with transaction() as tx:
        for statement in preamble:
            tx.execute(statement)
        tx.execute(_CREATE_VERSIONS)
        done = {version for (version,) in tx.fetchall("SELECT version FROM schema_migrations")}
        for version, statements in MIGRATIONS:
            if version in done:
                continue
            for statement in statements:
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                [version, datetime.now(UTC)],
            )
            applied_now.append(version)
    return applied_now
