"""The Alpaca Trading API as a :class:`~pas_pipeline.execution.broker.Broker` (alpaca-py).

Safety rules, all enforced when an :class:`AlpacaBroker` is *constructed*, so no code path
can reach a live submit without them:

* **live vs paper** is decided by the base URL's host: ``api.alpaca.markets`` is live,
  ``paper-api.alpaca.markets`` is paper. Any other host (a local fake server, a proxy) is
  paper unless ``live=True`` is passed. :meth:`AlpacaBroker.from_settings` only accepts one
  of the two Alpaca hosts in ``ALPACA_BASE_URL``; other hosts need an explicit
  ``url_override``.
* **live trading is refused** with :class:`LiveTradingNotAllowedError` unless
  ``allow_live=True`` (``PAS_ALLOW_LIVE_TRADING=true``).
* **key / URL mismatch** (a live ``AK…`` key id against a paper URL, or a paper ``PK…`` key
  id against a live URL) is refused with :class:`AlpacaConfigError`.
* the URL must be ``https`` (plain ``http`` only for a loopback host such as a test server).
* the key id and secret never appear in ``repr``, error messages or logs: every message built
  from a response or a transport error is scrubbed, and the original exception is not chained.

Error mapping of :meth:`AlpacaBroker.submit_order` (``execute_plan`` relies on it):

* HTTP 422 whose message contains ``client_order_id must be unique`` →
  :class:`DuplicateClientOrderIdError` (nothing was created by that request);
* HTTP 5xx (including 504 after alpaca-py's own retries), a timeout, a dropped or reset
  connection, or an answer that cannot be parsed → :class:`OrderOutcomeUnknownError`: the
  order may exist, ``execute_plan`` looks it up and never re-sends it blindly;
* any other HTTP error (403 insufficient buying power / qty, 422 validation, 401, 429 after
  alpaca-py's retries) → :class:`BrokerError` with Alpaca's message.

Reads (account, positions, order look-ups, clock) raise :class:`BrokerError` on any failure;
``get_order_by_client_id`` returns None only for Alpaca's JSON 404 *order not found*.

alpaca-py sends requests without a timeout and retries HTTP 429/504 itself (3 times, 3 s
apart). The broker gives its HTTP session a default ``timeout`` (seconds) and sets the retry
count and wait from its constructor arguments. A retried ``POST /v2/orders`` is safe: it
carries the same client order id, so a second creation is answered with 422 (duplicate).
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, MarketOrderRequest

from pas_pipeline.config import PAPER_BASE_URL, Settings
from pas_pipeline.execution.broker import (
    BrokerError,
    DuplicateClientOrderIdError,
    OrderOutcomeUnknownError,
)
from pas_pipeline.execution.model import Account, BrokerOrder, PlannedOrder, Position

LIVE_HOST = "api.alpaca.markets"
PAPER_HOST = "paper-api.alpaca.markets"
LIVE_KEY_PREFIX = "AK"
PAPER_KEY_PREFIX = "PK"
DUPLICATE_ID_MESSAGE = "client_order_id must be unique"
QTY_DECIMALS = 9
#: Largest page Alpaca's ``GET /v2/orders`` serves.
MAX_PAGE_SIZE = 500
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_WAIT_SECONDS = 3.0
_LOOPBACK_NAMES = frozenset({"localhost"})
_ONE_MICROSECOND = timedelta(microseconds=1)
_MAX_MESSAGE_CHARS = 500


class AlpacaConfigError(ValueError):
    """The Alpaca settings are unusable or unsafe (missing keys, bad URL, key/URL mismatch)."""


class LiveTradingNotAllowedError(AlpacaConfigError):
    """The base URL is Alpaca's live endpoint but live trading was not explicitly allowed."""


class MarketClock(NamedTuple):
    """Alpaca's market clock: whether the market is open now, next open and next close."""

    is_open: bool
    next_open: datetime
    next_close: datetime


