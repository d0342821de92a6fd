"""Alpaca market data v2 stock bars (``/v2/stocks/bars``): daily bars as the tidy price frame.

A second source of the ``prices`` asset next to Yahoo (:mod:`pas_pipeline.sources.yahoo`),
producing the same frame (:data:`~pas_pipeline.sources.yahoo.PRICE_COLUMNS`, validated by
:data:`pas_pipeline.schemas.PRICES_SCHEMA`) with the same meaning of every column.

Endpoint: ``GET https://data.alpaca.markets/v2/stocks/bars`` with ``symbols`` (comma list,
up to :data:`SYMBOLS_PER_REQUEST`), ``timeframe=1Day``, ``start``/``end`` (RFC-3339 UTC;
both inclusive), ``limit`` (bars per page, at most 10,000, counted over all symbols),
``adjustment``, ``feed``, ``sort=asc`` and ``page_token`` (the previous page's
``next_page_token``, ``null`` on the last page). Auth headers ``APCA-API-KEY-ID`` /
``APCA-API-SECRET-KEY``. The body is ``{"bars": {"AAPL": [{"t", "o", "h", "l", "c", "v",
"n", "vw"}, ...]}, "next_page_token": ...}``; a symbol without bars in the range is absent.
A daily bar's ``t`` is midnight New York of its session, in UTC (``04:00Z`` in summer,
``05:00Z`` in winter); ``start`` is New York midnight of the first day and ``end`` New York
midnight of the last day (the last session's own ``t``), so ``end`` is never in the future,
which the free plan refuses for the SIP feed ("recent SIP data", the last 15 minutes).

How ``close`` and ``adj_close`` are filled (two requests per batch and page, on purpose):

* ``adjustment=split`` gives ``open, high, low, close, volume``: split-adjusted, not
  dividend-adjusted. This is what Yahoo's chart ``quote`` arrays hold, so ``close`` means
  the same from both sources: the traded price (the latest close is the price orders are
  sized with) with no artificial jumps across splits.
* ``adjustment=all`` (splits and dividends) gives only ``adj_close`` (its ``c``): Yahoo's
  ``adjclose``, whose day-over-day change is the total return the strategies rank on.

One ``adjustment=all`` request alone would make ``close == adj_close`` and every OHLC value
dividend-adjusted, i.e. historical closes below the prices actually traded; that would
silently change order sizing and any rule reading ``close``. The cost is twice the requests:
1,522 symbols are 8 batches, so one day costs 16 requests and a year's backfill about 100
(at :data:`ALPACA_BARS_POLICY`'s 3 a second, well inside the free plan's 200 a minute). Both
answers must hold the same sessions; a bar in one but not the other is a
:class:`PayloadError`.

``feed`` defaults to ``sip`` (the consolidated tape of every exchange: full volume and the
official OHLC). ``iex`` (IEX trades only, a few percent of the volume and slightly different
prices) is available for plans that refuse SIP.

Parsing rules (field paths are ``bars.<SYMBOL>.<key>``, rows are 0-based positions in that
symbol's bars over all pages): ``t`` must be RFC-3339 text with a zone; ``o, h, l, c, v``
must be numbers (numeric text accepted, null refused); ``n`` and ``vw`` are ignored. The date
is ``t``'s calendar day in New York. A duplicated session keeps the last bar.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pandas as pd

from pas_pipeline.config import DataMode, Secret
from pas_pipeline.sources.alpaca_data import alpaca_data_api
from pas_pipeline.sources.alpaca_news import batches, rfc3339
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import ApiClient, ApiPolicy, sample_transport, unlimited
from pas_pipeline.sources.yahoo import PRICE_COLUMNS, PriceFetch

log = logging.getLogger(__name__)

SOURCE = "alpaca_bars"
BARS_PATH = "/v2/stocks/bars"
NEW_YORK = ZoneInfo("America/New_York")
SYMBOLS_PER_REQUEST = 200
"""Symbols per request: 1,522 symbols are 8 batches."""
PAGE_LIMIT = 10_000
"""Bars per page (over all symbols of the request): the API's maximum."""
DEFAULT_FEED = "sip"
PRICE_ADJUSTMENT = "split"
"""Adjustment of ``open, high, low, close, volume`` (Yahoo's ``quote`` arrays)."""
TOTAL_RETURN_ADJUSTMENT = "all"
"""Adjustment whose close is ``adj_close`` (Yahoo's ``adjclose``)."""
_ZONE_SUFFIX = r"(?:[Zz]|[+-]\d{2}:\d{2})$"
_NUMBER_KEYS = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}

