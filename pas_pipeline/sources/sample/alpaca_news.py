"""Sample-mode Alpaca market data host: the News API in its real JSON shape, offline.

Importing this module registers :func:`handle_request` for ``data.alpaca.markets``. The
handler dispatches on the request path through :data:`ROUTES` (path -> function); this
module serves ``/v1beta1/news`` only. Another sample endpoint of the same host (for example
``/v2/stocks/bars``) is added with ``ROUTES["/v2/stocks/bars"] = its_function`` from its own
module, without touching this one. Unknown paths get HTTP 404
``{"code": 40410000, "message": ...}``; bad parameters HTTP 400 ``{"code": 40010001, ...}``.

``GET /v1beta1/news`` takes ``symbols`` (comma list, required here), ``start``/``end``
(RFC-3339, required here), ``limit`` (1-50, default 10), ``sort`` (``asc``/``desc``,
default ``desc``) and ``page_token``; it answers ``{"news": [...], "next_page_token":
str | null}`` with articles carrying ``id, headline, author, created_at, updated_at,
summary, content, url, images, symbols, source``.

Articles are synthetic and deterministic per UTC day, over ``sample_universe``
with size/seed/"today" from :func:`pas_pipeline.sources.sample.yahoo.sample_config`
(so every source describes the same universe). Each ticker gets a Poisson number of articles
a day (about 2.6 for the largest company, 0.1 for the smallest), each with a positive,
negative or neutral headline + summary (finance words of the sentiment lexicon, some negated)
and a per-ticker tone tilt. The :func:`buzz_tickers` (a few per universe) get twice the news,
90% of it positive, over the 30 days before "today"; the Google Trends sample gives the same
tickers rising search interest, so the Trends + News strategy has something to find. Only
days before "today" are served (today's news is not complete).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import httpx
import numpy as np

from pas_pipeline.sources.http import register_sample_handler
from pas_pipeline.sources.sample.yahoo import (
    reconfigure,
    sample_size_seed,
    sample_today,
)
from pas_pipeline.sources.universe import sample_universe

ALPACA_DATA_HOST = "data.alpaca.markets"
NEWS_PATH = "/v1beta1/news"
EPOCH = dt.date(2015, 1, 1)
BUZZ_COUNT = 6
BUZZ_DAYS = 30
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
TOP_MARKET_CAP = 3.5e12

RouteHandler = Callable[[httpx.Request], httpx.Response]

_POSITIVE = (
    ("{name} shares surge after earnings beat", "Quarterly profit exceeded estimates."),
    ("{name} reports record revenue", "Strong demand boosted growth across segments."),
    ("Analysts upgrade {name} on improving margins", "The upgrade cites robust momentum."),
    ("{name} did not miss estimates again", "Results show solid progress on costs."),
    ("{name} wins major contract", "The win expands its backlog."),
)
_NEGATIVE = (
    ("{name} shares fall after revenue miss", "Weak demand hurt results."),
    ("Analysts downgrade {name} citing slowdown", "The downgrade flags declining orders."),
    ("{name} faces lawsuit over product recall", "Litigation could delay new launches."),
    ("{name} warns of losses", "Management said the outlook is not strong."),
    ("{name} plunges on investigation report", "Regulators opened a probe."),
)
_NEUTRAL = (
    ("{name} to present at industry conference", "Executives will speak on Tuesday."),
    ("{name} announces quarterly dividend", "The dividend is payable next month."),
    ("{name} names new chief financial officer", "The appointment takes effect in June."),
)


@lru_cache(maxsize=8)
def _companies(size: int, seed: int) -> dict[str, tuple[int, str, float, float]]:
    """``ticker -> (position, name, articles a day, tone tilt)`` of the sample universe."""
    universe = sample_universe(size, seed)
    rng = np.random.default_rng([seed, 0xA1])
    tilts = rng.normal(0.0, 0.15, size=len(universe))
    companies = {}
    for position, (ticker, name, cap) in enumerate(
        zip(universe["ticker"], universe["name"], universe["market_cap"], strict=True)
    ):
        rate = 0.1 + 2.5 * (cap / TOP_MARKET_CAP) ** 0.5
        companies[ticker] = (position, name, float(rate), float(tilts[position]))
    return companies


@lru_cache(maxsize=8)
def _buzz(size: int, seed: int) -> tuple[str, ...]:
    tickers = list(_companies(size, seed))
    pool = min(len(tickers), 300)
    rng = np.random.default_rng([seed, 0xB0])
    picks = rng.choice(pool, size=min(BUZZ_COUNT, pool), replace=False)
    return tuple(tickers[i] for i in sorted(picks))


def buzz_tickers() -> tuple[str, ...]:
    """Tickers with heavy, mostly positive news (and rising search interest in the Google
    Trends sample) over the 30 days before the sample's "today"."""
    return _buzz(*sample_size_seed())


def in_buzz(ticker: str, day: dt.date, today: dt.date, size: int, seed: int) -> bool:
    """Whether ``ticker`` is a buzz ticker and ``day`` one of the 30 days before ``today``."""
    return ticker in _buzz(size, seed) and 0 < (today - day).days <= BUZZ_DAYS


def _day_articles(
    ticker: str, day: dt.date, today: dt.date, size: int, seed: int
) -> tuple[dict[str, Any], ...]:
    """The articles of ``ticker`` created on UTC ``day`` (deterministic per day and today)."""
    return _day_news(day, today, size, seed).get(ticker, ())


