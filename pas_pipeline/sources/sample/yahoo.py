"""Sample-mode Yahoo chart API: answers ``/v8/finance/chart/{symbol}`` from the sample market.

Importing this module registers :func:`handle_chart_request` for ``query2.finance.yahoo.com``
with :func:`pas_pipeline.sources.http.register_sample_handler`. Responses follow the real
shape of Yahoo's chart API: ``chart.result[0]`` with ``meta``,
``timestamp`` (epoch seconds of each session's 09:30 New York open), ``indicators.quote[0]``
and ``indicators.adjclose[0]``, and ``events.dividends`` keyed by the ex-date's timestamp as
a string. Unknown symbols get HTTP 404 with Yahoo's error body. A range without sessions
gets a result with ``meta`` but no ``timestamp`` and empty indicator objects, as Yahoo does.

Which market is served is set by :func:`configure_sample_market`. The market is truncated at
``as_of`` (default: today in New York): like the real service, it has no bars after "now".

Yahoo's web session is emulated statelessly, as yfinance meets it: importing this module also
registers ``fc.yahoo.com`` (any path: HTTP 404 with ``Set-Cookie: A3=<value>;
Domain=.yahoo.com; Path=/; Secure; HttpOnly; SameSite=None``) and
``query1.finance.yahoo.com`` (``/v1/test/getcrumb``: HTTP 200 ``text/plain`` with the crumb
of the request's ``A3`` cookie, HTTP 401 without one; every other path is served like
``query2``). The ``A3`` value is random once per process; the crumb is derived from the
cookie (:func:`crumb_for`), so no state is kept. The quote-summary and quote paths answer
HTTP 401 ``Invalid Crumb`` unless the request has an ``A3`` cookie and ``crumb`` equals its
crumb (:func:`session_error`); the chart path needs no session, as on Yahoo.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import re
import secrets
import zlib
from dataclasses import dataclass
from functools import lru_cache
from http.cookies import SimpleCookie
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pandas as pd

from pas_pipeline.sources.http import register_sample_handler
from pas_pipeline.sources.sample.market import SampleMarket, SymbolBars, sample_market

YAHOO_HOST = "query2.finance.yahoo.com"
COOKIE_HOST = "fc.yahoo.com"
CRUMB_HOST = "query1.finance.yahoo.com"
CRUMB_PATH = "/v1/test/getcrumb"
SESSION_COOKIE = "A3"
SESSION_COOKIE_VALUE = f"d=AQABBK{secrets.token_hex(16).upper()}&S=AQAAA{secrets.token_hex(8)}"
"""The ``A3`` value ``fc.yahoo.com`` sets: random once per process (sample output does not
depend on it), so a crumb can only be had from the crumb endpoint."""
NEW_YORK = ZoneInfo("America/New_York")
VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
_RANGE_OFFSETS = {
    "1mo": pd.DateOffset(months=1),
    "3mo": pd.DateOffset(months=3),
    "6mo": pd.DateOffset(months=6),
    "1y": pd.DateOffset(years=1),
    "2y": pd.DateOffset(years=2),
    "5y": pd.DateOffset(years=5),
    "10y": pd.DateOffset(years=10),
}
_CHART_PATH = re.compile(r"^/v8/finance/chart/(?P<symbol>[^/]+)$")
_SESSIONS_PER_52_WEEKS = 252
PRICE_DECIMALS = 6
"""Prices are served rounded to micro-dollars: half the JSON of full float precision."""


@dataclass(frozen=True)
class SampleConfig:
    """Which sample market the handler serves: universe ``size`` and ``seed``, and ``as_of``
    (the handler's "today"; ``None`` = the current date in New York)."""

    size: int = 1500
    seed: int = 7
    as_of: dt.date | None = None


_config = SampleConfig()


def configure_sample_market(size: int = 1500, seed: int = 7, as_of: dt.date | None = None) -> None:
    """Serve ``sample_market(size, seed)`` from now on, with no bars after ``as_of``."""
    global _config
    _config = SampleConfig(int(size), int(seed), as_of)


def sample_config() -> SampleConfig:
    """The current configuration (see :func:`configure_sample_market`)."""
    return _config


def sample_today() -> dt.date:
    """Every sample source's "today": the configured ``as_of``, else today in New York."""
    return _config.as_of or dt.datetime.now(NEW_YORK).date()


def sample_size_seed() -> tuple[int, int]:
    """(universe size, seed) every sample source generates from."""
    return _config.size, _config.seed


def reconfigure(**changes: Any) -> None:
    """Change some fields of the configuration, keeping the others."""
    global _config
    _config = dataclasses.replace(_config, **changes)


def _json_response(status: int, payload: Any) -> httpx.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return httpx.Response(
        status, content=body, headers={"content-type": "application/json;charset=utf-8"}
    )


def _chart_error(status: int, code: str, description: str) -> httpx.Response:
    return _json_response(
        status, {"chart": {"result": None, "error": {"code": code, "description": description}}}
    )


def crumb_for(cookie: str) -> str:
    """The crumb of a session cookie value: 11 characters of its SHA-256, like Yahoo's."""
    digest = base64.b64encode(hashlib.sha256(b"crumb:" + cookie.encode()).digest()).decode()
    return digest[:11].replace("+", ".")


def _session_cookie(request: httpx.Request) -> str | None:
    """The ``A3`` cookie value the request sends, if any."""
    morsel = SimpleCookie(request.headers.get("cookie", "")).get(SESSION_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def _unauthorized(description: str) -> httpx.Response:
    return _json_response(
        401,
        {
            "finance": {
                "result": None,
                "error": {"code": "Unauthorized", "description": description},
            }
        },
    )


def session_error(request: httpx.Request) -> httpx.Response | None:
    """Yahoo's HTTP 401 ``Invalid Crumb`` answer unless ``request`` has an ``A3`` cookie and
    the ``crumb`` parameter of that cookie; ``None`` when the session is valid."""
    cookie = _session_cookie(request)
    if cookie is None or request.url.params.get("crumb") != crumb_for(cookie):
        return _unauthorized("Invalid Crumb")
    return None


def handle_cookie_request(request: httpx.Request) -> httpx.Response:
    """``fc.yahoo.com``: HTTP 404 that sets the session cookie (see the module docstring)."""
    cookie = (
        f"{SESSION_COOKIE}={SESSION_COOKIE_VALUE}; Expires=Fri, 01 Jan 2100 00:00:00 GMT; "
        "Max-Age=31557600; Domain=.yahoo.com; Path=/; Secure; HttpOnly; SameSite=None"
    )
    return httpx.Response(
        404,
        content=b"<!doctype html><html><body>Not Found</body></html>",
        headers={"content-type": "text/html; charset=utf-8", "set-cookie": cookie},
    )


def handle_query1_request(request: httpx.Request) -> httpx.Response:
    """``query1.finance.yahoo.com``: the crumb endpoint; any other path as ``query2``."""
    if request.url.path != CRUMB_PATH:
        return handle_chart_request(request)
    cookie = _session_cookie(request)
    if request.method != "GET" or cookie is None:
        return _unauthorized("Invalid Cookie")
    return httpx.Response(
        200,
        content=crumb_for(cookie).encode(),
        headers={"content-type": "text/plain;charset=utf-8"},
    )


def _bad_request(description: str) -> httpx.Response:
    return _chart_error(400, "Bad Request", f"Invalid input - {description}")


def _as_of_position(market: SampleMarket) -> int:
    """Index of the last session on or before the configured "today" (-1 if none)."""
    today = _config.as_of or dt.datetime.now(NEW_YORK).date()
    return int(market.sessions.searchsorted(pd.Timestamp(today), side="right")) - 1


def _range_start(market: SampleMarket, name: str, last: int) -> int:
    """First position covered by a ``range=`` value ending at session ``last``."""
    if name == "max":
        return 0
    if name in ("1d", "5d"):
        return max(0, last + 1 - int(name[0]))
    as_of = market.sessions[last]
    first_day = as_of.replace(month=1, day=1) if name == "ytd" else as_of - _RANGE_OFFSETS[name]
    side = "left" if name == "ytd" else "right"
    return int(market.sessions.searchsorted(first_day, side=side))


def _positions(
    market: SampleMarket, params: httpx.QueryParams, last: int
) -> tuple[slice, str] | httpx.Response:
    """The session positions a request asks for and the ``meta.range`` value, or an error."""
    if "period1" in params or "period2" in params:
        try:
            period1 = int(params.get("period1", "0"))
            period2 = int(params["period2"]) if "period2" in params else None
        except ValueError:
            return _bad_request("period1 and period2 must be integer epoch seconds")
        lo = int(np.searchsorted(market.session_opens, period1, side="left"))
        hi = last + 1
        if period2 is not None:
            hi = min(hi, int(np.searchsorted(market.session_opens, period2, side="left")))
        return slice(lo, max(lo, hi)), ""
    name = params.get("range", "1mo")
    if name not in VALID_RANGES:
        return _bad_request(f"range={name} is not supported, use one of {VALID_RANGES}")
    return slice(_range_start(market, name, last), last + 1), name


def _trading_period(day: dt.date) -> dict[str, Any]:
    def window(start: dt.time, end: dt.time) -> dict[str, Any]:
        opens = dt.datetime.combine(day, start, NEW_YORK)
        offset = int(opens.utcoffset().total_seconds())  # type: ignore[union-attr]
        return {
            "timezone": opens.tzname(),
            "start": int(opens.timestamp()),
            "end": int(dt.datetime.combine(day, end, NEW_YORK).timestamp()),
            "gmtoffset": offset,
        }

    return {
        "pre": window(dt.time(4), dt.time(9, 30)),
        "regular": window(dt.time(9, 30), dt.time(16)),
        "post": window(dt.time(16), dt.time(20)),
    }


@lru_cache(maxsize=64)
def _session_meta(market: SampleMarket, last: int) -> dict[str, Any]:
    """The ``meta`` fields that depend only on "today" (session ``last``)."""
    market_time = int(market.session_closes[last])
    when = dt.datetime.fromtimestamp(market_time, NEW_YORK)
    return {
        "firstTradeDate": int(market.session_opens[0]),
        "regularMarketTime": market_time,
        "hasPrePostMarketData": True,
        "gmtoffset": int(when.utcoffset().total_seconds()),  # type: ignore[union-attr]
        "timezone": when.tzname(),
        "exchangeTimezoneName": "America/New_York",
        "currentTradingPeriod": _trading_period(market.sessions[last].date()),
    }


@lru_cache(maxsize=8)
def _instrument_meta(market: SampleMarket) -> dict[str, dict[str, Any]]:
    """The ``meta`` fields that depend only on the symbol, for every symbol."""
    fields = {}
    for row in market.instruments.itertuples(index=False):
        is_etf = row.kind == "ETF"
        if is_etf:
            exchange, full_exchange = "PCX", "NYSEArca"
        elif zlib.crc32(row.symbol.encode()) % 2:
            exchange, full_exchange = "NYQ", "NYSE"
        else:
            exchange, full_exchange = "NMS", "NasdaqGS"
        fields[row.symbol] = {
            "currency": "USD",
            "symbol": row.symbol,
            "exchangeName": exchange,
            "fullExchangeName": full_exchange,
            "instrumentType": "ETF" if is_etf else "EQUITY",
            "longName": row.name,
            "shortName": row.name,
        }
    return fields


def _meta(
    market: SampleMarket,
    bars: SymbolBars,
    offset: int,
    positions: slice,
    last: int,
    range_name: str,
) -> dict[str, Any]:
    """``meta`` of one answer; ``bars`` start at session ``offset`` and reach session ``last``."""
    year = slice(max(0, last + 1 - _SESSIONS_PER_52_WEEKS) - offset, last + 1 - offset)
    today = last - offset
    previous = max(positions.start - 1, 0) - offset
    return {
        **_instrument_meta(market)[bars.symbol],
        **_session_meta(market, last),
        "regularMarketPrice": _prices(bars.close[today]),
        "fiftyTwoWeekHigh": _prices(bars.high[year].max()),
        "fiftyTwoWeekLow": _prices(bars.low[year].min()),
        "regularMarketDayHigh": _prices(bars.high[today]),
        "regularMarketDayLow": _prices(bars.low[today]),
        "regularMarketVolume": int(bars.volume[today]),
        "chartPreviousClose": _prices(bars.close[previous]),
        "priceHint": 2,
        "dataGranularity": "1d",
        "range": range_name,
        "validRanges": VALID_RANGES,
    }


def _prices(values: np.ndarray) -> Any:
    """USD values (array or scalar) rounded to ``PRICE_DECIMALS``, as JSON-ready Python numbers.

    Rounding is monotone, so the OHLC order survives it.
    """
    return np.round(values, PRICE_DECIMALS).tolist()


def _chart_result(
    market: SampleMarket, symbol: str, positions: slice, last: int, range_name: str, events: str
) -> dict[str, Any]:
    # One generation covers the answer, the 52-week window and the previous close.
    offset = max(0, min(positions.start - 1, last + 1 - _SESSIONS_PER_52_WEEKS))
    covered = market.bars_slice(symbol, slice(offset, max(positions.stop, last + 1)))
    result: dict[str, Any] = {"meta": _meta(market, covered, offset, positions, last, range_name)}
    bars = covered.slice(slice(positions.start - offset, positions.stop - offset))
    if len(bars) == 0:
        result["indicators"] = {"quote": [{}], "adjclose": [{}]}
        return result
    stamps = market.session_opens[positions]
    result["timestamp"] = stamps.tolist()
    result["indicators"] = {
        "quote": [
            {
                "open": _prices(bars.open),
                "high": _prices(bars.high),
                "low": _prices(bars.low),
                "close": _prices(bars.close),
                "volume": bars.volume.tolist(),
            }
        ],
        "adjclose": [{"adjclose": _prices(bars.adj_close)}],
    }
    paid = np.flatnonzero(bars.dividends > 0)
    if "div" in events.split(",") and len(paid):
        result["events"] = {
            "dividends": {
                str(stamps[i]): {"amount": _prices(bars.dividends[i]), "date": int(stamps[i])}
                for i in paid
            }
        }
    return result


def handle_chart_request(request: httpx.Request) -> httpx.Response:
    """Answer one chart request from the configured sample market (see the module docstring).

    Quote-summary paths (``/v10/finance/quoteSummary/...``, same host) are answered by
    :func:`pas_pipeline.sources.sample.analyst_ratings.handle_quote_summary_request`, the
    quote path (``/v7/finance/quote``) by
    :func:`pas_pipeline.sources.sample.sp1500.handle_quote_request` (both check the session
    with :func:`session_error`).
    """
    if request.url.path.startswith("/v10/finance/quoteSummary/"):
        from pas_pipeline.sources.sample import analyst_ratings  # imports this module

        return analyst_ratings.handle_quote_summary_request(request)
    if request.url.path == "/v7/finance/quote":
        from pas_pipeline.sources.sample import sp1500  # imports this module

        return sp1500.handle_quote_request(request)
    match = _CHART_PATH.match(request.url.path)
    if request.method != "GET" or match is None:
        return _json_response(
            404, {"finance": {"result": None, "error": {"code": "Not Found", "description": ""}}}
        )
    params = request.url.params
    interval = params.get("interval", "1d")
    if interval != "1d":
        return _bad_request(f"interval={interval} is not served in sample mode (only 1d)")
    market = sample_market(_config.size, _config.seed)
    symbol = match["symbol"]
    if symbol not in market:
        return _chart_error(404, "Not Found", "No data found, symbol may be delisted")
    last = _as_of_position(market)
    if last < 0:
        return _chart_error(404, "Not Found", "No data found, symbol may be delisted")
    asked = _positions(market, params, last)
    if isinstance(asked, httpx.Response):
        return asked
    positions, range_name = asked
    result = _chart_result(market, symbol, positions, last, range_name, params.get("events", ""))
    return _json_response(200, {"chart": {"result": [result], "error": None}})


register_sample_handler(YAHOO_HOST, handle_chart_request)
register_sample_handler(COOKIE_HOST, handle_cookie_request)
register_sample_handler(CRUMB_HOST, handle_query1_request)
