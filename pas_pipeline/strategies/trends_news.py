"""Google Trends + News Sentiment: long the names people search for more while news is good.

Sources: ``news_sentiment`` (:mod:`pas_pipeline.sources.alpaca_news`, daily article count and
mean lexicon score per ticker) and ``search_interest`` (:mod:`pas_pipeline.sources.
google_trends`, daily 0-100 Google search interest per ticker, scaled within one request).
Same conventions as :mod:`pas_pipeline.strategies.alt_signals`: signature
``fn(data, as_of, spec) -> Sleeve``, windows on ``known_date`` (rows with ``known_date >
as_of`` are ignored), parameters from ``spec.params`` with the module defaults, thin or
missing data gives an all-cash sleeve with a note, never an exception, and only tickers of
``data["universe"]`` are candidates when it is present.

Google Trends throttles hard, so the search-interest asset should query only
:func:`trends_candidates`: the tickers that already pass the news test, best news first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from pas_pipeline.strategies.alt_signals import ranked_sleeve
from pas_pipeline.strategies.ranking import window
from pas_pipeline.strategies.sleeve import Sleeve

if TYPE_CHECKING:
    from pas_pipeline.strategies.registry import StrategySpec

RECENT_DAYS = 30
BASELINE_DAYS = 60
NEWS_DAYS = 30
MIN_ARTICLES = 3
MIN_RECENT_POINTS = 10
MIN_BASELINE_POINTS = 20
CANDIDATES = 100
LOOKBACK_SESSIONS = 70
"""Trading days of each source the signal needs: 90 calendar days (~63 sessions) + margin."""


def news_scores(
    news: pd.DataFrame,
    as_of: pd.Timestamp,
    days: int = NEWS_DAYS,
    min_articles: int = MIN_ARTICLES,
) -> pd.DataFrame:
    """Per ticker with at least ``min_articles`` articles known in ``(as_of - days, as_of]``:
    ``articles`` (their number) and ``sentiment`` (the mean article score, i.e. the daily
    means weighted by their article counts). Indexed by ticker, sorted by ticker."""
    recent = window(news[news["known_date"] <= pd.Timestamp(as_of)], as_of, days)
    weighted = recent["sentiment"] * recent["articles"]
    totals = pd.DataFrame(
        {"ticker": recent["ticker"], "articles": recent["articles"], "w": weighted}
    )
    grouped = totals.groupby("ticker", sort=True)[["articles", "w"]].sum()
    grouped = grouped[grouped["articles"] >= min_articles]
    return pd.DataFrame(
        {
            "articles": grouped["articles"].astype("int64"),
            "sentiment": (grouped["w"] / grouped["articles"]).astype("float64"),
        }
    )


def trends_candidates(
    news: pd.DataFrame,
    as_of: pd.Timestamp,
    limit: int = CANDIDATES,
    days: int = NEWS_DAYS,
    min_articles: int = MIN_ARTICLES,
) -> list[str]:
    """The tickers worth a Google Trends query on ``as_of``: positive news (mean sentiment
    ``> 0`` over at least ``min_articles`` articles in the last ``days``), best sentiment
    first, then more articles, then ticker; at most ``limit`` of them."""
    scores = news_scores(news, as_of, days, min_articles).reset_index()
    positive = scores[scores["sentiment"] > 0]
    ordered = positive.sort_values(
        ["sentiment", "articles", "ticker"], ascending=[False, False, True], kind="mergesort"
    )
    return [str(t) for t in ordered["ticker"].head(limit)]


def rising_interest(
    interest: pd.DataFrame,
    as_of: pd.Timestamp,
    recent_days: int = RECENT_DAYS,
    baseline_days: int = BASELINE_DAYS,
    min_recent_points: int = MIN_RECENT_POINTS,
    min_baseline_points: int = MIN_BASELINE_POINTS,
) -> pd.Series:
    """Rising search interest per ticker: mean ``interest`` known in ``(as_of - recent_days,
    as_of]`` / mean known in the ``baseline_days`` before that − 1. Tickers with fewer than
    ``min_recent_points`` recent or ``min_baseline_points`` baseline days, or a zero baseline
    mean, are left out. Indexed by ticker, sorted by ticker."""
    as_of = pd.Timestamp(as_of)
    known = interest[interest["known_date"] <= as_of]
    recent = window(known, as_of, recent_days).groupby("ticker")["interest"].agg(["mean", "size"])
    baseline = window(known, as_of - pd.Timedelta(days=recent_days), baseline_days)
    base = baseline.groupby("ticker")["interest"].agg(["mean", "size"])
    recent = recent[recent["size"] >= min_recent_points]
    base = base[(base["size"] >= min_baseline_points) & (base["mean"] > 0)]
    common = recent.index.intersection(base.index).sort_values()
    return recent.loc[common, "mean"].astype(float) / base.loc[common, "mean"].astype(float) - 1.0


def newest_vintage(interest: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The rows of the newest stored vintage (``date`` column: the day a 90-day series was
    fetched, all on one 0-100 scale) on or before ``as_of``; frames without ``date`` (one
    fetch) are returned as they are. Series of different vintages are never mixed."""
    if "date" not in interest.columns:
        return interest
    dates = interest["date"][interest["date"] <= pd.Timestamp(as_of)]
    return interest[interest["date"] == dates.max()] if len(dates) else interest.iloc[0:0]


