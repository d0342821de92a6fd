"""Alpaca News API: news articles per ticker, scored into daily news sentiment.

Why this source: Quiver has no news-sentiment or Google-Trends API (external-apis.md §1.10),
and the pipeline already holds Alpaca keys for trading. Alpaca's historical news (Benzinga
wire, back to 2015) is included in the free market-data plan, tags each article with the
tickers it concerns, and takes many symbols per request, so the whole 1,500-name universe
costs about 30 requests a day (50 symbols each) against a free limit of 200 a minute.

Endpoint: ``GET https://data.alpaca.markets/v1beta1/news`` with ``symbols`` (comma list),
``start``/``end`` (RFC-3339, UTC), ``limit`` (at most 50), ``sort`` (``asc``),
``include_content=false`` and ``page_token`` (the previous page's ``next_page_token``, which
is ``null`` on the last page). Auth headers ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY``.
The body is ``{"news": [{"id", "headline", "author", "created_at", "updated_at", "summary",
"content", "url", "images", "symbols", "source"}], "next_page_token": ...}``.

Sentiment is computed here, not by Alpaca: each article's headline + summary is scored with
the finance lexicon of :mod:`pas_pipeline.sources.news_sentiment` (score in [-1, 1]); an
article tagged with several requested tickers counts once for each of them.

The tidy frame (:data:`NEWS_SENTIMENT_COLUMNS`, one row per ticker and UTC day with news;
days without news have no row):

============ ================ =====================================================
column       dtype            meaning
============ ================ =====================================================
event_date   datetime64[ns]   the UTC day of the articles' ``created_at`` (midnight)
known_date   datetime64[ns]   ``event_date + 1 day``: a day's news is complete at its end
ticker       object (str)     the ticker the articles are tagged with
articles     int64            number of articles that day (>= 1)
sentiment    float64          mean article score that day, in [-1, 1]
============ ================ =====================================================
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx
import pandas as pd
import pandera.pandas as pa

from pas_pipeline.config import DataMode, Secret
from pas_pipeline.schemas import DAY_COLUMN, KNOWN_AFTER_EVENT, SYMBOL_COLUMN
from pas_pipeline.sources.alpaca_data import alpaca_data_api
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import ApiClient, ApiPolicy, sample_transport, unlimited
from pas_pipeline.sources.news_sentiment import article_score

log = logging.getLogger(__name__)

SOURCE = "alpaca_news"
NEWS_PATH = "/v1beta1/news"
PAGE_LIMIT = 50
"""Articles per page: the API's maximum."""
SYMBOLS_PER_REQUEST = 50
"""Tickers per request: 1,500 names are 30 requests (plus pages) per day of news."""
NEWS_SENTIMENT_COLUMNS = ("event_date", "known_date", "ticker", "articles", "sentiment")
ARTICLE_COLUMNS = ("id", "ticker", "created_at", "headline", "summary")
PUBLICATION_LAG = pd.Timedelta(days=1)
"""A UTC day's news is complete at its end: ``known_date = event_date + 1 day``."""

ALPACA_NEWS_POLICY = ApiPolicy(
    name=SOURCE,
    base_url="https://data.alpaca.markets",
    requests_per_second=3.0,
    burst=1,
    max_retries=5,
    backoff_base_seconds=1.0,
    backoff_cap_seconds=60.0,
    timeout_seconds=30.0,
)
"""Serial requests at 3 per second (180 a minute, under the free plan's 200); 429/5xx are
retried with backoff, honouring ``Retry-After``."""

NEWS_SENTIMENT_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "articles": pa.Column("int64", pa.Check.ge(1), nullable=False),
        "sentiment": pa.Column("float64", pa.Check.in_range(-1.0, 1.0), nullable=False),
    },
    checks=[KNOWN_AFTER_EVENT],
    unique=["ticker", "event_date"],
    strict=True,
    name="news_sentiment",
)
"""Daily news sentiment per ticker: at least one article, a mean score in [-1, 1], known
on or after the day it describes, one row per (ticker, day)."""