class _TimeoutSession(requests.Session):
    """A requests session that applies a default timeout (alpaca-py sets none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(base_url: str) -> tuple[str, str]:
    """``(base URL without trailing / or /v2, lower-case host)``; AlpacaConfigError if bad."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise AlpacaConfigError("the Alpaca base URL is empty")
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise AlpacaConfigError(f"the Alpaca base URL {base_url!r} is not an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise AlpacaConfigError(
            "the Alpaca base URL must not carry credentials, a query or a fragment"
        )
    if parts.scheme != "https" and not _is_loopback(host):
        raise AlpacaConfigError(
            f"the Alpaca base URL must use https (plain http only for a loopback test server), "
            f"got {parts.scheme}://{host}"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/v2"):
        path = path[: -len("/v2")]
    if path:
        raise AlpacaConfigError(
            f"the Alpaca base URL must have no path (alpaca-py adds /v2), got {parts.path!r}"
        )
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    return f"{parts.scheme}://{netloc}", host


def _decimal(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise BrokerError(f"Alpaca sent a non-numeric {what}: {value!r}") from exc
    if not number.is_finite():
        raise BrokerError(f"Alpaca sent a non-finite {what}: {value!r}")
    return number


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _enum_value(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _to_broker_order(order: Any) -> BrokerOrder:
    """An alpaca-py ``Order`` as a :class:`BrokerOrder` (qty, prices as floats)."""
    side = _enum_value(order.side)
    if side not in ("buy", "sell"):
        raise BrokerError(f"order {order.client_order_id!r} has no buy/sell side ({side!r})")
    filled_qty = float(_decimal(order.filled_qty or 0, "filled_qty"))
    # a notional order (never sent by this pipeline) has no qty: its size is what filled
    qty = float(_decimal(order.qty, "qty")) if order.qty is not None else filled_qty
    avg = order.filled_avg_price
    filled_avg_price = (
        float(_decimal(avg, "filled_avg_price")) if avg is not None and filled_qty > 0 else None
    )
    return BrokerOrder(
        client_order_id=order.client_order_id,
        broker_order_id=str(order.id),
        symbol=str(order.symbol),
        side=side,  # type: ignore[arg-type]
        qty=qty,
        status=str(_enum_value(order.status)),
        filled_qty=filled_qty,
        filled_avg_price=filled_avg_price,
        submitted_at=_utc(order.submitted_at),  # type: ignore[arg-type]
        filled_at=_utc(order.filled_at),
        updated_at=_utc(order.updated_at),
    )


def _api_error_parts(exc: APIError) -> tuple[int | None, int | None, str]:
    """(HTTP status, Alpaca code, message) of an APIError; the raw body when not JSON."""
    status = exc.status_code
    raw = str(exc)
    try:
        body = json.loads(raw)
    except (TypeError, ValueError):
        return status, None, raw.strip()[:_MAX_MESSAGE_CHARS] or "(empty body)"
    if not isinstance(body, dict):
        return status, None, raw.strip()[:_MAX_MESSAGE_CHARS]
    code = body.get("code")
    message = str(body.get("message", raw)).strip()[:_MAX_MESSAGE_CHARS]
    return status, code if isinstance(code, int) else None, message


def _is_order_not_found(exc: APIError) -> bool:
    """Alpaca's JSON 404 for an unknown order (not a 404 from a wrong URL or a proxy)."""
    status, code, message = _api_error_parts(exc)
    if status != 404:
        return False
    try:
        json.loads(str(exc))
    except (TypeError, ValueError):
        return False
    return code == 40410000 or "not found" in message.lower()


class AlpacaBroker:
    """An Alpaca account (paper or, with ``allow_live=True``, live) behind the Broker protocol.

    ``api_key``/``secret_key``: Alpaca key id and secret (plain strings or
    :class:`~pas_pipeline.config.Secret`). ``base_url``: ``https://paper-api.alpaca.markets``
    (default), ``https://api.alpaca.markets`` (live), or another host (a test server), which
    is paper unless ``live=True``. ``timeout``: seconds per HTTP request. ``max_retries`` /
    ``retry_wait_seconds``: alpaca-py's own retries of HTTP 429/504. ``page_size``: orders
    per ``GET /v2/orders`` page (at most 500).
    """

    def __init__(
        self,
        api_key: Any,
        secret_key: Any,
        base_url: str = PAPER_BASE_URL,
        allow_live: bool = False,
        *,
        live: bool | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_wait_seconds: float = DEFAULT_RETRY_WAIT_SECONDS,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        key = str(getattr(api_key, "value", api_key) or "").strip()
        secret = str(getattr(secret_key, "value", secret_key) or "").strip()
        if not key or not secret:
            raise AlpacaConfigError(
                "the Alpaca key id and secret (ALPACA_API_KEY/SECRET) are required"
            )
        self._redactions = tuple(s for s in (secret, key) if s)
        url, host = normalize_base_url(base_url)
        if host == LIVE_HOST:
            if live is False:
                raise AlpacaConfigError(
                    f"{url} is Alpaca's live endpoint, but live=False was given"
                )
            is_live = True
        elif host == PAPER_HOST:
            if live is True:
                raise AlpacaConfigError(
                    f"{url} is Alpaca's paper endpoint, but live=True was given"
                )
            is_live = False
        else:
            is_live = bool(live)
        if is_live and not allow_live:
            raise LiveTradingNotAllowedError(
                f"refusing to trade with real money at {url}: live trading is not allowed "
                "(set PAS_ALLOW_LIVE_TRADING=true to opt in)"
            )
        if is_live and key.upper().startswith(PAPER_KEY_PREFIX):
            raise AlpacaConfigError(
                f"key/URL mismatch: a paper key id ({PAPER_KEY_PREFIX}…) against the live URL {url}"
            )
        if not is_live and key.upper().startswith(LIVE_KEY_PREFIX):
            raise AlpacaConfigError(
                f"key/URL mismatch: a live key id ({LIVE_KEY_PREFIX}…) against the paper URL {url}"
            )
        if not (isinstance(timeout, int | float) and 0 < timeout < float("inf")):
            raise AlpacaConfigError(
                f"timeout must be a positive number of seconds, got {timeout!r}"
            )
        if not (isinstance(max_retries, int) and max_retries >= 0):
            raise AlpacaConfigError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if not (isinstance(retry_wait_seconds, int | float) and retry_wait_seconds >= 0):
            raise AlpacaConfigError(f"retry_wait_seconds must be >= 0, got {retry_wait_seconds!r}")
        if not (isinstance(page_size, int) and 1 <= page_size <= MAX_PAGE_SIZE):
            raise AlpacaConfigError(f"page_size must be an int in [1, {MAX_PAGE_SIZE}]")
        self._base_url = url
        self._is_live = is_live
        self._page_size = page_size
        client = TradingClient(key, secret, paper=not is_live, url_override=url)
        # alpaca-py has no timeout and no public retry settings: set its (private) attributes,
        # checking they exist so an alpaca-py upgrade that renames them fails loudly.
        for attribute in ("_session", "_retry", "_retry_wait"):
            if not hasattr(client, attribute):
                raise RuntimeError(f"alpaca-py TradingClient has no {attribute}; adapter outdated")
        client._session = _TimeoutSession(float(timeout))
        client._retry = max_retries
        client._retry_wait = retry_wait_seconds
        self._client = client

    @classmethod
    def from_settings(
        cls, settings: Settings, url_override: str | None = None, **kwargs: Any
    ) -> AlpacaBroker:
        """The broker of ``settings`` (keys, ``alpaca_base_url``, ``allow_live_trading``).

        ``ALPACA_BASE_URL`` must be Alpaca's paper or live URL; ``url_override`` (tests, a fake
        server) replaces it and counts as paper unless ``live=True`` is passed.
        """
        if settings.alpaca_api_key is None or settings.alpaca_api_secret is None:
            raise AlpacaConfigError("ALPACA_API_KEY and ALPACA_API_SECRET must be set")
        if url_override is None:
            _, host = normalize_base_url(settings.alpaca_base_url)
            if host not in (LIVE_HOST, PAPER_HOST):
                raise AlpacaConfigError(
                    f"ALPACA_BASE_URL must be https://{PAPER_HOST} or https://{LIVE_HOST}, "
                    f"got host {host!r}"
                )
        return cls(
            settings.alpaca_api_key,
            settings.alpaca_api_secret,
            base_url=url_override or settings.alpaca_base_url,
            allow_live=settings.allow_live_trading,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"AlpacaBroker(base_url={self._base_url!r}, paper={self.is_paper})"

    @property
    def is_paper(self) -> bool:
        """False when this broker trades real money (Alpaca's live endpoint)."""
        return not self._is_live

    @property
    def base_url(self) -> str:
        return self._base_url

    # -- error handling ----------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self._redactions:
            text = text.replace(secret, "***")
        return text

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, APIError):
            status, code, message = _api_error_parts(exc)
            code_text = f", code {code}" if code is not None else ""
            text = f"HTTP {status}{code_text}: {message}"
        else:
            text = f"{type(exc).__name__}: {str(exc)[:_MAX_MESSAGE_CHARS]}"
        return self._scrub(text)

    def _read(self, what: str, call: Any) -> Any:
        """Run a read-only client call; any failure becomes a BrokerError (no secrets)."""
        try:
            return call()
        except Exception as exc:
            raise BrokerError(f"Alpaca {what} failed: {self._describe(exc)}") from None

    # -- Broker protocol -----------------------------------------------------------------------

    def get_account(self) -> Account:
        """Equity and cash (USD) from ``GET /v2/account``."""
        account = self._read("get account", self._client.get_account)
        if account.equity is None or account.cash is None:
            raise BrokerError("Alpaca account has no equity or cash")
        return Account(
            equity=float(_decimal(account.equity, "equity")),
            cash=float(_decimal(account.cash, "cash")),
        )

    def get_positions(self) -> dict[str, Position]:
        """Open positions by symbol from ``GET /v2/positions``; shorts have negative qty."""
        rows = self._read("get positions", self._client.get_all_positions)
        positions: dict[str, Position] = {}
        for row in rows:
            qty = _decimal(row.qty, f"{row.symbol} qty")
            if _enum_value(row.side) == "short" and qty > 0:
                qty = -qty
            if qty == 0:
                continue
            if row.symbol in positions:
                raise BrokerError(f"Alpaca lists {row.symbol} twice among the positions")
            avg = _decimal(row.avg_entry_price, f"{row.symbol} avg_entry_price")
            value = (
                _decimal(row.market_value, f"{row.symbol} market_value")
                if row.market_value is not None
                else qty * avg
            )
            positions[row.symbol] = Position(row.symbol, float(qty), float(avg), float(value))
        return positions

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        """The order with this client order id, or None on Alpaca's 404 *order not found*."""
        try:
            order = self._client.get_order_by_client_id(client_order_id)
        except APIError as exc:
            if _is_order_not_found(exc):
                return None
            raise BrokerError(f"Alpaca order look-up failed: {self._describe(exc)}") from None
        except Exception as exc:
            raise BrokerError(f"Alpaca order look-up failed: {self._describe(exc)}") from None
        placed = self._read("order look-up", lambda: _to_broker_order(order))
        if placed.client_order_id != client_order_id:
            raise BrokerError(
                f"Alpaca answered a look-up of {client_order_id!r} "
                f"with order {placed.client_order_id!r}"
            )
        return placed

    def list_orders(self, client_order_id_prefix: str | None = None) -> list[BrokerOrder]:
        """All orders (any status), oldest first, optionally only client ids with the prefix.

        Pages backwards with ``until`` (newest first). After each full page, the orders that
        share the page's oldest ``submitted_at`` are fetched on their own, so orders with
        equal timestamps on a page boundary are not lost; more than 500 orders with one
        timestamp raise BrokerError instead of returning an incomplete list.
        """
        seen: dict[str, Any] = {}
        until: datetime | None = None
        while True:
            page = self._orders_page(self._page_size, until=until)
            for order in page:
                seen[str(order.id)] = order
            if len(page) < self._page_size:
                break
            oldest = min(_utc(o.submitted_at) for o in page)
            ties = self._orders_page(
                MAX_PAGE_SIZE, after=oldest - _ONE_MICROSECOND, until=oldest + _ONE_MICROSECOND
            )
            if len(ties) >= MAX_PAGE_SIZE:
                raise BrokerError(
                    f"cannot list Alpaca orders: {len(ties)}+ orders share the timestamp {oldest}"
                )
            for order in ties:
                seen[str(order.id)] = order
            if until is not None and oldest >= until:
                raise BrokerError("cannot list Alpaca orders: paging made no progress")
            until = oldest
        orders = [
            o
            for o in seen.values()
            if client_order_id_prefix is None
            or o.client_order_id.startswith(client_order_id_prefix)
        ]
        mapped = [self._read("order listing", lambda o=o: _to_broker_order(o)) for o in orders]
        return sorted(mapped, key=lambda o: (o.submitted_at, o.client_order_id))

    def _orders_page(
        self, limit: int, after: datetime | None = None, until: datetime | None = None
    ) -> list[Any]:
        request = GetOrdersRequest(
            status=QueryOrderStatus.ALL,
            limit=limit,
            after=after,
            until=until,
            direction=Sort.DESC,
        )
        return self._read("list orders", lambda: self._client.get_orders(request))

    def submit_order(self, order: PlannedOrder) -> BrokerOrder:
        """Send a market DAY order for ``round(order.qty, 9)`` shares with its client order id.

        Raises DuplicateClientOrderIdError (HTTP 422 duplicate id), OrderOutcomeUnknownError
        (timeout, dropped connection, HTTP 5xx, unreadable answer) or BrokerError (any other
        refusal, e.g. 403 insufficient buying power).
        """
        qty = round(float(order.qty), QTY_DECIMALS)
        if not qty > 0:
            raise BrokerError(f"{order.symbol}: qty {order.qty!r} rounds to {qty!r} shares")
        try:
            request = MarketOrderRequest(
                symbol=order.symbol,
                qty=qty,
                side=OrderSide.BUY if order.side == "buy" else OrderSide.SELL,
                time_in_force=TimeInForce.DAY,
                client_order_id=order.client_order_id,
            )
        except Exception as exc:  # nothing was sent
            raise BrokerError(f"invalid order {order.client_order_id}: {exc}") from None
        cid = order.client_order_id
        try:
            placed = self._client.submit_order(request)
        except APIError as exc:
            raise self._submit_error(cid, exc) from None
        except Exception as exc:  # timeout, reset, dropped connection, unparsable answer
            raise OrderOutcomeUnknownError(
                cid, f"Alpaca submit of {cid} has an unknown outcome: {self._describe(exc)}"
            ) from None
        try:
            result = _to_broker_order(placed)
        except Exception as exc:
            raise OrderOutcomeUnknownError(
                cid, f"Alpaca accepted {cid} with an unreadable order: {self._describe(exc)}"
            ) from None
        if result.client_order_id != cid:
            raise OrderOutcomeUnknownError(
                cid, f"Alpaca answered the submit of {cid} with order {result.client_order_id!r}"
            )
        return result

    def _submit_error(self, cid: str, exc: APIError) -> BrokerError:
        status, _, message = _api_error_parts(exc)
        text = self._describe(exc)
        if status == 422 and DUPLICATE_ID_MESSAGE in message.lower():
            return DuplicateClientOrderIdError(cid, f"Alpaca already has {cid}: {text}")
        if status is None or status >= 500:
            return OrderOutcomeUnknownError(
                cid, f"Alpaca submit of {cid} has an unknown outcome: {text}"
            )
        if status == 403:
            return BrokerError(f"Alpaca refused {cid}: {text}")
        return BrokerError(f"Alpaca rejected {cid}: {text}")

    # -- market clock --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session (its pooled connections)."""
        self._client._session.close()

    def is_market_open(self) -> bool:
        """``GET /v2/clock`` ``is_open``."""
        return self.clock().is_open

    def clock(self) -> MarketClock:
        """``GET /v2/clock``: (is_open, next_open, next_close), times in UTC."""
        clock = self._read("get clock", self._client.get_clock)
        return MarketClock(bool(clock.is_open), _utc(clock.next_open), _utc(clock.next_close))  # type: ignore[arg-type]
