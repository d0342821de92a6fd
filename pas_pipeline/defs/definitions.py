"""The one ``Definitions`` object: assets, checks, jobs, schedules, sensors, resources."""

from typing import Any

import dagster as dg
from dagster_duckdb_pandas import DuckDBPandasIOManager

from pas_pipeline.calendar import EXCHANGE_TIMEZONE, is_trading_day
from pas_pipeline.config import Settings
from pas_pipeline.defs import (
    allocation,
    daily_statistics,
    dc_insider,
    market_data,
    performance,
    portfolio,
    search_interest,
)
from pas_pipeline.defs.alerts import AlertsResource, alert_on_run_failure, risk_alerts_sensor
from pas_pipeline.defs.alt_data import ALT_DATA_ASSETS
from pas_pipeline.defs.code_references import with_code_references
from pas_pipeline.defs.execution import (
    ORDERS_ASSET,
    build_execution_sensor,
    execute_orders_job,
    set_trading_state_job,
)
from pas_pipeline.defs.io_managers import AltDataIOManager
from pas_pipeline.defs.observability import ObservabilityResource
from pas_pipeline.defs.partitions import trading_day_partitions
from pas_pipeline.defs.reconciliation import (
    account_positions,
    build_reconcile_sensor,
    reconcile_job,
    reconcile_schedule,
)
from pas_pipeline.defs.resources import (
    WAREHOUSE_SCHEMA,
    BrokerResource,
    DataSourcesResource,
    LedgerResource,
    WarehouseReader,
)
from pas_pipeline.defs.strategies import SLEEVE_ASSETS, build_schedule
from pas_pipeline.strategies.registry import STRATEGIES

REBALANCE_GROUPS = ("reference_data", "market_data", "alt_data", "strategies", "risk", "portfolio")

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


alt_data_job = dg.define_asset_job(
    "alt_data",
    selection=dg.AssetSelection.assets(
        market_data.universe,
        *ALT_DATA_ASSETS,
        search_interest.search_interest,
        dc_insider.dc_insider_scores_asset,
    ),
    partitions_def=trading_day_partitions,
    description="Alternative data (Quiver datasets): daily ingest and backfills.",
)


def daily_ingest_schedule(job: Any, cron: str) -> dg.ScheduleDefinition:
    """Materialise ``job`` for each session after the close (run key ``job:date``); exchange
    holidays are skipped, so every look-back window stays gap-free."""

    @dg.schedule(
        name=f"{job.name}_schedule",
        cron_schedule=cron,
        execution_timezone=EXCHANGE_TIMEZONE,
        job=job,
        description=f"Daily {job.name} ingest after the close (holidays skipped).",
    )
    def ingest(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        day = context.scheduled_execution_time.date()
        if not is_trading_day(day):
            return dg.SkipReason(f"{day} is not a trading day")
        return dg.RunRequest(run_key=f"{job.name}:{day.isoformat()}", partition_key=day.isoformat())

    return ingest


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
        "alt_data_io_manager": AltDataIOManager(
            database=str(settings.warehouse_path), schema=WAREHOUSE_SCHEMA
        ),
        "warehouse": WarehouseReader(database=str(settings.warehouse_path)),
        "alerts": AlertsResource(
            webhook_url=_secret_env("PAS_ALERT_WEBHOOK_URL") if settings.alert_webhook_url else None
        ),
        "observability": ObservabilityResource(
            trace_exporter=settings.trace_exporter, metrics_dir=str(settings.metrics_dir)
        ),
        "data_sources": DataSourcesResource(
            mode=settings.data_mode.value,
            sample_universe_size=settings.sample_universe_size,
            price_source=settings.price_source.value,
            quiver_api_token=_secret_env("QUIVER_API_TOKEN") if settings.quiver_api_token else None,
            reddit_client_id=_secret_env("REDDIT_CLIENT_ID") if settings.reddit_client_id else None,
            reddit_client_secret=_secret_env("REDDIT_CLIENT_SECRET")
            if settings.reddit_client_secret
            else None,
            openfda_api_key=_secret_env("OPENFDA_API_KEY") if settings.openfda_api_key else None,
            alpaca_api_key=_secret_env("ALPACA_API_KEY") if settings.alpaca_api_key else None,
            alpaca_api_secret=_secret_env("ALPACA_API_SECRET")
            if settings.alpaca_api_secret
            else None,
        ),
        "ledger": LedgerResource(
            duckdb_path=str(settings.ledger_path),
            pg_uri=_secret_env("PG_URI") if settings.pg_uri else None,
        ),
        "broker": BrokerResource(
            kind=settings.broker.value,
            simulated_path=str(settings.simulated_broker_path),
            alpaca_api_key=_secret_env("ALPACA_API_KEY") if settings.alpaca_api_key else None,
            alpaca_api_secret=_secret_env("ALPACA_API_SECRET")
            if settings.alpaca_api_secret
            else None,
            alpaca_base_url=settings.alpaca_base_url,
            allow_live_trading=settings.allow_live_trading,
            alpaca_url_override=settings.alpaca_url_override,
        ),
    }


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=with_code_references(
            [
                market_data.universe,
                market_data.prices,
                *ALT_DATA_ASSETS,
                search_interest.search_interest,
                dc_insider.dc_insider_scores_asset,
                *SLEEVE_ASSETS,
                portfolio.returns,
                portfolio.covariance,
                allocation.correlation_regime,
                performance.realised_performance,
                allocation.bl_posterior,
                allocation.min_max_weights,
                allocation.target_weights,
                ORDERS_ASSET,
                daily_statistics.daily_statistics_asset,
                account_positions,
            ]
        ),
        jobs=[
            rebalance_job,
            market_data_job,
            alt_data_job,
            execute_orders_job,
            set_trading_state_job,
            reconcile_job,
            daily_statistics.daily_statistics_job,
        ],
        schedules=[
            daily_ingest_schedule(market_data_job, "0 17 * * 1-5"),
            daily_ingest_schedule(alt_data_job, "15 17 * * 1-5"),
            reconcile_schedule,
            daily_statistics.daily_statistics_schedule,
            *(build_schedule(spec, rebalance_job) for spec in STRATEGIES),
        ],
        sensors=[
            build_execution_sensor(rebalance_job),
            build_reconcile_sensor(execute_orders_job),
            alert_on_run_failure,
            risk_alerts_sensor,
        ],
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