@lru_cache(maxsize=1024)
def _day_news(
    day: dt.date, today: dt.date, size: int, seed: int
) -> dict[str, tuple[dict[str, Any], ...]]:
    """Every ticker's articles of UTC ``day``: one generator per day draws all the counts at
    once (a Poisson number per ticker), then the articles of the tickers that have news."""
    companies = _companies(size, seed)
    tickers = list(companies)
    rng = np.random.default_rng([seed, 0xA2, day.toordinal()])
    buzz = [in_buzz(ticker, day, today, size, seed) for ticker in tickers]
    rates = np.array(
        [companies[t][2] * (2.0 if b else 1.0) for t, b in zip(tickers, buzz, strict=True)]
    )
    counts = rng.poisson(rates)
    news: dict[str, tuple[dict[str, Any], ...]] = {}
    for index in np.flatnonzero(counts):
        ticker = tickers[index]
        position, name, _, tilt = companies[ticker]
        positive_share = 0.9 if buzz[index] else float(np.clip(0.5 + tilt, 0.1, 0.9))
        count = int(counts[index])
        seconds = np.sort(rng.integers(0, 86_400, size=count))
        articles = []
        for n in range(count):
            if rng.random() < (0.1 if buzz[index] else 0.3):
                templates = _NEUTRAL
            else:
                templates = _POSITIVE if rng.random() < positive_share else _NEGATIVE
            headline, summary = templates[int(rng.integers(len(templates)))]
            ident = (day - EPOCH).days * 10_000_000 + position * 1_000 + n
            stamp = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=int(seconds[n]))
            text = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
            articles.append(
                {
                    "id": ident,
                    "headline": headline.format(name=name),
                    "author": "Benzinga Newsdesk",
                    "created_at": text,
                    "updated_at": text,
                    "summary": summary,
                    "content": "",
                    "url": f"https://www.benzinga.com/news/{ident}",
                    "images": [],
                    "symbols": [ticker],
                    "source": "benzinga",
                }
            )
        news[ticker] = tuple(articles)
    return news


def json_response(status: int, payload: Any) -> httpx.Response:
    """A compact JSON answer of the sample ``data.alpaca.markets`` host."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def _error(status: int, code: int, message: str) -> httpx.Response:
    return json_response(status, {"code": code, "message": message})


def _bad_request(message: str) -> httpx.Response:
    return _error(400, 40010001, message)


def _moment(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def page_token(kind: str, offset: int) -> str:
    """An opaque page token of the sample endpoint ``kind``: where the next page starts."""
    return base64.b64encode(f"{kind}:{offset}".encode()).decode()


def token_offset(kind: str, token: str | None) -> int | None:
    """The offset a :func:`page_token` of ``kind`` stands for (0 without a token); None for
    a token that is not one of ``kind``'s."""
    if not token:
        return 0
    try:
        text = base64.b64decode(token.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == kind and number.isdigit() else None


@lru_cache(maxsize=16)
def _matching(
    symbols: tuple[str, ...],
    start: dt.datetime,
    end: dt.datetime,
    newest_first: bool,
    today: dt.date,
) -> list[dict[str, Any]]:
    """Every article of ``symbols`` created in ``[start, end]`` before ``today``, in order
    (cached: the pages of one query share it)."""
    size, seed = sample_size_seed()
    last_day = min(end.date(), today - dt.timedelta(days=1))
    days = [start.date() + dt.timedelta(days=n) for n in range((last_day - start.date()).days + 1)]
    low, high = (f"{moment:%Y-%m-%dT%H:%M:%S}Z" for moment in (start, end))
    found = [
        article
        for ticker in symbols
        for day in days
        for article in _day_articles(ticker, day, today, size, seed)
        if low <= article["created_at"] <= high  # same RFC-3339 UTC form: text order is time order
    ]
    found.sort(key=lambda a: (a["created_at"], a["id"]), reverse=newest_first)
    return found


def news_response(request: httpx.Request) -> httpx.Response:
    """Answer ``GET /v1beta1/news`` from the sample articles (see the module)."""
    params = request.url.params
    symbols = [s.strip().upper() for s in params.get("symbols", "").split(",") if s.strip()]
    start, end = _moment(params.get("start")), _moment(params.get("end"))
    if not symbols:
        return _bad_request("symbols is required in sample mode")
    if start is None or end is None or end < start:
        return _bad_request("start and end must be RFC-3339 times with start <= end")
    limit_text = params.get("limit", str(DEFAULT_LIMIT))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        return _bad_request(f"invalid limit: {limit_text}")
    sort = params.get("sort", "desc").lower()
    if sort not in ("asc", "desc"):
        return _bad_request(f"invalid sort: {sort}")
    offset = token_offset("offset", params.get("page_token"))
    if offset is None:
        return _bad_request("invalid page token")
    found = _matching(tuple(dict.fromkeys(symbols)), start, end, sort == "desc", sample_today())
    limit = int(limit_text)
    page = found[offset : offset + limit]
    more = offset + limit < len(found)
    token = page_token("offset", offset + limit) if more else None
    return json_response(200, {"news": page, "next_page_token": token})


ROUTES: dict[str, RouteHandler] = {NEWS_PATH: news_response}
"""Sample endpoints of ``data.alpaca.markets`` by path; other modules may add theirs."""


def handle_request(request: httpx.Request) -> httpx.Response:
    """Dispatch one request to the :data:`ROUTES` function of its path (404 if none)."""
    route = ROUTES.get(request.url.path)
    if request.method != "GET" or route is None:
        return _error(404, 40410000, f"endpoint not found: {request.url.path}")
    return route(request)


register_sample_handler(ALPACA_DATA_HOST, handle_request)

__all__ = [
    "ALPACA_DATA_HOST",
    "BUZZ_DAYS",
    "ROUTES",
    "buzz_tickers",
    "handle_request",
    "in_buzz",
    "news_response",
    "reconfigure",
]
