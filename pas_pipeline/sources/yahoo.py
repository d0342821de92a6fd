"""Yahoo Finance chart API (``/v8/finance/chart/{symbol}``): daily bars as a tidy frame.

The tidy price frame (:data:`PRICE_COLUMNS`), one row per (ticker, session):

========== ================ ==========================================================
column     dtype            meaning
========== ================ ==========================================================
date       datetime64[ns]   session date in New York, at midnight (naive)
ticker     object (str)     the symbol as requested
open       float64          USD, unadjusted
high       float64          USD, unadjusted
low        float64          USD, unadjusted
close      float64          USD, unadjusted
adj_close  float64          USD, split- and dividend-adjusted (Yahoo's ``adjclose``)
volume     int64            shares
========== ================ ==========================================================

Parsing rules: bars whose ``close`` is null are dropped; a null open/high/low is replaced by
the close and a null volume by 0; ``adj_close`` falls back to ``close`` when ``adjclose`` is
absent (intraday-style payloads); numeric strings are accepted. A duplicated session keeps
the last bar. Missing required fields, wrong types and arrays of unequal length raise
:class:`PayloadError` naming the field (and the row, when one is at fault).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from pas_pipeline.config import DataMode
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import ApiClient, ApiPolicy, sample_transport, unlimited

SOURCE = "yahoo"
EXCHANGE_TIMEZONE = "America/New_York"
PRICE_COLUMNS = ("date", "ticker", "open", "high", "low", "close", "adj_close", "volume")

YAHOO_POLICY = ApiPolicy(
    name=SOURCE,
    base_url="https://query2.finance.yahoo.com",
    requests_per_second=2.0,
    burst=5,
    max_retries=5,
    backoff_base_seconds=1.0,
    backoff_cap_seconds=60.0,
    timeout_seconds=30.0,
    not_found_is_empty=True,  # 404 = unknown / delisted symbol
)
"""Yahoo publishes no limit; 2 requests/s with bursts of 5 stays clear of its 429s."""

_QUOTE = "indicators.quote[0]"
_ADJCLOSE = "indicators.adjclose[0].adjclose"


def _epoch_at_midnight(day: dt.date, timezone: str = EXCHANGE_TIMEZONE) -> int:
    return int(dt.datetime.combine(day, dt.time(0), ZoneInfo(timezone)).timestamp())


class YahooChartClient:
    """Daily bars from the chart endpoint through a shared :class:`ApiClient`."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def __enter__(self) -> YahooChartClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def daily_bars(self, symbol: str, start: dt.date, end: dt.date) -> dict[str, Any] | None:
        """The raw chart payload of ``symbol`` for sessions ``start``..``end`` (both inclusive).

        ``period1``/``period2`` are New York midnights of ``start`` and ``end + 1 day`` (Yahoo's
        ``period2`` is exclusive). Returns ``None`` when Yahoo does not know the symbol (404).
        """
        params = {
            "period1": _epoch_at_midnight(start),
            "period2": _epoch_at_midnight(end + dt.timedelta(days=1)),
            "interval": "1d",
            "events": "div,splits",
            "includePrePost": "false",
        }
        path = f"/v8/finance/chart/{quote(yahoo_symbol(symbol), safe='')}"
        return self.api.get_json(path, params)


def yahoo_symbol(ticker: str) -> str:
    """Yahoo's spelling of a ticker: the share-class dot becomes a dash (``BRK.B -> BRK-B``)."""
    return ticker.replace(".", "-")


def pipeline_ticker(symbol: str) -> str:
    """The pipeline's spelling of a Yahoo symbol (``BRK-B -> BRK.B``)."""
    return symbol.replace("-", ".")


@dataclass(frozen=True)
class _Bars:
    """One symbol's parsed columns (rows with a null close already dropped)."""

    ticker: str
    timezone: str
    timestamp: np.ndarray  # int64 epoch seconds
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    adj_close: np.ndarray
    volume: np.ndarray  # float64, NaN already replaced by 0

    @classmethod
    def empty(cls, ticker: str, timezone: str) -> _Bars:
        none = np.empty(0)
        return cls(ticker, timezone, none.astype(np.int64), none, none, none, none, none, none)


