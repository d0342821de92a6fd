"""Prometheus metrics: record helpers, API-call wiring, textfiles and the merged exposition.

Metrics live on the process-wide default registry, so each test uses its own label values
(or compares before/after) and never depends on other tests' values.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Gauge
from prometheus_client.parser import text_string_to_metric_families

from pas_pipeline.execution.model import TradingState
from pas_pipeline.observability.metrics import (
    API_ERROR_KINDS,
    BLOCK_REASON_CODES,
    CONTENT_TYPE_LATEST,
    blocked_reason_codes,
    collect_metrics_text,
    metrics_dir,
    metrics_wsgi_app,
    process_metrics_path,
    record_api_call,
    record_orders,
    record_portfolio,
    record_rows_ingested,
    record_trading_state,
    write_textfile,
)
from pas_pipeline.sources.errors import SourceAuthError
from pas_pipeline.sources.http import ApiClient, ApiPolicy
from pas_pipeline_tests.fake_clock import FakeClock


def value(name: str, **labels: str) -> float:
    """Current value of a sample of the default registry (0 when it does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def delta(name: str, **labels: str) -> Callable[[], float]:
    """A function giving how much the sample has grown since this call."""
    before = value(name, **labels)
    return lambda: value(name, **labels) - before


# --- record helpers -------------------------------------------------------------------


def test_an_api_call_adds_one_observation_of_its_seconds() -> None:
    record_api_call("helper-latency", "ok", 0.3)
    record_api_call("helper-latency", "ok", 0.2)
    labels = {"source": "helper-latency", "outcome": "ok"}
    assert value("pas_api_request_seconds_count", **labels) == 2
    assert value("pas_api_request_seconds_sum", **labels) == pytest.approx(0.5)
    assert value("pas_api_request_seconds_bucket", le="0.25", **labels) == 1
    assert value("pas_api_request_seconds_bucket", le="0.5", **labels) == 2


def test_a_failed_api_call_also_counts_an_error_of_its_kind() -> None:
    record_api_call("helper-errors", "error", 1.0, "auth")
    record_api_call("helper-errors", "error", 1.0)
    assert value("pas_api_errors_total", source="helper-errors", kind="auth") == 1
    assert value("pas_api_errors_total", source="helper-errors", kind="other") == 1


def test_a_sources_error_and_retry_series_exist_at_zero_from_its_first_call() -> None:
    record_api_call("helper-first-call", "ok", 0.1)
    zero = {
        kind: REGISTRY.get_sample_value(
            "pas_api_errors_total", {"source": "helper-first-call", "kind": kind}
        )
        for kind in API_ERROR_KINDS
    }
    assert zero == dict.fromkeys(API_ERROR_KINDS, 0.0)
    assert REGISTRY.get_sample_value("pas_api_retries_total", {"source": "helper-first-call"}) == 0


def test_every_block_reason_series_exists_once_orders_are_recorded() -> None:
    record_orders(0)
    for code in BLOCK_REASON_CODES:
        assert REGISTRY.get_sample_value("pas_orders_blocked_total", {"reason": code}) is not None


def test_an_unknown_outcome_is_rejected() -> None:
    with pytest.raises(ValueError, match="outcome"):
        record_api_call("helper-errors", "fine", 1.0)


def test_rows_ingested_accumulate_per_asset() -> None:
    record_rows_ingested("helper_prices", 120)
    record_rows_ingested("helper_prices", 30)
    assert value("pas_rows_ingested_total", asset="helper_prices") == 150


def test_orders_count_submissions_and_blocks_per_rule() -> None:
    submitted = delta("pas_orders_submitted_total")
    halted = delta("pas_orders_blocked_total", reason="halted")
    weight = delta("pas_orders_blocked_total", reason="position_weight")
    exposure = delta("pas_orders_blocked_total", reason="gross_exposure")
    record_orders(
        3,
        [
            "trading is HALTED",
            "AAPL would be 12.5% of equity (limit 10%); "
            "gross exposure would be 104% of equity (limit 100%)",
        ],
    )
    assert (submitted(), halted(), weight(), exposure()) == (3, 1, 1, 1)


def test_block_reasons_map_to_a_fixed_set_of_codes() -> None:
    reasons = {
        "trading is HALTED": ["halted"],
        "market is closed": ["market_closed"],
        "no usable current price for XYZ; no usable last close for XYZ": ["no_price"],
        "price 110 is 10% from the last close 100 (limit 5%); reference price 100 is 0% "
        "from the last close 100 (limit 5%)": ["price_deviation"],
        "trading is REDUCE_ONLY and this buy of 5 AAPL does not reduce the position of 0": [
            "reduce_only"
        ],
        "sell of 10 AAPL exceeds the 4 held (no short selling)": ["short_sale"],
        "notional 60000 USD exceeds the limit of 50000 USD": ["order_notional"],
        "daily turnover would be 80% of equity (limit 50%); the whole plan is held back": [
            "daily_turnover"
        ],
        "something new": ["other"],
    }
    assert {reason: blocked_reason_codes(reason) for reason in reasons} == reasons


def test_portfolio_gauges_take_the_last_values_and_none_keeps_var() -> None:
    record_portfolio(100_000.0, 0.95, 0.021, 0.04)
    record_portfolio(101_500.0, 0.97, None, 0.0)
    assert value("pas_portfolio_value_usd") == 101_500.0
    assert value("pas_gross_exposure") == 0.97
    assert value("pas_var_95") == 0.021
    assert value("pas_drawdown") == 0.0


def test_portfolio_values_must_be_finite() -> None:
    with pytest.raises(ValueError, match="value_usd"):
        record_portfolio(math.nan, 1.0, 0.02, 0.0)


def test_trading_state_is_one_for_the_current_state_only() -> None:
    record_trading_state(TradingState.REDUCE_ONLY)
    assert [value("pas_trading_state", state=s) for s in ("ACTIVE", "REDUCE_ONLY", "HALTED")] == [
        0,
        1,
        0,
    ]
    with pytest.raises(ValueError, match="state"):
        record_trading_state("PAUSED")


# --- wiring into the HTTP client ---------------------------------------------------------


def api(name: str, *responses: httpx.Response, not_found_is_empty: bool = False) -> ApiClient:
    queue = list(responses)
    clock = FakeClock()
    policy = ApiPolicy(
        name, "https://api.example.test", math.inf, 1, not_found_is_empty=not_found_is_empty
    )
    return ApiClient(
        policy,
        transport=httpx.MockTransport(lambda request: queue.pop(0)),
        sleep=clock.sleep,
        clock=clock,
    )


def test_a_retried_call_records_its_latency_including_waits_and_its_retries() -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "7"})
    with api("wired-ok", throttled, throttled, httpx.Response(200, json=[1])) as client:
        client.get_json("/x")
    labels = {"source": "wired-ok", "outcome": "ok"}
    assert value("pas_api_request_seconds_count", **labels) == 1
    assert value("pas_api_request_seconds_sum", **labels) == 14.0  # two Retry-After waits
    assert value("pas_api_retries_total", source="wired-ok") == 2
    assert value("pas_api_errors_total", source="wired-ok", kind="auth") == 0


