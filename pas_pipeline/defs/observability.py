"""Tracing and metrics in every run process: a resource that configures OpenTelemetry when a
run starts, and the :func:`observed` decorator every asset and op compute wears.

Dagster executes runs (and, with multiprocess executors, steps) in their own processes, so
each one configures tracing itself (``setup_for_execution``) and, when a compute ends (success
or failure), writes what the process recorded to ``$PAS_HOME/metrics/<run id>-<pid>.prom``
(:func:`pas_pipeline.observability.metrics.write_process_metrics`). Because the writing
belongs to the compute and not to a job hook, a materialisation started from the UI outside
any job (or by ``dg.materialize``) reaches the served ``/metrics`` too.
"""

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
from opentelemetry import context as otel_context

from pas_pipeline.observability.metrics import write_process_metrics
from pas_pipeline.observability.tracing import (
    asset_span,
    configure_tracing,
    current_trace_id,
    install_trace_log_records,
    run_trace_context,
    span,
)

RESOURCE_KEY = "observability"
Compute = TypeVar("Compute", bound=Callable[..., Any])


class ObservabilityResource(dg.ConfigurableResource):
    """Where spans go (``none``, ``console`` or ``otlp``) and where metrics files are kept."""

    trace_exporter: str = "none"
    metrics_dir: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        configure_tracing(self.trace_exporter)
        install_trace_log_records()

    def write_metrics(self, run_id: str) -> Path:
        return write_process_metrics(Path(self.metrics_dir), run_id)

    @contextmanager
    def compute(self, context: dg.OpExecutionContext) -> Iterator[None]:
        """The compute of one asset (``asset.compute`` span: key and partition) or op
        (``op.compute`` span: op name) in the run's trace (trace id = run id, see
        :func:`~pas_pipeline.observability.tracing.run_trace_context`), its trace id in the
        run's log, and the process's metrics written when it ends, whatever the outcome."""
        token = otel_context.attach(run_trace_context(context.run_id))
        if context.has_assets_def:
            partitioned = context.assets_def.partitions_def is not None
            partition = partition_label(context) if partitioned else None
            opened = asset_span(context.asset_key.to_user_string(), partition)
        else:
            opened = span("op.compute", **{"op.name": context.op_def.name})
        try:
            with opened:
                context.log.info(f"trace_id={current_trace_id()}")
                yield
        finally:
            otel_context.detach(token)
            self.write_metrics(context.run_id)


def partition_label(context: dg.OpExecutionContext) -> str | None:
    """The run's partition key, ``first..last`` for a range, None when unpartitioned."""
    if context.has_partition_key:
        return context.partition_key
    if not context.has_partition_key_range:
        return None
    keys = context.partition_key_range
    return keys.start if keys.start == keys.end else f"{keys.start}..{keys.end}"


def observed(compute: Compute) -> Compute:
    """Decorate an asset or op function (under ``@dg.asset`` / ``@dg.op``) so it runs inside
    :meth:`ObservabilityResource.compute`.

    The decorated function keeps its own parameters; the wrapper adds a keyword-only
    ``observability`` resource parameter to the signature Dagster inspects, so the resource
    is required and injected without the function naming it (nor needing a ``context``
    parameter: the running step's context is looked up). Generator computes (assets
    that yield check results) stay generators.
    """
    signature = inspect.signature(compute)
    parameters = list(signature.parameters.values())
    resource = inspect.Parameter(
        RESOURCE_KEY, inspect.Parameter.KEYWORD_ONLY, annotation=ObservabilityResource
    )
    at = next((i for i, p in enumerate(parameters) if p.kind is p.VAR_KEYWORD), len(parameters))
    parameters.insert(at, resource)

    if inspect.isgeneratorfunction(compute):

        @functools.wraps(compute)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            observability = kwargs.pop(RESOURCE_KEY)
            with observability.compute(dg.OpExecutionContext.get()):
                yield from compute(*args, **kwargs)

    else:

        @functools.wraps(compute)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            observability = kwargs.pop(RESOURCE_KEY)
            with observability.compute(dg.OpExecutionContext.get()):
                return compute(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