def _require(mapping: Any, key: str, path: str, kind: type) -> Any:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kind):
        got = "missing" if value is None else f"a {type(value).__name__}"
        raise PayloadError(SOURCE, f"expected a {kind.__name__}, got {got}", field=path)
    return value


def _first_bad_element(values: Sequence[Any]) -> tuple[int, Any] | None:
    for row, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                float(value)
                continue
            except (ValueError, OverflowError):
                pass
        return row, value
    return None


def _numbers(values: Any, path: str, length: int | None) -> np.ndarray:
    """A JSON array of numbers/nulls as float64 (null -> NaN), checked element by element."""
    if not isinstance(values, list):
        got = "missing" if values is None else f"a {type(values).__name__}"
        raise PayloadError(SOURCE, f"expected an array, got {got}", field=path)
    if length is not None and len(values) != length:
        raise PayloadError(
            SOURCE,
            f"has {len(values)} values but timestamp has {length}",
            field=path,
            row=min(len(values), length),
        )
    try:
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 1:
            return array
    except (TypeError, ValueError, OverflowError):
        pass
    row, value = _first_bad_element(values) or (0, values)
    raise PayloadError(
        SOURCE, f"expected a number or null, got {type(value).__name__} {value!r:.40}", path, row
    )


def _empty_quote(quote: dict[str, Any]) -> bool:
    return all(not quote.get(name) for name in ("open", "high", "low", "close", "volume"))


