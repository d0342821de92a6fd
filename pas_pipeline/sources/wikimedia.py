"""Wikimedia Analytics REST API: daily English-Wikipedia page views of each ticker's article.

One request per article covers the whole range (no pagination):
``GET /metrics/pageviews/per-article/en.wikipedia/all-access/user/{article}/daily/{start}/{end}``
with ``start``/``end`` as ``YYYYMMDD00`` (inclusive) and the article title with spaces turned
into underscores and every reserved character percent-encoded (``AT&T`` -> ``AT%26T``). The
``user`` agent excludes bots. No key; the documented User-Agent of
:data:`pas_pipeline.sources.http.USER_AGENT` is sent on every request, which Wikimedia requires.
HTTP 404 (unknown title, or no data in the range) means "no rows".

The tidy frame (:data:`PAGEVIEW_COLUMNS`, one row per ticker and day):

============ ================ =====================================================
column       dtype            meaning
============ ================ =====================================================
event_date   datetime64[ns]   the UTC day the views happened (midnight)
known_date   datetime64[ns]   ``event_date + 1 day``: a day's count appears the next day
ticker       object (str)     the ticker the article stands for
article      object (str)     the Wikipedia title, underscores
views        int64            human page views that day (0 for a day without a row)
============ ================ =====================================================
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pandas as pd

from pas_pipeline.config import DataMode
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import ApiClient, ApiPolicy, sample_transport, unlimited

log = logging.getLogger(__name__)

SOURCE = "wikimedia"
PROJECT = "en.wikipedia"
ACCESS = "all-access"
AGENT = "user"
PAGEVIEW_COLUMNS = ("event_date", "known_date", "ticker", "article", "views")
PUBLICATION_LAG = pd.Timedelta(days=1)
"""A day's count is published the next day: ``known_date = event_date + 1 day``."""

WIKIMEDIA_POLICY = ApiPolicy(
    name=SOURCE,
    base_url="https://wikimedia.org/api/rest_v1",
    requests_per_second=10.0,
    burst=1,
    max_retries=5,
    backoff_base_seconds=1.0,
    backoff_cap_seconds=60.0,
    timeout_seconds=30.0,
    not_found_is_empty=True,  # unknown title / no data in the range -> zero rows
)
"""Serial requests, at most 10 per second (the docs set no fixed limit but ask not to
endanger the service); 429/5xx are retried with backoff; 404 is "no data"."""

_TIMESTAMP = re.compile(r"^(\d{8})(\d{2})?$")


def _stamp(day: dt.date) -> str:
    return f"{day:%Y%m%d}00"


def article_path(article: str, start: dt.date, end: dt.date) -> str:
    """The request path of ``article``'s daily user views over ``start..end`` (inclusive)."""
    title = quote(article.strip().replace(" ", "_"), safe="")
    return (
        f"/metrics/pageviews/per-article/{PROJECT}/{ACCESS}/{AGENT}/{title}/daily/"
        f"{_stamp(start)}/{_stamp(end)}"
    )


