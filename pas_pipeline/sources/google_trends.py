"""Google Trends: daily search interest in each company's name, from the Trends web endpoints.

Why this source: Quiver shows Google Trends only on a JavaScript web page and has no API
for it (external-apis.md §1.10); Google's official Trends API is an application-gated alpha.
The JSON endpoints behind trends.google.com (the ones the ``pytrends`` library uses) are
public and need no key, but they are unofficial and throttle hard, so this client is slow
on purpose and the strategy queries only a short list of candidates (those with positive
news, see :func:`pas_pipeline.strategies.trends_news.trends_candidates`).

Two requests per search term:

1. ``GET /trends/api/explore?hl=en-US&tz=0&req={"comparisonItem": [{"keyword": term,
   "geo": "US", "time": "YYYY-MM-DD YYYY-MM-DD"}], "category": 0, "property": ""}``
   answers ``)]}'`` + ``{"widgets": [...]}``; the widget with ``id == "TIMESERIES"``
   carries a ``token`` and a ``request`` object.
2. ``GET /trends/api/widgetdata/multiline?hl=en-US&tz=0&req={widget request}&token={token}``
   answers ``)]}',`` + ``{"default": {"timelineData": [{"time": "1717200000",
   "formattedTime": "Jun 1, 2024", "value": [57], "hasData": [true], ...}],
   "averages": []}}``: one point per day (``time`` = epoch seconds of the UTC day with
   ``tz=0``) for ranges up to 269 days.

Both anti-JSON-hijacking prefixes are stripped by :attr:`ApiPolicy.json_prefix`: the two
endpoints get one :class:`ApiClient` each (``)]}'`` and ``)]}',``) sharing one token bucket
and one web session. Without Google's ``NID`` cookie both endpoints answer HTTP 429:
:func:`make_google_trends_client` gives both clients one
:func:`~pas_pipeline.sources.session_auth.google_trends_session_auth` (in both modes), which
gets the cookie from ``https://trends.google.com/?geo=US`` before the first request, as
pytrends does, and sends it on every explore and multiline request.

Values are **0-100 scaled per request**: 100 is the busiest day of that term within the
requested range, so only the shape within one ticker's series (from one request) is
meaningful, never levels across tickers or across requests. One keyword per request (a
comparison of several keywords would rescale them jointly). Points with ``hasData`` false
(too little search volume) and the ``isPartial`` last point are left out.

The tidy frame (:data:`SEARCH_INTEREST_COLUMNS`, one row per ticker and day):

============ ================ =====================================================
column       dtype            meaning
============ ================ =====================================================
event_date   datetime64[ns]   the UTC day searched (midnight)
known_date   datetime64[ns]   ``event_date + 3 days``: Google's daily numbers are
                              preliminary for about 2-3 days
ticker       object (str)     the ticker whose company name was searched
term         object (str)     the search term (:func:`search_term` of the name)
interest     float64          search interest, 0-100 scaled within the request
============ ================ =====================================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

import httpx
import pandas as pd
import pandera.pandas as pa

from pas_pipeline.config import DataMode
from pas_pipeline.schemas import DAY_COLUMN, KNOWN_AFTER_EVENT, SYMBOL_COLUMN
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import ApiClient, ApiPolicy, sample_transport, unlimited
from pas_pipeline.sources.session_auth import google_trends_session_auth

log = logging.getLogger(__name__)

SOURCE = "google_trends"
EXPLORE_PATH = "/trends/api/explore"
MULTILINE_PATH = "/trends/api/widgetdata/multiline"
EXPLORE_PREFIX = ")]}'"
MULTILINE_PREFIX = ")]}',"
LANGUAGE = "en-US"
TIME_ZONE_OFFSET_MINUTES = 0
"""``tz=0``: days are UTC days."""
GEO = "US"
"""Searches from the United States (the universe is US-listed)."""
MAX_DAILY_SPAN_DAYS = 269
"""Google returns daily points only for ranges shorter than 270 days."""
SEARCH_INTEREST_COLUMNS = ("event_date", "known_date", "ticker", "term", "interest")
PUBLICATION_LAG = pd.Timedelta(days=3)
"""Daily Trends numbers are preliminary for ~2-3 days: ``known_date = event_date + 3 days``."""

GOOGLE_TRENDS_POLICY = ApiPolicy(
    name=SOURCE,
    base_url="https://trends.google.com",
    requests_per_second=0.5,
    burst=1,
    max_retries=4,
    backoff_base_seconds=30.0,
    backoff_cap_seconds=300.0,
    timeout_seconds=30.0,
    json_prefix=EXPLORE_PREFIX,
)
"""One request every 2 seconds at most; a 429 waits 30 s, 60 s, 120 s, 240 s (with jitter,
or ``Retry-After``) before giving up. The explore endpoint's ``)]}'`` prefix is stripped."""

SEARCH_INTEREST_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "term": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "interest": pa.Column("float64", pa.Check.in_range(0.0, 100.0), nullable=False),
    },
    checks=[KNOWN_AFTER_EVENT],
    unique=["ticker", "event_date"],
    strict=True,
    name="search_interest",
)
"""Daily Google search interest per ticker: 0-100, known on or after the day searched, one
row per (ticker, day)."""

_LEGAL_SUFFIX = re.compile(
    r"(?:,?\s+(?:inc\.?|incorporated|corp\.?|corporation|co\.?|company|companies|plc|ltd\.?|"
    r"limited|llc|l\.p\.|lp|n\.v\.|s\.a\.|ag|se|holdings?|group|and company|& co\.?)"
    r"|\.com)\s*$",
    re.IGNORECASE,
)
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)


def search_term(company_name: str) -> str:
    """The Google search term of a company: its short name.

    A leading "The" and trailing legal or corporate words ("Inc.", ", Inc.", "Corporation",
    "Corp.", "Company", "and Company", "& Co.", "plc", "Ltd.", "Limited", "Holdings",
    "Group", ...) and a trailing ".com" are removed repeatedly, never down to nothing:
    "Apple Inc." -> "Apple", "Tesla, Inc." -> "Tesla", "The Walt Disney Company" ->
    "Walt Disney", "Eli Lilly and Company" -> "Eli Lilly", "Amazon.com" -> "Amazon".
    """
    term = " ".join(company_name.split())
    shorter = _LEADING_THE.sub("", term)
    term = shorter or term
    while True:
        shorter = _LEGAL_SUFFIX.sub("", term).strip(" ,")
        if not shorter or shorter == term:
            return term
        term = shorter


def timeframe(first: dt.date, last: dt.date) -> str:
    """The ``time`` of a comparison item for the days ``first..last``: ``"YYYY-MM-DD YYYY-MM-DD"``.

    Raises ``ValueError`` when ``last < first`` or the span has no daily resolution.
    """
    if last < first:
        raise ValueError(f"last {last} is before first {first}")
    if (last - first).days >= MAX_DAILY_SPAN_DAYS:
        raise ValueError(f"{first}..{last} is longer than {MAX_DAILY_SPAN_DAYS} days")
    return f"{first.isoformat()} {last.isoformat()}"


def google_trends_apis(
    transport: httpx.BaseTransport | None = None,
    policy: ApiPolicy = GOOGLE_TRENDS_POLICY,
    auth: httpx.Auth | None = None,
    **client_options: Any,
) -> tuple[ApiClient, ApiClient]:
    """``(explore, widgetdata)`` clients: ``policy`` with the ``)]}'`` and the ``)]}',``
    prefix. ``auth`` (one session, e.g. :func:`google_trends_session_auth`) and
    ``client_options`` (``sleep``, ``clock``, ``rng``) go to both."""
    explore = ApiClient(
        dataclasses.replace(policy, json_prefix=EXPLORE_PREFIX),
        transport,
        auth=auth,
        **client_options,
    )
    widgets = ApiClient(
        dataclasses.replace(policy, json_prefix=MULTILINE_PREFIX),
        transport,
        auth=auth,
        **client_options,
    )
    return explore, widgets


class GoogleTrendsClient:
    """Daily interest of one term per call through two :class:`ApiClient` (one per prefix).

    The widget client is put on the explore client's token bucket, so the policy's rate
    limit covers both endpoints together; both should carry one session auth
    (:func:`google_trends_apis` with ``auth=``), so one ``NID`` cookie serves both.
    """

    def __init__(self, explore: ApiClient, widgets: ApiClient) -> None:
        self.explore = explore
        self.widgets = widgets
        widgets.bucket = explore.bucket

    def __enter__(self) -> GoogleTrendsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.explore.close()
        self.widgets.close()

    def timeseries_widget(self, term: str, first: dt.date, last: dt.date) -> dict[str, Any]:
        """The ``TIMESERIES`` widget (``token`` and ``request``) of ``term`` over the days.

        Raises :class:`PayloadError` (field ``widgets``) when there is none or it lacks a
        text ``token`` or an object ``request``.
        """
        request = {
            "comparisonItem": [{"keyword": term, "geo": GEO, "time": timeframe(first, last)}],
            "category": 0,
            "property": "",
        }
        payload = self.explore.get_json(EXPLORE_PATH, _params(request))
        widgets = payload.get("widgets") if isinstance(payload, dict) else None
        if not isinstance(widgets, list):
            raise PayloadError(SOURCE, 'expected {"widgets": [...]}', "widgets")
        for row, widget in enumerate(widgets):
            if isinstance(widget, dict) and widget.get("id") == "TIMESERIES":
                if not isinstance(widget.get("token"), str) or not widget["token"]:
                    raise PayloadError(SOURCE, "TIMESERIES has no token", "widgets.token", row)
                if not isinstance(widget.get("request"), dict):
                    raise PayloadError(SOURCE, "TIMESERIES has no request", "widgets.request", row)
                return widget
        raise PayloadError(SOURCE, "no TIMESERIES widget", "widgets")

    def timeline(self, term: str, first: dt.date, last: dt.date) -> Any:
        """The raw ``default.timelineData`` points of ``term`` over ``first..last``.

        Raises :class:`PayloadError` (field ``default.timelineData``) for another shape.
        """
        widget = self.timeseries_widget(term, first, last)
        params = {**_params(widget["request"]), "token": widget["token"]}
        payload = self.widgets.get_json(MULTILINE_PATH, params)
        default = payload.get("default") if isinstance(payload, dict) else None
        points = default.get("timelineData") if isinstance(default, dict) else None
        if not isinstance(points, list):
            raise PayloadError(
                SOURCE, 'expected {"default": {"timelineData": [...]}}', "default.timelineData"
            )
        return points


def _params(request: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "hl": LANGUAGE,
        "tz": TIME_ZONE_OFFSET_MINUTES,
        "req": json.dumps(request, separators=(",", ":")),
    }


def _bad(message: str, field: str, row: int) -> PayloadError:
    return PayloadError(SOURCE, message, field=field, row=row)


def _first_flag(point: dict[str, Any], field: str, row: int, default: bool) -> bool:
    value = point.get(field, default)
    if isinstance(value, list):
        value = value[0] if value else default
    if not isinstance(value, bool):
        raise _bad(f"expected true/false, got {value!r:.40}", field, row)
    return value


def _point_day(point: dict[str, Any], row: int) -> pd.Timestamp:
    value = point.get("time")
    if not isinstance(value, str) or not value.isdigit():
        raise _bad(f"expected epoch seconds as text, got {value!r:.40}", "time", row)
    day = pd.Timestamp(int(value), unit="s")
    if day != day.normalize():
        raise _bad(f"{value} is not a UTC midnight (a daily point with tz=0)", "time", row)
    return day


def _point_value(point: dict[str, Any], row: int) -> float:
    value = point.get("value")
    if not isinstance(value, list) or len(value) != 1:
        raise _bad(f"expected a one-keyword list, got {value!r:.40}", "value", row)
    number = value[0]
    if isinstance(number, bool) or not isinstance(number, int | float) or not 0 <= number <= 100:
        raise _bad(f"expected a number in 0-100, got {number!r:.40}", "value", row)
    return float(number)


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_date": pd.Series(dtype="datetime64[ns]"),
            "known_date": pd.Series(dtype="datetime64[ns]"),
            "ticker": pd.Series(dtype=object),
            "term": pd.Series(dtype=object),
            "interest": pd.Series(dtype="float64"),
        }
    )


def parse_timeline(points: Any, ticker: str, term: str) -> pd.DataFrame:
    """The tidy frame (:data:`SEARCH_INTEREST_COLUMNS`) of one term's ``timelineData``.

    Points with ``hasData`` false or ``isPartial`` true are left out. Sorted by day.
    Raises :class:`PayloadError` naming the field and the 0-based point index for a point
    that is not an object, a ``time`` that is not a UTC midnight in epoch seconds, a
    ``value`` that is not a one-element list with a number in 0-100, a non-boolean flag, or
    a repeated day.
    """
    if not isinstance(points, list):
        raise PayloadError(SOURCE, f"expected a list, got {type(points).__name__}", "timelineData")
    days: list[pd.Timestamp] = []
    values: list[float] = []
    seen: set[pd.Timestamp] = set()
    for row, point in enumerate(points):
        if not isinstance(point, dict):
            raise _bad(f"expected an object, got {type(point).__name__}", "timelineData", row)
        day = _point_day(point, row)
        if day in seen:
            raise _bad(f"day {day.date()} appears twice", "time", row)
        seen.add(day)
        value = _point_value(point, row)
        has_data = _first_flag(point, "hasData", row, default=True)
        partial = _first_flag(point, "isPartial", row, default=False)
        if has_data and not partial:
            days.append(day)
            values.append(value)
    if not days:
        return _empty_frame()
    frame = pd.DataFrame(
        {
            "event_date": pd.to_datetime(days).astype("datetime64[ns]"),
            "ticker": ticker,
            "term": term,
            "interest": pd.Series(values, dtype="float64"),
        }
    )
    frame["known_date"] = frame["event_date"] + PUBLICATION_LAG
    frame = frame.sort_values("event_date", kind="mergesort", ignore_index=True)
    return frame[list(SEARCH_INTEREST_COLUMNS)]


def fetch_search_interest(
    client: GoogleTrendsClient, terms: Mapping[str, str], start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Daily search interest of every ``ticker -> term`` known on ``start..end`` (inclusive).

    One explore + one multiline request per term over the days ``start - 3 .. end - 3``
    (so rows have ``known_date`` in ``start..end``). All of a ticker's values come from that
    one request and share its 0-100 scale: fetch the whole window a signal compares in one
    call (the strategy needs 90 days), never stitch calls together. Sorted by
    (ticker, event_date).
    """
    first = start - PUBLICATION_LAG.to_pytimedelta()
    last = end - PUBLICATION_LAG.to_pytimedelta()
    timeframe(first, last)  # fail before the first request
    frames = []
    for ticker, term in terms.items():
        frame = parse_timeline(client.timeline(term, first, last), ticker, term)
        inside = (frame["event_date"] >= pd.Timestamp(first)) & (
            frame["event_date"] <= pd.Timestamp(last)
        )
        frames.append(frame[inside])
    if not frames:
        return _empty_frame()
    frame = pd.concat(frames, ignore_index=True)
    if frame.empty:
        return _empty_frame()
    frame = frame.sort_values(["ticker", "event_date"], kind="mergesort", ignore_index=True)
    log.info("%s %s..%s: %d rows for %d terms", SOURCE, start, end, len(frame), len(terms))
    return frame


