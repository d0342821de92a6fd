"""Reference and market data assets: the universe and daily prices."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from pas_pipeline.defs.checks import blocking_check_spec, validated
from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.partitions import trading_day_partitions
from pas_pipeline.defs.resources import DataSourcesResource
from pas_pipeline.observability.metrics import record_rows_ingested
from pas_pipeline.schemas import PRICES_SCHEMA, validate_frame


@dg.asset(group_name="reference_data", kinds={"duckdb"})
@observed
def universe(data_sources: DataSourcesResource) -> dg.Output[pd.DataFrame]:
    """Stocks the strategies choose from, with sector and market capitalisation (USD)."""
    frame = data_sources.universe()
    by_index = frame["index"].value_counts().sort_index()
    return dg.Output(
        frame,
        metadata={
            "names": len(frame),
            "sectors": int(frame["sector"].nunique()),
            **{f"names/{index}": int(count) for index, count in by_index.items()},
        },
    )


def partition_dates(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """First and last calendar date covered by the run's partition (or partition range)."""
    window = context.partition_time_window
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()


@dg.asset(
    group_name="market_data",
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_expr": "date"},
    pool="yahoo",
    kinds={"duckdb"},
    check_specs=[
        blocking_check_spec(
            "prices", "prices_schema", "Daily bars match the prices schema (types, ranges, keys)."
        )
    ],
)
@observed
def prices(
    context: dg.AssetExecutionContext, universe: pd.DataFrame, data_sources: DataSourcesResource
) -> Iterator[dg.AssetCheckResult | dg.Output]:
    """Daily OHLCV and adjusted close (USD) of the universe and the sector ETFs, from Yahoo's
    chart API or Alpaca's bars (``PAS_PRICE_SOURCE``); one partition per trading day, a range
    of days in a single backfill run."""
    start, end = partition_dates(context)
    symbols = sorted(set(universe["ticker"]) | set(data_sources.etfs()["ticker"]))
    result = data_sources.prices(symbols, start, end)
    frame = result.frame
    if result.missing:
        context.log.warning(
            f"{len(result.missing)} symbols returned no data: {result.missing[:20]}"
        )
    yield from validated(
        frame,
        {"prices_schema": lambda f: validate_frame(PRICES_SCHEMA, f, data_sources.price_source)},
        metadata={
            "rows": len(frame),
            "tickers": int(frame["ticker"].nunique()),
            "sessions": int(frame["date"].nunique()),
            "missing_symbols": len(result.missing),
            "coverage": float(frame["ticker"].nunique() / max(len(symbols), 1)),
        },
    )
    record_rows_ingested("prices", len(frame))
