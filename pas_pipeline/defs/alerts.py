"""Alert sensors: a failed run, VaR over budget, drawdown over limit, a reconciliation
mismatch, a stale source. Each records an :class:`~pas_pipeline.alerts.Alert` in the ledger
(once: ids are deterministic) and posts it to ``PAS_ALERT_WEBHOOK_URL`` when set; an alert
the webhook did not accept is posted again on the next evaluation."""

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from pas_pipeline.alerts import (
    Alert,
    drawdown_alert,
    partial_fill_alerts,
    post_alert,
    stale_source_alerts,
    var_alert,
)
from pas_pipeline.calendar import EXCHANGE_TIMEZONE, latest_trading_day, trading_days
from pas_pipeline.config import Secret
from pas_pipeline.defs.reconciliation import CHECK as RECONCILIATION_CHECK
from pas_pipeline.defs.resources import LedgerResource
from pas_pipeline.portfolio.allocation import AllocationSettings

MAX_DRAWDOWN = 0.15
"""Realised drawdown (fraction below the running peak) beyond which an alert is raised."""
STALE_AFTER_SESSIONS = 1
"""Sessions a daily source may lag the latest session before it counts as stale."""
WATCHED_SOURCES = (
    "prices",
    "congress_trades",
    "gov_contracts",
    "insider_trades",
    "lobbying",
    "pageviews",
    "news_sentiment",
    "rating_changes",
    "trial_catalysts",
)
"""Daily-ingested sources whose staleness is watched (app ratings and Reddit accrue only
forward; search interest is fetched on rebalance days only)."""


class AlertsResource(dg.ConfigurableResource):
    """Where alerts go besides the ledger: a webhook (a secret URL) or nowhere."""

    webhook_url: str | None = None

    def raise_alerts(self, ledger: LedgerResource, alerts: Iterable[Alert]) -> list[str]:
        """Record new alerts, then post every undelivered one; the ids recorded now."""
        new = []
        with ledger.open() as book:
            for alert in alerts:
                if book.record_alert(alert):
                    new.append(alert.alert_id)
            if self.webhook_url:
                webhook = Secret(self.webhook_url)
                for row in book.alerts(undelivered_only=True).itertuples():
                    alert = Alert(
                        row.kind, row.subject, row.severity, row.message, alert_id=row.alert_id
                    )
                    if post_alert(alert, webhook):
                        book.mark_alert_delivered(row.alert_id)
        return new


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_on_run_failure(
    context: dg.RunFailureSensorContext, alerts: AlertsResource, ledger: LedgerResource
) -> None:
    """Every failed run (a failed blocking check, a blocked or failed order, an API outage)
    becomes a critical alert naming the job, the run and the first error."""
    run = context.dagster_run
    error = context.failure_event.message or "run failed"
    alert = Alert(
        "run_failure",
        run.job_name,
        "critical",
        f"run {run.run_id} of {run.job_name} failed: {error[:500]}",
        key=run.run_id,
    )
    alerts.raise_alerts(ledger, [alert])


def _latest_metadata(instance: dg.DagsterInstance, asset: str) -> tuple[Any, dict[str, Any]]:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    if not records:
        return None, {}
    materialization = records[0].asset_materialization
    values = {k: getattr(v, "value", v) for k, v in (materialization.metadata or {}).items()}
    return materialization.partition, values


def risk_alerts(instance: dg.DagsterInstance, today: dt.date) -> list[Alert]:
    """Alerts the latest stored state calls for: VaR over budget in the newest target (the
    budget scaling failed) or in the newest daily statistics (the held book drifted over it),
    realised drawdown over :data:`MAX_DRAWDOWN`, a failed reconciliation check, and sources
    more than :data:`STALE_AFTER_SESSIONS` sessions behind."""
    found: list[Alert] = []
    budget = AllocationSettings().var_limit
    for book in ("target_weights", "daily_statistics"):  # the wanted book, the held book
        partition, metadata = _latest_metadata(instance, book)
        if partition:
            day = dt.date.fromisoformat(partition)
            found += [var_alert(metadata.get("var_95"), budget, day, book)]
    partition, performance = _latest_metadata(instance, "realised_performance")
    if partition and performance.get("days"):
        day = dt.date.fromisoformat(partition)
        found += [drawdown_alert(performance.get("drawdown"), MAX_DRAWDOWN, day)]
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("account_positions"), RECONCILIATION_CHECK)]
    ).get(dg.AssetCheckKey(dg.AssetKey("account_positions"), RECONCILIATION_CHECK))
    evaluation = check.event.dagster_event.event_specific_data if check and check.event else None
    if evaluation is not None and not evaluation.passed:
        found.append(
            Alert(
                "reconciliation_mismatch",
                "account_positions",
                "critical",
                f"broker positions differ from the ledger: {evaluation.description}",
                key=check.run_id,
            )
        )
    latest = latest_trading_day(today)
    newest: dict[str, dt.date | None] = {}
    behind: dict[str, int] = {}
    for asset in WATCHED_SOURCES:
        stored = instance.get_materialized_partitions(dg.AssetKey(asset))
        last = dt.date.fromisoformat(max(stored)) if stored else None
        newest[asset] = last
        behind[asset] = len(trading_days(last, latest)) - 1 if last else 10**6
    allowed = dict.fromkeys(WATCHED_SOURCES, STALE_AFTER_SESSIONS)
    found += stale_source_alerts(newest, behind, allowed, latest)
    return [alert for alert in found if alert is not None]


PARTIAL_FILL_LOOKBACK = dt.timedelta(days=7)
"""How far back the sensor looks for orders that ended partly filled (each alerts once)."""


@dg.sensor(
    name="risk_alerts",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def risk_alerts_sensor(
    context: dg.SensorEvaluationContext, alerts: AlertsResource, ledger: LedgerResource
) -> dg.SkipReason:
    """Every five minutes: VaR and drawdown limits, reconciliation, stale sources, orders
    that ended partly filled in the last week."""
    now = dt.datetime.now(ZoneInfo(EXCHANGE_TIMEZONE))
    with ledger.open() as book:
        partial = book.partially_filled_orders(since=now - PARTIAL_FILL_LOOKBACK)
    found = risk_alerts(context.instance, now.date())
    found += partial_fill_alerts(partial.to_dict("records"))
    new = alerts.raise_alerts(ledger, found)
    return dg.SkipReason(f"{len(new)} new alerts" if new else "no new alerts")
