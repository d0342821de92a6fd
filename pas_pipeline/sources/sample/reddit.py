"""Sample-mode r/wallstreetbets: the OAuth token endpoint and the ``new``/``comments``
listings in their real JSON shape, offline.

:data:`HANDLERS` maps hosts to request handlers for
:func:`pas_pipeline.sources.reddit.in_process_session`:

- ``www.reddit.com``: ``POST /api/v1/access_token`` with HTTP Basic auth and
  ``grant_type=client_credentials`` answers ``{"access_token", "token_type": "bearer",
  "expires_in": 86400, "scope": "*"}``; without Basic auth, HTTP 401.
- ``oauth.reddit.com`` (needs ``Authorization: bearer <token>``, else HTTP 401 with
  ``www-authenticate: Bearer realm="reddit", error="invalid_token"``):
  ``GET /r/wallstreetbets/new`` (posts, ``t3``) and ``GET /r/wallstreetbets/comments``
  (comments, ``t1``): ``{"kind": "Listing", "data": {"after", "before", "dist", "modhash",
  "geo_filter", "children": [{"kind", "data"}]}}``, newest first, ``limit`` items per page
  (at most 100), continued with ``after=<fullname of the last item>``. Other paths: 404.

Every response carries generous ``x-ratelimit-*`` headers (used 1, remaining 999, reset
300 s), for which prawcore's rate limiter computes no wait, so nothing sleeps.

Documents are synthetic and deterministic per (kind, UTC day): about 30 posts and 60
comments a weekday (fewer at weekends) for every UTC day from :data:`HISTORY_START` up to
the day before "today" (the Yahoo sample's ``as_of``, universe size and seed from
:func:`pas_pipeline.sources.sample.yahoo.sample_config`). As on Reddit, each listing ends
after its :data:`LISTING_CAP` newest items (``after`` becomes null), so only the last few
weeks can be read: history accrues from the daily ingest, and a backfill of older days
finds nothing. Text mixes cashtags (``$NVDA``), bare
upper-case tickers, lower-case tickers (not counted), stop-list words (DD, YOLO, CEO, IT,
ALL, A...) and upper-case words outside the universe; tickers are picked with probability
rising with market cap. The :func:`surge_tickers` are mentioned far more often during the
:data:`SURGE_DAYS` days before "today", so the Wall Street Bets Buzz strategy finds them.
"""

from __future__ import annotations

import base64
import datetime as dt
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import requests

from pas_pipeline.sources.reddit import Reply, RequestHandler, json_reply
from pas_pipeline.sources.sample.yahoo import (
    reconfigure,
    sample_size_seed,
    sample_today,
)
from pas_pipeline.sources.universe import TICKER_STOPWORDS, sample_universe

TOKEN_HOST = "www.reddit.com"
API_HOST = "oauth.reddit.com"
SAMPLE_TOKEN = "sample-access-token"
HISTORY_START = dt.date(2015, 1, 1)
SURGE_COUNT = 4
SURGE_DAYS = 7
SURGE_PROBABILITY = 0.07
"""Chance that a document of a surge day also mentions a given surge ticker (~6 a day)."""
FULL_UNIVERSE = 1500
POSTS_PER_DAY = 30
COMMENTS_PER_DAY = 60
LISTING_CAP = 1000
"""Like Reddit, a listing reaches only its ~1000 newest items; older ones are unreachable."""
WEEKEND_FACTOR = 0.6
MAX_PAGE = 100
RATELIMIT_HEADERS = {
    "x-ratelimit-used": "1",
    "x-ratelimit-remaining": "999.0",
    "x-ratelimit-reset": "300",
}
_DAY_SHIFT = 4096
"""Ids encode ``day ordinal * _DAY_SHIFT + rank`` in base 36 (rank < 4096: 0 = the day's
oldest document), so ids grow with creation time as on Reddit."""
_COMMENT_OFFSET = 36**6
_MENTION_FORMATS = ("cashtag", "cashtag", "bare", "bare", "lower")
_AUTHORS = 400
_FLAIRS = ("DD", "YOLO", "Gain", "Loss", "Discussion", "Meme", "News", "Chart")

