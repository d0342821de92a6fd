"""Sample-mode Google Trends: the explore and multiline endpoints in their real shape, offline.

Importing this module registers :func:`handle_request` for ``trends.google.com``:

- ``GET /`` (the home page, ``?geo=US``) answers a small HTML page and sets Google's session
  cookie: ``NID=<value>; Domain=.google.com; Path=/; Secure; HttpOnly`` (the value is random
  once per process; sample output does not depend on it). Like Google, both API endpoints
  below answer HTTP 429 to a request without an ``NID`` cookie (any value is accepted, so
  nothing is stored).
- ``GET /trends/api/explore?hl&tz&req`` answers ``)]}'`` + newline + ``{"widgets": [...]}``
  with a ``TIMESERIES`` widget (``token``, ``request`` in Google's own form:
  ``time``, ``resolution``, ``locale``, ``comparisonItem[].complexKeywordsRestriction``,
  ``requestOptions``, ``userConfig``) followed by ``GEO_MAP`` and related-queries widgets.
- ``GET /trends/api/widgetdata/multiline?hl&tz&req&token`` answers ``)]}',`` + newline +
  ``{"default": {"timelineData": [...], "averages": []}}``, one point per UTC day (``tz=0``)
  of the widget's range; a token that does not belong to the request gets HTTP 400.

Values follow Google's convention: 0-100, scaled so the busiest day of the request is 100.
The underlying daily volume is synthetic and deterministic per (term, day): a weekly cycle
(weekends ~25% lower), log-normal noise and occasional short spikes. The terms are
:func:`pas_pipeline.sources.google_trends.search_term` of the sample companies' names (size,
seed and "today" from :func:`pas_pipeline.sources.sample.yahoo.sample_config`); an unknown
term has no data (``hasData`` false, value 0). The news sample's
:func:`~pas_pipeline.sources.sample.alpaca_news.buzz_tickers` get 2-3x the volume over the 30
days before "today", so their interest rises while their news is positive. Days up to
"today - 1" are served and the last one is marked ``isPartial`` like Google's unfinished day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import zlib
from functools import lru_cache
from http.cookies import SimpleCookie
from typing import Any

import httpx
import numpy as np

from pas_pipeline.sources.google_trends import EXPLORE_PREFIX, MULTILINE_PREFIX, search_term
from pas_pipeline.sources.http import register_sample_handler
from pas_pipeline.sources.sample.alpaca_news import in_buzz
from pas_pipeline.sources.sample.yahoo import (
    reconfigure,
    sample_size_seed,
    sample_today,
)
from pas_pipeline.sources.universe import sample_universe

TRENDS_HOST = "trends.google.com"
HOME_PATH = "/"
SESSION_COOKIE = "NID"
SESSION_COOKIE_VALUE = f"511={secrets.token_urlsafe(48)}"
"""The ``NID`` value the home page sets: random once per process."""
EXPLORE_PATH = "/trends/api/explore"
MULTILINE_PATH = "/trends/api/widgetdata/multiline"
MAX_DAYS = 269
SPIKE_PROBABILITY = 1 / 45
_WEEKDAY_FACTOR = np.array([1.05, 1.06, 1.05, 1.03, 0.98, 0.76, 0.74])


@lru_cache(maxsize=8)
def _tickers_by_term(size: int, seed: int) -> dict[str, str]:
    """``search term (lower case) -> ticker`` of the sample universe."""
    universe = sample_universe(size, seed)
    return {
        search_term(name).lower(): ticker
        for ticker, name in zip(universe["ticker"], universe["name"], strict=True)
    }


def _volume(term: str, ticker: str, days: list[dt.date], today: dt.date) -> np.ndarray:
    """Synthetic daily search volume of ``term`` (deterministic per term and day)."""
    size, seed = sample_size_seed()
    volume = np.empty(len(days))
    for n, day in enumerate(days):
        rng = np.random.default_rng([seed, 0x7E, zlib.crc32(term.encode()), day.toordinal()])
        level = _WEEKDAY_FACTOR[day.weekday()] * np.exp(rng.normal(0.0, 0.12))
        if rng.random() < SPIKE_PROBABILITY:
            level *= rng.uniform(1.5, 3.0)
        if in_buzz(ticker, day, today, size, seed):
            level *= 2.5
        volume[n] = level
    return volume


def _token(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":")).encode()
    return "APP6_UEAAAAA" + hashlib.sha256(canonical).hexdigest()[:32].upper()


def _prefixed(prefix: str, payload: Any) -> httpx.Response:
    body = (prefix + "\n" + json.dumps(payload, separators=(",", ":"))).encode()
    return httpx.Response(
        200, content=body, headers={"content-type": "application/json; charset=utf-8"}
    )


def _error(status: int, message: str) -> httpx.Response:
    body = json.dumps({"error": {"code": status, "message": message}}).encode()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def _range(text: Any) -> tuple[dt.date, dt.date] | None:
    if not isinstance(text, str):
        return None
    try:
        first, last = (dt.date.fromisoformat(part) for part in text.split(" "))
    except ValueError:
        return None
    return (first, last) if first <= last and (last - first).days < MAX_DAYS else None


def _json_param(request: httpx.Request) -> Any:
    try:
        return json.loads(request.url.params.get("req", ""))
    except json.JSONDecodeError:
        return None


def explore_response(request: httpx.Request) -> httpx.Response:
    """Answer ``/trends/api/explore`` for one keyword with a daily range (see the module)."""
    req = _json_param(request)
    items = req.get("comparisonItem") if isinstance(req, dict) else None
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        return _error(400, "req needs exactly one comparisonItem in the sample")
    item = items[0]
    keyword, geo, time = item.get("keyword"), item.get("geo", ""), item.get("time")
    if not isinstance(keyword, str) or not keyword.strip() or _range(time) is None:
        return _error(400, "comparisonItem needs a keyword and a 'YYYY-MM-DD YYYY-MM-DD' time")
    widget_request = {
        "time": time,
        "resolution": "DAY",
        "locale": request.url.params.get("hl", "en-US"),
        "comparisonItem": [
            {
                "geo": {"country": geo} if geo else {},
                "complexKeywordsRestriction": {"keyword": [{"type": "BROAD", "value": keyword}]},
            }
        ],
        "requestOptions": {"property": "", "backend": "IZG", "category": 0},
        "userConfig": {"userType": "USER_TYPE_LEGIT_USER"},
    }
    related = {"restriction": {"geo": {"country": geo}}, "keywordType": "QUERY"}
    widgets = [
        {
            "id": "TIMESERIES",
            "title": "Interest over time",
            "type": "fe_line_chart",
            "request": widget_request,
            "token": _token(widget_request),
        },
        {"id": "GEO_MAP", "title": "Interest by subregion", "request": {}, "token": "geo"},
        {"id": "RELATED_QUERIES", "title": "Related queries", "request": related, "token": "rq"},
    ]
    return _prefixed(EXPLORE_PREFIX, {"widgets": widgets})


def _point(day: dt.date, value: int, has_data: bool, partial: bool) -> dict[str, Any]:
    stamp = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    point: dict[str, Any] = {
        "time": str(int(stamp.timestamp())),
        "formattedTime": f"{day:%b} {day.day}, {day.year}",
        "formattedAxisTime": f"{day:%b} {day.day}",
        "value": [value],
        "hasData": [has_data],
        "formattedValue": [str(value)],
    }
    if partial:
        point["isPartial"] = True
    return point


def multiline_response(request: httpx.Request) -> httpx.Response:
    """Answer ``/trends/api/widgetdata/multiline`` for a token of :func:`explore_response`."""
    req = _json_param(request)
    if not isinstance(req, dict) or request.url.params.get("token") != _token(req):
        return _error(400, "invalid token for this request")
    span = _range(req.get("time"))
    try:
        keyword = req["comparisonItem"][0]["complexKeywordsRestriction"]["keyword"][0]["value"]
    except (KeyError, IndexError, TypeError):
        keyword = None
    if span is None or not isinstance(keyword, str):
        return _error(400, "malformed widget request")
    today = sample_today()
    first, last = span[0], min(span[1], today - dt.timedelta(days=1))
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    ticker = _tickers_by_term(*sample_size_seed()).get(keyword.strip().lower())
    if ticker is None or not days:
        points = [_point(day, 0, has_data=False, partial=False) for day in days]
    else:
        volume = _volume(keyword.strip().lower(), ticker, days, today)
        values = np.rint(100.0 * volume / volume.max()).astype(int)
        partial_day = today - dt.timedelta(days=1)
        points = [
            _point(day, int(value), has_data=True, partial=day == partial_day)
            for day, value in zip(days, values, strict=True)
        ]
    return _prefixed(MULTILINE_PREFIX, {"default": {"timelineData": points, "averages": []}})


def home_response(request: httpx.Request) -> httpx.Response:
    """Answer ``/``: an HTML page that sets the ``NID`` session cookie (see the module)."""
    cookie = (
        f"{SESSION_COOKIE}={SESSION_COOKIE_VALUE}; expires=Fri, 01-Jan-2100 00:00:00 GMT; "
        "Domain=.google.com; Path=/; Secure; HttpOnly"
    )
    return httpx.Response(
        200,
        content=b"<!doctype html><html><head><title>Google Trends</title></head></html>",
        headers={"content-type": "text/html; charset=utf-8", "set-cookie": cookie},
    )


def _has_session(request: httpx.Request) -> bool:
    morsel = SimpleCookie(request.headers.get("cookie", "")).get(SESSION_COOKIE)
    return morsel is not None and bool(morsel.value)


ROUTES = {
    HOME_PATH: home_response,
    EXPLORE_PATH: explore_response,
    MULTILINE_PATH: multiline_response,
}


def handle_request(request: httpx.Request) -> httpx.Response:
    """Dispatch one Trends request by path (HTTP 404 for any other path; HTTP 429 for an API
    request without the ``NID`` cookie)."""
    route = ROUTES.get(request.url.path)
    if request.method != "GET" or route is None:
        return _error(404, f"not found: {request.url.path}")
    if route is not home_response and not _has_session(request):
        return httpx.Response(
            429,
            content=b"<!doctype html><html><body>429. Too Many Requests.</body></html>",
            headers={"content-type": "text/html; charset=utf-8"},
        )
    return route(request)


register_sample_handler(TRENDS_HOST, handle_request)

__all__ = [
    "TRENDS_HOST",
    "explore_response",
    "handle_request",
    "home_response",
    "multiline_response",
    "reconfigure",
]
