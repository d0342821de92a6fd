"""Sample-mode Wikimedia page views: the per-article endpoint in its real JSON shape, offline.

Importing this module registers :func:`handle_request` for ``wikimedia.org``. It answers
``/api/rest_v1/metrics/pageviews/per-article/{project}/{access}/{agent}/{article}/daily/
{start}/{end}`` (``start``/``end`` as ``YYYYMMDD`` or ``YYYYMMDDHH``, inclusive) with
``{"items": [{project, article, granularity, timestamp, access, agent, views}, ...]}``, one
item per day. A title that is not the ``wiki_article`` of a sample company, or a range with
no data, gets HTTP 404 with a JSON problem body (``type``, ``title``, ``method``, ``detail``,
``uri``); a malformed path or date gets HTTP 400 with the same shape.

Like the real service the data starts on 2015-07-01 and a day's count is published the next
day: nothing after ``as_of - 1`` is served, where ``as_of`` is the Yahoo sample's "today"
(:func:`pas_pipeline.sources.sample.yahoo.configure_sample_market`; size and seed come from
there too, so every source describes the same universe).

Views are synthetic and deterministic per (article, day): a baseline proportional to
``market_cap ** 0.6`` (about 20,000 a day for the largest company, below 100 for the
smallest) times a per-article factor, a weekly cycle (weekends ~20% lower), daily log-normal
noise and occasional news spikes (about one a quarter, 2-6x, halving each day). The
:func:`surge_articles` (a few per universe) also have a strong surge (4-8x) over the 10 days
before ``as_of``, so an attention strategy has something to find.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import httpx
import numpy as np

from pas_pipeline.sources.http import register_sample_handler
from pas_pipeline.sources.sample.yahoo import (
    reconfigure,
    sample_size_seed,
    sample_today,
)
from pas_pipeline.sources.universe import sample_universe

WIKIMEDIA_HOST = "wikimedia.org"
HISTORY_START = dt.date(2015, 7, 1)
SURGE_COUNT = 5
SURGE_DAYS = 10
TOP_DAILY_VIEWS = 20_000.0
TOP_MARKET_CAP = 3.5e12
SPIKE_PROBABILITY = 1 / 90
SPIKE_DECAY = 0.5
SPIKE_MEMORY_DAYS = 7

_PATH = re.compile(
    r"^/api/rest_v1/metrics/pageviews/per-article/(?P<project>[^/]+)/(?P<access>[^/]+)/"
    r"(?P<agent>[^/]+)/(?P<article>[^/]+)/(?P<granularity>[^/]+)/(?P<start>[^/]+)/(?P<end>[^/]+)$"
)
_ACCESS = frozenset({"all-access", "desktop", "mobile-app", "mobile-web"})
_AGENTS = frozenset({"all-agents", "user", "spider", "automated"})
_STAMP = re.compile(r"^(\d{8})(\d{2})?$")
_WEEKDAY_FACTOR = np.array([1.05, 1.08, 1.06, 1.04, 0.97, 0.80, 0.82])


@lru_cache(maxsize=8)
def _articles(size: int, seed: int) -> dict[str, float]:
    """``wiki_article -> baseline daily views`` of the sample universe."""
    universe = sample_universe(size, seed)
    baselines: dict[str, float] = {}
    for article, cap in zip(universe["wiki_article"], universe["market_cap"], strict=True):
        factor = np.random.default_rng([seed, 0x77, zlib.crc32(article.encode())]).lognormal(0, 0.4)
        baselines[article] = TOP_DAILY_VIEWS * (cap / TOP_MARKET_CAP) ** 0.6 * factor
    return baselines


@lru_cache(maxsize=8)
def _surge_articles(size: int, seed: int) -> tuple[str, ...]:
    names = list(_articles(size, seed))
    pool = min(len(names), 300)
    rng = np.random.default_rng([seed, 0x5E])
    picks = rng.choice(pool, size=min(SURGE_COUNT, pool), replace=False)
    return tuple(names[i] for i in sorted(picks))


def surge_articles() -> tuple[str, ...]:
    """The titles with a strong surge of views over the 10 days before ``as_of``."""
    return _surge_articles(*sample_size_seed())


@lru_cache(maxsize=16384)
def _year(article: str, year: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily log-noise and spike amplitudes of ``article`` for every day of ``year``."""
    days = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    rng = np.random.default_rng([seed, 0x57, zlib.crc32(article.encode()), year])
    noise = rng.normal(0.0, 0.12, size=days)
    spikes = np.where(rng.random(days) < SPIKE_PROBABILITY, rng.uniform(1.0, 5.0, days), 0.0)
    return noise, spikes