_POST_TEMPLATES: dict[int, tuple[str, ...]] = {
    0: (
        "Daily Discussion Thread for {date}",
        "What Are Your Moves Tomorrow, {date}",
        "The FED meeting is going to wreck ALL of us",
        "Lost IT all on FDs, AMA",
        "CPI print tomorrow, IMO we dump",
    ),
    1: (
        "{t1} to the moon?",
        "DD: why {t1} is undervalued",
        "YOLO'd my savings into {t1} calls",
        "Loss porn: {t1} puts expired worthless",
        "Is IT over for {t1}?",
        "CEO of {t1} just bought ALL the shares he could",
    ),
    2: (
        "{t1} vs {t2}, which one prints?",
        "Rotating out of {t1} into {t2}. YOLO",
        "DD on {t1} and {t2}: A deep dive",
    ),
}
_BODY_TEMPLATES: dict[int, tuple[str, ...]] = {
    0: (
        "sir this is a wendys",
        "ban",
        "this is the way",
        "LOL the SEC will never catch up",
        "what's the EPS consensus?",
        "I am A simple ape, I see dip I buy",
        "ALL IN or nothing",
        "RIP my portfolio",
    ),
    1: (
        "{t1} calls printing",
        "I bought A few {t1} FDs, wish me luck",
        "ALL IN on {t1}",
        "IMO {t1} is going to zero",
        "{t1} earnings next week, CEO sounded confident",
        "loaded up on {t1} at the open",
        "DD says {t1} is the play",
    ),
    2: (
        "{t1} and {t2} both red today",
        "sold {t1}, bought {t2}",
        "{t1} > {t2}, IMO",
    ),
}
_FILLERS = (
    "tendies incoming",
    "TENDIES or food stamps",
    "HODL",
    "not financial advice",
    "ATH by Friday",
    "USA USA",
    "GG",
    "",
    "",
    "",
)


@lru_cache(maxsize=8)
def _popularity(size: int, seed: int) -> tuple[tuple[str, ...], np.ndarray]:
    """(tickers, probability of being the ticker a mention picks) of the sample universe."""
    universe = sample_universe(size, seed)
    rng = np.random.default_rng([seed, 0x3B])
    weight = universe["market_cap"].to_numpy() ** 0.7 * rng.lognormal(0.0, 0.8, len(universe))
    return tuple(universe["ticker"]), weight / weight.sum()


@lru_cache(maxsize=8)
def _surge_tickers(size: int, seed: int) -> tuple[str, ...]:
    tickers = list(_popularity(size, seed)[0])
    pool = [t for t in tickers[50:400] if len(t) >= 2 and t not in TICKER_STOPWORDS]
    rng = np.random.default_rng([seed, 0x5C])
    picks = rng.choice(len(pool), size=min(SURGE_COUNT, len(pool)), replace=False)
    return tuple(sorted(pool[i] for i in picks))


def surge_tickers() -> tuple[str, ...]:
    """The tickers mentioned far more often during the 7 days before "today"."""
    return _surge_tickers(*sample_size_seed())


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def _document_id(kind: str, day: dt.date, position: int) -> str:
    offset = _COMMENT_OFFSET if kind == "t1" else 0
    return _base36(offset + day.toordinal() * _DAY_SHIFT + position)