ALPACA_BARS_POLICY = ApiPolicy(
    name=SOURCE,
    base_url="https://data.alpaca.markets",
    requests_per_second=3.0,
    burst=1,
    max_retries=5,
    backoff_base_seconds=1.0,
    backoff_cap_seconds=60.0,
    timeout_seconds=30.0,
)
"""Serial requests at 3 per second (180 a minute, under the free plan's 200, which the news
client shares only when both run at once); 429/5xx retried with backoff, ``Retry-After``
honoured."""

RawBars = dict[str, list[Any]]
"""The ``bars`` object of every page merged: symbol -> its bars in time order."""


def new_york_midnight(day: dt.date) -> dt.datetime:
    """Midnight New York of ``day`` as an aware UTC datetime (a daily bar's ``t``)."""
    return dt.datetime.combine(day, dt.time(0), NEW_YORK).astimezone(dt.UTC)


class AlpacaBarsClient:
    """Raw daily bars through a shared :class:`ApiClient` (many symbols per request).

    ``feed`` is sent with every request (``sip`` by default, see the module docstring).
    """

    def __init__(self, api: ApiClient, feed: str = DEFAULT_FEED) -> None:
        self.api = api
        self.feed = feed

    def __enter__(self) -> AlpacaBarsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def bars_page(
        self,
        symbols: Sequence[str],
        start: dt.date,
        end: dt.date,
        adjustment: str,
        page_token: str | None = None,
    ) -> tuple[RawBars, str | None]:
        """One page: ``(bars by symbol, next_page_token)`` of daily bars of ``symbols`` for
        sessions ``start``..``end`` (both inclusive), oldest first.

        Raises :class:`PayloadError` (field ``bars``, ``bars.<SYMBOL>`` or
        ``next_page_token``) when the body is not ``{"bars": {symbol: [...]} | null,
        "next_page_token": str | null}``.
        """
        if not symbols:
            raise ValueError("no symbols")
        params: dict[str, Any] = {
            "symbols": ",".join(symbols),
            "timeframe": "1Day",
            "start": rfc3339(new_york_midnight(start)),
            "end": rfc3339(new_york_midnight(end)),
            "limit": PAGE_LIMIT,
            "adjustment": adjustment,
            "feed": self.feed,
            "sort": "asc",
        }
        if page_token:
            params["page_token"] = page_token
        payload = self.api.get_json(BARS_PATH, params)
        if not isinstance(payload, dict):
            got = type(payload).__name__
            raise PayloadError(SOURCE, f'expected {{"bars": {{...}}}}, got {got}', "bars")
        bars = payload.get("bars")
        if bars is None:
            bars = {}
        if not isinstance(bars, dict):
            raise PayloadError(SOURCE, f"expected an object, got {type(bars).__name__}", "bars")
        for symbol, rows in bars.items():
            if not isinstance(rows, list):
                got = type(rows).__name__
                raise PayloadError(SOURCE, f"expected a list, got {got}", f"bars.{symbol}")
        token = payload.get("next_page_token")
        if token is not None and not isinstance(token, str):
            raise PayloadError(
                SOURCE, f"expected text or null, got {token!r:.40}", "next_page_token"
            )
        return bars, token or None

    def daily_bars(
        self,
        symbols: Iterable[str],
        start: dt.date,
        end: dt.date,
        adjustment: str = TOTAL_RETURN_ADJUSTMENT,
    ) -> RawBars:
        """Every daily bar of ``symbols`` for sessions ``start``..``end`` (both inclusive).

        Symbols (deduplicated) go :data:`SYMBOLS_PER_REQUEST` to a request; every page is
        followed through ``next_page_token`` and a symbol split over pages is joined in
        order. Symbols without bars are absent from the answer. ``adjustment`` is the API's
        (``raw``, ``split``, ``dividend`` or ``all``).
        """
        found: RawBars = {}
        for group in batches(symbols, SYMBOLS_PER_REQUEST):
            token: str | None = None
            seen_tokens: set[str] = set()
            while True:
                page, token = self.bars_page(group, start, end, adjustment, token)
                for symbol, rows in page.items():
                    found.setdefault(symbol, []).extend(rows)
                if token is None:
                    break
                if token in seen_tokens:
                    raise PayloadError(
                        SOURCE, f"page token {token!r:.40} repeats", "next_page_token"
                    )
                seen_tokens.add(token)
        return found


