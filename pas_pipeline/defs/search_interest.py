"""Google search interest, fetched as one 90-day series per ticker on each rebalance day.

Google Trends scales a request's values 0-100 within that request, so a series can only be
compared with itself: on every rebalance day of the Google Trends + News Sentiment strategy
this asset fetches the whole 90-day window of each candidate in one request and stores it as
that day's *vintage* (``date`` = the rebalance day). Other days store nothing. Candidates are
the names with positive news (``trends_candidates``), since Google throttles hard. The
strategy reads the newest vintage known on its rebalance day.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from pas_pipeline.calendar import is_rebalance_day, trading_days
from pas_pipeline.defs.checks import blocking_check_spec, validated
from pas_pipeline.defs.market_data import partition_dates
from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.partitions import lookback, trading_day_partitions
from pas_pipeline.defs.resources import DataSourcesResource
from pas_pipeline.schemas import validate_frame
from pas_pipeline.sources.google_trends import (
    SEARCH_INTEREST_SCHEMA,
    fetch_search_interest,
    search_term,
)
from pas_pipeline.strategies.registry import STRATEGIES_BY_NAME
from pas_pipeline.strategies.trends_news import NEWS_DAYS, trends_candidates

STRATEGY = STRATEGIES_BY_NAME["trends_news"]
WINDOW_DAYS = 90
"""Calendar days of each vintage: the 30-day recent and 60-day baseline windows."""
NEWS_SESSIONS = NEWS_DAYS  # sessions of news loaded: more than the 30 calendar days needed
CHECK = "search_interest_schema"


def vintage_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """The strategy's rebalance days among the sessions ``first..last``."""
    return [day for day in trading_days(first, last) if is_rebalance_day(STRATEGY.rule, day)]


def fetch_vintage(
    sources: DataSourcesResource, universe: pd.DataFrame, news: pd.DataFrame, day: dt.date
) -> pd.DataFrame:
    """The 90-day search-interest series known on ``day`` of ``day``'s candidates."""
    as_of = pd.Timestamp(day)
    known_news = news[news["known_date"] <= as_of] if len(news) else news
    candidates = trends_candidates(known_news, as_of) if len(known_news) else []
    names = dict(zip(universe["ticker"], universe["name"], strict=True))
    terms = {ticker: search_term(names[ticker]) for ticker in candidates if ticker in names}
    with sources.google_trends() as client:
        return fetch_search_interest(client, terms, day - dt.timedelta(days=WINDOW_DAYS - 1), day)


@dg.asset(
    group_name="alt_data",
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "date"},
    pool="google_trends",
    io_manager_key="alt_data_io_manager",
    kinds={"duckdb"},
    ins={"news_sentiment": dg.AssetIn(partition_mapping=lookback(NEWS_SESSIONS))},
    check_specs=[blocking_check_spec("search_interest", CHECK, "Each vintage matches the schema.")],
)
@observed
def search_interest(
    context: dg.AssetExecutionContext,
    universe: pd.DataFrame,
    news_sentiment: pd.DataFrame,
    data_sources: DataSourcesResource,
) -> Iterator[Any]:
    """Daily Google search interest (0-100, scaled per request) of the names with positive
    news, one 90-day vintage per rebalance day of Google Trends + News Sentiment."""
    first, last = partition_dates(context)
    vintages = {
        day: fetch_vintage(data_sources, universe, news_sentiment, day)
        for day in vintage_days(first, last)
    }

    def check(_: pd.DataFrame) -> None:
        for frame in vintages.values():
            validate_frame(SEARCH_INTEREST_SCHEMA, frame, "google_trends")

    stored = pd.concat(
        [frame.assign(date=pd.Timestamp(day)) for day, frame in vintages.items()]
        or [pd.DataFrame()],
        ignore_index=True,
    )
    metadata = {
        "vintages": len(vintages),
        "rows": len(stored),
        "tickers": int(stored["ticker"].nunique()) if len(stored) else 0,
    }
    yield from validated(stored, {CHECK: check}, metadata, stored=stored)
