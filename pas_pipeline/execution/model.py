"""Value types of the execution layer: positions, account, limits, planned and broker orders.

Conventions used throughout ``pas_pipeline.execution``:

* **weights** are fractions of account equity (0.05 = 5 %); long-only, summing to at most 1,
  the rest is cash;
* **quantities** (``qty``) are in shares, always positive on an order (the direction is the
  ``side``), possibly fractional;
* **prices** are USD per share and **notionals** / **equity** / **cash** are USD;
* timestamps are timezone-aware UTC ``datetime`` objects;
* order ``status`` values are Alpaca's strings (see :class:`OrderStatus`).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

Side = Literal["buy", "sell"]
SIDES: tuple[Side, ...] = ("sell", "buy")


class OrderStatus(StrEnum):
    """Alpaca's order statuses (``Order.status`` of the Trading API v2), verbatim."""

    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    DONE_FOR_DAY = "done_for_day"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    PENDING_REVIEW = "pending_review"
    ACCEPTED = "accepted"
    PENDING_NEW = "pending_new"
    ACCEPTED_FOR_BIDDING = "accepted_for_bidding"
    STOPPED = "stopped"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    CALCULATED = "calculated"
    HELD = "held"


#: Statuses after which an order can no longer fill (further).
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.REPLACED,
        OrderStatus.REJECTED,
    }
)


class TradingState(StrEnum):
    """Kill switch kept in the ledger: trade normally, only reduce positions, or not at all."""

    ACTIVE = "ACTIVE"
    REDUCE_ONLY = "REDUCE_ONLY"
    HALTED = "HALTED"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _finite(value: float) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Position:
    """A holding at the broker: ``qty`` shares (negative = short), USD entry price and value."""

    symbol: str
    qty: float
    avg_entry_price: float
    market_value: float


@dataclass(frozen=True)
class Account:
    """Account totals in USD: ``equity`` = cash + market value of all positions."""

    equity: float
    cash: float


@dataclass(frozen=True)
class OrderLimits:
    """Rules that turn weight differences into orders.

    ``no_trade_band``: weight units; a symbol whose |target − current| is below it is left
    alone (unless it is a full exit). ``min_order_notional``: USD; smaller orders are dropped.
    ``fractional``: whether fractional shares may be ordered; quantities are truncated toward
    zero to ``qty_decimals`` decimals (fractional) or to whole shares (not fractional).
    """

    no_trade_band: float = 0.002
    min_order_notional: float = 1.0
    fractional: bool = True
    qty_decimals: int = 9

    def __post_init__(self) -> None:
        _require(
            _finite(self.no_trade_band) and self.no_trade_band >= 0,
            f"no_trade_band must be a finite number >= 0, got {self.no_trade_band!r}",
        )
        _require(
            _finite(self.min_order_notional) and self.min_order_notional >= 0,
            f"min_order_notional must be finite and >= 0, got {self.min_order_notional!r}",
        )
        _require(
            isinstance(self.qty_decimals, int) and 0 <= self.qty_decimals <= 9,
            f"qty_decimals must be an int in [0, 9] (Alpaca's limit), got {self.qty_decimals!r}",
        )


@dataclass(frozen=True)
class PlannedOrder:
    """One market order the planner wants: ``qty`` shares (> 0) to ``side`` at about
    ``reference_price`` USD, ``notional`` = qty × reference_price USD. ``current_weight`` and
    ``target_weight`` are the symbol's weights (fractions of equity) before and after."""

    client_order_id: str
    rebalance_id: str
    symbol: str
    side: Side
    qty: float
    reference_price: float
    notional: float
    current_weight: float
    target_weight: float

    def __post_init__(self) -> None:
        _require(self.side in SIDES, f"side must be 'buy' or 'sell', got {self.side!r}")
        _require(
            _finite(self.qty) and self.qty > 0,
            f"{self.symbol}: qty must be finite and > 0, got {self.qty!r}",
        )
        _require(
            _finite(self.reference_price) and self.reference_price > 0,
            f"{self.symbol}: reference_price must be > 0, got {self.reference_price!r}",
        )
        _require(bool(self.client_order_id), "client_order_id must not be empty")


@dataclass(frozen=True)
class BrokerOrder:
    """An order as the broker knows it. ``qty``/``filled_qty`` in shares,
    ``filled_avg_price`` in USD (None until something filled), ``status`` an Alpaca status
    string, ``filled_at`` the time the order (last) filled (None while not filled; a broker
    may leave it None for an order that ended partially filled), ``updated_at`` the broker's
    time of its last change (None when the broker does not say)."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    qty: float
    status: str
    filled_qty: float
    filled_avg_price: float | None
    submitted_at: datetime
    filled_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_filled(self) -> bool:
        """True when the order has completely filled."""
        return self.status == OrderStatus.FILLED

    @property
    def is_terminal(self) -> bool:
        """True when the order can no longer fill (further): see :data:`TERMINAL_STATUSES`."""
        return self.status in TERMINAL_STATUSES

    @property
    def is_partially_filled(self) -> bool:
        """True when the order ended (terminal, e.g. ``canceled`` or ``expired``) with only
        part of it filled: ``filled_qty`` > 0 shares, but not status ``filled``. Still
        ``partially_filled`` (not terminal) does not count: it may fill further."""
        return self.is_terminal and not self.is_filled and self.filled_qty > 0

    @property
    def final_fill(self) -> tuple[float, float, datetime] | None:
        """What the ledger records as the order's fill once it can fill no further:
        (``filled_qty`` shares, ``filled_avg_price`` USD, time), the time being ``filled_at``,
        else ``updated_at``, else ``submitted_at``. None while the order is not terminal,
        when nothing filled, or when the broker gave no average price."""
        if not self.is_terminal or not self.filled_qty > 0 or not self.filled_avg_price:
            return None
        moment = self.filled_at or self.updated_at or self.submitted_at
        return self.filled_qty, self.filled_avg_price, moment


@dataclass(frozen=True)
class OrderFailure:
    """An order that could not be confirmed at the broker, and why (the error's message)."""

    client_order_id: str
    symbol: str
    side: Side
    error: str


@dataclass(frozen=True)
class ExecutionReport:
    """What :func:`~pas_pipeline.execution.submit.execute_plan` did, as client order ids.

    ``submitted``: sent by this run. ``already_present``: found at the broker (an earlier
    run sent them). ``would_submit``: missing at the broker, not sent because of dry run.
    ``filled``: completely filled (of submitted + already present). ``partially_filled``:
    ended (canceled, expired, …) with only part filled; the ledger holds a fill for the
    filled part. Both as last seen at the broker. ``skipped``: not sent because of the
    trading state or an earlier failed sell. ``failures``: could not be sent or confirmed.
    A partial fill is not a failure: the order reached the broker.
    """

    planned: int
    submitted: tuple[str, ...] = ()
    already_present: tuple[str, ...] = ()
    would_submit: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failures: tuple[OrderFailure, ...] = ()
    dry_run: bool = False
    partially_filled: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every planned order is at the broker (or would be sent, in dry run)."""
        return not self.failures and not self.skipped

    def counts(self) -> dict[str, int]:
        """Number of orders in each outcome, e.g. for run metadata."""
        return {
            "planned": self.planned,
            "submitted": len(self.submitted),
            "already_present": len(self.already_present),
            "would_submit": len(self.would_submit),
            "filled": len(self.filled),
            "partially_filled": len(self.partially_filled),
            "skipped": len(self.skipped),
            "failures": len(self.failures),
        }
