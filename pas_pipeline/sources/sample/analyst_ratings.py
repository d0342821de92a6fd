"""Sample-mode Yahoo quote summary: ``upgradeDowngradeHistory`` in its real JSON shape, offline.

:func:`handle_quote_summary_request` answers ``/v10/finance/quoteSummary/{symbol}`` for
``query2.finance.yahoo.com`` (the Yahoo sample handler of
:mod:`pas_pipeline.sources.sample.yahoo` forwards those paths here). The answer is
``{"quoteSummary": {"result": [{"upgradeDowngradeHistory": {"history": [...], "maxAge":
86400}}], "error": null}}`` with items ``{epochGradeDate, firm, toGrade, fromGrade, action}``,
newest first. Other requested modules are left out of the result. A symbol outside the
sample universe and its sector ETFs gets HTTP 404 with Yahoo's error body; a sector ETF gets
a result without the module (no analyst coverage); a request without ``modules`` gets
HTTP 400. Without Yahoo's session (the ``A3`` cookie and its ``crumb``, see
:func:`pas_pipeline.sources.sample.yahoo.session_error`) every request gets HTTP 401
``Invalid Crumb``.

Universe size, seed and "today" come from the Yahoo sample's configuration
(:func:`pas_pipeline.sources.sample.yahoo.configure_sample_market`), so every source
describes the same universe; nothing after "today" is served.

History is synthetic and deterministic per (ticker, year): it starts on 2022-01-01 and does
not change when "today" moves. Each ticker is covered by a fixed set of firms (3 for the
smallest companies, up to 28 for the largest: ``3 + 25 * (market_cap / 3.5e12) ** 0.3``),
and each covering firm issues about 2 rating actions a year (a Poisson number of actions
per ticker and year, on uniformly drawn days, by uniformly drawn covering firms): 45% maintains,
10% reiterates, 15% upgrades, 15% downgrades, 15% initiations, with grades from the firm's
own three-step scale (an upgrade moves one step up, a downgrade one step down). Timestamps
fall between 11:00 and 22:00 UTC. The :func:`burst_tickers` (a few per universe) also get
:data:`BURST_UPGRADES` extra upgrades from distinct firms on the 13 days before "today", so
the Upgrade Momentum strategy has something to find.
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

from pas_pipeline.sources.sample.yahoo import sample_size_seed, sample_today, session_error
from pas_pipeline.sources.universe import sample_universe, sector_etfs

HISTORY_START = dt.date(2022, 1, 1)
MODULE = "upgradeDowngradeHistory"
MAX_AGE_SECONDS = 86400
TOP_MARKET_CAP = 3.5e12
MIN_FIRMS = 3
ACTIONS_PER_FIRM_PER_YEAR = 2.0
ACTION_SHARES = {"main": 0.45, "reit": 0.10, "up": 0.15, "down": 0.15, "init": 0.15}
BURST_COUNT = 4
BURST_POOL = 200
BURST_DAYS = 13
BURST_UPGRADES = (4, 7)
"""Inclusive range of the number of burst upgrades of a burst ticker."""

FIRMS: tuple[tuple[str, tuple[str, str, str]], ...] = (
    ("Morgan Stanley", ("Underweight", "Equal-Weight", "Overweight")),
    ("Goldman Sachs", ("Sell", "Neutral", "Buy")),
    ("JP Morgan", ("Underweight", "Neutral", "Overweight")),
    ("Bank of America", ("Underperform", "Neutral", "Buy")),
    ("Citigroup", ("Sell", "Neutral", "Buy")),
    ("Wells Fargo", ("Underweight", "Equal-Weight", "Overweight")),
    ("Barclays", ("Underweight", "Equal-Weight", "Overweight")),
    ("UBS", ("Sell", "Neutral", "Buy")),
    ("Deutsche Bank", ("Sell", "Hold", "Buy")),
    ("Jefferies", ("Underperform", "Hold", "Buy")),
    ("Evercore ISI Group", ("Underperform", "In-Line", "Outperform")),
    ("Bernstein", ("Underperform", "Market Perform", "Outperform")),
    ("RBC Capital", ("Underperform", "Sector Perform", "Outperform")),
    ("BMO Capital", ("Underperform", "Market Perform", "Outperform")),
    ("Mizuho", ("Underperform", "Neutral", "Buy")),
    ("Piper Sandler", ("Underweight", "Neutral", "Overweight")),
    ("Raymond James", ("Underperform", "Market Perform", "Outperform")),
    ("KeyBanc", ("Underweight", "Sector Weight", "Overweight")),
    ("Truist Securities", ("Sell", "Hold", "Buy")),
    ("Oppenheimer", ("Underperform", "Perform", "Outperform")),
    ("Stifel", ("Sell", "Hold", "Buy")),
    ("Needham", ("Underperform", "Hold", "Buy")),
    ("Wedbush", ("Underperform", "Neutral", "Outperform")),
    ("Baird", ("Underperform", "Neutral", "Outperform")),
    ("TD Cowen", ("Underperform", "Market Perform", "Outperform")),
    ("Argus Research", ("Sell", "Hold", "Buy")),
    ("Loop Capital", ("Sell", "Hold", "Buy")),
    ("Rosenblatt", ("Sell", "Neutral", "Buy")),
)
"""Brokers and their three-step grade scales (bearish, neutral, bullish)."""

_PATH = re.compile(r"^/v10/finance/quoteSummary/(?P<symbol>[^/]+)$")
_ACTION_NAMES = tuple(ACTION_SHARES)
_ACTION_P = np.array(list(ACTION_SHARES.values()))


@lru_cache(maxsize=8)
def _coverage(size: int, seed: int) -> dict[str, tuple[int, ...]]:
    """``ticker -> indices into FIRMS`` of the firms covering it, for the sample universe."""
    universe = sample_universe(size, seed)
    covered: dict[str, tuple[int, ...]] = {}
    for ticker, cap in zip(universe["ticker"], universe["market_cap"], strict=True):
        count = min(len(FIRMS), int(MIN_FIRMS + 25 * (cap / TOP_MARKET_CAP) ** 0.3))
        rng = np.random.default_rng([seed, 0xA7, zlib.crc32(ticker.encode())])
        covered[ticker] = tuple(sorted(rng.choice(len(FIRMS), size=count, replace=False)))
    return covered


@lru_cache(maxsize=8)
def _burst_tickers(size: int, seed: int) -> tuple[str, ...]:
    tickers = list(_coverage(size, seed))
    pool = min(len(tickers), BURST_POOL)
    rng = np.random.default_rng([seed, 0xB5])
    picks = rng.choice(pool, size=min(BURST_COUNT, pool), replace=False)
    return tuple(tickers[i] for i in sorted(picks))


def burst_tickers() -> tuple[str, ...]:
    """The tickers with a burst of upgrades over the 13 days before "today"."""
    return _burst_tickers(*sample_size_seed())


def _items(
    firms: np.ndarray, actions: np.ndarray, stamps: np.ndarray, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """History items of ``FIRMS[firms[i]]`` taking ``_ACTION_NAMES[actions[i]]`` at epoch
    second ``stamps[i]``, with grades from the firm's scale (index -1 = no grade)."""
    n = len(firms)
    step = rng.integers(0, 2, size=n)
    grade = rng.choice(3, size=n, p=[0.1, 0.4, 0.5])
    name = np.asarray(_ACTION_NAMES, dtype=object)[actions]
    up, down, init = name == "up", name == "down", name == "init"
    before = np.where(up, step, np.where(down, step + 1, np.where(init, -1, grade)))
    after = np.where(up, step + 1, np.where(down, step, grade))
    return [
        {
            "epochGradeDate": int(stamps[i]),
            "firm": FIRMS[firms[i]][0],
            "toGrade": FIRMS[firms[i]][1][after[i]],
            "fromGrade": FIRMS[firms[i]][1][before[i]] if before[i] >= 0 else "",
            "action": name[i],
        }
        for i in range(n)
    ]