def test_a_rejected_call_records_an_auth_error_and_an_error_latency() -> None:
    with api("wired-auth", httpx.Response(401)) as client, pytest.raises(SourceAuthError):
        client.get_json("/x")
    assert value("pas_api_errors_total", source="wired-auth", kind="auth") == 1
    assert value("pas_api_request_seconds_count", source="wired-auth", outcome="error") == 1


def test_a_not_found_meaning_no_data_is_an_empty_outcome_not_an_error() -> None:
    with api("wired-empty", httpx.Response(404), not_found_is_empty=True) as client:
        assert client.get_json("/x") is None
    assert value("pas_api_request_seconds_count", source="wired-empty", outcome="empty") == 1
    assert value("pas_api_errors_total", source="wired-empty", kind="http") == 0


# --- textfiles and exposition ------------------------------------------------------------


def families(text: str | bytes) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """Parsed exposition: family name -> {(sample name, sorted labels): value}."""
    if isinstance(text, bytes):
        text = text.decode()
    return {
        family.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
        for family in text_string_to_metric_families(text)
    }


def test_textfile_round_trip_keeps_recorded_values(tmp_path: Path) -> None:
    record_trading_state("HALTED")
    path = tmp_path / "metrics" / "run.prom"
    write_textfile(path)
    parsed = families(path.read_text())
    assert parsed["pas_trading_state"][("pas_trading_state", (("state", "HALTED"),))] == 1
    assert parsed["pas_trading_state"][("pas_trading_state", (("state", "ACTIVE"),))] == 0


