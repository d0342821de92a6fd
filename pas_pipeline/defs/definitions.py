"""The one ``Definitions`` object: assets, checks, jobs, schedules, sensors, resources."""

import dagster as dg
from dagster_duckdb_pandas import DuckDBPandasIOManager

from pas_pipeline.calendar import EXCHANGE_TIMEZONE, is_trading_day
from pas_pipeline.config import Settings
from pas_pipeline.defs import allocation, market_data, portfolio
from pas_pipeline.defs.execution import ORDERS_ASSET, build_execution_sensor, execute_orders_job
from pas_pipeline.defs.partitions import trading_day_partitions
from pas_pipeline.defs.resources import (
    WAREHOUSE_SCHEMA,
    BrokerResource,
    DataSourcesResource,
    LedgerResource,
    WarehouseReader,
)
from pas_pipeline.defs.strategies import SLEEVE_ASSETS, build_schedule
from pas_pipeline.strategies.registry import STRATEGIES

REBALANCE_GROUPS = ("reference_data", "market_data", "strategies", "risk", "portfolio")

rebalance_job = dg.define_asset_job(
    "rebalance",
    selection=dg.AssetSelection.groups(*REBALANCE_GROUPS),
    partitions_def=trading_day_partitions,
    description="Data -> strategy sleeves -> risk -> target weights for one trading day. "
    "A successful run launches execute_orders_job.",
)

market_data_job = dg.define_asset_job(
    "market_data",
    selection=dg.AssetSelection.assets(market_data.universe, market_data.prices, portfolio.returns),
    partitions_def=trading_day_partitions,
    description="Universe, daily prices and returns: daily ingest, and backfills of history "
    "(a partition range launched as one run, e.g. an asset backfill, fetches in one go).",
)


@dg.schedule(
    name="market_data_schedule",
    cron_schedule="0 17 * * 1-5",
    execution_timezone=EXCHANGE_TIMEZONE,
    job=market_data_job,
    description="Daily prices and returns after the close, so every look-back window is full.",
)
def market_data_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    day = context.scheduled_execution_time.date()
    if not is_trading_day(day):
        return dg.SkipReason(f"{day} is not a trading day")
    return dg.RunRequest(run_key=f"market_data:{day.isoformat()}", partition_key=day.isoformat())


def _secret_env(name: str) -> dg.EnvVar:
    """``EnvVar(name)``: the UI shows the variable's name, never its value. Dagster reads the
    value from the process environment when a run uses the resource."""
    return dg.EnvVar(name)


def build_resources(settings: Settings) -> dict[str, object]:
    """Resources for the given settings (tests pass their own temporary settings)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    return {
        "io_manager": DuckDBPandasIOManager(
            database=str(settings.warehouse_path), schema=WAREHOUSE_SCHEMA
        ),
        "warehouse": WarehouseReader(database=str(settings.warehouse_path)),
        "data_sources": DataSourcesResource(
            mode=settings.data_mode.value, sample_universe_size=settings.sample_universe_size
        ),
        "ledger": LedgerResource(
            duckdb_path=str(settings.ledger_path),
            pg_uri=_secret_env("PG_URI") if settings.pg_uri else None,
        ),
        "broker": BrokerResource(
            kind=settings.broker.value, simulated_path=str(settings.simulated_broker_path)
        ),
    }


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            market_data.universe,
            market_data.prices,
            *SLEEVE_ASSETS,
            portfolio.returns,
            portfolio.covariance,
            allocation.correlation_regime,
            allocation.bl_posterior,
            allocation.min_max_weights,
            allocation.target_weights,
            ORDERS_ASSET,
        ],
        jobs=[rebalance_job, market_data_job, execute_orders_job],
        schedules=[
            market_data_schedule,
            *(build_schedule(spec, rebalance_job) for spec in STRATEGIES),
        ],
        sensors=[build_execution_sensor(rebalance_job)],
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
