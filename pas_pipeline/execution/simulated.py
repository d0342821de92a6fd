"""A simulated broker whose account lives in its own DuckDB file.

It fills every market order **immediately and completely at the order's
``reference_price``: no slippage, no fees, no partial fills, no market hours** (the price is
rounded to 9 decimals, the precision of its tables). For tests of partial fills, a
per-symbol ``fill_ratios`` (off by default) makes an order of that symbol fill only
``floor(qty × ratio)`` whole shares and end at once as ``expired`` (a DAY order at the end of
the day) with that ``filled_qty``; it is rejected, as any order, if the *whole* quantity
could not be afforded or sold. It behaves
like a long-only cash account: selling more than is held, or buying for more than the cash
available, is rejected with :class:`BrokerError` (Alpaca's 403 ``insufficient qty`` /
``insufficient buying power``) and changes nothing. A reused client order id raises
:class:`DuplicateClientOrderIdError` and changes nothing.

State (tables ``sim_account``, ``sim_positions``, ``sim_orders``) is created on first use and
survives restarts; each call opens and closes its own connection so that separate processes
can take turns on the file (DuckDB allows one writing process at a time), and each submit is
one transaction. Amounts are stored as ``DECIMAL(38, 9)`` and computed with
:class:`decimal.Decimal`, so selling a whole position leaves exactly 0 shares.
Equity = cash + Σ qty × last price, where the last price is the last fill price of the
symbol or the price given to :meth:`SimulatedBroker.mark_to_market`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import duckdb

from pas_pipeline.execution.broker import BrokerError, DuplicateClientOrderIdError
from pas_pipeline.execution.model import Account, BrokerOrder, OrderStatus, PlannedOrder, Position

QTY_DECIMALS = 9
_QUANTUM = Decimal(1).scaleb(-QTY_DECIMALS)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sim_account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        cash DECIMAL(38, 9) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sim_positions (
        symbol VARCHAR PRIMARY KEY,
        qty DECIMAL(38, 9) NOT NULL,
        avg_entry_price DECIMAL(38, 9) NOT NULL,
        last_price DECIMAL(38, 9) NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sim_orders (
        client_order_id VARCHAR PRIMARY KEY,
        broker_order_id VARCHAR NOT NULL,
        symbol VARCHAR NOT NULL,
        side VARCHAR NOT NULL,
        qty DECIMAL(38, 9) NOT NULL,
        status VARCHAR NOT NULL,
        filled_qty DECIMAL(38, 9) NOT NULL,
        filled_avg_price DECIMAL(38, 9),
        submitted_at TIMESTAMPTZ NOT NULL,
        filled_at TIMESTAMPTZ)""",
)
_ORDER_COLUMNS = (
    "client_order_id, broker_order_id, symbol, side, qty, status, filled_qty, "
    "filled_avg_price, submitted_at, filled_at"
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _amount(value: float, what: str, max_decimals: int | None = None) -> Decimal:
    """``value`` as an exact Decimal (shortest repr); BrokerError unless finite and > 0."""
    if not math.isfinite(value) or value <= 0:
        raise BrokerError(f"{what} must be a positive finite number, got {value!r}")
    exact = Decimal(repr(float(value)))
    if max_decimals is not None and exact != exact.quantize(Decimal(1).scaleb(-max_decimals)):
        raise BrokerError(f"{what} {value!r} has more than {max_decimals} decimals")
    return exact


def _to_order(row: tuple) -> BrokerOrder:
    cid, bid, symbol, side, qty, status, filled_qty, avg_price, submitted_at, filled_at = row
    return BrokerOrder(
        client_order_id=cid,
        broker_order_id=bid,
        symbol=symbol,
        side=side,
        qty=float(qty),
        status=status,
        filled_qty=float(filled_qty),
        filled_avg_price=None if avg_price is None else float(avg_price),
        submitted_at=submitted_at,
        filled_at=filled_at,
    )


class SimulatedBroker:
    """A paper account in a DuckDB file at ``path``, opened with ``initial_cash`` USD the
    first time the file is created (later instances keep the stored balance)."""

    def __init__(
        self,
        path: Path | str,
        initial_cash: float = 1_000_000.0,
        clock: Callable[[], datetime] = _utcnow,
        fill_ratios: Mapping[str, float] | None = None,
    ) -> None:
        self._path = Path(path)
        self._clock = clock
        self._fill_ratios: dict[str, Decimal] = {}
        for symbol, ratio in (fill_ratios or {}).items():
            exact = Decimal(repr(float(ratio)))
            if not exact.is_finite() or not 0 <= exact <= 1:
                raise ValueError(f"fill ratio of {symbol} must be in [0, 1], got {ratio!r}")
            self._fill_ratios[symbol] = exact
        self._conn: duckdb.DuckDBPyConnection | None = None
        cash = Decimal(repr(float(initial_cash)))
        if not cash.is_finite() or cash < 0:
            raise ValueError(f"initial_cash must be finite and >= 0, got {initial_cash!r}")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO sim_account VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
                [cash, self._clock()],
            )

    def __repr__(self) -> str:
        return f"SimulatedBroker(path={str(self._path)!r})"

    @property
    def is_paper(self) -> bool:
        """Always True: no real money."""
        return True

    def is_market_open(self) -> bool:
        """Always True: the simulated broker fills at the reference price whenever asked."""
        return True

    def __enter__(self) -> SimulatedBroker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the DuckDB file to other processes (a later call opens it again); the
        broker holds it from its first call, since opening costs ~10 ms per call."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._conn is None:  # opened once: a connection costs ~10 ms
            self._conn = duckdb.connect(str(self._path))
        conn = self._conn
        try:
            conn.begin()
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def get_account(self) -> Account:
        """Cash and equity (cash + Σ qty × last price), USD."""
        with self._transaction() as conn:
            (cash,) = conn.execute("SELECT cash FROM sim_account WHERE id = 1").fetchone()
            (value,) = conn.execute(
                "SELECT COALESCE(SUM(qty * last_price), 0) FROM sim_positions"
            ).fetchone()
        return Account(equity=float(cash + value), cash=float(cash))

    def get_positions(self) -> dict[str, Position]:
        """Held symbols → Position, market value at the last price."""
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT symbol, qty, avg_entry_price, qty * last_price "
                "FROM sim_positions ORDER BY symbol"
            ).fetchall()
        return {s: Position(s, float(q), float(p), float(v)) for s, q, p, v in rows}

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        """The order with this client order id, or None."""
        with self._transaction() as conn:
            row = conn.execute(
                f"SELECT {_ORDER_COLUMNS} FROM sim_orders WHERE client_order_id = ?",
                [client_order_id],
            ).fetchone()
        return None if row is None else _to_order(row)

    def list_orders(self, client_order_id_prefix: str | None = None) -> list[BrokerOrder]:
        """All orders, oldest first, optionally only client ids starting with the prefix."""
        with self._transaction() as conn:
            rows = conn.execute(
                f"SELECT {_ORDER_COLUMNS} FROM sim_orders "
                "WHERE ? IS NULL OR starts_with(client_order_id, ?) "
                "ORDER BY submitted_at, client_order_id",
                [client_order_id_prefix, client_order_id_prefix],
            ).fetchall()
        return [_to_order(row) for row in rows]

    def mark_to_market(self, prices: Mapping[str, float]) -> None:
        """Set the last price (USD) of held symbols; symbols not held are ignored."""
        marks = [(_amount(p, f"price of {s}"), s) for s, p in dict(prices).items()]
        with self._transaction() as conn:
            conn.executemany("UPDATE sim_positions SET last_price = ? WHERE symbol = ?", marks)

    def _filled_part(self, symbol: str, qty: Decimal) -> Decimal:
        """Shares of an order for ``qty`` that fill: all, or ``floor(qty × ratio)``."""
        ratio = self._fill_ratios.get(symbol)
        if ratio is None:
            return qty
        return min(qty, (qty * ratio).to_integral_value(rounding=ROUND_FLOOR))

    def submit_order(self, order: PlannedOrder) -> BrokerOrder:
        """Fill ``order`` at once at ``order.reference_price``, completely (or the part its
        symbol's fill ratio allows, then ``expired``); one transaction."""
        qty = _amount(order.qty, f"{order.symbol} qty", max_decimals=QTY_DECIMALS)
        price = _amount(order.reference_price, f"{order.symbol} reference_price").quantize(_QUANTUM)
        part = self._filled_part(order.symbol, qty)
        now = self._clock()
        complete = part == qty
        filled = BrokerOrder(
            client_order_id=order.client_order_id,
            broker_order_id=str(uuid.uuid4()),
            symbol=order.symbol,
            side=order.side,
            qty=float(qty),
            status=(OrderStatus.FILLED if complete else OrderStatus.EXPIRED).value,
            filled_qty=float(part),
            filled_avg_price=float(price) if part > 0 else None,
            submitted_at=now,
            filled_at=now if part > 0 else None,
        )
        try:
            with self._transaction() as conn:
                if conn.execute(
                    "SELECT 1 FROM sim_orders WHERE client_order_id = ?", [order.client_order_id]
                ).fetchone():
                    raise DuplicateClientOrderIdError(order.client_order_id)
                self._apply_fill(conn, order.symbol, order.side, qty, price, part)
                conn.execute(
                    f"INSERT INTO sim_orders ({_ORDER_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        filled.client_order_id,
                        filled.broker_order_id,
                        filled.symbol,
                        filled.side,
                        qty,
                        filled.status,
                        part,
                        price if part > 0 else None,
                        now,
                        filled.filled_at,
                    ],
                )
        except duckdb.ConstraintException as exc:  # a concurrent submit of the same id won
            raise DuplicateClientOrderIdError(order.client_order_id) from exc
        return filled

    @staticmethod
    def _apply_fill(
        conn: duckdb.DuckDBPyConnection,
        symbol: str,
        side: str,
        ordered: Decimal,
        price: Decimal,
        qty: Decimal,
    ) -> None:
        """Check that the ``ordered`` shares could be sold / paid for, then fill ``qty``."""
        (cash,) = conn.execute("SELECT cash FROM sim_account WHERE id = 1").fetchone()
        row = conn.execute(
            "SELECT qty, avg_entry_price FROM sim_positions WHERE symbol = ?", [symbol]
        ).fetchone()
        held, avg = row if row else (Decimal(0), Decimal(0))
        needed = (ordered * price).quantize(_QUANTUM)
        cost = (qty * price).quantize(_QUANTUM)
        if side == "sell" and ordered > held:
            raise BrokerError(
                f"insufficient qty available for order "
                f"(requested: {ordered}, available: {held}) for {symbol}"
            )
        if side == "buy" and needed > cash:
            raise BrokerError(f"insufficient buying power: {symbol} costs {needed}, cash is {cash}")
        if qty == 0:  # nothing filled: nothing changes, not even the last price
            return
        if side == "sell":
            new_qty, new_avg, new_cash = held - qty, avg, cash + cost
        else:
            new_qty, new_cash = held + qty, cash - cost
            new_avg = ((held * avg + qty * price) / new_qty).quantize(_QUANTUM)
        conn.execute("UPDATE sim_account SET cash = ? WHERE id = 1", [new_cash])
        conn.execute("DELETE FROM sim_positions WHERE symbol = ?", [symbol])
        if new_qty > 0:
            conn.execute(
                "INSERT INTO sim_positions VALUES (?, ?, ?, ?)", [symbol, new_qty, new_avg, price]
            )
