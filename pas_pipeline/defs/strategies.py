"""Strategy sleeve assets and their schedules, generated from the strategy registry."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from pas_pipeline.calendar import (
    EXCHANGE_TIMEZONE,
    MAX_SESSIONS_SINCE_REBALANCE,
    is_rebalance_day,
)
from pas_pipeline.defs.checks import blocking_check_spec, validated
from pas_pipeline.defs.observability import observed
from pas_pipeline.defs.partitions import lookback, trading_day_partitions
from pas_pipeline.portfolio.combine import CASH
from pas_pipeline.schemas import SLEEVE_SCHEMA, validate_frame
from pas_pipeline.strategies.registry import STRATEGIES, StrategySpec
from pas_pipeline.strategies.run import sleeve_frame, sleeve_in_force

REBALANCE_CRON = "30 17 * * 1-5"
"""Weekdays 17:30 New York: after the close, so the day's bars are final."""


def build_sleeve_asset(spec: StrategySpec) -> dg.AssetsDefinition:
    """The sleeve asset of one strategy: the holdings in force on each trading day."""
    window = spec.lookback_sessions + MAX_SESSIONS_SINCE_REBALANCE[spec.rule]
    ins = {source: dg.AssetIn(partition_mapping=lookback(window)) for source in spec.sources}

    @dg.asset(
        name=spec.name,
        description=f"{spec.title}: rebalances {spec.rule.value}, holds {spec.top_n} names; "
        f"weighting: {spec.weighting}.",
        group_name="strategies",
        partitions_def=trading_day_partitions,
        backfill_policy=dg.BackfillPolicy.multi_run(1),
        ins=ins,
        metadata={"partition_expr": "date", "rebalance_rule": spec.rule.value, "top_n": spec.top_n},
        tags={"pas/strategy": spec.name},
        kinds={"pandas"},
        check_specs=[
            blocking_check_spec(
                spec.name,
                f"{spec.name}_weights",
                "Sleeve weights are finite, >= 0 and sum to 1 with cash.",
            )
        ],
    )
    @observed
    def sleeve_asset(context: dg.AssetExecutionContext, **inputs: pd.DataFrame) -> Iterator[Any]:
        as_of = pd.Timestamp(context.partition_key)
        sleeve = sleeve_in_force(spec, inputs, as_of)
        frame = sleeve_frame(spec, sleeve, as_of)
        held = frame[frame["ticker"] != CASH]
        metadata = {
            "rebalance_date": str(sleeve.rebalance_date.date()),
            "names_held": len(held),
            "cash_weight": float(sleeve.cash_weight),
            "score_dispersion": float(held["score"].std(ddof=0)) if len(held) > 1 else 0.0,
            "holdings": dg.MetadataValue.md(
                held[["ticker", "score", "weight"]].to_markdown(index=False)
            )
            if len(held)
            else "all cash",
        }
        if sleeve.note:
            metadata["note"] = sleeve.note
            context.log.info(f"{spec.name} on {as_of.date()}: {sleeve.note}")
        yield from validated(
            frame,
            {f"{spec.name}_weights": lambda f: validate_frame(SLEEVE_SCHEMA, f, spec.name)},
            metadata,
        )

    return sleeve_asset


SLEEVE_ASSETS: tuple[dg.AssetsDefinition, ...] = tuple(build_sleeve_asset(s) for s in STRATEGIES)


def rebalance_selection(spec_names: list[str]) -> list[dg.AssetKey]:
    """Assets a rebalance of these strategies materialises: their sources and sleeves, and the
    shared risk and portfolio assets (other strategies' sleeves keep their stored holdings)."""
    by_name = {spec.name: spec for spec in STRATEGIES}
    names = {
        "universe",
        "prices",
        "returns",
        "covariance",
        "correlation_regime",
        "bl_posterior",
        "min_max_weights",
        "target_weights",
    }
    for name in spec_names:
        names |= {name, *by_name[name].sources}
    return [dg.AssetKey(name) for name in sorted(names)]


def build_schedule(spec: StrategySpec, job: dg.JobDefinition | Any) -> dg.ScheduleDefinition:
    """Ticks every weekday after the close; requests a rebalance only on the rule's days."""

    @dg.schedule(
        name=f"{spec.name}_schedule",
        cron_schedule=REBALANCE_CRON,
        execution_timezone=EXCHANGE_TIMEZONE,
        job=job,
        description=f"{spec.title}: rebalance on {spec.rule.value} days (holidays move it to "
        "the next session).",
    )
    def rebalance_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        day: dt.date = context.scheduled_execution_time.date()
        if not is_rebalance_day(spec.rule, day):
            return dg.SkipReason(f"{day} is not a {spec.rule.value} rebalance day")
        return dg.RunRequest(
            run_key=f"{spec.name}:{day.isoformat()}",
            partition_key=day.isoformat(),
            asset_selection=rebalance_selection([spec.name]),
            tags={"pas/strategies": spec.name},
        )

    return rebalance_schedule