def make_google_trends_client(
    mode: DataMode, universe_size: int | None = None
) -> GoogleTrendsClient:
    """A Google Trends client for ``mode``; its two clients share one session
    (:func:`~pas_pipeline.sources.session_auth.google_trends_session_auth`) in both modes.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit,
    answered by :mod:`pas_pipeline.sources.sample.google_trends` (which also sets the ``NID``
    cookie; ``universe_size``, when given, selects the sample universe, as for Yahoo).
    ``DataMode.LIVE``: the real network with :data:`GOOGLE_TRENDS_POLICY` (no key).
    """
    session = google_trends_session_auth()
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import google_trends as sample_trends  # registers host

        if universe_size is not None:
            sample_trends.reconfigure(size=int(universe_size))
        return GoogleTrendsClient(
            *google_trends_apis(sample_transport(), unlimited(GOOGLE_TRENDS_POLICY), auth=session)
        )
    return GoogleTrendsClient(*google_trends_apis(auth=session))


__all__ = [
    "GOOGLE_TRENDS_POLICY",
    "SEARCH_INTEREST_COLUMNS",
    "SEARCH_INTEREST_SCHEMA",
    "GoogleTrendsClient",
    "fetch_search_interest",
    "google_trends_apis",
    "make_google_trends_client",
    "parse_timeline",
    "search_term",
    "timeframe",
]
