"""Sample-mode Alpaca stock bars: ``GET /v2/stocks/bars`` in its real JSON shape, offline.

Importing this module adds :func:`bars_response` to the ``data.alpaca.markets`` sample
routes (:data:`pas_pipeline.sources.sample.alpaca_news.ROUTES`, whose module registers the
host). Bars come from the same sample market as the Yahoo sample
(:func:`pas_pipeline.sources.sample.market.sample_market` with size/seed/"today" from
:func:`pas_pipeline.sources.sample.yahoo.sample_config`), rounded to the same
:data:`~pas_pipeline.sources.sample.yahoo.PRICE_DECIMALS`, so both sources serve identical
numbers for the same ticker and session. Like Yahoo's sample, no session after "today".

Parameters: ``symbols`` (comma list, required), ``timeframe`` (only ``1Day`` is served),
``start`` (RFC-3339, required here), ``end`` (RFC-3339, default "today"; inclusive),
``limit`` (1-10,000, default 1,000; bars per page over all symbols), ``adjustment``
(``raw`` default; ``split`` equals ``raw`` as the sample market has no splits; ``dividend``
and ``all`` multiply open, high, low and close by the backward dividend factor
``adj_close / close``, volume unchanged), ``feed`` (accepted, ignored), ``sort``
(``asc`` default / ``desc``: the order of each symbol's bars) and ``page_token``.

The answer is ``{"bars": {symbol: [{"t", "o", "h", "l", "c", "v", "n", "vw"}]},
"next_page_token": str | null}``: symbols in alphabetical order, each symbol's bars
together (a symbol may continue on the next page), ``t`` = New York midnight of the session
in UTC; symbols outside the sample market are absent. Bad parameters get HTTP 400
``{"code": 42210000, "message": ...}``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import httpx
import numpy as np
import pandas as pd

from pas_pipeline.sources.sample.alpaca_news import (
    ROUTES,
    json_response,
    page_token,
    token_offset,
)
from pas_pipeline.sources.sample.market import SampleMarket, SymbolBars, sample_market
from pas_pipeline.sources.sample.yahoo import (
    NEW_YORK,
    PRICE_DECIMALS,
    reconfigure,
    sample_config,
    sample_today,
)

BARS_PATH = "/v2/stocks/bars"
DEFAULT_LIMIT = 1_000
MAX_LIMIT = 10_000
ADJUSTMENTS = ("raw", "split", "dividend", "all")
FEEDS = ("iex", "sip", "delayed_sip", "otc", "boats", "overnight")


def _bad_request(message: str) -> httpx.Response:
    return json_response(400, {"code": 42210000, "message": message})


def _moment(text: str | None) -> pd.Timestamp | None:
    """An RFC-3339 time with a zone as a UTC timestamp (``None`` if absent or malformed)."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return None if moment.tzinfo is None else pd.Timestamp(moment).tz_convert("UTC")


@lru_cache(maxsize=8)
def _midnights(market: SampleMarket) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """New York midnight of every session in UTC, as timestamps and as the API's ``t`` text."""
    midnights = market.sessions.tz_localize(NEW_YORK).tz_convert("UTC")
    return midnights, np.asarray(midnights.strftime("%Y-%m-%dT%H:%M:%SZ"), dtype=object)


def _positions(market: SampleMarket, start: pd.Timestamp, end: pd.Timestamp | None) -> slice:
    """Sessions whose New York midnight lies in ``[start, end]``, none after "today"."""
    midnights, _ = _midnights(market)
    lo = int(midnights.searchsorted(start, side="left"))
    hi = int(market.sessions.searchsorted(pd.Timestamp(sample_today()), side="right"))
    if end is not None:
        hi = min(hi, int(midnights.searchsorted(end, side="right")))
    return slice(lo, max(lo, hi))


