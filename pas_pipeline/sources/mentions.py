"""Ticker mentions on r/wallstreetbets: the counting rule, the daily frame and its schema.

Counting rule (applied to each document: a post's ``title + selftext`` or a comment's
``body``):

1. Cashtags: ``$`` followed by 1-5 letters and then a non-letter (``$NVDA``, ``$nvda``,
   ``$IT``) name the ticker of those letters, upper-cased. They count for *any* universe
   ticker, stop-list words included (``$ALL`` is Allstate).
2. Bare words: a whole word of 2-5 upper-case letters ``A-Z`` (``NVDA``, ``NVDA's``; not
   ``Nvda``, ``nvda`` or ``NVDA2``) counts only when it is a universe ticker and not on the
   stop-list. Single-letter tickers (``F``, ``T``) count only as cashtags.
3. A document counts once per ticker, however often it names it.
4. Per (UTC day, ticker): ``mentions`` = documents naming the ticker, ``authors`` = distinct
   known authors of those documents (deleted authors are not counted), ``score`` = the sum of
   their scores. Days without a mention have no row (read a missing row as 0).

The stop-list is ``pas_pipeline/data/mention_stoplist.txt`` (words that collide with
tickers or forum slang: A, I, IT, ALL, DD, CEO, YOLO, ...) plus
:data:`pas_pipeline.sources.universe.TICKER_STOPWORDS`.

Point in time: a UTC day is complete at its end, so its counts are known the next day
(``known_date = event_date + 1 day``).

The tidy frame (:data:`MENTION_COLUMNS`, one row per (ticker, day) with a mention):

============ ================ ===================================================
column       dtype            meaning
============ ================ ===================================================
event_date   datetime64[ns]   the UTC day the documents were created (midnight)
known_date   datetime64[ns]   ``event_date + 1 day``
ticker       object (str)     the universe ticker
mentions     int64            documents naming the ticker that day (>= 1)
authors      int64            distinct authors of those documents
score        int64            sum of those documents' Reddit scores (may be < 0)
============ ================ ===================================================
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

import pandas as pd
import pandera.pandas as pa
import praw

from pas_pipeline.schemas import DAY_COLUMN, FRAME_CHECK_COLUMNS, SYMBOL_COLUMN
from pas_pipeline.sources.reddit import fetch_wsb_documents
from pas_pipeline.sources.universe import TICKER_STOPWORDS

MENTION_COLUMNS = ("event_date", "known_date", "ticker", "mentions", "authors", "score")
PUBLICATION_LAG = pd.Timedelta(days=1)
"""A UTC day's documents are complete at its end: ``known_date = event_date + 1 day``."""
STOPLIST_FILE = "mention_stoplist.txt"

CASHTAG = re.compile(r"\$([A-Za-z]{1,5})(?![A-Za-z])")
BARE_WORD = re.compile(r"(?<![A-Za-z0-9$])([A-Z]{2,5})(?![A-Za-z0-9])")


def parse_stoplist(text: str) -> frozenset[str]:
    """Words of a stop-list text: one a line, ``#`` starts a comment, upper-cased."""
    words = (line.split("#", 1)[0].strip().upper() for line in text.splitlines())
    return frozenset(word for word in words if word)


@cache
def mention_stoplist() -> frozenset[str]:
    """The stop-list file's words plus :data:`TICKER_STOPWORDS`."""
    data = resources.files("pas_pipeline.data").joinpath(STOPLIST_FILE)
    return parse_stoplist(data.read_text(encoding="utf-8")) | TICKER_STOPWORDS


def tickers_in(text: str, universe: frozenset[str], stoplist: frozenset[str]) -> set[str]:
    """The universe tickers ``text`` mentions under the counting rule (see the module)."""
    found = {word.upper() for word in CASHTAG.findall(text)} & universe
    found |= {word for word in BARE_WORD.findall(text) if word not in stoplist} & universe
    return found


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_date": pd.Series(dtype="datetime64[ns]"),
            "known_date": pd.Series(dtype="datetime64[ns]"),
            "ticker": pd.Series(dtype=object),
            "mentions": pd.Series(dtype="int64"),
            "authors": pd.Series(dtype="int64"),
            "score": pd.Series(dtype="int64"),
        }
    )


