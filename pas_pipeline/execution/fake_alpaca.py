"""A local fake of Alpaca's Trading API v2, for tests of the real alpaca-py client over HTTP.

``FakeAlpaca`` runs a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` (a free port) in a
background thread; use it as a context manager or call ``start()``/``stop()`` and point
``TradingClient(url_override=fake.base_url)`` at it. It speaks the documented JSON shapes
(with every field alpaca-py's pydantic models require) for::

    GET  /v2/account                 GET    /v2/orders/{id}
    GET  /v2/positions               GET    /v2/orders:by_client_order_id?client_order_id=
    GET  /v2/orders (status, limit,  DELETE /v2/orders/{id}
         after, until, direction,    GET    /v2/clock
         side, symbols)              GET    /v2/calendar?start=&end=
    POST /v2/orders

Behaviour: ``APCA-API-KEY-ID``/``APCA-API-SECRET-KEY`` must match (else 401); a reused
``client_order_id`` is rejected with 422 ``client_order_id must be unique``; market orders
fill at once at the symbol's configured price (``auto_fill=True``), updating positions and
cash; a buy above cash is refused with 403 ``insufficient buying power`` and a sell above the
held quantity with 403 ``insufficient qty available``. Amounts are ``Decimal``.

Partial fills (liquidity): a symbol's *fill ratio* (``fill_ratios=`` or
:meth:`FakeAlpaca.set_fill_ratio`, in [0, 1]) makes its market orders fill only
``floor(qty × ratio)`` whole shares at the symbol's price: the order is then
``partially_filled`` (``filled_qty``, ``filled_avg_price`` set, ``filled_at`` null; or
``new`` when nothing filled) and stays open until :meth:`FakeAlpaca.end_day` ends every open
order as ``expired`` (or ``canceled``), with ``expired_at`` / ``canceled_at`` and
``updated_at`` at that time and, when shares filled, ``filled_at`` at the time of the
execution. (Whether Alpaca sets ``filled_at`` on an order that ended partially filled is
unconfirmed; clients must not rely on it.) ``DELETE /v2/orders/{id}`` of a partially filled
order cancels the rest and keeps what filled.

Faults (:class:`Fault`) are programmed with :meth:`FakeAlpaca.inject` per method/path and the
n-th matching request, or per global request number: an HTTP error status (optionally after
the request was processed), 429 with ``Retry-After``, a response slower than the client's
timeout (processed before or after the delay), a connection closed without a response
(after the request was processed, e.g. an accepted order, or before), or 403 insufficient
buying power. All state is guarded by one lock; the server is safe for concurrent clients.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TEST_KEY_ID = "PKFAKETESTKEY0000001"
TEST_SECRET = "fake-secret-Zq8rT2vX9wLm4Kp7"
ACCOUNT_ID = "e6fe16f3-64a4-4921-8928-cadf02f92f98"

OPEN_STATUSES = frozenset(
    {
        "new",
        "partially_filled",
        "done_for_day",
        "accepted",
        "pending_new",
        "accepted_for_bidding",
        "pending_cancel",
        "pending_replace",
        "pending_review",
        "held",
        "calculated",
        "stopped",
        "suspended",
    }
)
_NINE = Decimal("0.000000001")


def _text(value: Decimal | None) -> str | None:
    """A Decimal as Alpaca's decimal string (no exponent, no trailing zeros)."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _ts(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_ts(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or after) serving a request normally.

    ``kind``: ``"status"`` (answer ``status`` with ``body`` and ``headers``), ``"slow"``
    (sleep ``delay`` seconds, then answer normally), ``"drop"`` (close the connection without
    any response). ``process``: handle the request first (state changes, e.g. the order is
    created) and then apply the fault; for ``"slow"`` it decides whether the request is
    processed before or after the delay.
    """

    kind: str
    status: int = 0
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    process: bool = False

    @staticmethod
    def http_error(status: int = 500, process: bool = False) -> Fault:
        body = {"code": status * 100000, "message": "internal server error"}
        return Fault("status", status=status, body=body, process=process)

    @staticmethod
    def rate_limited(retry_after: int = 1) -> Fault:
        body = {"code": 42910000, "message": "rate limit exceeded"}
        return Fault("status", 429, body, {"Retry-After": str(retry_after)})

    @staticmethod
    def insufficient_buying_power(buying_power: str = "132.45") -> Fault:
        body = {
            "buying_power": buying_power,
            "code": 40310000,
            "message": "insufficient buying power",
        }
        return Fault("status", 403, body)

    @staticmethod
    def slow(delay: float, process: bool = True) -> Fault:
        return Fault("slow", delay=delay, process=process)

    @staticmethod
    def drop_after_accept() -> Fault:
        return Fault("drop", process=True)

    @staticmethod
    def drop_before_accept() -> Fault:
        return Fault("drop", process=False)


@dataclass
class _Rule:
    fault: Fault
    method: str | None
    path: str | None
    nth: int | None
    request_number: int | None
    times: int | None
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path == path
        )

    def fires(self, number: int) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.request_number is not None:
            return number >= self.request_number
        return self.nth is None or self.seen >= self.nth


@dataclass
class _Order:
    id: str
    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    status: str
    time_in_force: str
    created_at: datetime
    seq: int
    filled_qty: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    filled_at: datetime | None = None
    updated_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    notional: Decimal | None = None
    last_fill_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": _ts(self.created_at),
            "updated_at": _ts(self.updated_at or self.created_at),
            "submitted_at": _ts(self.created_at),
            "filled_at": _ts(self.filled_at),
            "expired_at": _ts(self.expired_at),
            "canceled_at": _ts(self.canceled_at),
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset:{self.symbol}")),
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": _text(self.notional),
            "qty": None if self.notional is not None else _text(self.qty),
            "filled_qty": _text(self.filled_qty),
            "filled_avg_price": _text(self.filled_avg_price),
            "order_class": "",
            "order_type": "market",
            "type": "market",
            "side": self.side,
            "position_intent": "buy_to_open" if self.side == "buy" else "sell_to_close",
            "time_in_force": self.time_in_force,
            "limit_price": None,
            "stop_price": None,
            "status": self.status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "subtag": None,
            "source": None,
        }


@dataclass
class _Held:
    qty: Decimal
    avg_entry_price: Decimal


class _Reply(Exception):
    """Raised inside a route to answer with an Alpaca error body."""

    def __init__(self, status: int, code: int | None, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {**extra, "message": message}
        if code is not None:
            self.body["code"] = code


class FakeAlpaca:
    """A fake Alpaca paper account behind a local HTTP server (see the module doc).

    ``cash`` USD, ``prices``: fill price per symbol (USD), ``positions``: symbol → shares
    (bought at the symbol's price). ``clock``: returns "now" (UTC) for order timestamps.
    ``auto_fill``: fill market orders at once (else they stay ``accepted``).
    ``fill_ratios``: symbol → fraction in [0, 1] of each order that fills (whole shares,
    rounded down); the rest stays open until :meth:`end_day` (see the module doc).
    """

    def __init__(
        self,
        *,
        api_key: str = TEST_KEY_ID,
        secret_key: str = TEST_SECRET,
        cash: Decimal | float | str = "100000",
        prices: Mapping[str, Decimal | float | str] | None = None,
        positions: Mapping[str, Decimal | float | str] | None = None,
        clock: Callable[[], datetime] | None = None,
        auto_fill: bool = True,
        market_open: bool = True,
        holidays: frozenset[date] = frozenset(),
        fill_ratios: Mapping[str, Decimal | float | str] | None = None,
    ) -> None:
        self.api_key = api_key
        self.secret_key = secret_key
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._cash = Decimal(str(cash))
        self._prices = {s: Decimal(str(p)) for s, p in (prices or {}).items()}
        self._positions: dict[str, _Held] = {}
        for symbol, qty in (positions or {}).items():
            self._positions[symbol] = _Held(Decimal(str(qty)), self._prices[symbol])
        self._orders: dict[str, _Order] = {}
        self._by_client_id: dict[str, str] = {}
        self._clock = clock or (lambda: datetime.now(UTC))
        self.auto_fill = auto_fill
        self.market_open = market_open
        self.holidays = holidays
        self._rules: list[_Rule] = []
        self._fill_ratios: dict[str, Decimal] = {}
        for symbol, ratio in (fill_ratios or {}).items():
            self.set_fill_ratio(symbol, ratio)
        self._seq = 0
        self.request_count = 0
        #: (request number, method, path, HTTP status or "dropped") of every request.
        self.request_log: list[tuple[int, str, str, int | str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeAlpaca:
        if self._server is not None:
            return self
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeAlpaca:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAlpaca is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Block until no request is being handled (e.g. a slow fault has finished)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("FakeAlpaca still has requests in flight")
                self._idle.wait(remaining)

    # -- programming ---------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path: str | None = None,
        nth: int | None = 1,
        request_number: int | None = None,
        times: int | None = 1,
    ) -> None:
        """Apply ``fault`` to the ``nth`` request (counted from now) matching ``method`` and
        ``path`` (None = any), or to global request number ``request_number``; ``times``
        consecutive matching requests from there (None = all)."""
        with self._lock:
            self._rules.append(_Rule(fault, method, path, nth, request_number, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._rules.clear()

    def set_price(self, symbol: str, price: Decimal | float | str) -> None:
        with self._lock:
            self._prices[symbol] = Decimal(str(price))

    def set_fill_ratio(self, symbol: str, ratio: Decimal | float | str | None) -> None:
        """Let later orders of ``symbol`` fill only ``floor(qty × ratio)`` whole shares
        (None: fill completely again)."""
        with self._lock:
            if ratio is None:
                self._fill_ratios.pop(symbol, None)
                return
            exact = Decimal(str(ratio))
            if not exact.is_finite() or not 0 <= exact <= 1:
                raise ValueError(f"fill ratio of {symbol} must be in [0, 1], got {ratio!r}")
            self._fill_ratios[symbol] = exact

    def end_day(self, status: str = "expired") -> list[str]:
        """The close: every open order ends as ``status`` (``expired``, as Alpaca's DAY
        orders do, or ``canceled``), keeping what filled; returns their client order ids."""
        if status not in ("expired", "canceled"):
            raise ValueError(f"an order ends the day expired or canceled, not {status!r}")
        with self._lock:
            now = self._clock()
            ended = []
            for order in sorted(self._orders.values(), key=lambda o: o.seq):
                if order.status in OPEN_STATUSES:
                    self._close_order(order, status, now)
                    ended.append(order.client_order_id)
            return ended

    @staticmethod
    def _close_order(order: _Order, status: str, now: datetime) -> None:
        order.status = status
        if status == "expired":
            order.expired_at = now
        else:
            order.canceled_at = now
        order.updated_at = now
        if order.filled_qty > 0:
            order.filled_at = order.last_fill_at

    # -- inspection ------------------------------------------------------------------------

    @property
    def cash(self) -> Decimal:
        with self._lock:
            return self._cash

    def positions(self) -> dict[str, Decimal]:
        with self._lock:
            return {s: h.qty for s, h in self._positions.items()}

    def orders(self) -> list[dict[str, Any]]:
        """Every order as Alpaca's JSON, oldest first."""
        with self._lock:
            return [o.as_json() for o in sorted(self._orders.values(), key=lambda o: o.seq)]

    def count(self, method: str, path: str) -> int:
        """How many requests with this method and path were received."""
        with self._lock:
            return sum(1 for _, m, p, _ in self.request_log if (m, p) == (method, path))

    # -- request handling (called from server threads) -------------------------------------

    def _begin(self, method: str, path: str) -> tuple[int, Fault | None]:
        with self._lock:
            self._in_flight += 1
            self.request_count += 1
            number = self.request_count
            chosen = None
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.seen += 1
                    if chosen is None and rule.fires(number):
                        rule.fired += 1
                        chosen = rule.fault
            return number, chosen

    def _end(self, number: int, method: str, path: str, outcome: int | str) -> None:
        with self._lock:
            self.request_log.append((number, method, path, outcome))
            self._in_flight -= 1
            self._idle.notify_all()

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        return (
            headers.get("APCA-API-KEY-ID") == self.api_key
            and headers.get("APCA-API-SECRET-KEY") == self.secret_key
        )

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """(status, JSON body or None) of a request; raises _Reply for Alpaca errors."""
        with self._lock:
            if method == "GET" and path == "/v2/account":
                return 200, self._account_json()
            if method == "GET" and path == "/v2/positions":
                return 200, [self._position_json(s, h) for s, h in sorted(self._positions.items())]
            if method == "GET" and path == "/v2/orders":
                return 200, self._list_orders(query)
            if method == "POST" and path == "/v2/orders":
                return 200, self._create_order(body).as_json()
            if method == "GET" and path == "/v2/orders:by_client_order_id":
                cid = query.get("client_order_id", "")
                if cid not in self._by_client_id:
                    raise _Reply(404, 40410000, f"order not found for {cid}")
                return 200, self._orders[self._by_client_id[cid]].as_json()
            if path.startswith("/v2/orders/") and method in ("GET", "DELETE"):
                order = self._orders.get(path.removeprefix("/v2/orders/"))
                if order is None:
                    raise _Reply(404, 40410000, "order not found")
                if method == "GET":
                    return 200, order.as_json()
                if order.status not in OPEN_STATUSES:
                    raise _Reply(422, 42210000, f'order is already in "{order.status}" state')
                self._close_order(order, "canceled", self._clock())
                return 204, None
            if method == "GET" and path == "/v2/clock":
                return 200, self._clock_json()
            if method == "GET" and path == "/v2/calendar":
                return 200, self._calendar(query)
        raise _Reply(404, 40410000, "endpoint not found")

    def _account_json(self) -> dict[str, Any]:
        value = sum(
            (h.qty * self._prices.get(s, h.avg_entry_price) for s, h in self._positions.items()),
            Decimal(0),
        )
        equity = self._cash + value
        return {
            "id": ACCOUNT_ID,
            "account_number": "PA3T8QX5XQ1E",
            "status": "ACTIVE",
            "currency": "USD",
            "cash": _text(self._cash),
            "buying_power": _text(self._cash),
            "regt_buying_power": _text(self._cash),
            "daytrading_buying_power": "0",
            "non_marginable_buying_power": _text(self._cash),
            "options_buying_power": _text(self._cash),
            "portfolio_value": _text(equity),
            "equity": _text(equity),
            "last_equity": _text(equity),
            "long_market_value": _text(value),
            "short_market_value": "0",
            "initial_margin": "0",
            "maintenance_margin": "0",
            "last_maintenance_margin": "0",
            "sma": "0",
            "multiplier": "1",
            "daytrade_count": 0,
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "trade_suspended_by_user": False,
            "shorting_enabled": False,
            "accrued_fees": "0",
            "created_at": "2024-01-08T15:21:40.412518Z",
            "options_approved_level": 0,
            "options_trading_level": 0,
        }

    def _position_json(self, symbol: str, held: _Held) -> dict[str, Any]:
        price = self._prices.get(symbol, held.avg_entry_price)
        cost = held.qty * held.avg_entry_price
        value = held.qty * price
        return {
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset:{symbol}")),
            "symbol": symbol,
            "exchange": "NYSEARCA",
            "asset_class": "us_equity",
            "asset_marginable": True,
            "qty": _text(held.qty),
            "qty_available": _text(held.qty),
            "side": "long" if held.qty >= 0 else "short",
            "avg_entry_price": _text(held.avg_entry_price),
            "market_value": _text(value),
            "cost_basis": _text(cost),
            "unrealized_pl": _text(value - cost),
            "unrealized_plpc": "0",
            "unrealized_intraday_pl": "0",
            "unrealized_intraday_plpc": "0",
            "current_price": _text(price),
            "lastday_price": _text(price),
            "change_today": "0",
        }

    def _list_orders(self, query: dict[str, str]) -> list[dict[str, Any]]:
        status = query.get("status", "open")
        if status not in ("open", "closed", "all"):
            raise _Reply(422, 40010001, f"invalid status {status!r}")
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            raise _Reply(422, 40010001, "invalid limit") from None
        if not 1 <= limit <= 500:
            raise _Reply(422, 40010001, "limit must be between 1 and 500")
        direction = query.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise _Reply(422, 40010001, f"invalid direction {direction!r}")
        after = _parse_ts(query["after"]) if query.get("after") else None
        until = _parse_ts(query["until"]) if query.get("until") else None
        symbols = set(query["symbols"].split(",")) if query.get("symbols") else None
        side = query.get("side")
        selected = [
            o
            for o in self._orders.values()
            if (status == "all" or (status == "open") == (o.status in OPEN_STATUSES))
            and (after is None or o.created_at > after)
            and (until is None or o.created_at < until)
            and (symbols is None or o.symbol in symbols)
            and (side is None or o.side == side)
        ]
        selected.sort(key=lambda o: (o.created_at, o.seq), reverse=direction == "desc")
        return [o.as_json() for o in selected[:limit]]

    def _create_order(self, body: Any) -> _Order:
        if not isinstance(body, dict):
            raise _Reply(422, 40010001, "request body must be a JSON object")
        cid = str(body.get("client_order_id") or uuid.uuid4())
        if len(cid) > 128:
            raise _Reply(422, 40010001, "client_order_id must be no more than 128 characters")
        if cid in self._by_client_id:
            raise _Reply(422, 40010001, "client_order_id must be unique")
        symbol = str(body.get("symbol") or "")
        side = body.get("side")
        if side not in ("buy", "sell"):
            raise _Reply(422, 40010001, "side must be buy or sell")
        if body.get("type", "market") != "market":
            raise _Reply(422, 40010001, "the fake only supports market orders")
        tif = body.get("time_in_force")
        if tif not in ("day", "gtc", "opg", "cls", "ioc", "fok"):
            raise _Reply(422, 40010001, "invalid time_in_force")
        if symbol not in self._prices:
            raise _Reply(422, 42210000, f'asset "{symbol}" not found')
        price = self._prices[symbol]
        has_qty, has_notional = body.get("qty") is not None, body.get("notional") is not None
        if has_qty == has_notional:
            raise _Reply(422, 40010001, "qty or notional is required, not both")
        notional = Decimal(str(body["notional"])) if has_notional else None
        qty = (
            Decimal(str(body["qty"]))
            if has_qty
            else (notional / price).quantize(_NINE, rounding="ROUND_DOWN")  # type: ignore[operator]
        )
        if qty <= 0:
            raise _Reply(422, 40010001, "qty must be > 0")
        if qty != qty.quantize(_NINE):
            raise _Reply(422, 40010001, "qty must have at most 9 decimal places")
        if qty != qty.to_integral_value() and tif != "day":
            raise _Reply(422, 40010001, "fractional orders must be DAY orders")
        held = self._positions.get(symbol, _Held(Decimal(0), Decimal(0)))
        cost = qty * price
        if side == "buy" and cost > self._cash:
            raise _Reply(403, 40310000, "insufficient buying power", buying_power=_text(self._cash))
        if side == "sell" and qty > held.qty:
            raise _Reply(
                403,
                40310000,
                f"insufficient qty available for order (requested: {_text(qty)}, "
                f"available: {_text(held.qty)})",
            )
        now = self._clock()
        self._seq += 1
        order = _Order(
            id=str(uuid.uuid4()),
            client_order_id=cid,
            symbol=symbol,
            side=side,
            qty=qty,
            status="accepted",
            time_in_force=tif,
            created_at=now,
            seq=self._seq,
            notional=notional,
        )
        self._orders[order.id] = order
        self._by_client_id[cid] = order.id
        if self.auto_fill:
            ratio = self._fill_ratios.get(symbol)
            part = (
                qty
                if ratio is None
                else min(qty, (qty * ratio).to_integral_value(rounding="ROUND_FLOOR"))
            )
            self._fill(order, part, price, now)
        return order

    def _fill(self, order: _Order, qty: Decimal, price: Decimal, now: datetime) -> None:
        """Execute ``qty`` more shares of ``order`` at ``price``: ``filled`` once all are."""
        order.updated_at = now
        if qty <= 0:
            order.status = "new"
            return
        held = self._positions.get(order.symbol, _Held(Decimal(0), Decimal(0)))
        if order.side == "buy":
            new_qty = held.qty + qty
            avg = (held.qty * held.avg_entry_price + qty * price) / new_qty
            self._cash -= qty * price
        else:
            new_qty, avg = held.qty - qty, held.avg_entry_price
            self._cash += qty * price
        if new_qty == 0:
            self._positions.pop(order.symbol, None)
        else:
            self._positions[order.symbol] = _Held(new_qty, avg.quantize(_NINE))
        if order.filled_qty == 0 or order.filled_avg_price is None:
            order.filled_avg_price = price
        else:
            paid = order.filled_qty * order.filled_avg_price + qty * price
            order.filled_avg_price = paid / (order.filled_qty + qty)
        order.filled_qty += qty
        order.last_fill_at = now
        if order.filled_qty == order.qty:
            order.status = "filled"
            order.filled_at = now
        else:
            order.status = "partially_filled"

    def _clock_json(self) -> dict[str, Any]:
        now = self._clock()
        day = now.date()
        return {
            "timestamp": _ts(now),
            "is_open": self.market_open,
            "next_open": _ts(
                datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
                + timedelta(hours=13, minutes=30)
            ),
            "next_close": _ts(
                datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=20)
            ),
        }

    def _calendar(self, query: dict[str, str]) -> list[dict[str, str]]:
        start = date.fromisoformat(query.get("start") or self._clock().date().isoformat())
        end = date.fromisoformat(query.get("end") or start.isoformat())
        days = []
        day = start
        while day <= end:
            if day.weekday() < 5 and day not in self.holidays:
                days.append(
                    {
                        "date": day.isoformat(),
                        "open": "09:30",
                        "close": "16:00",
                        "session_open": "0400",
                        "session_close": "2000",
                    }
                )
            day += timedelta(days=1)
        return days


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up are expected in fault tests


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAlpaca
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self.fake
        number, fault = fake._begin(method, path)
        outcome: int | str = "dropped"
        try:
            if not fake._authorized(self.headers):
                outcome = self._send(
                    401, {"code": 40110000, "message": "request is not authorized"}
                )
                return
            if fault is not None and not fault.process:
                if fault.kind == "drop":
                    self._drop()
                    return
                if fault.kind == "status":
                    outcome = self._send(fault.status, fault.body, fault.headers)
                    return
                time.sleep(fault.delay)  # slow, processed after the delay
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            try:
                status, payload = fake._route(method, path, query, body)
            except _Reply as reply:
                status, payload = reply.status, reply.body
            if fault is not None and fault.process:
                if fault.kind == "drop":
                    self._drop()
                    return
                if fault.kind == "status":
                    outcome = self._send(fault.status, fault.body, fault.headers)
                    return
                time.sleep(fault.delay)  # slow, processed before the delay
            outcome = self._send(status, payload)
        except OSError:
            outcome = "client gone"
        finally:
            fake._end(number, method, path, outcome)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> int:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)
        return status


def serve(**kwargs: Any) -> Iterator[FakeAlpaca]:
    """Generator for a pytest fixture: a started FakeAlpaca, stopped afterwards."""
    fake = FakeAlpaca(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()