def _stamps(day_numbers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Epoch seconds between 11:00 and 22:00 UTC on days ``day_numbers`` (days since 1970)."""
    return day_numbers * 86400 + rng.integers(11 * 3600, 22 * 3600, size=len(day_numbers))


def _day_number(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


@lru_cache(maxsize=16384)
def _year(ticker: str, year: int, size: int, seed: int) -> tuple[dict[str, Any], ...]:
    """The regular (non-burst) rating changes of ``ticker`` in ``year``, oldest first."""
    firms = np.array(_coverage(size, seed)[ticker])
    first = _day_number(dt.date(year, 1, 1))
    days = _day_number(dt.date(year + 1, 1, 1)) - first
    rng = np.random.default_rng([seed, 0xA8, zlib.crc32(ticker.encode()), year])
    count = int(rng.poisson(len(firms) * ACTIONS_PER_FIRM_PER_YEAR))
    stamps = _stamps(first + rng.integers(0, days, size=count), rng)
    who = rng.choice(firms, size=count)
    actions = rng.choice(len(_ACTION_NAMES), size=count, p=_ACTION_P)
    order = np.argsort(stamps, kind="stable")
    return tuple(_items(who[order], actions[order], stamps[order], rng))


def _burst(ticker: str, today: dt.date, size: int, seed: int) -> list[dict[str, Any]]:
    """The burst upgrades of a burst ticker: distinct firms, days ``today - 13 .. today - 1``."""
    rng = np.random.default_rng([seed, 0xB6, zlib.crc32(ticker.encode())])
    count = int(rng.integers(BURST_UPGRADES[0], BURST_UPGRADES[1] + 1))
    firms = rng.choice(len(FIRMS), size=count, replace=False)
    lags = rng.integers(1, BURST_DAYS + 1, size=count)
    stamps = _stamps(_day_number(today) - lags, rng)
    return _items(firms, np.full(count, _ACTION_NAMES.index("up")), stamps, rng)


def rating_history(ticker: str) -> list[dict[str, Any]]:
    """The served ``history`` of ``ticker``: newest first, nothing after "today".

    One item per (firm, UTC day, action); a burst upgrade wins over a regular one.
    """
    size, seed = sample_size_seed()
    today = sample_today()
    items = _burst(ticker, today, size, seed) if ticker in _burst_tickers(size, seed) else []
    for year in range(HISTORY_START.year, today.year + 1):
        items.extend(_year(ticker, year, size, seed))
    end = (_day_number(today) + 1) * 86400
    unique: dict[tuple[str, int, str], dict[str, Any]] = {}
    for item in items:
        key = (item["firm"], item["epochGradeDate"] // 86400, item["action"])
        if item["epochGradeDate"] < end:
            unique.setdefault(key, item)
    return sorted(unique.values(), key=lambda item: -item["epochGradeDate"])


def _json_response(status: int, payload: Any) -> httpx.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return httpx.Response(
        status, content=body, headers={"content-type": "application/json;charset=utf-8"}
    )


def _error(status: int, code: str, description: str) -> httpx.Response:
    return _json_response(
        status,
        {"quoteSummary": {"result": None, "error": {"code": code, "description": description}}},
    )


def handle_quote_summary_request(request: httpx.Request) -> httpx.Response:
    """Answer one quote-summary request from the sample data (see the module docstring)."""
    denied = session_error(request)
    if denied is not None:
        return denied
    match = _PATH.match(request.url.path)
    if request.method != "GET" or match is None:
        return _error(404, "Not Found", "HTTP 404 Not Found")
    modules = request.url.params.get("modules", "")
    if not modules:
        return _error(400, "Bad Request", 'Missing value for the "modules" argument')
    symbol = unquote(match["symbol"]).upper()
    size, seed = sample_size_seed()
    result: dict[str, Any] = {}
    if symbol in _coverage(size, seed):
        if MODULE in modules.split(","):
            history = rating_history(symbol)
            result[MODULE] = {"history": history, "maxAge": MAX_AGE_SECONDS}
    elif symbol not in set(sector_etfs()["ticker"]):
        return _error(404, "Not Found", f"Quote not found for symbol: {symbol}")
    return _json_response(200, {"quoteSummary": {"result": [result], "error": None}})


__all__ = [
    "FIRMS",
    "HISTORY_START",
    "burst_tickers",
    "handle_quote_summary_request",
    "rating_history",
]