def count_mentions(
    documents: pd.DataFrame,
    universe_tickers: Iterable[str],
    stoplist: frozenset[str] | None = None,
) -> pd.DataFrame:
    """Daily mentions per ticker (:data:`MENTION_COLUMNS`) of ``documents``.

    ``documents`` needs ``event_date`` (the UTC day, midnight), ``author`` (None when
    unknown), ``score`` and ``text`` (the documents frame of
    :func:`pas_pipeline.sources.reddit.fetch_wsb_documents`). ``stoplist`` defaults to
    :func:`mention_stoplist`. Sorted by (ticker, event_date); no mentions give an empty
    frame with the tidy dtypes.
    """
    universe = frozenset(str(t).strip().upper() for t in universe_tickers)
    stop = mention_stoplist() if stoplist is None else stoplist
    found = documents["text"].fillna("").map(lambda text: sorted(tickers_in(text, universe, stop)))
    pairs = documents[["event_date", "author", "score"]].assign(ticker=found).explode("ticker")
    pairs = pairs[pairs["ticker"].notna()]
    if pairs.empty:
        return _empty()
    grouped = pairs.groupby(["ticker", "event_date"], sort=True)
    frame = pd.DataFrame(
        {
            "mentions": grouped.size(),
            "authors": grouped["author"].nunique(dropna=True),
            "score": grouped["score"].sum(),
        }
    ).reset_index()
    frame["event_date"] = pd.to_datetime(frame["event_date"]).astype("datetime64[ns]")
    frame["known_date"] = frame["event_date"] + PUBLICATION_LAG
    frame["ticker"] = frame["ticker"].astype(object)
    frame = frame.astype({"mentions": "int64", "authors": "int64", "score": "int64"})
    return frame[list(MENTION_COLUMNS)]


def fetch_wsb_mentions(
    reddit: praw.Reddit, universe_tickers: Iterable[str], start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Mentions *known* on ``start..end``: documents of UTC days ``start - 1 .. end - 1``
    counted with :func:`count_mentions` (so ``known_date`` lies in ``start..end``)."""
    one_day = dt.timedelta(days=1)
    documents = fetch_wsb_documents(reddit, start - one_day, end - one_day)
    return count_mentions(documents, universe_tickers)


WSB_MENTIONS_SCHEMA = pa.DataFrameSchema(
    {
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "ticker": SYMBOL_COLUMN,
        "mentions": pa.Column("int64", pa.Check.ge(1), nullable=False),
        "authors": pa.Column("int64", pa.Check.ge(0), nullable=False),
        "score": pa.Column("int64", nullable=False),
    },
    checks=[
        pa.Check(lambda frame: frame["known_date"] > frame["event_date"], name="known_after_event"),
        pa.Check(lambda frame: frame["authors"] <= frame["mentions"], name="authors_le_mentions"),
    ],
    unique=["ticker", "event_date"],
    strict=True,
    name="wsb_mentions",
)
"""Daily r/wallstreetbets mentions per ticker: at least one mentioning document per row, no
more distinct authors than documents, known after the day they count
(``known_date > event_date``), one row per (ticker, day)."""

FRAME_CHECK_COLUMNS.update({"authors_le_mentions": "authors"})
"""Blame ``authors`` when the frame-wide check fails (see ``schemas.validate_frame``)."""

__all__ = [
    "MENTION_COLUMNS",
    "WSB_MENTIONS_SCHEMA",
    "count_mentions",
    "fetch_wsb_mentions",
    "mention_stoplist",
    "parse_stoplist",
    "tickers_in",
]
