"""OpenTelemetry tracing for the pipeline: one tracer provider per process, one exporter.

:func:`configure_tracing` creates the process's :class:`TracerProvider` on first use (and
registers it as the OpenTelemetry global when no other provider was set) and chooses where
finished spans go:

* ``"none"`` (default): spans are recorded with real trace and span ids, so log records
  and metadata can carry a trace id, but nothing is exported;
* ``"console"``: every span is written as JSON to a stream (``sys.stdout`` by default) as
  soon as it ends;
* ``"otlp"``: spans are batched to an OTLP collector by the ``opentelemetry-exporter-otlp``
  package (HTTP/protobuf when installed, else gRPC), configured by the standard
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_HEADERS`` variables. Without the
  package :class:`TracingConfigError` says what to install.

Calling it again with the same exporter is a no-op; a different exporter replaces the
previous one (the provider, its resource and its ``service.name`` stay those of the first
call). :func:`span` opens a span as a context manager or decorator; an exception escaping
it is recorded on the span, whose status becomes ``ERROR``. :class:`TraceContextFilter`
and :func:`install_trace_log_records` put ``trace_id`` (32 hex digits) and ``span_id``
(16 hex digits) on log records, ``"-"`` outside any span.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

EXPORTERS = ("none", "console", "otlp")
"""Accepted values of ``PAS_TRACE_EXPORTER`` / ``configure_tracing(exporter=...)``."""

TRACE_EXPORTER_ENV = "PAS_TRACE_EXPORTER"
DEFAULT_SERVICE_NAME = "pas_pipeline"
TRACER_NAME = "pas_pipeline"

NO_ID = "-"
"""``trace_id``/``span_id`` of a log record emitted outside any span."""

TRACE_LOG_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [trace_id=%(trace_id)s span_id=%(span_id)s] %(message)s"
)
"""A ``logging`` format showing the trace context (needs :class:`TraceContextFilter` or
:func:`install_trace_log_records`)."""

_OTLP_MODULES = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
)


class TracingConfigError(RuntimeError):
    """The requested exporter is unknown or its package is not installed."""


class _SwitchableProcessor(SpanProcessor):
    """Forwards to the current exporter's processor (``None`` = export nothing) and to the
    attached ones.

    A provider cannot drop a processor once added, so the provider holds this one and
    :func:`configure_tracing` / :func:`attach_span_processor` change what it forwards to.
    """

    def __init__(self) -> None:
        self.delegate: SpanProcessor | None = None
        self.attached: tuple[SpanProcessor, ...] = ()

    def replace(self, delegate: SpanProcessor | None) -> None:
        previous, self.delegate = self.delegate, delegate
        if previous is not None:
            previous.shutdown()

    def _targets(self) -> tuple[SpanProcessor, ...]:
        return self.attached if self.delegate is None else (self.delegate, *self.attached)

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        for target in self._targets():
            target.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for target in self._targets():
            target.on_end(span)

    def shutdown(self) -> None:
        self.replace(None)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(target.force_flush(timeout_millis) for target in self._targets())


_lock = threading.Lock()
_provider: TracerProvider | None = None
_exporting = _SwitchableProcessor()
_exporter_key: tuple[str, TextIO | None] | None = None


def trace_exporter_from_env(env: Mapping[str, str] | None = None) -> str:
    """The exporter named by ``PAS_TRACE_EXPORTER`` (default ``"none"``), lower-cased.

    Raises :class:`TracingConfigError` for a value not in :data:`EXPORTERS`.
    """
    env = os.environ if env is None else env
    value = (env.get(TRACE_EXPORTER_ENV) or "none").strip().lower() or "none"
    _check_exporter_name(value)
    return value


def _check_exporter_name(exporter: str) -> None:
    if exporter not in EXPORTERS:
        raise TracingConfigError(
            f"unknown trace exporter {exporter!r}; expected one of {', '.join(EXPORTERS)}"
        )


def _otlp_exporter() -> SpanExporter:
    for module_name in _OTLP_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        exporter: SpanExporter = module.OTLPSpanExporter()
        return exporter
    raise TracingConfigError(
        "trace exporter 'otlp' needs the OpenTelemetry OTLP exporter, which is not installed: "
        "add the 'opentelemetry-exporter-otlp-proto-http' (or '-grpc') package, or set "
        f"{TRACE_EXPORTER_ENV}=console or none"
    )


def _processor_for(exporter: str, stream: TextIO | None) -> SpanProcessor | None:
    if exporter == "none":
        return None
    if exporter == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter(out=stream or sys.stdout))
    return BatchSpanProcessor(_otlp_exporter())


def configure_tracing(
    exporter: str = "none",
    service_name: str = DEFAULT_SERVICE_NAME,
    *,
    stream: TextIO | None = None,
) -> TracerProvider:
    """Set up this process's tracing and return its provider (see the module doc).

    ``exporter`` is one of :data:`EXPORTERS`; ``stream`` is where ``"console"`` writes
    (default ``sys.stdout``). Idempotent: the same ``(exporter, stream)`` again changes
    nothing. Raises :class:`TracingConfigError` for an unknown exporter, or ``"otlp"``
    without its package (the previous exporter then stays in place).
    """
    global _provider, _exporter_key
    name = exporter.strip().lower()
    _check_exporter_name(name)
    key = (name, stream if name == "console" else None)
    with _lock:
        if _provider is None:
            _provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
            _provider.add_span_processor(_exporting)
            if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
                trace.set_tracer_provider(_provider)
        if key != _exporter_key:
            _exporting.replace(_processor_for(name, stream))
            _exporter_key = key
        return _provider


def configure_tracing_from_env(env: Mapping[str, str] | None = None) -> TracerProvider:
    """:func:`configure_tracing` with the exporter named by ``PAS_TRACE_EXPORTER``."""
    return configure_tracing(trace_exporter_from_env(env))


def attach_span_processor(processor: SpanProcessor) -> Callable[[], None]:
    """Also send spans to ``processor`` (besides the configured exporter); returns a function
    that detaches it again. Configures tracing with ``"none"`` if nobody did yet. Meant for
    tests (``SimpleSpanProcessor(InMemorySpanExporter())``) and extra sinks."""
    tracer_provider()
    with _lock:
        _exporting.attached = (*_exporting.attached, processor)

    def detach() -> None:
        with _lock:
            _exporting.attached = tuple(p for p in _exporting.attached if p is not processor)

    return detach


def tracer_provider() -> TracerProvider:
    """This process's provider; configured with ``"none"`` if nobody configured it yet."""
    return _provider if _provider is not None else configure_tracing()