# --- parser -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Flat:
    """Every bar of a :data:`RawBars` in one list, with where each came from."""

    symbols: list[str]  # distinct, in answer order
    owner: np.ndarray  # int64: index into ``symbols`` of each bar
    row: np.ndarray  # int64: 0-based position of each bar in its symbol's list
    bars: list[dict[str, Any]]

    def where(self, index: int, key: str | None = None) -> tuple[str, int]:
        """``(field, row)`` naming bar ``index`` (and its ``key``) in the payload."""
        symbol = self.symbols[int(self.owner[index])]
        field = f"bars.{symbol}" if key is None else f"bars.{symbol}.{key}"
        return field, int(self.row[index])


def _flatten(raw: RawBars) -> _Flat:
    symbols = list(raw)
    sizes = [len(rows) for rows in raw.values()]
    bars = [bar for rows in raw.values() for bar in rows]
    owner = np.repeat(np.arange(len(symbols), dtype=np.int64), sizes)
    starts = np.repeat((np.cumsum(sizes, dtype=np.int64) - sizes).astype(np.int64), sizes)
    flat = _Flat(symbols, owner, np.arange(len(bars), dtype=np.int64) - starts, bars)
    for index, bar in enumerate(bars):
        if not isinstance(bar, dict):
            field, row = flat.where(index)
            raise PayloadError(SOURCE, f"expected an object, got {type(bar).__name__}", field, row)
    return flat


def _first_non_number(values: Sequence[Any]) -> tuple[int, Any]:
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return index, value
        try:
            float(value)
        except (ValueError, OverflowError):
            return index, value
    return 0, values  # pragma: no cover - only called after a failed conversion


def _numbers(flat: _Flat, key: str) -> np.ndarray:
    """Bar field ``key`` of every bar as float64 (numbers or numeric text; a null, another
    type or a non-finite value is a :class:`PayloadError` naming the field and row)."""
    values = [bar.get(key) for bar in flat.bars]
    try:
        array = np.asarray(values, dtype=np.float64)
        converted = array.ndim == 1 and len(array) == len(values)
        converted = converted and not any(value is True or value is False for value in values)
    except (TypeError, ValueError, OverflowError):
        converted = False
    if not converted:
        index, value = _first_non_number(values)
        got = f"{type(value).__name__} {value!r:.40}"
        raise PayloadError(SOURCE, f"expected a number, got {got}", *flat.where(index, key))
    bad = np.flatnonzero(~np.isfinite(array))
    if len(bad):
        index = int(bad[0])
        message = f"expected a finite number, got {values[index]!r:.40}"
        raise PayloadError(SOURCE, message, *flat.where(index, key))
    return array


