"""Every asset and op compute runs in a span, logs its trace id and writes the process's
metrics, in a job or materialised on its own (no job hooks involved)."""

import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from pas_pipeline.config import Settings
from pas_pipeline.defs.market_data import prices, universe
from pas_pipeline.defs.observability import ObservabilityResource, observed
from pas_pipeline.observability.metrics import record_api_call

DAY = "2026-11-20"


def metric_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.prom"))


def test_every_asset_and_op_of_the_definitions_requires_the_observability_resource(
    defs: dg.Definitions,
) -> None:
    repository = defs.get_repository_def()
    assets = [a for a in repository.assets_defs_by_key.values() if a.is_materializable]
    ops = {
        node.definition
        for job in repository.get_all_jobs()
        for node in job.graph.nodes
        if not node.definition.name.startswith("__")
    }
    unobserved = sorted(
        [a.key.to_user_string() for a in assets if "observability" not in a.required_resource_keys]
        + [op.name for op in ops if "observability" not in op.required_resource_keys]
    )
    assert unobserved == []


def test_a_materialisation_outside_any_job_writes_its_metrics_file(
    defs: dg.Definitions, settings: Settings, instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [universe, prices], partition_key=DAY, resources=defs.resources, instance=instance
    )
    assert result.success
    [path] = metric_files(settings.metrics_dir)
    assert path.name.startswith(result.run_id)
    assert 'pas_rows_ingested_total{asset="prices"}' in path.read_text()


def test_asset_computes_open_spans_named_by_asset_and_partition(
    defs: dg.Definitions, instance: dg.DagsterInstance, spans: InMemorySpanExporter
) -> None:
    dg.materialize(
        [universe, prices], partition_key=DAY, resources=defs.resources, instance=instance
    )
    computes = {
        span.attributes["asset.key"]: span.attributes.get("asset.partition")
        for span in spans.get_finished_spans()
        if span.name == "asset.compute"
    }
    assert computes == {"universe": None, "prices": DAY}


def test_every_compute_of_a_run_belongs_to_the_trace_named_by_the_run_id(
    defs: dg.Definitions, instance: dg.DagsterInstance, spans: InMemorySpanExporter
) -> None:
    result = dg.materialize(
        [universe, prices], partition_key=DAY, resources=defs.resources, instance=instance
    )
    traces = {f"{s.context.trace_id:032x}" for s in spans.get_finished_spans()}
    assert traces == {result.run_id.replace("-", "")}


def test_the_trace_id_is_in_the_run_log(
    defs: dg.Definitions, instance: dg.DagsterInstance, spans: InMemorySpanExporter
) -> None:
    result = dg.materialize([universe], resources=defs.resources, instance=instance)
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert f"trace_id={result.run_id.replace('-', '')}" in messages


def test_a_failing_compute_still_writes_what_it_recorded(
    tmp_path: Path, instance: dg.DagsterInstance, spans: InMemorySpanExporter
) -> None:
    @dg.asset
    @observed
    def flaky(context: dg.AssetExecutionContext) -> None:
        record_api_call("flaky_api", "error", 0.2, error_kind="unavailable")
        raise RuntimeError("upstream down")

    result = dg.materialize(
        [flaky],
        resources={"observability": ObservabilityResource(metrics_dir=str(tmp_path))},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    [path] = metric_files(tmp_path)
    assert re.search(
        r'pas_api_errors_total\{kind="unavailable",source="flaky_api"\} 1\.0', path.read_text()
    )
    [compute] = [s for s in spans.get_finished_spans() if s.name == "asset.compute"]
    assert compute.status.status_code == StatusCode.ERROR


def test_a_generator_compute_stays_a_generator_and_is_observed(
    tmp_path: Path, instance: dg.DagsterInstance, spans: InMemorySpanExporter
) -> None:
    @dg.asset
    @observed
    def yielding(context: dg.AssetExecutionContext) -> Iterator[dg.Output]:
        yield dg.Output(3, metadata={"rows": 3})

    result = dg.materialize(
        [yielding],
        resources={"observability": ObservabilityResource(metrics_dir=str(tmp_path))},
        instance=instance,
    )
    assert result.output_for_node("yielding") == 3
    assert [s.attributes["asset.key"] for s in spans.get_finished_spans()] == ["yielding"]


def test_an_op_compute_opens_an_op_span(
    tmp_path: Path, instance: dg.DagsterInstance, spans: InMemorySpanExporter
) -> None:
    @dg.op
    @observed
    def step(context: dg.OpExecutionContext) -> int:
        return 1

    @dg.job
    def one_step() -> None:
        step()

    result = one_step.execute_in_process(
        resources={"observability": ObservabilityResource(metrics_dir=str(tmp_path))},
        instance=instance,
    )
    assert result.success
    [compute] = spans.get_finished_spans()
    assert (compute.name, dict(compute.attributes or {})) == ("op.compute", {"op.name": "step"})


def test_every_asset_links_to_its_own_definition_not_to_the_wrapper(
    defs: dg.Definitions,
) -> None:
    repository = defs.get_repository_def()
    places = {}
    for assets_def in repository.assets_defs_by_key.values():
        if not assets_def.is_materializable:
            continue
        for key, spec in assets_def.specs_by_key.items():
            [reference] = spec.metadata["dagster/code_references"].code_references
            line = Path(reference.file_path).read_text().splitlines()[reference.line_number - 1]
            places[key.to_user_string()] = (Path(reference.file_path).name, line.strip()[:9])
    assert places["target_weights"] == ("allocation.py", "@dg.asset")
    assert places["congress_trades"] == ("alt_data.py", "@dg.asset")
    assert {file for file, _ in places.values()}.isdisjoint({"observability.py"})
    assert {decorator for _, decorator in places.values()} == {"@dg.asset"}