def tracer() -> trace.Tracer:
    """The pipeline's tracer (from :func:`tracer_provider`)."""
    return tracer_provider().get_tracer(TRACER_NAME)


AttributeValue = str | bool | int | float


def attribute_value(value: Any) -> AttributeValue | None:
    """``value`` as an OpenTelemetry attribute: str/bool/int/float kept, enums as their
    value, dates in ISO form, paths and anything else as ``str``; ``None`` stays ``None``
    (the attribute is then left out)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Enum):
        return attribute_value(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def clean_attributes(attributes: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """``attributes`` converted by :func:`attribute_value`, without the ``None`` ones."""
    cleaned = {key: attribute_value(value) for key, value in attributes.items()}
    return {key: value for key, value in cleaned.items() if value is not None}


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[trace.Span]:
    """Run the block (or, used as a decorator, the function) inside a span named ``name``.

    Keyword ``attributes`` go through :func:`clean_attributes`; use
    ``**{"dotted.name": value}`` for dotted keys. An exception escaping the block is recorded
    as a span event and sets the status to ``ERROR`` (with the exception's type and message),
    then propagates. Never pass secrets, headers or query strings as attributes.
    """
    with tracer().start_as_current_span(
        name,
        attributes=clean_attributes(attributes),
        record_exception=True,
        set_status_on_exception=True,
    ) as current:
        yield current


def asset_span(
    asset: str, partition: str | None = None, **attributes: Any
) -> AbstractContextManager[trace.Span]:
    """A ``"asset.compute"`` span for one asset (and partition key, when partitioned)."""
    return span("asset.compute", **{"asset.key": asset, "asset.partition": partition}, **attributes)


def order_span(
    client_order_id: str, symbol: str, side: str, **attributes: Any
) -> AbstractContextManager[trace.Span]:
    """An ``"order.submit"`` span for one planned order (ids and symbol only, no prices)."""
    return span(
        "order.submit",
        **{"order.client_order_id": client_order_id, "order.symbol": symbol, "order.side": side},
        **attributes,
    )


def run_trace_context(run_id: str) -> otel_context.Context:
    """A parent context that makes spans opened under it part of run ``run_id``'s trace.

    The trace id is the run id itself (a Dagster run id is a UUID: its 32 hex digits
    without dashes; any other string is hashed), so every span of a run, in whichever
    process a step executes, shares one trace, and a run found in the Dagster UI gives its
    trace id directly. The parent is a remote, sampled, non-recording span whose span id
    is derived from the run id; it is never exported.
    """
    digest = hashlib.sha256(run_id.encode("utf-8")).digest()
    try:
        trace_id = uuid.UUID(run_id).int
    except ValueError:
        trace_id = int.from_bytes(digest[:16], "big")
    span_id = int.from_bytes(digest[16:24], "big") or 1
    parent = trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=trace_id or 1,
            span_id=span_id,
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    )
    return trace.set_span_in_context(parent)


def current_trace_id() -> str | None:
    """The current span's trace id as 32 lower-case hex digits, or ``None`` outside a span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def current_span_id() -> str | None:
    """The current span's id as 16 lower-case hex digits, or ``None`` outside a span."""
    context = trace.get_current_span().get_span_context()
    return format(context.span_id, "016x") if context.is_valid else None


def _stamp(record: logging.LogRecord) -> None:
    record.trace_id = current_trace_id() or NO_ID
    record.span_id = current_span_id() or NO_ID


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` (see :data:`NO_ID`) to every record it sees.

    Attach it to a *handler* (a logger's filters do not see records propagated from child
    loggers) and use :data:`TRACE_LOG_FORMAT` or ``%(trace_id)s`` in its formatter.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        _stamp(record)
        return True


_factory_lock = threading.Lock()
_factory_installed = False


def install_trace_log_records() -> None:
    """Make every ``LogRecord`` of this process carry ``trace_id``/``span_id`` when created.

    Wraps :func:`logging.getLogRecordFactory` once (idempotent), so records reaching any
    handler (Dagster's captured Python loggers included) can format ``%(trace_id)s``.
    """
    global _factory_installed
    with _factory_lock:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _stamp(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True
