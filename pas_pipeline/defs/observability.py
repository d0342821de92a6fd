"""Tracing and metrics in every run process: a resource that configures OpenTelemetry when a
run starts, and hooks that write the run's Prometheus metrics for the served ``/metrics``.

Dagster executes runs (and, with multiprocess executors, steps) in their own processes, so
each one configures tracing itself (``setup_for_execution``) and, when its steps end, writes
what it recorded to ``$PAS_HOME/metrics/<run id>-<pid>.prom``
(:func:`pas_pipeline.observability.metrics.write_process_metrics`).
"""

from contextlib import AbstractContextManager
from pathlib import Path

import dagster as dg

from pas_pipeline.observability.metrics import write_process_metrics
from pas_pipeline.observability.tracing import (
    asset_span,
    configure_tracing,
    install_trace_log_records,
)


class ObservabilityResource(dg.ConfigurableResource):
    """Where spans go (``none``, ``console`` or ``otlp``) and where metrics files are kept."""

    trace_exporter: str = "none"
    metrics_dir: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        configure_tracing(self.trace_exporter)
        install_trace_log_records()

    def write_metrics(self, run_id: str) -> Path:
        return write_process_metrics(Path(self.metrics_dir), run_id)


@dg.success_hook(required_resource_keys={"observability"})
def write_metrics_on_success(context: dg.HookContext) -> None:
    """After each successful step: the process's metrics, for ``/metrics``."""
    context.resources.observability.write_metrics(context.run_id)


@dg.failure_hook(required_resource_keys={"observability"})
def write_metrics_on_failure(context: dg.HookContext) -> None:
    """After each failed step: the process's metrics (API errors are recorded there)."""
    context.resources.observability.write_metrics(context.run_id)


METRICS_HOOKS = {write_metrics_on_success, write_metrics_on_failure}


def partition_label(context: dg.AssetExecutionContext) -> str | None:
    """The run's partition key, ``first..last`` for a range, None when unpartitioned."""
    if not context.has_partition_key_range:
        return None
    keys = context.partition_key_range
    return keys.start if keys.start == keys.end else f"{keys.start}..{keys.end}"


def compute_span(context: dg.AssetExecutionContext, name: str) -> AbstractContextManager:
    """An ``asset.compute`` span for ``name`` and the run's partition (or range)."""
    return asset_span(name, partition_label(context))