def test_textfile_leaves_out_metrics_this_process_never_recorded(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    Gauge("pas_never_recorded", "A gauge no helper sets.", registry=registry).set(5)
    write_textfile(tmp_path / "run.prom", registry)
    assert families((tmp_path / "run.prom").read_text()) == {}


COUNTER_AND_GAUGE = """# HELP pas_orders_submitted_total Orders.
# TYPE pas_orders_submitted_total counter
pas_orders_submitted_total {submitted}
# HELP pas_portfolio_value_usd Value.
# TYPE pas_portfolio_value_usd gauge
pas_portfolio_value_usd {value}
"""


def write_at(path: Path, text: str, mtime: int) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_files_are_merged_counters_summed_and_the_newest_gauge_wins(tmp_path: Path) -> None:
    write_at(tmp_path / "new.prom", COUNTER_AND_GAUGE.format(submitted=3, value=1200), 2_000)
    write_at(tmp_path / "old.prom", COUNTER_AND_GAUGE.format(submitted=2, value=1000), 1_000)
    merged = families(collect_metrics_text(tmp_path, registry=None))
    assert merged["pas_orders_submitted"] == {("pas_orders_submitted_total", ()): 5}
    assert merged["pas_portfolio_value_usd"] == {("pas_portfolio_value_usd", ()): 1200}


def test_the_serving_process_gauges_win_over_files(tmp_path: Path) -> None:
    write_at(tmp_path / "run.prom", COUNTER_AND_GAUGE.format(submitted=1, value=1), 1_000)
    record_portfolio(2_500.0, 1.0, 0.01, 0.0)
    merged = families(collect_metrics_text(tmp_path))
    assert merged["pas_portfolio_value_usd"] == {("pas_portfolio_value_usd", ()): 2_500}


def test_histograms_from_two_runs_add_bucket_by_bucket(tmp_path: Path) -> None:
    record_api_call("merge-histogram", "ok", 0.3)
    write_textfile(tmp_path / "a.prom")
    write_textfile(tmp_path / "b.prom")
    merged = families(collect_metrics_text(tmp_path, registry=None))["pas_api_request_seconds"]
    labels = (("outcome", "ok"), ("source", "merge-histogram"))
    assert merged[("pas_api_request_seconds_count", labels)] == 2
    assert merged[("pas_api_request_seconds_bucket", (("le", "0.5"), *labels))] == 2
    assert merged[("pas_api_request_seconds_bucket", (("le", "0.25"), *labels))] == 0


def test_exposition_parses_and_types_every_family(tmp_path: Path) -> None:
    record_orders(1, ["market is closed"])
    record_portfolio(1.0, 0.5, 0.02, 0.1)
    write_textfile(tmp_path / "run.prom")
    types = {
        family.name: family.type
        for family in text_string_to_metric_families(collect_metrics_text(tmp_path).decode())
    }
    assert types["pas_orders_submitted"] == "counter"
    assert types["pas_orders_blocked"] == "counter"
    assert types["pas_var_95"] == "gauge"


def test_an_unparsable_file_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "broken.prom").write_text("pas_x{ 1\n")
    with pytest.raises(ValueError, match=r"broken\.prom"):
        collect_metrics_text(tmp_path, registry=None)


def test_a_missing_folder_contributes_nothing(tmp_path: Path) -> None:
    assert collect_metrics_text(tmp_path / "absent", registry=None) == b""


def test_process_files_live_under_pas_home_named_by_run_and_pid(tmp_path: Path) -> None:
    path = process_metrics_path(metrics_dir(tmp_path), "run/1 a")
    assert path == tmp_path / "metrics" / f"run_1_a-{os.getpid()}.prom"


def test_wsgi_app_serves_the_exposition_with_its_content_type(tmp_path: Path) -> None:
    write_at(tmp_path / "run.prom", COUNTER_AND_GAUGE.format(submitted=4, value=9), 1_000)
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    app = metrics_wsgi_app(tmp_path)
    body = b"".join(app({}, lambda status, headers: seen.append((status, headers))))
    assert seen[0][0] == "200 OK"
    assert ("Content-Type", CONTENT_TYPE_LATEST) in seen[0][1]
    assert b"pas_orders_submitted_total" in body
