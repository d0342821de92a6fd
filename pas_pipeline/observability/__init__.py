"""Observability: OpenTelemetry tracing (:mod:`.tracing`) and Prometheus metrics
(:mod:`.metrics`). Neither module depends on Dagster."""

from pas_pipeline.observability.tracing import (
    asset_span,
    configure_tracing,
    configure_tracing_from_env,
    current_trace_id,
    order_span,
    span,
    tracer,
)

__all__ = [
    "asset_span",
    "configure_tracing",
    "configure_tracing_from_env",
    "current_trace_id",
    "order_span",
    "span",
    "tracer",
]