def _session_dates(flat: _Flat) -> np.ndarray:
    """Each bar's ``t`` (RFC-3339 with a zone) as its New York day at midnight (naive ns)."""
    values = [bar.get("t") for bar in flat.bars]
    for index, value in enumerate(values):
        if not isinstance(value, str):
            message = f"expected RFC-3339 text, got {value!r:.40}"
            raise PayloadError(SOURCE, message, *flat.where(index, "t"))
    text = pd.Series(values, dtype=object)
    stamps = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    zoned = text.str.contains(_ZONE_SUFFIX, regex=True).astype(bool)
    bad = np.flatnonzero((stamps.isna() | ~zoned).to_numpy())
    if len(bad):
        index = int(bad[0])
        message = f"expected RFC-3339 time with zone, got {values[index]!r:.40}"
        raise PayloadError(SOURCE, message, *flat.where(index, "t"))
    local = stamps.dt.tz_convert(NEW_YORK).dt.tz_localize(None).dt.normalize()  # wall time
    return local.to_numpy(dtype="datetime64[ns]")


def _bar_frame(raw: RawBars, keys: Sequence[str]) -> tuple[pd.DataFrame, _Flat]:
    """``ticker, date`` and the price columns of ``keys`` of every bar, one row per bar
    (a repeated session keeps the last bar), with the flattened bars for error messages."""
    flat = _flatten(raw)
    columns: dict[str, Any] = {
        "date": _session_dates(flat),
        "ticker": np.asarray(flat.symbols, dtype=object)[flat.owner],
    }
    for key in keys:
        columns[_NUMBER_KEYS[key]] = _numbers(flat, key)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(flat.bars)))
    return frame[~frame.duplicated(["ticker", "date"], keep="last")], flat


def _adjusted_closes(frame: pd.DataFrame, flat: _Flat, adjusted: RawBars) -> np.ndarray:
    """The ``adjusted`` close of every row of ``frame``: both answers must hold the same
    sessions of the same symbols, else a :class:`PayloadError` names the symbol."""
    wanted = {symbol: adjusted.get(symbol, []) for symbol in flat.symbols}
    other, _ = _bar_frame(wanted, ["c"])
    keys = pd.MultiIndex.from_frame(frame[["ticker", "date"]])
    closes = pd.Series(
        other["close"].to_numpy(), index=pd.MultiIndex.from_frame(other[["ticker", "date"]])
    )
    matched = closes.reindex(keys).to_numpy(dtype=np.float64)
    missing = np.flatnonzero(np.isnan(matched))
    if len(missing) or len(other) != len(frame):
        if len(missing):
            field, row = flat.where(int(frame.index[missing[0]]))
        else:  # every session matched, so some symbol has extra adjusted bars
            counts = frame["ticker"].value_counts().reindex(flat.symbols, fill_value=0)
            other_counts = other["ticker"].value_counts().reindex(flat.symbols, fill_value=0)
            symbol = str(counts.index[(other_counts != counts).to_numpy()][0])
            field, row = f"bars.{symbol}", int(counts[symbol])
        raise PayloadError(
            SOURCE,
            "the adjustment=split and adjustment=all answers hold different sessions",
            field=field,
            row=row,
        )
    return matched


def parse_bars(bars: RawBars, adjusted: RawBars | None = None) -> pd.DataFrame:
    """The tidy price frame of ``bars`` (the ``split`` answer) and ``adjusted`` (the ``all``
    answer, whose close becomes ``adj_close``; ``None`` = ``adj_close`` is ``close``).

    Columns as :data:`~pas_pipeline.sources.yahoo.PRICE_COLUMNS`; rows ordered by symbol (in
    ``bars`` order) then as received; volume rounded to int64. Raises :class:`PayloadError`
    naming ``bars.<SYMBOL>.<key>`` and the 0-based row for a malformed bar, and naming
    ``bars.<SYMBOL>`` when ``adjusted`` lacks a session of ``bars`` (or has an extra one).
    """
    frame, flat = _bar_frame(bars, list(_NUMBER_KEYS))
    if adjusted is None:
        frame["adj_close"] = frame["close"]
    else:
        frame["adj_close"] = _adjusted_closes(frame, flat, adjusted)
    volume = frame["volume"].to_numpy()
    if len(volume) and (volume.max() >= 2**62 or volume.min() < 0):
        bad = int(np.flatnonzero((volume >= 2**62) | (volume < 0))[0])
        field, row = flat.where(int(frame.index[bad]), "v")
        raise PayloadError(SOURCE, "volume out of range", field=field, row=row)
    frame["volume"] = np.rint(volume).astype(np.int64)
    for name in ("open", "high", "low", "close", "adj_close"):
        frame[name] = frame[name].astype(np.float64)
    return frame[list(PRICE_COLUMNS)].reset_index(drop=True)