def _extract(payload: Any, ticker: str) -> _Bars:
    chart = _require(payload, "chart", "chart", dict)
    if chart.get("error"):
        error = chart["error"]
        text = error.get("description") if isinstance(error, dict) else str(error)
        raise PayloadError(SOURCE, f"{ticker}: {text}", field="chart.error")
    results = _require(chart, "result", "chart.result", list)
    if not results or not isinstance(results[0], dict):
        raise PayloadError(SOURCE, f"{ticker}: no result object", field="chart.result")
    result = results[0]
    meta = result.get("meta") if isinstance(result.get("meta"), dict) else {}
    timezone = str(meta.get("exchangeTimezoneName") or EXCHANGE_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        field = "meta.exchangeTimezoneName"
        raise PayloadError(SOURCE, f"unknown time zone {timezone!r}", field) from exc
    indicators = _require(result, "indicators", "indicators", dict)
    quotes = _require(indicators, "quote", "indicators.quote", list)
    quote = quotes[0] if quotes and isinstance(quotes[0], dict) else None
    if quote is None:
        raise PayloadError(SOURCE, "expected an object", field=_QUOTE)
    if "timestamp" not in result and _empty_quote(quote):
        return _Bars.empty(ticker, timezone)
    stamps = _numbers(result.get("timestamp"), "timestamp", None)
    missing = np.flatnonzero(np.isnan(stamps))
    if len(missing):
        raise PayloadError(SOURCE, "null timestamp", field="timestamp", row=int(missing[0]))
    n = len(stamps)
    columns = {
        name: _numbers(quote.get(name), f"{_QUOTE}.{name}", n)
        for name in ("open", "high", "low", "close", "volume")
    }
    adjclose = indicators.get("adjclose")
    if (
        isinstance(adjclose, list)
        and adjclose
        and isinstance(adjclose[0], dict)
        and ("adjclose" in adjclose[0])
    ):
        adj = _numbers(adjclose[0]["adjclose"], _ADJCLOSE, n)
    else:
        adj = columns["close"]
    close = columns["close"]
    keep = ~np.isnan(close)
    close = close[keep]

    def filled(values: np.ndarray, fallback: np.ndarray | float) -> np.ndarray:
        values = values[keep]
        return np.where(np.isnan(values), fallback, values)

    return _Bars(
        ticker=ticker,
        timezone=timezone,
        timestamp=stamps[keep].astype(np.int64),
        open=filled(columns["open"], close),
        high=filled(columns["high"], close),
        low=filled(columns["low"], close),
        close=close,
        adj_close=filled(adj, close),
        volume=filled(columns["volume"], 0.0),
    )


def _session_dates(timestamps: np.ndarray, timezones: np.ndarray) -> np.ndarray:
    """Epoch seconds -> the local calendar date at midnight (datetime64[ns], naive)."""
    dates = np.empty(len(timestamps), dtype="datetime64[ns]")
    for timezone in pd.unique(timezones):
        mask = timezones == timezone
        local = pd.to_datetime(timestamps[mask], unit="s", utc=True).tz_convert(timezone)
        dates[mask] = local.normalize().tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return dates


def _frame(parsed: Sequence[_Bars]) -> pd.DataFrame:
    """Stack parsed symbols into the tidy price frame (see the module docstring)."""
    counts = [len(bars.close) for bars in parsed]

    def stacked(name: str) -> np.ndarray:
        if not parsed:
            return np.empty(0)
        return np.concatenate([getattr(bars, name) for bars in parsed])

    timestamps = stacked("timestamp").astype(np.int64)
    timezones = np.repeat(np.array([b.timezone for b in parsed], dtype=object), counts)
    tickers = np.repeat(np.array([b.ticker for b in parsed], dtype=object), counts)
    volume = stacked("volume")
    if len(volume) and (volume.max() >= 2**62 or volume.min() < -(2**62)):
        raise PayloadError(SOURCE, "volume out of range", field=f"{_QUOTE}.volume")
    frame = pd.DataFrame(
        {
            "date": _session_dates(timestamps, timezones),
            "ticker": tickers,
            "open": stacked("open"),
            "high": stacked("high"),
            "low": stacked("low"),
            "close": stacked("close"),
            "adj_close": stacked("adj_close"),
            "volume": np.rint(volume).astype(np.int64),
        },
        columns=list(PRICE_COLUMNS),
    )
    duplicated = frame.duplicated(["ticker", "date"], keep="last")
    if duplicated.any():
        frame = frame[~duplicated]
    return frame.reset_index(drop=True)


def parse_chart(payload: dict[str, Any], symbol: str) -> pd.DataFrame:
    """One chart payload as the tidy price frame (see the module docstring for the columns)."""
    return _frame([_extract(payload, symbol)])


@dataclass(frozen=True)
class PriceFetch:
    """What :func:`fetch_prices` returns.

    ``frame``: the tidy price frame of every symbol that had bars, ordered by symbol (in
    request order) then date. ``unknown``: symbols Yahoo does not know (HTTP 404), skipped.
    ``missing``: every requested symbol without a single bar in the frame (the unknown ones
    plus known symbols with no session in the range).
    """

    frame: pd.DataFrame
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def fetch_prices(
    client: YahooChartClient, symbols: Iterable[str], start: dt.date, end: dt.date
) -> PriceFetch:
    """Daily bars of ``symbols`` for sessions ``start``..``end`` (both inclusive).

    One request per symbol; unknown symbols are skipped and listed in ``PriceFetch.unknown``
    (and ``missing``). Any other source error or malformed payload is raised.
    """
    parsed: list[_Bars] = []
    unknown: list[str] = []
    missing: list[str] = []
    for symbol in symbols:
        payload = client.daily_bars(symbol, start, end)
        if payload is None:
            unknown.append(symbol)
            missing.append(symbol)
            continue
        bars = _extract(payload, symbol)
        if len(bars.close):
            parsed.append(bars)
        else:
            missing.append(symbol)
    return PriceFetch(frame=_frame(parsed), unknown=unknown, missing=missing)


def make_yahoo_client(mode: DataMode, universe_size: int | None = None) -> YahooChartClient:
    """A Yahoo client for ``mode``.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit,
    answered by :mod:`pas_pipeline.sources.sample.yahoo`; ``universe_size`` (when given)
    selects the sample universe it serves (see ``configure_sample_market``).
    ``DataMode.LIVE``: the real network with :data:`YAHOO_POLICY`.
    """
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import yahoo as sample_yahoo  # registers the handler

        if universe_size is not None:
            sample_yahoo.reconfigure(size=int(universe_size))
        return YahooChartClient(ApiClient(unlimited(YAHOO_POLICY), transport=sample_transport()))
    return YahooChartClient(ApiClient(YAHOO_POLICY))


__all__ = [
    "PRICE_COLUMNS",
    "YAHOO_POLICY",
    "PriceFetch",
    "YahooChartClient",
    "fetch_prices",
    "make_yahoo_client",
    "parse_chart",
]
