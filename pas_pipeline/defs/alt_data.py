"""Alternative-data assets, generated from one table: each a partitioned, point-in-time,
schema-checked copy of one dataset (Quiver's, Wikimedia page views)."""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from pas_pipeline.defs.checks import blocking_check_spec, validated
from pas_pipeline.defs.market_data import partition_dates
from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.partitions import trading_day_partitions
from pas_pipeline.defs.resources import DataSourcesResource
from pas_pipeline.observability.metrics import record_rows_ingested
from pas_pipeline.schemas import (
    APP_RATINGS_SCHEMA,
    CONGRESS_TRADES_SCHEMA,
    GOV_CONTRACTS_SCHEMA,
    INSIDER_TRADES_SCHEMA,
    LOBBYING_SCHEMA,
    PAGEVIEWS_SCHEMA,
    validate_frame,
)
from pas_pipeline.sources.alpaca_news import NEWS_SENTIMENT_SCHEMA, fetch_news_sentiment
from pas_pipeline.sources.analyst_ratings import RATING_CHANGES_SCHEMA, fetch_rating_changes
from pas_pipeline.sources.biotech_sponsors import biotech_sponsors, fda_sponsors, trial_sponsors
from pas_pipeline.sources.clinical_trials import TRIAL_CATALYSTS_SCHEMA, fetch_trial_catalysts
from pas_pipeline.sources.mentions import WSB_MENTIONS_SCHEMA, fetch_wsb_mentions
from pas_pipeline.sources.openfda import FDA_APPROVALS_SCHEMA, fetch_fda_approvals
from pas_pipeline.sources.point_in_time import known_window, stamp_sessions
from pas_pipeline.sources.wikimedia import fetch_pageviews

Fetch = Callable[[DataSourcesResource, pd.DataFrame, dt.date, dt.date], pd.DataFrame]
"""(sources, universe, first known day, last known day) -> tidy frame with ``known_date``."""


def quiver_dataset(dataset: str) -> Fetch:
    """Fetch one Quiver dataset (its date parameters select by publication date)."""

    def fetch(sources: DataSourcesResource, _: pd.DataFrame, start: dt.date, end: dt.date):
        with sources.quiver() as client:
            return client.fetch_frame(dataset, start, end)

    return fetch