def rfc3339(moment: dt.datetime) -> str:
    """``moment`` as RFC-3339 UTC text (``2024-06-01T00:00:00Z``); naive means UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def batches(tickers: Iterable[str], size: int = SYMBOLS_PER_REQUEST) -> list[list[str]]:
    """``tickers`` (deduplicated, order kept) in consecutive groups of at most ``size``."""
    unique = list(dict.fromkeys(tickers))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


class AlpacaNewsClient:
    """Raw news articles through a shared :class:`ApiClient` (many symbols per request)."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def __enter__(self) -> AlpacaNewsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def news_page(
        self,
        symbols: Sequence[str],
        start: dt.datetime,
        end: dt.datetime,
        page_token: str | None = None,
    ) -> tuple[list[Any], str | None]:
        """One page: ``(articles, next_page_token)`` of news tagged with any of ``symbols``
        created in ``[start, end]``, oldest first.

        Raises :class:`PayloadError` (field ``news`` or ``next_page_token``) when the body is
        not ``{"news": [...], "next_page_token": str | null}``.
        """
        if not symbols:
            raise ValueError("no symbols")
        params: dict[str, Any] = {
            "symbols": ",".join(symbols),
            "start": rfc3339(start),
            "end": rfc3339(end),
            "limit": PAGE_LIMIT,
            "sort": "asc",
            "include_content": "false",
        }
        if page_token:
            params["page_token"] = page_token
        payload = self.api.get_json(NEWS_PATH, params)
        if not isinstance(payload, dict) or not isinstance(payload.get("news"), list):
            got = type(payload).__name__ if not isinstance(payload, dict) else "no news list"
            raise PayloadError(SOURCE, f'expected {{"news": [...]}}, got {got}', "news")
        token = payload.get("next_page_token")
        if token is not None and not isinstance(token, str):
            raise PayloadError(
                SOURCE, f"expected text or null, got {token!r:.40}", "next_page_token"
            )
        return payload["news"], token or None

    def articles(self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime) -> list[Any]:
        """Every article of ``symbols`` in ``[start, end]``, following ``next_page_token``."""
        found: list[Any] = []
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            page, token = self.news_page(symbols, start, end, token)
            found.extend(page)
            if token is None:
                return found
            if token in seen_tokens:
                raise PayloadError(SOURCE, f"page token {token!r:.40} repeats", "next_page_token")
            seen_tokens.add(token)


def _bad(message: str, field: str, row: int) -> PayloadError:
    return PayloadError(SOURCE, message, field=field, row=row)


def _text(item: dict[str, Any], field: str, row: int, required: bool) -> str:
    value = item.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(f"expected text, got {value!r:.40}", field, row)
    return value


def _created_at(item: dict[str, Any], row: int) -> pd.Timestamp:
    value = item.get("created_at")
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _bad(f"expected RFC-3339 time with zone, got {value!r:.40}", "created_at", row)
    return pd.Timestamp(moment.astimezone(dt.UTC).replace(tzinfo=None))


def _symbols(item: dict[str, Any], row: int) -> list[str]:
    value = item.get("symbols")
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise _bad(f"expected a list of tickers, got {value!r:.40}", "symbols", row)
    return [s.strip().upper() for s in value]