def _bar_objects(
    bars: SymbolBars, times: np.ndarray, adjustment: str, newest_first: bool
) -> list[dict[str, Any]]:
    """``bars`` (stamped ``times``) as the API's bar objects, prices rounded like Yahoo's."""
    factor = bars.adj_close / bars.close if adjustment in ("dividend", "all") else 1.0
    prices = {
        key: np.round(values * factor, PRICE_DECIMALS)
        for key, values in (("o", bars.open), ("h", bars.high), ("l", bars.low))
    }
    # The close is rounded exactly as Yahoo's quote.close / adjclose arrays are.
    prices["c"] = np.round(
        bars.adj_close if adjustment in ("dividend", "all") else bars.close, PRICE_DECIMALS
    )
    typical = (bars.high + bars.low + bars.close) / 3.0 * factor
    trades = np.maximum(bars.volume // 150, 1)
    keys = ("t", "o", "h", "l", "c", "v", "n", "vw")
    columns = (
        times.tolist(),
        prices["o"].tolist(),
        prices["h"].tolist(),
        prices["l"].tolist(),
        prices["c"].tolist(),
        bars.volume.tolist(),
        trades.tolist(),
        np.round(typical, PRICE_DECIMALS).tolist(),
    )
    objects = [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]
    return objects[::-1] if newest_first else objects


def _page(
    market: SampleMarket,
    symbols: list[str],
    positions: slice,
    adjustment: str,
    newest_first: bool,
    offset: int,
    limit: int,
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Bars ``offset .. offset + limit`` of the symbol-major sequence, and its total length.

    Every sample symbol has every session, so symbol ``k`` holds positions
    ``k * n .. (k + 1) * n`` of the sequence (``n`` sessions): only the symbols a page
    touches are generated.
    """
    sessions = positions.stop - positions.start
    total = sessions * len(symbols)
    page: dict[str, list[dict[str, Any]]] = {}
    if sessions == 0:
        return page, total
    stop = min(offset + limit, total)
    for k in range(offset // sessions, (stop - 1) // sessions + 1 if stop > offset else 0):
        first = max(offset - k * sessions, 0)
        last = min(stop - k * sessions, sessions)
        bars = market.bars_slice(symbols[k], positions)
        page[symbols[k]] = _bar_objects(
            bars, _midnights(market)[1][positions], adjustment, newest_first
        )[first:last]
    return page, total


def bars_response(request: httpx.Request) -> httpx.Response:
    """Answer ``GET /v2/stocks/bars`` from the sample market (see the module docstring)."""
    params = request.url.params
    symbols = [s.strip().upper() for s in params.get("symbols", "").split(",") if s.strip()]
    if not symbols:
        return _bad_request("symbols is required in sample mode")
    timeframe = params.get("timeframe", "")
    if timeframe != "1Day":
        return _bad_request(f"timeframe={timeframe!r} is not served in sample mode (only 1Day)")
    start = _moment(params.get("start"))
    end = _moment(params.get("end")) if "end" in params else None
    if start is None or ("end" in params and end is None) or (end is not None and end < start):
        return _bad_request("start (required) and end must be RFC-3339 times, start <= end")
    limit_text = params.get("limit", str(DEFAULT_LIMIT))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        return _bad_request(f"invalid limit: {limit_text}")
    adjustment = params.get("adjustment", "raw")
    if adjustment not in ADJUSTMENTS:
        return _bad_request(f"invalid adjustment: {adjustment}")
    if params.get("feed", "sip") not in FEEDS:
        return _bad_request(f"invalid feed: {params.get('feed')}")
    sort = params.get("sort", "asc").lower()
    if sort not in ("asc", "desc"):
        return _bad_request(f"invalid sort: {sort}")
    offset = token_offset("bars", params.get("page_token"))
    if offset is None:
        return _bad_request("invalid page token")
    config = sample_config()
    market = sample_market(config.size, config.seed)
    known = sorted(symbol for symbol in set(symbols) if symbol in market)
    positions = _positions(market, start, end)
    limit = int(limit_text)
    page, total = _page(market, known, positions, adjustment, sort == "desc", offset, limit)
    token = page_token("bars", offset + limit) if offset + limit < total else None
    return json_response(200, {"bars": page, "next_page_token": token})


ROUTES[BARS_PATH] = bars_response

__all__ = ["BARS_PATH", "bars_response", "reconfigure"]