def wikipedia_pageviews(
    sources: DataSourcesResource, universe: pd.DataFrame, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Daily views of each universe company's article; a day's count is known the next day."""
    mapping = dict(zip(universe["ticker"], universe["wiki_article"], strict=True))
    one_day = dt.timedelta(days=1)
    with sources.wikimedia() as client:
        return fetch_pageviews(client, mapping, start - one_day, end - one_day)


def wsb_mentions(
    sources: DataSourcesResource, universe: pd.DataFrame, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Daily r/wallstreetbets mentions of universe tickers; a UTC day is known the next day."""
    return fetch_wsb_mentions(sources.reddit(), universe["ticker"], start, end)


def rating_changes(
    sources: DataSourcesResource, universe: pd.DataFrame, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Analyst upgrades/downgrades of universe tickers issued on ``start..end``."""
    with sources.analyst_ratings() as client:
        return fetch_rating_changes(client, universe["ticker"], start, end)


def news_sentiment(
    sources: DataSourcesResource, universe: pd.DataFrame, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Daily article count and mean lexicon sentiment of universe tickers (Alpaca news)."""
    with sources.alpaca_news() as client:
        return fetch_news_sentiment(client, universe["ticker"], start, end)


def trial_catalysts(
    sources: DataSourcesResource, universe: pd.DataFrame, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Phase 2/3 study versions of the universe's biotech sponsors posted the day before."""
    sponsors = trial_sponsors(biotech_sponsors(universe))
    with sources.clinical_trials() as client:
        return fetch_trial_catalysts(client, sponsors, start, end)


def fda_approvals(
    sources: DataSourcesResource, universe: pd.DataFrame, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Drugs@FDA approvals (and tentative approvals) of the universe's biotech sponsors."""
    sponsors = fda_sponsors(biotech_sponsors(universe))
    with sources.openfda() as client:
        return fetch_fda_approvals(client, sponsors, start, end)


@dataclass(frozen=True)
class AltDataSpec:
    """One alternative-data asset: its source (also its pool), fetch, and schema."""

    name: str
    source: str
    fetch: Fetch
    schema: pa.DataFrameSchema
    description: str


ALT_DATA: tuple[AltDataSpec, ...] = (
    AltDataSpec(
        "congress_trades",
        "quiver",
        quiver_dataset("congress_trades"),
        CONGRESS_TRADES_SCHEMA,
        "Congressional stock trades (Quiver bulk V2); known on the filing date.",
    ),
    AltDataSpec(
        "gov_contracts",
        "quiver",
        quiver_dataset("gov_contracts"),
        GOV_CONTRACTS_SCHEMA,
        "Federal contract awards (Quiver); known on the announcement date.",
    ),
    AltDataSpec(
        "insider_trades",
        "quiver",
        quiver_dataset("insider_trades"),
        INSIDER_TRADES_SCHEMA,
        "Corporate insider Form 4 trades (Quiver); known on the filing date.",
    ),
    AltDataSpec(
        "lobbying",
        "quiver",
        quiver_dataset("lobbying"),
        LOBBYING_SCHEMA,
        "Corporate lobbying spend (Quiver); known on the reported date.",
    ),
    AltDataSpec(
        "app_ratings",
        "quiver",
        quiver_dataset("app_ratings"),
        APP_RATINGS_SCHEMA,
        "App store ratings and review counts (Quiver); known when scraped.",
    ),
    AltDataSpec(
        "pageviews",
        "wikimedia",
        wikipedia_pageviews,
        PAGEVIEWS_SCHEMA,
        "Daily Wikipedia page views of each company's article (Wikimedia); known next day.",
    ),
    AltDataSpec(
        "wsb_mentions",
        "reddit",
        wsb_mentions,
        WSB_MENTIONS_SCHEMA,
        "Daily r/wallstreetbets ticker mentions (Reddit API via PRAW, read-only); a UTC day "
        "is known the next day.",
    ),
    AltDataSpec(
        "rating_changes",
        "yahoo",
        rating_changes,
        RATING_CHANGES_SCHEMA,
        "Analyst upgrades, downgrades and initiations (Yahoo quote summary); known when issued.",
    ),
    AltDataSpec(
        "news_sentiment",
        "alpaca_news",
        news_sentiment,
        NEWS_SENTIMENT_SCHEMA,
        "Daily news count and mean headline sentiment per ticker (Alpaca news API, finance "
        "lexicon); a UTC day is known the next day.",
    ),
    AltDataSpec(
        "trial_catalysts",
        "clinicaltrials",
        trial_catalysts,
        TRIAL_CATALYSTS_SCHEMA,
        "Phase 2/3 clinical-trial versions of biotech sponsors (ClinicalTrials.gov v2), with "
        "primary completion dates; known the day after a version is posted.",
    ),
    AltDataSpec(
        "fda_approvals",
        "openfda",
        fda_approvals,
        FDA_APPROVALS_SCHEMA,
        "FDA approval decisions of biotech sponsors (openFDA Drugs@FDA); known the next day.",
    ),
)


def _metadata(frame: pd.DataFrame, universe: pd.DataFrame) -> dict[str, Any]:
    lag = (frame["known_date"] - frame["event_date"]).dt.days
    tickers = set(frame["ticker"])
    return {
        "rows": len(frame),
        "tickers": len(tickers),
        "universe_coverage": len(tickers & set(universe["ticker"])) / max(len(universe), 1),
        "median_lag_days": float(lag.median()) if len(frame) else 0.0,
        "max_lag_days": int(lag.max()) if len(frame) else 0,
    }


def build_alt_data_asset(spec: AltDataSpec) -> dg.AssetsDefinition:
    check = f"{spec.name}_schema"

    @dg.asset(
        name=spec.name,
        description=spec.description,
        group_name="alt_data",
        partitions_def=trading_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "date"},
        pool=spec.source,
        io_manager_key="alt_data_io_manager",
        kinds={"duckdb"},
        check_specs=[
            blocking_check_spec(
                spec.name, check, "Rows match the schema: types, ranges, keys, dates."
            )
        ],
    )
    @observed
    def alt_data_asset(
        context: dg.AssetExecutionContext,
        universe: pd.DataFrame,
        data_sources: DataSourcesResource,
    ) -> Iterator[Any]:
        first, last = partition_dates(context)
        start, end = known_window(first, last)
        frame = spec.fetch(data_sources, universe, start, end)
        stored = stamp_sessions(frame, first, last)
        yield from validated(
            frame,
            {check: lambda f: validate_frame(spec.schema, f, spec.source)},
            _metadata(frame, universe),
            stored=stored,
        )
        record_rows_ingested(spec.name, len(stored))

    return alt_data_asset


ALT_DATA_ASSETS: tuple[dg.AssetsDefinition, ...] = tuple(build_alt_data_asset(s) for s in ALT_DATA)
