"""The order-execution op job and the sensor that launches it after a successful rebalance.

Execution is an op job, not an asset, so it never runs as part of a rebalance run: a run
whose blocking checks failed is not successful and therefore never trades. Submission has
no retry policy; idempotency comes from deterministic client order ids (see
``pas_pipeline.execution``).
"""

import time
from typing import Any

import dagster as dg
import pandas as pd

from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.resources import BrokerResource, LedgerResource, WarehouseReader
from pas_pipeline.execution.limits import PreTradeLimits
from pas_pipeline.execution.model import OrderLimits
from pas_pipeline.execution.rebalance import execute_rebalance
from pas_pipeline.observability.metrics import (
    record_orders,
    record_rebalance_seconds,
    record_trading_state,
)

ORDERS_ASSET = dg.AssetSpec(
    "orders",
    deps=["target_weights"],
    group_name="execution",
    description="Orders sent to the broker for a rebalance (materialised by execute_orders_job).",
    kinds={"broker"},
)


class ExecuteOrdersConfig(dg.Config):
    """Which rebalance to trade and the order limits (weights are fractions of equity)."""

    partition_date: str
    rebalance_run_id: str = ""
    dry_run: bool = False
    no_trade_band: float = 0.002
    min_order_notional: float = 1.0
    fractional: bool = True
    max_order_notional: float = 1_000_000.0
    max_position_weight: float = 0.40
    max_gross_exposure: float = 1.0
    max_daily_turnover: float = 2.0
    max_price_deviation: float = 0.10
    poll_timeout_seconds: float = 60.0
    """How long to wait for sent orders to reach a terminal status (seconds)."""
    require_market_open: bool = False
    """Off by default: runs after the close submit DAY market orders that execute at the next
    open; turn it on for intraday runs that must trade now or not at all."""

    def pre_trade_limits(self) -> PreTradeLimits:
        return PreTradeLimits(
            max_order_notional=self.max_order_notional,
            max_position_weight=self.max_position_weight,
            max_gross_exposure=self.max_gross_exposure,
            max_daily_turnover=self.max_daily_turnover,
            max_price_deviation=self.max_price_deviation,
            require_market_open=self.require_market_open,
        )


@dg.op(tags={"pas/side_effects": "broker"}, pool="broker")
@observed
def execute_orders(
    context: dg.OpExecutionContext,
    config: ExecuteOrdersConfig,
    warehouse: WarehouseReader,
    ledger: LedgerResource,
    broker: BrokerResource,
) -> None:
    """Plan orders from the date's target weights against the broker's positions, submit the
    missing ones, record plan, orders and fills in the ledger."""
    day = pd.Timestamp(config.partition_date)
    target = warehouse.query(
        "select ticker, weight, sleeves from target_weights where date = ? order by ticker", [day]
    )
    prices = warehouse.query(
        "select ticker, close from prices where date = ? order by ticker", [day]
    )
    limits = OrderLimits(
        no_trade_band=config.no_trade_band,
        min_order_notional=config.min_order_notional,
        fractional=config.fractional,
    )
    account, book = broker.open(), ledger.open()
    started = time.perf_counter()
    try:
        outcome = execute_rebalance(
            as_of=day,
            target=target,
            prices=pd.Series(prices["close"].to_numpy(), index=prices["ticker"].to_numpy()),
            broker=account,
            ledger=book,
            limits=limits,
            pre_trade=config.pre_trade_limits(),
            dry_run=config.dry_run,
            input_runs={"rebalance_run_id": config.rebalance_run_id},
            poll_timeout_seconds=config.poll_timeout_seconds,
        )
    finally:
        account.close()
        book.close()
    record_rebalance_seconds(time.perf_counter() - started)
    context.log.info(outcome.summary())
    record_orders(len(outcome.report.submitted), [reason for _, reason in outcome.blocked])
    context.log_event(
        dg.AssetMaterialization(
            asset_key="orders",
            description=f"rebalance {outcome.rebalance_id}",
            metadata=outcome.metadata(),
        )
    )
    for order, reason in outcome.blocked:
        context.log.warning(f"blocked {order.side} {order.symbol}: {reason}")
    for client_order_id in outcome.report.partially_filled:
        context.log.warning(
            f"{client_order_id} is only partly filled; the ledger records its filled shares "
            "once the order ends, and the next rebalance plans from the positions held"
        )
    if not outcome.ok:
        raise dg.Failure(
            description=f"rebalance {outcome.rebalance_id}: not every planned order reached "
            f"the broker ({outcome.report.counts()}, blocked by limits {len(outcome.blocked)}); "
            "a re-run submits only what is missing",
            allow_retries=False,
        )


@dg.job(
    description="Trade one rebalance: plan, submit (idempotent), record.",
    tags={"pas/kind": "execution"},
)
def execute_orders_job() -> None:
    execute_orders()


def build_execution_sensor(rebalance_job: dg.JobDefinition | Any) -> dg.SensorDefinition:
    """After each successful run of ``rebalance_job`` that produced target weights, request
    one execution run (run key = the rebalance run's id, so it is never requested twice)."""

    @dg.run_status_sensor(
        name="execute_after_rebalance",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[rebalance_job],
        request_job=execute_orders_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def execute_after_rebalance(
        context: dg.RunStatusSensorContext,
    ) -> dg.RunRequest | dg.SkipReason:
        run = context.dagster_run
        partition = run.tags.get("dagster/partition")
        selection = run.asset_selection
        if partition is None:
            return dg.SkipReason(f"run {run.run_id} has no single partition to trade")
        if selection and dg.AssetKey("target_weights") not in selection:
            return dg.SkipReason(f"run {run.run_id} did not materialise target_weights")
        return dg.RunRequest(
            run_key=run.run_id,
            run_config={
                "ops": {
                    "execute_orders": {
                        "config": {"partition_date": partition, "rebalance_run_id": run.run_id}
                    }
                }
            },
            tags={"pas/rebalance_run_id": run.run_id, "pas/partition": partition},
        )

    return execute_after_rebalance


class TradingStateConfig(dg.Config):
    """The kill switch: ACTIVE trades, REDUCE_ONLY only shrinks positions, HALTED blocks all."""

    state: str
    reason: str


@dg.op(tags={"pas/side_effects": "ledger"})
@observed
def set_trading_state(
    context: dg.OpExecutionContext, config: TradingStateConfig, ledger: LedgerResource
) -> None:
    """Store the trading state in the ledger (it survives restarts)."""
    with ledger.open() as book:
        book.set_trading_state(config.state, config.reason)
        state = book.get_trading_state().value
    record_trading_state(state)
    context.log.info(f"trading state is now {state}: {config.reason}")


@dg.job(
    description="Set the kill switch (ACTIVE / REDUCE_ONLY / HALTED) with a reason.",
)
def set_trading_state_job() -> None:
    set_trading_state()
