"""Reconciliation: does the broker hold what the ledger says the pipeline traded?

Pure functions (no Dagster):

* :func:`ledger_fills` reads every fill in a :class:`~pas_pipeline.execution.ledger.Ledger`
  with the symbol and side of its order;
* :func:`ledger_positions` turns fills into signed net shares per symbol (buy +, sell −);
* :func:`reconcile` compares the broker's positions with those expected shares and returns a
  :class:`ReconciliationReport` naming every symbol whose quantities differ;
* :func:`poll_until_terminal` follows orders at the broker until they can no longer fill;
  :func:`refresh_order_states` also records what it saw.

Units: shares. Fill rule (``Ledger.record_order``): an order gets one fill row once it is
seen in a terminal status (``filled``, ``canceled``, ``expired``, ``replaced``,
``rejected``) with ``filled_qty`` > 0, whether it filled completely or only partly: exactly
``filled_qty`` shares at ``filled_avg_price``, at ``filled_at`` (else the broker's last
update, else the submission time). Seeing it again adds nothing. An order still open, also
one ``partially_filled``, has no fill row yet, so its shares already bought or sold show up
as a mismatch until it ends and is refreshed (:func:`refresh_order_states`, which the
reconciliation runs on every order the ledger holds as unfinished, records it then). A
position the account held before the ledger existed is a mismatch too: pass the opening
positions to :func:`ledger_positions`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from pas_pipeline.execution.broker import Broker
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import TERMINAL_STATUSES, BrokerOrder, Position
from pas_pipeline.execution.submit import record_broker_order

FILL_COLUMNS = ("client_order_id", "symbol", "side", "qty", "price", "filled_at")
MISMATCH_COLUMNS = ("symbol", "broker_qty", "ledger_qty", "difference")


def ledger_fills(ledger: Ledger) -> pd.DataFrame:
    """Every fill recorded in ``ledger`` with its order's symbol and side.

    Columns :data:`FILL_COLUMNS` (``qty`` shares > 0, ``price`` USD, ``filled_at`` UTC),
    oldest first. Unlike ``Ledger.fills_for`` this is not limited to one rebalance, so it
    also covers orders recorded without a rebalance id. The Ledger has no public reader for
    all fills, so this uses its ``_frame`` query helper (read-only).
    """
    return ledger._frame(
        "SELECT f.client_order_id, o.symbol, o.side, f.qty, f.price, f.filled_at "
        "FROM fills f JOIN orders o ON o.client_order_id = f.client_order_id "
        "ORDER BY f.filled_at, f.client_order_id"
    )


def _shares(value: object) -> Decimal:
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"quantity must be finite, got {value!r}")
    return Decimal(repr(number))


def ledger_positions(fills: pd.DataFrame, opening: pd.Series | None = None) -> pd.Series:
    """Signed net shares per symbol: ``opening`` + Σ buys − Σ sells of ``fills``.

    ``fills`` needs columns ``symbol``, ``side`` (``"buy"``/``"sell"``) and ``qty`` (shares
    > 0), e.g. from :func:`ledger_fills` or ``Ledger.fills_for``. ``opening`` (symbol →
    shares) is what was held before the first fill, if anything. The sums are exact
    (decimal arithmetic on each quantity's shortest form), so buying 0.1 + 0.2 and selling
    0.3 gives exactly 0. Returns a float Series indexed by symbol (sorted, named ``qty``),
    including symbols whose net is 0.
    """
    missing = {"symbol", "side", "qty"} - set(fills.columns)
    if missing:
        raise ValueError(f"fills lack columns {sorted(missing)}")
    totals: dict[str, Decimal] = {}
    if opening is not None:
        if opening.index.has_duplicates:
            raise ValueError("opening positions repeat a symbol")
        for symbol, qty in opening.items():
            totals[str(symbol)] = _shares(qty)
    for symbol, side, qty in zip(fills["symbol"], fills["side"], fills["qty"], strict=True):
        if side not in ("buy", "sell"):
            raise ValueError(f"{symbol}: fill side must be 'buy' or 'sell', got {side!r}")
        signed = _shares(qty) if side == "buy" else -_shares(qty)
        totals[str(symbol)] = totals.get(str(symbol), Decimal(0)) + signed
    return pd.Series(
        {symbol: float(totals[symbol]) for symbol in sorted(totals)}, dtype=float, name="qty"
    )


@dataclass(frozen=True)
class PositionMismatch:
    """A symbol whose broker quantity differs from the ledger's: ``difference`` = broker −
    ledger (shares; positive means the broker holds more than the ledger accounts for)."""

    symbol: str
    broker_qty: float
    ledger_qty: float
    difference: float


@dataclass(frozen=True)
class ReconciliationReport:
    """Result of :func:`reconcile`: symbols that agree, and the ones that do not."""

    matched: tuple[str, ...]
    mismatches: tuple[PositionMismatch, ...]
    tolerance_shares: float

    @property
    def ok(self) -> bool:
        """True when every symbol's quantities agree within the tolerance."""
        return not self.mismatches

    def mismatch_frame(self) -> pd.DataFrame:
        """The mismatches as rows: :data:`MISMATCH_COLUMNS`."""
        return pd.DataFrame(
            [(m.symbol, m.broker_qty, m.ledger_qty, m.difference) for m in self.mismatches],
            columns=list(MISMATCH_COLUMNS),
        )

    def summary(self) -> str:
        """One line: counts, and each mismatch with both quantities."""
        if self.ok:
            return f"positions reconciled: {len(self.matched)} symbols agree"
        details = "; ".join(
            f"{m.symbol}: broker {m.broker_qty:g} vs ledger {m.ledger_qty:g} "
            f"(difference {m.difference:+g})"
            for m in self.mismatches
        )
        return (
            f"{len(self.mismatches)} position mismatch(es), {len(self.matched)} symbols agree: "
            f"{details}"
        )


def reconcile(
    broker_positions: Mapping[str, Position],
    expected: pd.Series,
    tolerance_shares: float = 1e-6,
) -> ReconciliationReport:
    """Compare the broker's positions with the ``expected`` shares per symbol.

    A symbol missing on one side counts as 0 shares there. A symbol agrees when
    ``|broker − expected| <= tolerance_shares``; otherwise it is a
    :class:`PositionMismatch`. ``matched`` and ``mismatches`` are sorted by symbol.
    """
    if not (math.isfinite(tolerance_shares) and tolerance_shares >= 0):
        raise ValueError(f"tolerance_shares must be finite and >= 0, got {tolerance_shares!r}")
    if expected.index.has_duplicates:
        raise ValueError("expected positions repeat a symbol")
    held: dict[str, float] = {}
    for symbol, position in broker_positions.items():
        if position.symbol != symbol:
            raise ValueError(f"broker position keyed {symbol!r} is for {position.symbol!r}")
        held[symbol] = float(_shares(position.qty))
    wanted = {str(symbol): float(_shares(qty)) for symbol, qty in expected.items()}
    matched: list[str] = []
    mismatches: list[PositionMismatch] = []
    for symbol in sorted(set(held) | set(wanted)):
        broker_qty, ledger_qty = held.get(symbol, 0.0), wanted.get(symbol, 0.0)
        difference = float(Decimal(repr(broker_qty)) - Decimal(repr(ledger_qty)))
        if abs(difference) <= tolerance_shares:
            matched.append(symbol)
        else:
            mismatches.append(PositionMismatch(symbol, broker_qty, ledger_qty, difference))
    return ReconciliationReport(tuple(matched), tuple(mismatches), float(tolerance_shares))


def unfinished(orders: Mapping[str, BrokerOrder | None]) -> list[str]:
    """Client order ids of ``orders`` that are missing at the broker or not yet terminal."""
    return [
        cid
        for cid, order in orders.items()
        if order is None or order.status not in TERMINAL_STATUSES
    ]


def partially_filled(orders: Mapping[str, BrokerOrder | None]) -> list[str]:
    """Client order ids of ``orders`` that ended with only part of them filled."""
    return [cid for cid, order in orders.items() if order is not None and order.is_partially_filled]


def poll_until_terminal(
    broker: Broker,
    client_order_ids: Iterable[str],
    timeout_seconds: float,
    interval_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, BrokerOrder | None]:
    """Look the orders up until each is in a terminal status or ``timeout_seconds`` passed.

    Every round looks up (``get_order_by_client_id``) the orders not yet terminal; a
    terminal order is not looked up again. Between rounds it sleeps ``interval_seconds``,
    shortened so that the last round happens at the deadline. There is always at least one
    round. Returns client order id → the last state seen (``None`` when the broker never had
    the order), in the given order; :func:`unfinished` lists those that did not finish.
    ``clock`` (seconds, monotonic) and ``sleep`` are injectable for tests. Broker errors
    propagate.
    """
    if not (math.isfinite(timeout_seconds) and timeout_seconds >= 0):
        raise ValueError(f"timeout_seconds must be finite and >= 0, got {timeout_seconds!r}")
    if not (math.isfinite(interval_seconds) and interval_seconds > 0):
        raise ValueError(f"interval_seconds must be finite and > 0, got {interval_seconds!r}")
    seen: dict[str, BrokerOrder | None] = dict.fromkeys(client_order_ids)
    start = clock()
    while True:
        for cid in unfinished(seen):
            seen[cid] = broker.get_order_by_client_id(cid)
        if not unfinished(seen):
            return seen
        elapsed = clock() - start
        if elapsed >= timeout_seconds:
            return seen
        sleep(min(interval_seconds, timeout_seconds - elapsed))


def refresh_order_states(
    broker: Broker,
    ledger: Ledger,
    orders: Mapping[str, str | None],
    timeout_seconds: float = 0.0,
    interval_seconds: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, BrokerOrder | None]:
    """Poll ``orders`` (client order id → rebalance id) to a terminal status or the timeout,
    record each last state in the ledger, with its fill once terminal (also a partial one),
    and return the last states (as :func:`poll_until_terminal`; :func:`unfinished` of them
    are the ids still open). A DAY market order sent after the close stays ``accepted``
    until the next open, and an order still ``partially_filled`` has no fill row yet: both
    are recorded when a later refresh sees them ended."""
    seen = poll_until_terminal(broker, orders, timeout_seconds, interval_seconds, clock, sleep)
    for cid, placed in seen.items():
        if placed is not None:
            record_broker_order(ledger, placed, orders[cid])
    return seen
