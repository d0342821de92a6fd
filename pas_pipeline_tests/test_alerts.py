"""Alerts: the rules, the ledger record, delivery to a real local webhook, the sensors."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from pas_pipeline.alerts import (
    Alert,
    drawdown_alert,
    partial_fill_alerts,
    post_alert,
    stale_source_alerts,
    var_alert,
)
from pas_pipeline.config import Secret
from pas_pipeline.defs.alerts import (
    AlertsResource,
    alert_on_run_failure,
    risk_alerts,
    risk_alerts_sensor,
)
from pas_pipeline.defs.resources import LedgerResource
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import BrokerOrder

DAY = dt.date(2024, 7, 5)
TOKEN_IN_URL = "T0KEN-in-the-path-9f8e7d"


class Receiver:
    """A local webhook: records every JSON body; answers with ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/{TOKEN_IN_URL}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture
def ledger_resource(tmp_path: Path) -> LedgerResource:
    return LedgerResource(duckdb_path=str(tmp_path / "ledger.duckdb"))


# --- rules -------------------------------------------------------------------------------


def test_an_alert_id_depends_only_on_kind_subject_and_key() -> None:
    one = Alert("run_failure", "rebalance", "critical", "first words", key="run-1")
    same = Alert("run_failure", "rebalance", "warning", "other words", key="run-1")
    other = Alert("run_failure", "rebalance", "critical", "first words", key="run-2")
    assert one.alert_id == same.alert_id != other.alert_id
    assert one.alert_id.startswith("run_failure-") and len(one.alert_id) == len("run_failure-") + 16


def test_var_over_its_budget_raises_a_warning_and_at_the_budget_does_not() -> None:
    assert var_alert(0.02, 0.02, DAY) is None
    assert var_alert(None, 0.02, DAY) is None
    alert = var_alert(0.0312, 0.02, DAY, "daily_statistics")
    assert alert is not None and (alert.severity, alert.subject) == ("warning", "daily_statistics")
    assert alert.message == (
        "one-day 95% VaR of daily_statistics on 2024-07-05 is 3.12% of equity, above the "
        "budget of 2.00%"
    )


def test_a_var_scaled_onto_the_budget_is_no_breach_even_a_rounding_step_above() -> None:
    budget = 0.02
    scaled = 0.0312 * (budget / 0.0312)  # what the budget scaling computes
    assert var_alert(math.nextafter(max(scaled, budget), 1.0), budget, DAY) is None


def test_drawdown_beyond_its_limit_is_critical() -> None:
    assert drawdown_alert(0.15, 0.15, DAY) is None
    alert = drawdown_alert(0.2, 0.15, DAY)
    assert alert is not None and alert.severity == "critical"
    assert alert.message == "drawdown 20.00% on 2024-07-05 is beyond the limit of 15.00%"


def test_a_source_more_sessions_behind_than_allowed_is_stale() -> None:
    alerts = stale_source_alerts(
        {"prices": DAY, "pageviews": dt.date(2024, 7, 1), "lobbying": None},
        {"prices": 0, "pageviews": 3, "lobbying": 10**6},
        {"prices": 1, "pageviews": 1, "lobbying": 1},
        DAY,
    )
    assert [a.subject for a in alerts] == ["lobbying", "pageviews"]
    assert "pageviews is 3 sessions behind 2024-07-05 (last stored for 2024-07-01" in (
        alerts[1].message
    )
    assert "never stored" in alerts[0].message


# --- delivery ----------------------------------------------------------------------------


def test_an_alert_is_posted_as_json_to_the_webhook(receiver: Receiver) -> None:
    alert = Alert("run_failure", "rebalance", "critical", "boom", key="r1")
    assert post_alert(alert, Secret(receiver.url))
    [body] = receiver.bodies
    assert body["alert_id"] == alert.alert_id
    assert body["text"] == "[CRITICAL] run_failure: boom"
    assert (body["kind"], body["subject"], body["message"]) == ("run_failure", "rebalance", "boom")


