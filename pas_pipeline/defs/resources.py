"""Dagster resources: thin, typed wrappers that build the pure core's clients.

Secrets reach resources through ``dagster.EnvVar`` so the UI and run config show the
variable's name, never its value.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import praw

from pas_pipeline.config import (
    PAPER_BASE_URL,
    BrokerKind,
    DataMode,
    PriceSource,
    Secret,
    Settings,
)
from pas_pipeline.execution.alpaca import AlpacaBroker
from pas_pipeline.execution.broker import Broker
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.simulated import SimulatedBroker
from pas_pipeline.sources.alpaca_bars import (
    AlpacaBarsClient,
    fetch_alpaca_prices,
    make_alpaca_bars_client,
)
from pas_pipeline.sources.alpaca_news import AlpacaNewsClient, make_alpaca_news_client
from pas_pipeline.sources.analyst_ratings import (
    AnalystRatingsClient,
    make_analyst_ratings_client,
)
from pas_pipeline.sources.clinical_trials import ClinicalTrialsClient, make_clinical_trials_client
from pas_pipeline.sources.google_trends import GoogleTrendsClient, make_google_trends_client
from pas_pipeline.sources.openfda import OpenFdaClient, make_openfda_client
from pas_pipeline.sources.quiver import QuiverClient, make_quiver_client
from pas_pipeline.sources.reddit import make_reddit
from pas_pipeline.sources.sp1500 import load_sp1500_universe
from pas_pipeline.sources.universe import sector_etfs
from pas_pipeline.sources.wikimedia import WikimediaClient, make_wikimedia_client
from pas_pipeline.sources.yahoo import (
    PriceFetch,
    YahooChartClient,
    fetch_prices,
    make_yahoo_client,
)


class DataSourcesResource(dg.ConfigurableResource):
    """Where source clients get their data: ``sample`` (offline, generated payloads in each
    API's real shape, served to the real clients) or ``live`` (the real APIs)."""

    mode: str = DataMode.SAMPLE.value
    sample_universe_size: int = 1500
    price_source: str = PriceSource.YAHOO.value

    def data_mode(self) -> DataMode:
        return DataMode(self.mode)

    quiver_api_token: str | None = None
    reddit_client_id: str | None = None
    reddit_client_secret: str | None = None
    openfda_api_key: str | None = None
    alpaca_api_key: str | None = None
    alpaca_api_secret: str | None = None

    def alpaca_bars(self) -> AlpacaBarsClient:
        """Alpaca daily bars (the market-data keys of the trading account)."""
        return make_alpaca_bars_client(
            self.data_mode(),
            Secret(self.alpaca_api_key) if self.alpaca_api_key else None,
            Secret(self.alpaca_api_secret) if self.alpaca_api_secret else None,
            self.sample_universe_size,
        )

    def prices(self, symbols: list[str], start: dt.date, end: dt.date) -> PriceFetch:
        """Daily bars of ``symbols`` over ``start..end`` from ``PAS_PRICE_SOURCE`` (Yahoo's
        chart API or Alpaca's bars): the same tidy frame either way."""
        if PriceSource(self.price_source) is PriceSource.ALPACA:
            with self.alpaca_bars() as client:
                return fetch_alpaca_prices(client, symbols, start, end)
        with self.yahoo() as client:
            return fetch_prices(client, symbols, start, end)

    def yahoo(self) -> YahooChartClient:
        return make_yahoo_client(self.data_mode(), universe_size=self.sample_universe_size)

    def quiver(self) -> QuiverClient:
        token = Secret(self.quiver_api_token) if self.quiver_api_token else None
        return make_quiver_client(self.data_mode(), token, self.sample_universe_size)

    def wikimedia(self) -> WikimediaClient:
        return make_wikimedia_client(self.data_mode(), self.sample_universe_size)

    def reddit(self) -> praw.Reddit:
        """A read-only ``praw.Reddit`` (app-only OAuth) for r/wallstreetbets."""
        return make_reddit(
            self.data_mode(),
            Secret(self.reddit_client_id) if self.reddit_client_id else None,
            Secret(self.reddit_client_secret) if self.reddit_client_secret else None,
            universe_size=self.sample_universe_size,
        )

    def alpaca_news(self) -> AlpacaNewsClient:
        """Alpaca's news API (the market-data keys of the trading account)."""
        return make_alpaca_news_client(
            self.data_mode(),
            Secret(self.alpaca_api_key) if self.alpaca_api_key else None,
            Secret(self.alpaca_api_secret) if self.alpaca_api_secret else None,
            self.sample_universe_size,
        )

    def google_trends(self) -> GoogleTrendsClient:
        return make_google_trends_client(self.data_mode(), self.sample_universe_size)

    def clinical_trials(self) -> ClinicalTrialsClient:
        return make_clinical_trials_client(self.data_mode(), self.sample_universe_size)

    def openfda(self) -> OpenFdaClient:
        key = Secret(self.openfda_api_key) if self.openfda_api_key else None
        return make_openfda_client(self.data_mode(), key, self.sample_universe_size)

    def analyst_ratings(self) -> AnalystRatingsClient:
        return make_analyst_ratings_client(self.data_mode(), self.sample_universe_size)

    def universe(self) -> pd.DataFrame:
        """The S&P 1500 stocks (ticker, name, sector, market_cap USD, wiki_article, index):
        Wikipedia's three constituent lists and Yahoo's market caps; in sample mode the same
        code over the sample transport, which serves the generated universe."""
        return load_sp1500_universe(self.data_mode(), universe_size=self.sample_universe_size)

    def etfs(self) -> pd.DataFrame:
        return sector_etfs()


WAREHOUSE_SCHEMA = "public"
"""DuckDB schema that holds one table per asset (named after the asset)."""


class WarehouseReader(dg.ConfigurableResource):
    """Read-only SQL access to the asset warehouse (for ops outside the asset graph)."""

    database: str

    def query(self, sql: str, params: list[object] | None = None) -> pd.DataFrame:
        """Run ``sql`` on a read-only connection (tables live in :data:`WAREHOUSE_SCHEMA`)."""
        with duckdb.connect(self.database, read_only=True) as conn:
            conn.execute(f"set schema '{WAREHOUSE_SCHEMA}'")
            return conn.execute(sql, params or []).df()

    def latest_before(self, table: str, day: pd.Timestamp) -> pd.DataFrame:
        """Rows of the latest partition of ``table`` strictly before ``day`` (empty when the
        table or such a partition does not exist yet)."""
        try:
            return self.query(
                f"select * from {table} where date = (select max(date) from {table} "
                "where date < ?)",
                [day],
            )
        except duckdb.CatalogException:
            return pd.DataFrame()


class LedgerResource(dg.ConfigurableResource):
    """The trading ledger: PostgreSQL when ``pg_uri`` is set, else a DuckDB file."""

    duckdb_path: str
    pg_uri: str | None = None

    def open(self) -> Ledger:
        return Ledger.connect(self.pg_uri or Path(self.duckdb_path))


class BrokerResource(dg.ConfigurableResource):
    """The broker orders go to: the simulated broker (default) or Alpaca."""

    kind: str = BrokerKind.SIMULATED.value
    simulated_path: str
    initial_cash: float = 1_000_000.0
    alpaca_api_key: str | None = None
    alpaca_api_secret: str | None = None
    alpaca_base_url: str = PAPER_BASE_URL
    allow_live_trading: bool = False
    alpaca_url_override: str | None = None

    def open(self) -> Broker:
        """The configured broker; Alpaca's live host is refused unless live trading is
        explicitly allowed (``PAS_ALLOW_LIVE_TRADING=true``)."""
        if BrokerKind(self.kind) is BrokerKind.SIMULATED:
            return SimulatedBroker(self.simulated_path, initial_cash=self.initial_cash)
        if not (self.alpaca_api_key and self.alpaca_api_secret):
            raise dg.Failure("PAS_BROKER=alpaca needs ALPACA_API_KEY and ALPACA_API_SECRET")
        settings = Settings(
            home=Path(self.simulated_path).parent,
            broker=BrokerKind.ALPACA,
            alpaca_api_key=Secret(self.alpaca_api_key),
            alpaca_api_secret=Secret(self.alpaca_api_secret),
            alpaca_base_url=self.alpaca_base_url,
            allow_live_trading=self.allow_live_trading,
        )
        # only Alpaca's paper or live host, or a local stand-in that always counts as paper
        return AlpacaBroker.from_settings(settings, url_override=self.alpaca_url_override)