def parse_articles(items: Any, wanted: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per (article, tagged ticker) of ``items`` (:data:`ARTICLE_COLUMNS`).

    ``wanted`` keeps only those tickers (an article also tagged with unrequested names
    yields rows for the requested ones only). ``created_at`` becomes naive UTC
    ``datetime64[ns]``; a null ``summary`` is ``""``. Rows repeating an (id, ticker) pair
    are dropped. Raises :class:`PayloadError` naming the field and the 0-based item index
    for an item that is not an object, an ``id`` that is not an integer, a missing
    headline, a non-text summary, a ``created_at`` without a time zone, or ``symbols`` that
    is not a list of text.
    """
    if not isinstance(items, list):
        raise PayloadError(SOURCE, f"expected a list, got {type(items).__name__}", "news")
    keep = None if wanted is None else {t.upper() for t in wanted}
    rows: list[tuple[int, str, pd.Timestamp, str, str]] = []
    for row, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad(f"expected an object, got {type(item).__name__}", "news", row)
        ident = item.get("id")
        if isinstance(ident, bool) or not isinstance(ident, int):
            raise _bad(f"expected an integer, got {ident!r:.40}", "id", row)
        headline = _text(item, "headline", row, required=True)
        summary = _text(item, "summary", row, required=False)
        created = _created_at(item, row)
        for ticker in _symbols(item, row):
            if keep is None or ticker in keep:
                rows.append((ident, ticker, created, headline, summary))
    frame = pd.DataFrame(rows, columns=list(ARTICLE_COLUMNS))
    frame["id"] = frame["id"].astype("int64")
    frame["created_at"] = pd.to_datetime(frame["created_at"]).astype("datetime64[ns]")
    frame["ticker"] = frame["ticker"].astype(object)
    return frame.drop_duplicates(["id", "ticker"], ignore_index=True)


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_date": pd.Series(dtype="datetime64[ns]"),
            "known_date": pd.Series(dtype="datetime64[ns]"),
            "ticker": pd.Series(dtype=object),
            "articles": pd.Series(dtype="int64"),
            "sentiment": pd.Series(dtype="float64"),
        }
    )


def daily_sentiment(
    articles: pd.DataFrame, score: Callable[[str, str], float] = article_score
) -> pd.DataFrame:
    """The tidy news-sentiment frame of :func:`parse_articles` rows.

    Each article is scored with ``score(headline, summary)``; per ticker and UTC day of
    ``created_at``: ``articles`` = the number of articles, ``sentiment`` = their mean score.
    Sorted by (ticker, event_date).
    """
    if articles.empty:
        return _empty_frame()
    scores = [score(h, s) for h, s in zip(articles["headline"], articles["summary"], strict=True)]
    scored = pd.DataFrame(
        {
            "ticker": articles["ticker"].to_numpy(),
            "event_date": articles["created_at"].dt.normalize().to_numpy(),
            "score": pd.Series(scores, dtype="float64").to_numpy(),
        }
    )
    frame = scored.groupby(["ticker", "event_date"], sort=True)["score"].agg(["size", "mean"])
    frame = frame.reset_index().rename(columns={"size": "articles", "mean": "sentiment"})
    frame["event_date"] = frame["event_date"].astype("datetime64[ns]")
    frame["known_date"] = frame["event_date"] + PUBLICATION_LAG
    frame["articles"] = frame["articles"].astype("int64")
    frame["sentiment"] = frame["sentiment"].astype("float64").clip(-1.0, 1.0)
    frame["ticker"] = frame["ticker"].astype(object)
    return frame[list(NEWS_SENTIMENT_COLUMNS)]


def fetch_news_sentiment(
    client: AlpacaNewsClient, tickers: Iterable[str], start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Daily news sentiment of ``tickers`` known on ``start..end`` (inclusive).

    Articles created on the UTC days ``start - 1 .. end - 1`` are requested, 50 tickers
    per request, following every page; so rows have ``known_date`` in ``start..end``.
    Sorted by (ticker, event_date); no news gives an empty frame with the tidy dtypes.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    first = dt.datetime.combine(start - dt.timedelta(days=1), dt.time())
    last = dt.datetime.combine(end, dt.time())  # exclusive: the end of day end - 1
    parts = []
    requested = batches(tickers)
    for group in requested:
        parts.append(parse_articles(client.articles(group, first, last), wanted=group))
    articles = pd.concat(parts, ignore_index=True) if parts else parse_articles([])
    inside = (articles["created_at"] >= first) & (articles["created_at"] < last)
    frame = daily_sentiment(articles[inside].reset_index(drop=True))
    log.info(
        "%s %s..%s: %d rows from %d articles, %d symbol batches",
        SOURCE,
        start,
        end,
        len(frame),
        int(inside.sum()),
        len(requested),
    )
    return frame


def alpaca_news_api(
    key: Secret | None,
    secret: Secret | None,
    transport: httpx.BaseTransport | None = None,
    **client_options: Any,
) -> ApiClient:
    """A live :class:`ApiClient` with the key headers (:func:`alpaca_data_api`)."""
    return alpaca_data_api(
        ALPACA_NEWS_POLICY, key, secret, "live news", transport, **client_options
    )


def make_alpaca_news_client(
    mode: DataMode,
    key: Secret | None = None,
    secret: Secret | None = None,
    universe_size: int | None = None,
) -> AlpacaNewsClient:
    """An Alpaca news client for ``mode``.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit and
    no keys, answered by :mod:`pas_pipeline.sources.sample.alpaca_news` (``universe_size``,
    when given, selects the sample universe, as for Yahoo). ``DataMode.LIVE``: the real
    network with :data:`ALPACA_NEWS_POLICY` and the ``ALPACA_API_KEY``/``ALPACA_API_SECRET``
    keys.
    """
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import alpaca_news as sample_news  # registers host

        if universe_size is not None:
            sample_news.reconfigure(size=int(universe_size))
        return AlpacaNewsClient(
            ApiClient(unlimited(ALPACA_NEWS_POLICY), transport=sample_transport())
        )
    return AlpacaNewsClient(alpaca_news_api(key, secret))


__all__ = [
    "ALPACA_NEWS_POLICY",
    "ARTICLE_COLUMNS",
    "NEWS_SENTIMENT_COLUMNS",
    "NEWS_SENTIMENT_SCHEMA",
    "AlpacaNewsClient",
    "alpaca_news_api",
    "batches",
    "daily_sentiment",
    "fetch_news_sentiment",
    "make_alpaca_news_client",
    "parse_articles",
    "rfc3339",
]