def test_a_refused_or_unreachable_webhook_is_reported_without_its_url(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    alert = Alert("run_failure", "rebalance", "critical", "boom", key="r1")
    receiver.status = 500
    with caplog.at_level(logging.WARNING):
        assert not post_alert(alert, Secret(receiver.url))
        assert not post_alert(alert, Secret("http://127.0.0.1:9/" + TOKEN_IN_URL), timeout=2)
    assert "answered 500" in caplog.text
    assert TOKEN_IN_URL not in caplog.text


# --- ledger and resource ---------------------------------------------------------------


def test_an_alert_is_recorded_once_and_redelivered_until_the_webhook_accepts_it(
    receiver: Receiver, ledger_resource: LedgerResource
) -> None:
    alert = Alert("stale_source", "prices", "warning", "prices is stale", key="2024-07-05")
    resource = AlertsResource(webhook_url=receiver.url)
    receiver.status = 503
    assert resource.raise_alerts(ledger_resource, [alert]) == [alert.alert_id]
    assert resource.raise_alerts(ledger_resource, [alert]) == []  # known: not recorded again
    receiver.status = 200
    resource.raise_alerts(ledger_resource, [])
    assert [b["alert_id"] for b in receiver.bodies] == [alert.alert_id] * 3
    with ledger_resource.open() as book:
        assert book.alerts(undelivered_only=True).empty
        assert book.alerts()["alert_id"].tolist() == [alert.alert_id]


def test_without_a_webhook_alerts_are_only_recorded(ledger_resource: LedgerResource) -> None:
    alert = Alert("var_over_budget", "target_weights", "warning", "too much", key="2024-07-05")
    assert AlertsResource().raise_alerts(ledger_resource, [alert]) == [alert.alert_id]
    with ledger_resource.open() as book:
        assert book.alerts(undelivered_only=True)["kind"].tolist() == ["var_over_budget"]


@pytest.mark.postgres
def test_alerts_round_trip_in_postgres(postgres_uri: str) -> None:
    with Ledger.connect(postgres_uri) as ledger:
        alert = Alert("run_failure", "reconcile", "critical", "boom", key="r9")
        assert ledger.record_alert(alert) and not ledger.record_alert(alert)
        ledger.mark_alert_delivered(alert.alert_id)
        assert ledger.alerts(undelivered_only=True).empty
        assert ledger.alerts()["severity"].tolist() == ["critical"]


# --- sensors -----------------------------------------------------------------------------


@dg.op
def explode() -> None:
    raise RuntimeError("the source answered garbage")


@dg.job
def failing_job() -> None:
    explode()


def test_a_failed_run_becomes_a_posted_critical_alert(
    receiver: Receiver, ledger_resource: LedgerResource
) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        failure = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records[0]
        context = dg.build_run_status_sensor_context(
            sensor_name=alert_on_run_failure.name,
            dagster_event=failure.event_log_entry.dagster_event,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
            resources={
                "alerts": AlertsResource(webhook_url=receiver.url),
                "ledger": ledger_resource,
            },
        ).for_run_failure()
        alert_on_run_failure(context)
    [body] = receiver.bodies
    assert body["kind"] == "run_failure" and body["subject"] == "failing_job"
    assert result.run_id in body["message"]
    with ledger_resource.open() as book:
        assert book.alerts()["delivered_at"].notna().all()


def test_risk_alerts_read_var_drawdown_and_staleness_from_the_instance() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        for asset, metadata in (
            ("target_weights", {"var_95": 0.05}),
            ("daily_statistics", {"var_95": 0.019}),
            ("realised_performance", {"drawdown": 0.3, "days": 40}),
            ("prices", {}),
        ):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset, partition=DAY.isoformat(), metadata=metadata)
            )
        alerts = risk_alerts(instance, dt.date(2024, 7, 8))
    kinds = {(a.kind, a.subject) for a in alerts}
    assert ("var_over_budget", "target_weights") in kinds
    assert ("var_over_budget", "daily_statistics") not in kinds
    assert ("drawdown_over_limit", "2024-07-05") in kinds
    assert ("stale_source", "prices") not in kinds  # one session behind Monday: allowed
    assert ("stale_source", "lobbying") in kinds  # never stored


def _order(cid: str, status: str, filled: float, updated: dt.datetime) -> BrokerOrder:
    return BrokerOrder(
        client_order_id=cid,
        broker_order_id=f"bo-{cid}",
        symbol=cid.split("-")[-2],
        side="buy",
        qty=100.0,
        status=status,
        filled_qty=filled,
        filled_avg_price=50.0 if filled else None,
        submitted_at=updated - dt.timedelta(hours=6),
        filled_at=updated if filled else None,
        updated_at=updated,
    )


def test_a_partly_filled_order_raises_one_warning_keyed_by_the_order() -> None:
    row = {
        "client_order_id": "pas-1-AAPL-buy",
        "symbol": "AAPL",
        "side": "buy",
        "qty": 100.0,
        "filled_qty": 40.0,
        "status": "expired",
    }
    [alert] = partial_fill_alerts([row])
    assert (alert.kind, alert.subject, alert.severity) == ("partial_fill", "AAPL", "warning")
    assert alert.message.startswith("buy AAPL ended expired with 40 of 100 shares filled")
    assert partial_fill_alerts([row])[0].alert_id == alert.alert_id


def test_the_risk_sensor_alerts_on_orders_that_ended_partly_filled_this_week(
    ledger_resource: LedgerResource,
) -> None:
    now = dt.datetime.now(dt.UTC)
    with ledger_resource.open() as book:
        for order in (
            _order("pas-1-AAPL-buy", "expired", 40.0, now - dt.timedelta(days=1)),
            _order("pas-1-MSFT-buy", "filled", 100.0, now - dt.timedelta(days=1)),
            _order("pas-1-NVDA-buy", "partially_filled", 30.0, now - dt.timedelta(hours=1)),
        ):
            book.record_order(order, "rb-1")
    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(
            instance=instance,
            resources={"alerts": AlertsResource(webhook_url=None), "ledger": ledger_resource},
        ) as context,
    ):
        risk_alerts_sensor(context)
        risk_alerts_sensor(context)  # the same state raises nothing new
    with ledger_resource.open() as book:
        raised = book.alerts()
    partial = raised[raised["kind"] == "partial_fill"]
    assert partial["subject"].tolist() == ["AAPL"]


def test_the_ledger_lists_partly_filled_orders_recorded_since_a_time(
    ledger_target: str | Path,
) -> None:
    moments = iter([dt.datetime(2024, 7, 1, tzinfo=dt.UTC), dt.datetime(2024, 7, 9, tzinfo=dt.UTC)])
    book = Ledger.connect(ledger_target, clock=lambda: next(moments))
    old = _order("pas-0-XOM-buy", "canceled", 10.0, dt.datetime(2024, 7, 1, tzinfo=dt.UTC))
    new = _order("pas-1-AAPL-buy", "expired", 40.0, dt.datetime(2024, 7, 9, tzinfo=dt.UTC))
    book.record_order(old, "rb-0")
    book.record_order(new, "rb-1")
    listed = book.partially_filled_orders(since=dt.datetime(2024, 7, 5, tzinfo=dt.UTC))
    assert listed[["symbol", "filled_qty", "qty", "status"]].values.tolist() == [
        ["AAPL", 40.0, 100.0, "expired"]
    ]