def fetch_alpaca_prices(
    client: AlpacaBarsClient, tickers: Iterable[str], start: dt.date, end: dt.date
) -> PriceFetch:
    """Daily bars of ``tickers`` for sessions ``start``..``end`` (both inclusive), like
    :func:`pas_pipeline.sources.yahoo.fetch_prices`.

    Two passes of batched, paginated requests (``adjustment=split`` for the OHLCV,
    ``adjustment=all`` for ``adj_close``; see the module docstring). The frame is ordered by
    ticker (request order) then date. Alpaca does not tell an unknown symbol from one
    without bars, so ``PriceFetch.unknown`` is always empty and ``missing`` lists every
    requested ticker without a bar. Any source error or malformed payload is raised.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    symbols = list(dict.fromkeys(tickers))
    prices = client.daily_bars(symbols, start, end, PRICE_ADJUSTMENT)
    adjusted = client.daily_bars(symbols, start, end, TOTAL_RETURN_ADJUSTMENT)
    ordered = {symbol: prices[symbol] for symbol in symbols if prices.get(symbol)}
    frame = parse_bars(ordered, adjusted)
    missing = [symbol for symbol in symbols if symbol not in ordered]
    log.info(
        "%s %s..%s: %d bars of %d symbols, %d missing",
        SOURCE,
        start,
        end,
        len(frame),
        len(ordered),
        len(missing),
    )
    return PriceFetch(frame=frame, unknown=[], missing=missing)


# --- construction -------------------------------------------------------------------------


def alpaca_bars_api(
    key: Secret | None,
    secret: Secret | None,
    transport: httpx.BaseTransport | None = None,
    **client_options: Any,
) -> ApiClient:
    """A live :class:`ApiClient` with the key headers (:func:`alpaca_data_api`)."""
    return alpaca_data_api(
        ALPACA_BARS_POLICY, key, secret, "live bars", transport, **client_options
    )


def make_alpaca_bars_client(
    mode: DataMode,
    key: Secret | None = None,
    secret: Secret | None = None,
    universe_size: int | None = None,
    feed: str = DEFAULT_FEED,
) -> AlpacaBarsClient:
    """An Alpaca bars client for ``mode``.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit and
    no keys, answered by :mod:`pas_pipeline.sources.sample.alpaca_bars` from the same sample
    market as Yahoo (``universe_size``, when given, selects the sample universe).
    ``DataMode.LIVE``: the real network with :data:`ALPACA_BARS_POLICY` and the
    ``ALPACA_API_KEY``/``ALPACA_API_SECRET`` keys (:class:`SourceAuthError` without them).
    """
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import alpaca_bars as sample_bars  # registers route

        if universe_size is not None:
            sample_bars.reconfigure(size=int(universe_size))
        api = ApiClient(unlimited(ALPACA_BARS_POLICY), transport=sample_transport())
        return AlpacaBarsClient(api, feed)
    return AlpacaBarsClient(alpaca_bars_api(key, secret), feed)


__all__ = [
    "ALPACA_BARS_POLICY",
    "AlpacaBarsClient",
    "alpaca_bars_api",
    "fetch_alpaca_prices",
    "make_alpaca_bars_client",
    "new_york_midnight",
    "parse_bars",
]
