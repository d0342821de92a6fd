"""Tracing: spans around API calls, error status, secret hygiene, log correlation, exporters."""

from __future__ import annotations

import io
import json
import logging
import math
import sys

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from pas_pipeline.observability.tracing import (
    TRACE_LOG_FORMAT,
    TraceContextFilter,
    TracingConfigError,
    asset_span,
    configure_tracing,
    current_trace_id,
    install_trace_log_records,
    span,
    trace_exporter_from_env,
)
from pas_pipeline.sources.errors import SourceAuthError, SourceUnavailableError
from pas_pipeline.sources.http import ApiClient, ApiPolicy
from pas_pipeline_tests.fake_clock import FakeClock

SECRET = "sk-test-0123456789abcdef"
POLICY = ApiPolicy(
    name="demo",
    base_url="https://api.example.test",
    requests_per_second=math.inf,
    burst=1,
    max_retries=2,
    backoff_base_seconds=1.0,
)


def client(*responses: httpx.Response) -> ApiClient:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    clock = FakeClock()
    return ApiClient(
        POLICY,
        transport=httpx.MockTransport(handler),
        headers={"Authorization": f"Bearer {SECRET}"},
        sleep=clock.sleep,
        clock=clock,
    )


def only_http_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    found = [s for s in exporter.get_finished_spans() if s.name == "http.get"]
    assert len(found) == 1
    return found[0]


def test_an_api_call_is_one_span_with_api_path_status_retries_and_rows(
    spans: InMemorySpanExporter,
) -> None:
    with client(httpx.Response(503), httpx.Response(200, json=[{"a": 1}, {"a": 2}])) as api:
        api.get_json("/v1/rows", params={"apikey": SECRET})
    recorded = only_http_span(spans)
    assert dict(recorded.attributes or {}) == {
        "api.name": "demo",
        "url.path": "/v1/rows",
        "http.response.status_code": 200,
        "http.retries": 1,
        "api.rows": 2,
    }
    assert recorded.status.status_code == StatusCode.UNSET


def test_a_dict_body_has_no_row_count(spans: InMemorySpanExporter) -> None:
    with client(httpx.Response(200, json={"chart": {}})) as api:
        api.get_json("/v8/chart/AAPL")
    assert "api.rows" not in (only_http_span(spans).attributes or {})


def test_a_failed_call_records_status_error_and_the_exception(
    spans: InMemorySpanExporter,
) -> None:
    with client(httpx.Response(503)) as api, pytest.raises(SourceUnavailableError):
        api.get_json("/v1/down")
    recorded = only_http_span(spans)
    assert recorded.status.status_code == StatusCode.ERROR
    assert recorded.attributes is not None
    assert recorded.attributes["http.retries"] == 2
    assert recorded.attributes["http.response.status_code"] == 503
    (event,) = recorded.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert (
        event.attributes["exception.type"] == "pas_pipeline.sources.errors.SourceUnavailableError"
    )


def test_no_span_carries_a_header_value_or_a_query_string(spans: InMemorySpanExporter) -> None:
    with client(httpx.Response(401, text="denied")) as api, pytest.raises(SourceAuthError):
        api.get_json(f"/v1/secret?token={SECRET}", params={"apikey": SECRET})
    recorded = only_http_span(spans)
    texts = [recorded.name, recorded.status.description or ""]
    texts += [str(v) for v in (recorded.attributes or {}).values()]
    for event in recorded.events:
        texts += [str(v) for v in (event.attributes or {}).values()]
    assert recorded.attributes is not None
    assert recorded.attributes["url.path"] == "/v1/secret"
    assert not [text for text in texts if SECRET in text or "token=" in text or "apikey" in text]


def test_span_as_a_decorator_marks_an_escaping_exception_as_error(
    spans: InMemorySpanExporter,
) -> None:
    @span("work", step="ingest", missing=None)
    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fail()
    (recorded,) = spans.get_finished_spans()
    assert recorded.name == "work"
    assert dict(recorded.attributes or {}) == {"step": "ingest"}
    assert recorded.status.status_code == StatusCode.ERROR
    assert recorded.status.description == "ValueError: boom"


def test_asset_span_names_the_asset_and_partition(spans: InMemorySpanExporter) -> None:
    with asset_span("prices", "2024-05-01"):
        pass
    (recorded,) = spans.get_finished_spans()
    assert recorded.name == "asset.compute"
    assert dict(recorded.attributes or {}) == {
        "asset.key": "prices",
        "asset.partition": "2024-05-01",
    }


def test_spans_get_a_32_hex_trace_id_even_without_an_exporter() -> None:
    configure_tracing("none")
    assert current_trace_id() is None
    with span("outer") as outer:
        trace_id = current_trace_id()
    assert trace_id == format(outer.get_span_context().trace_id, "032x")
    assert len(trace_id) == 32 and int(trace_id, 16) != 0


def test_a_formatted_log_record_shows_the_trace_and_span_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TraceContextFilter())
    handler.setFormatter(logging.Formatter(TRACE_LOG_FORMAT))
    logger = logging.getLogger("pas_pipeline_tests.tracing.filter")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with span("logged") as current:
            logger.info("inside")
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    context = current.get_span_context()
    inside, outside = stream.getvalue().splitlines()
    assert f"[trace_id={context.trace_id:032x} span_id={context.span_id:016x}] inside" in inside
    assert "[trace_id=- span_id=-] outside" in outside


def test_installed_record_factory_stamps_every_record() -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("pas_pipeline_tests.tracing.factory")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    install_trace_log_records()
    install_trace_log_records()  # idempotent
    try:
        with span("run"):
            logger.info("hello")
            expected = current_trace_id()
    finally:
        logger.removeHandler(handler)
    assert [r.trace_id for r in records] == [expected]  # type: ignore[attr-defined]


def test_console_exporter_writes_each_finished_span_to_the_stream() -> None:
    stream = io.StringIO()
    configure_tracing("console", stream=stream)
    try:
        with span("to.console", answer=42):
            pass
    finally:
        configure_tracing("none")
    exported = json.loads(stream.getvalue())
    assert exported["name"] == "to.console"
    assert exported["attributes"] == {"answer": 42}
    assert exported["resource"]["attributes"]["service.name"] == "pas_pipeline"


def test_configuring_twice_returns_the_same_provider() -> None:
    assert configure_tracing("none") is configure_tracing("none")


def test_otlp_without_its_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    ):
        monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    with pytest.raises(TracingConfigError, match="opentelemetry-exporter-otlp-proto-http"):
        configure_tracing("otlp")


def test_unknown_exporter_is_rejected() -> None:
    with pytest.raises(TracingConfigError, match="none, console, otlp"):
        configure_tracing("jaeger")


def test_exporter_comes_from_pas_trace_exporter_defaulting_to_none() -> None:
    assert trace_exporter_from_env({}) == "none"
    assert trace_exporter_from_env({"PAS_TRACE_EXPORTER": " Console "}) == "console"
    with pytest.raises(TracingConfigError):
        trace_exporter_from_env({"PAS_TRACE_EXPORTER": "zipkin"})