class WikimediaClient:
    """Raw page-view items through a shared :class:`ApiClient` (one request per article)."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def __enter__(self) -> WikimediaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def daily_views(self, article: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """The ``items`` of ``article``'s daily views for ``start..end``; ``[]`` on HTTP 404.

        Raises :class:`PayloadError` (field ``items``) when the body is not ``{"items": [...]}``.
        """
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        payload = self.api.get_json(article_path(article, start, end))
        if payload is None:
            return []
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
            got = type(payload).__name__ if not isinstance(payload, dict) else "no items list"
            raise PayloadError(SOURCE, f'expected {{"items": [...]}}, got {got}', "items")
        return payload["items"]


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_date": pd.Series(dtype="datetime64[ns]"),
            "known_date": pd.Series(dtype="datetime64[ns]"),
            "ticker": pd.Series(dtype=object),
            "article": pd.Series(dtype=object),
            "views": pd.Series(dtype="int64"),
        }
    )


def _bad(message: str, field: str, row: int) -> PayloadError:
    return PayloadError(SOURCE, message, field=field, row=row)


def _item_day(item: dict[str, Any], row: int) -> pd.Timestamp:
    value = item.get("timestamp")
    match = _TIMESTAMP.match(value) if isinstance(value, str) else None
    if match is None:
        raise _bad(f"expected 'YYYYMMDDHH' text, got {value!r:.40}", "timestamp", row)
    try:
        day = pd.Timestamp(dt.datetime.strptime(match.group(1), "%Y%m%d"))
    except ValueError:
        raise _bad(f"not a calendar day: {value!r}", "timestamp", row) from None
    if match.group(2) not in (None, "00"):
        raise _bad(f"a daily timestamp ends in 00, got {value!r}", "timestamp", row)
    return day


def _item_views(item: dict[str, Any], row: int) -> int:
    value = item.get("views")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"expected an integer, got {value!r:.40}", "views", row)
    if value < 0:
        raise _bad(f"negative views {value}", "views", row)
    return value


def parse_pageviews(
    payload_items: Any,
    ticker: str,
    *,
    article: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """The tidy frame (:data:`PAGEVIEW_COLUMNS`) of one article's ``items``.

    Every day of ``start..end`` (default: the first and last day of the items) without an
    item gets ``views = 0`` (Wikimedia may omit zero days). ``article`` names the title of
    filled days when the items carry none (default: the items' own ``article``). Rows are
    sorted by ``event_date``; no items give an empty frame (no filling).

    Raises :class:`PayloadError` naming the field and the 0-based item index for an item that
    is not an object, a missing/malformed ``timestamp`` (``YYYYMMDD`` or ``YYYYMMDD00``),
    ``views`` that is not a non-negative integer, a non-text ``article`` or a repeated day.
    """
    if not isinstance(payload_items, list):
        raise PayloadError(SOURCE, f"expected a list, got {type(payload_items).__name__}", "items")
    if not payload_items:
        return _empty_frame()
    days: list[pd.Timestamp] = []
    views: list[int] = []
    titles: list[str] = []
    seen: set[pd.Timestamp] = set()
    for row, item in enumerate(payload_items):
        if not isinstance(item, dict):
            raise _bad(f"expected an object, got {type(item).__name__}", "items", row)
        title = item.get("article", article)
        if not isinstance(title, str) or not title:
            raise _bad(f"expected a title, got {title!r:.40}", "article", row)
        day = _item_day(item, row)
        if day in seen:
            raise _bad(f"day {day.date()} appears twice", "timestamp", row)
        seen.add(day)
        days.append(day)
        views.append(_item_views(item, row))
        titles.append(title)
    name = article.strip().replace(" ", "_") if article else titles[0]
    first = min(days) if start is None else min(min(days), pd.Timestamp(start))
    last = max(days) if end is None else max(max(days), pd.Timestamp(end))
    missing = [day for day in pd.date_range(first, last, freq="D") if day not in seen]
    frame = pd.DataFrame(
        {
            "event_date": pd.to_datetime(days + missing).astype("datetime64[ns]"),
            "ticker": ticker,
            "article": titles + [name] * len(missing),
            "views": pd.Series(views + [0] * len(missing), dtype="int64"),
        }
    )
    frame["known_date"] = frame["event_date"] + PUBLICATION_LAG
    frame = frame.sort_values("event_date", kind="mergesort", ignore_index=True)
    return frame[list(PAGEVIEW_COLUMNS)]


def fetch_pageviews(
    client: WikimediaClient, mapping: Mapping[str, str], start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Daily views of every ``ticker -> article`` of ``mapping`` over ``start..end``.

    One request per article. Articles answering 404 contribute no rows. Missing days are
    filled with 0 from ``start`` up to ``end`` or the last day any article reported,
    whichever is earlier: days not published yet are left out, not counted as zero.
    Sorted by (ticker, event_date).
    """
    items = {ticker: client.daily_views(article, start, end) for ticker, article in mapping.items()}
    reported = [
        _item_day(item, row)
        for rows in items.values()
        for row, item in enumerate(rows)
        if isinstance(item, dict)
    ]
    if not reported:
        log.info("%s %s..%s: no views for %d articles", SOURCE, start, end, len(mapping))
        return _empty_frame()
    frontier = min(pd.Timestamp(end), max(reported)).date()
    frames = [
        parse_pageviews(rows, ticker, article=mapping[ticker], start=start, end=frontier)
        for ticker, rows in items.items()
        if rows
    ]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values(["ticker", "event_date"], kind="mergesort", ignore_index=True)
    log.info("%s %s..%s: %d rows, %d articles", SOURCE, start, end, len(frame), len(frames))
    return frame


def make_wikimedia_client(mode: DataMode, universe_size: int | None = None) -> WikimediaClient:
    """A Wikimedia client for ``mode``.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit,
    answered by :mod:`pas_pipeline.sources.sample.wikimedia` (``universe_size``, when given,
    selects the sample universe, as for Yahoo). ``DataMode.LIVE``: the real network with
    :data:`WIKIMEDIA_POLICY`.
    """
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import wikimedia as sample_wikimedia  # registers host

        if universe_size is not None:
            sample_wikimedia.reconfigure(size=int(universe_size))
        return WikimediaClient(ApiClient(unlimited(WIKIMEDIA_POLICY), transport=sample_transport()))
    return WikimediaClient(ApiClient(WIKIMEDIA_POLICY))


__all__ = [
    "PAGEVIEW_COLUMNS",
    "WIKIMEDIA_POLICY",
    "WikimediaClient",
    "article_path",
    "fetch_pageviews",
    "make_wikimedia_client",
    "parse_pageviews",
]