def _series(article: str, first: dt.date, last: dt.date, size: int, seed: int) -> list[int]:
    """Views of ``article`` on each day of ``first..last`` (deterministic per day)."""
    lead = first - dt.timedelta(days=SPIKE_MEMORY_DAYS)
    noise_parts, spike_parts = [], []
    for year in range(lead.year, last.year + 1):
        noise, spikes = _year(article, year, seed)
        offset_first = max(lead, dt.date(year, 1, 1))
        offset_last = min(last, dt.date(year, 12, 31))
        a = (offset_first - dt.date(year, 1, 1)).days
        b = (offset_last - dt.date(year, 1, 1)).days + 1
        noise_parts.append(noise[a:b])
        spike_parts.append(spikes[a:b])
    noise = np.concatenate(noise_parts)[SPIKE_MEMORY_DAYS:]
    spikes = np.concatenate(spike_parts)
    kernel = SPIKE_DECAY ** np.arange(SPIKE_MEMORY_DAYS + 1)
    boost = np.convolve(spikes, kernel)[SPIKE_MEMORY_DAYS : SPIKE_MEMORY_DAYS + len(noise)]
    dates = [first + dt.timedelta(days=n) for n in range(len(noise))]
    weekday = _WEEKDAY_FACTOR[[d.weekday() for d in dates]]
    level = _articles(size, seed)[article] * weekday * np.exp(noise) * (1.0 + boost)
    if article in _surge_articles(size, seed):
        today = sample_today()
        rng = np.random.default_rng([seed, 0x5F, zlib.crc32(article.encode())])
        strength = rng.uniform(3.0, 7.0)
        recent = np.array([0 < (today - d).days <= SURGE_DAYS for d in dates])
        level = np.where(recent, level * (1.0 + strength), level)
    return [int(v) for v in np.round(level)]


def _json_response(status: int, payload: Any) -> httpx.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def _problem(status: int, title: str, detail: str, uri: str) -> httpx.Response:
    kind = "not_found" if status == 404 else "bad_request"
    return _json_response(
        status,
        {
            "type": f"https://mediawiki.org/wiki/HyperSwitch/errors/{kind}",
            "title": title,
            "method": "get",
            "detail": detail,
            "uri": uri,
        },
    )


def _day(text: str) -> dt.date | None:
    match = _STAMP.match(text)
    if match is None:
        return None
    try:
        return dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def handle_request(request: httpx.Request) -> httpx.Response:
    """Answer one per-article page-view request from the sample data (see the module)."""
    uri = request.url.raw_path.decode().split("?")[0]
    match = _PATH.match(uri)
    if request.method != "GET" or match is None:
        return _problem(404, "Not found.", "The requested resource was not found.", uri)
    parts = match.groupdict()
    first, last = _day(parts["start"]), _day(parts["end"])
    if (
        parts["access"] not in _ACCESS
        or parts["agent"] not in _AGENTS
        or parts["granularity"] != "daily"
        or first is None
        or last is None
        or last < first
    ):
        return _problem(400, "Bad Request", "Invalid parameter or date range.", uri)
    article = unquote(parts["article"]).replace(" ", "_")
    size, seed = sample_size_seed()
    first = max(first, HISTORY_START)
    last = min(last, sample_today() - dt.timedelta(days=1))
    if parts["project"] not in ("en.wikipedia", "en.wikipedia.org") or (
        article not in _articles(size, seed) or last < first
    ):
        detail = "The date(s) you used are valid, but we either do not have data for those "
        detail += "date(s), or the project you asked for is not loaded yet."
        return _problem(404, "Not found.", detail, uri)
    views = _series(article, first, last, size, seed)
    items = [
        {
            "project": "en.wikipedia",
            "article": article,
            "granularity": "daily",
            "timestamp": f"{first + dt.timedelta(days=n):%Y%m%d}00",
            "access": parts["access"],
            "agent": parts["agent"],
            "views": count,
        }
        for n, count in enumerate(views)
    ]
    return _json_response(200, {"items": items})


register_sample_handler(WIKIMEDIA_HOST, handle_request)

__all__ = [
    "HISTORY_START",
    "WIKIMEDIA_HOST",
    "handle_request",
    "reconfigure",
    "surge_articles",
]