def trends_news(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Long the ``top_n`` (30) names with rising search interest and positive news.

    Rule on ``as_of``, on rows with ``known_date <= as_of`` (calendar days):

    Search interest comes from the newest vintage (:func:`newest_vintage`).

    1. Positive news: over ``news_days`` (30) days, ``known_date`` in ``(as_of - 30, as_of]``,
       at least ``min_articles`` (3) articles and a mean article sentiment ``> 0`` (mean
       over articles: daily means weighted by their article counts).
    2. Rising interest = mean ``interest`` over ``recent_days`` (30), ``known_date`` in
       ``(as_of - 30, as_of]``, / mean over the ``baseline_days`` (60) before, ``known_date``
       in ``(as_of - 90, as_of - 30]``, − 1. Needs ``min_recent_points`` (10) and
       ``min_baseline_points`` (20) days and a baseline mean > 0. Interest is 0-100 scaled
       per Google request, so the ratio is only meaningful within one ticker's series.
    3. Score = rising interest for tickers with positive news and rising interest ``> 0``.
    4. Hold the ``top_n`` highest scores (ties by ticker), equal weight ``1/top_n``;
       unfilled slots are cash.
    """
    as_of = pd.Timestamp(as_of)
    day = as_of.date().isoformat()
    news, interest = data.get("news_sentiment"), data.get("search_interest")
    if news is None or len(news) == 0:
        return Sleeve.empty(as_of, f"no news sentiment known on {day}")
    if interest is None or len(interest) == 0:
        return Sleeve.empty(as_of, f"no Google search interest known on {day}")
    interest = newest_vintage(interest, as_of)
    params = spec.params
    min_articles = int(params.get("min_articles", MIN_ARTICLES))
    news_days = int(params.get("news_days", NEWS_DAYS))
    good_news = news_scores(news, as_of, news_days, min_articles)
    good_news = good_news[good_news["sentiment"] > 0]
    rising = rising_interest(
        interest,
        as_of,
        recent_days=int(params.get("recent_days", RECENT_DAYS)),
        baseline_days=int(params.get("baseline_days", BASELINE_DAYS)),
        min_recent_points=int(params.get("min_recent_points", MIN_RECENT_POINTS)),
        min_baseline_points=int(params.get("min_baseline_points", MIN_BASELINE_POINTS)),
    )
    scores = rising[rising.index.isin(good_news.index)]
    return ranked_sleeve(
        scores,
        data,
        as_of,
        spec,
        weighting="equal",
        short="only {k} of {top_n} tickers have rising search interest and positive news; "
        "the rest is cash",
        empty=f"no ticker has rising search interest and positive news on {day} "
        f"({len(good_news)} with positive news over >= {min_articles} articles, "
        f"{len(rising)} with enough search-interest history)",
    )


__all__ = [
    "LOOKBACK_SESSIONS",
    "news_scores",
    "rising_interest",
    "trends_candidates",
    "trends_news",
]