def _parse_id(kind: str, text: str) -> tuple[dt.date, int] | None:
    try:
        number = int(text, 36) - (_COMMENT_OFFSET if kind == "t1" else 0)
        day = dt.date.fromordinal(number // _DAY_SHIFT)
    except (ValueError, OverflowError):
        return None
    return day, number % _DAY_SHIFT


def _mention(ticker: str, rng: np.random.Generator) -> str:
    style = _MENTION_FORMATS[rng.integers(len(_MENTION_FORMATS))]
    if style == "cashtag" or len(ticker) < 2 or ticker in TICKER_STOPWORDS:
        return f"${ticker}"
    return ticker.lower() if style == "lower" else ticker


def _text(templates: dict[int, tuple[str, ...]], tickers: list[str], day: dt.date, rng) -> str:
    options = templates[min(len(tickers), 2)]
    names = [_mention(t, rng) for t in tickers[:2]]
    text = options[rng.integers(len(options))].format(
        date=f"{day:%B %d, %Y}", t1=names[0] if names else "", t2=names[1] if len(names) > 1 else ""
    )
    extra = [_mention(t, rng) for t in tickers[2:]]
    filler = _FILLERS[rng.integers(len(_FILLERS))]
    return " ".join(part for part in (text, *(f"also {e}" for e in extra), filler) if part)


def _day_tickers(
    rng: np.random.Generator, tickers, probability, surging, surge_probability: float
) -> list[str]:
    count = int(rng.choice(4, p=[0.3, 0.5, 0.15, 0.05]))
    picks = [tickers[i] for i in rng.choice(len(tickers), size=count, p=probability)]
    picks += [t for t in surging if rng.random() < surge_probability]
    return list(dict.fromkeys(picks))


def _volume_scale(size: int) -> float:
    """Activity relative to the full 1,500-name universe: a small test universe gets a
    proportionally quieter subreddit (at least a fifth), so backfills stay fast."""
    return min(1.0, max(0.2, size / FULL_UNIVERSE))


@lru_cache(maxsize=256)
def _day_documents(
    kind: str, day: dt.date, size: int, seed: int, today: dt.date
) -> tuple[dict[str, Any], ...]:
    """The ``data`` objects of ``kind`` created on UTC ``day``, newest first."""
    rng = np.random.default_rng([seed, 0x4E, 1 if kind == "t3" else 2, day.toordinal()])
    base = (POSTS_PER_DAY if kind == "t3" else COMMENTS_PER_DAY) * _volume_scale(size)
    mean = base * (WEEKEND_FACTOR if day.weekday() >= 5 else 1.0)
    count = int(np.clip(rng.poisson(mean), 1, _DAY_SHIFT - 1))
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
    seconds = np.sort(rng.integers(0, 86_400, size=count))[::-1]
    tickers, probability = _popularity(size, seed)
    surging = _surge_tickers(size, seed) if 0 < (today - day).days <= SURGE_DAYS else ()
    surge_probability = min(1.0, SURGE_PROBABILITY / _volume_scale(size))
    documents = []
    for position, second in enumerate(seconds):
        ident = _document_id(kind, day, count - 1 - position)  # ids grow with time
        mentioned = _day_tickers(rng, tickers, probability, surging, surge_probability)
        author_number = int(rng.integers(_AUTHORS))
        author = "[deleted]" if author_number == 0 else f"ape_{author_number:03d}"
        common = {
            "id": ident,
            "name": f"{kind}_{ident}",
            "subreddit": "wallstreetbets",
            "subreddit_id": "t5_2th52",
            "author": author,
            "created_utc": float(midnight + int(second)),
        }
        if kind == "t3":
            title = _text(_POST_TEMPLATES, mentioned[:2], day, rng)
            rest = mentioned[2:]
            slug = "_".join(title.lower().split()[:6])
            flair = _FLAIRS[rng.integers(len(_FLAIRS))]
            body = _text(_BODY_TEMPLATES, rest, day, rng) if rest or rng.random() < 0.5 else ""
            permalink = f"/r/wallstreetbets/comments/{ident}/{slug}/"
            documents.append(
                {
                    **common,
                    "title": title,
                    "selftext": body,
                    "score": int(rng.lognormal(3.0, 1.5)),
                    "upvote_ratio": round(float(rng.uniform(0.5, 1.0)), 2),
                    "num_comments": int(rng.poisson(40)),
                    "link_flair_text": flair,
                    "stickied": False,
                    "over_18": False,
                    "permalink": permalink,
                    "url": f"https://www.reddit.com{permalink}",
                }
            )
        else:
            post = _document_id("t3", day, int(rng.integers(POSTS_PER_DAY // 2)))
            documents.append(
                {
                    **common,
                    "body": _text(_BODY_TEMPLATES, mentioned, day, rng),
                    "score": int(rng.integers(-5, 60)),
                    "link_id": f"t3_{post}",
                    "parent_id": f"t3_{post}",
                    "permalink": f"/r/wallstreetbets/comments/{post}/comment/{ident}/",
                }
            )
    return tuple(documents)


def _items_newer_than(
    kind: str, day: dt.date, position: int, size: int, seed: int, today: dt.date
) -> int:
    """How many documents of ``kind`` are newer than the ``position``-th newest of ``day``
    (counting stops at :data:`LISTING_CAP`)."""
    newer, cursor = position, today - dt.timedelta(days=1)
    while cursor > day and newer < LISTING_CAP:
        newer += len(_day_documents(kind, cursor, size, seed, today))
        cursor -= dt.timedelta(days=1)
    return min(newer, LISTING_CAP)


def _page(kind: str, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` documents of ``kind`` older than ``after`` (newest first), and the
    fullname to continue after (None at the start of history)."""
    size, seed = sample_size_seed()
    today = sample_today()
    day, position = today - dt.timedelta(days=1), 0
    if after is not None:
        parsed = _parse_id(kind, after.removeprefix(f"{kind}_"))
        if parsed is None or not after.startswith(f"{kind}_"):
            return [], None
        day, rank = parsed
        if not HISTORY_START <= day < today:
            return [], None
        count = len(_day_documents(kind, day, size, seed, today))
        if rank >= count:
            return [], None
        position = count - rank
    remaining = LISTING_CAP - _items_newer_than(kind, day, position, size, seed, today)
    limit = min(limit, remaining)
    items: list[dict[str, Any]] = []
    while len(items) < limit and day >= HISTORY_START:
        documents = _day_documents(kind, day, size, seed, today)
        items.extend(documents[position : position + limit - len(items)])
        day, position = day - dt.timedelta(days=1), 0
    more = len(items) == limit and limit < remaining
    return items, (items[-1]["name"] if items and more else None)


def _listing(kind: str, items: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "dist": len(items),
            "modhash": "",
            "geo_filter": "",
            "children": [{"kind": kind, "data": item} for item in items],
            "before": None,
        },
    }


def _reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(status, payload, {**RATELIMIT_HEADERS, **(headers or {})})


def handle_token(request: requests.PreparedRequest) -> Reply:
    """``POST /api/v1/access_token`` (client credentials grant; any Basic keys accepted)."""
    path = urlsplit(request.url or "").path
    if request.method != "POST" or path != "/api/v1/access_token":
        return _reply(404, {"message": "Not Found", "error": 404})
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
    except ValueError:
        client_id, secret = "", ""
    body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
    if scheme != "Basic" or not client_id or not secret:
        return _reply(401, {"message": "Unauthorized", "error": 401})
    if parse_qs(body).get("grant_type") != ["client_credentials"]:
        return _reply(200, {"error": "unsupported_grant_type"})
    token = {"access_token": SAMPLE_TOKEN, "token_type": "bearer", "expires_in": 86400}
    return _reply(200, {**token, "scope": "*"})


def handle_api(request: requests.PreparedRequest) -> Reply:
    """``GET /r/wallstreetbets/new`` and ``GET /r/wallstreetbets/comments`` (see module)."""
    if request.headers.get("Authorization") != f"bearer {SAMPLE_TOKEN}":
        challenge = 'Bearer realm="reddit", error="invalid_token"'
        return _reply(
            401, {"message": "Unauthorized", "error": 401}, {"www-authenticate": challenge}
        )
    parts = urlsplit(request.url or "")
    kinds = {"/r/wallstreetbets/new": "t3", "/r/wallstreetbets/comments": "t1"}
    kind = kinds.get(parts.path.rstrip("/").removesuffix(".json"))
    if request.method != "GET" or kind is None:
        return _reply(404, {"message": "Not Found", "error": 404})
    query = parse_qs(parts.query)
    try:
        limit = max(1, min(MAX_PAGE, int(query.get("limit", ["25"])[0])))
    except ValueError:
        limit = 25
    items, after = _page(kind, query.get("after", [None])[0], limit)
    return _reply(200, _listing(kind, items, after))


HANDLERS: dict[str, RequestHandler] = {TOKEN_HOST: handle_token, API_HOST: handle_api}

__all__ = [
    "HANDLERS",
    "HISTORY_START",
    "SURGE_DAYS",
    "handle_api",
    "handle_token",
    "reconfigure",
    "surge_tickers",
]
