"""Compaction of the metric files: old files folded into ``compacted.prom``, totals exact.

Every file is written from a private registry (never the default one) and aged with
``os.utime``; ``now`` is passed explicitly, so no test sleeps or depends on the wall clock.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from pas_pipeline.observability.metrics import collect_metrics_text, compact_metrics_files
from pas_pipeline.webserver.app import metrics_app
from pas_pipeline.webserver.auth import ASGIApp, Message
from pas_pipeline_tests.fake_clock import FakeClock

DAY = 86_400
NOW = 10_000_000.0
OLD = int(NOW) - 2 * DAY
RECENT = int(NOW) - 60

Samples = dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]


def families(text: bytes) -> Samples:
    """Parsed exposition: family name -> {(sample name, sorted labels): value}."""
    return {
        family.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
        for family in text_string_to_metric_families(text.decode())
    }


def merged(directory: Path) -> Samples:
    return families(collect_metrics_text(directory, registry=None))


def write_run(
    path: Path,
    mtime: int,
    submitted: float = 0.1,
    value: float = 1_000.0,
    seconds: tuple[float, ...] = (0.3,),
) -> None:
    """A run's file: a counter, a gauge and a histogram (each with ``_created``)."""
    registry = CollectorRegistry()
    Counter("pas_orders_submitted", "Orders.", registry=registry).inc(submitted)
    Gauge("pas_portfolio_value_usd", "Value.", registry=registry).set(value)
    histogram = Histogram(
        "pas_api_request_seconds", "Latency.", ["source"], buckets=(0.5, 1.0), registry=registry
    )
    for each in seconds:
        histogram.labels(source="compaction").observe(each)
    write_to_textfile(str(path), registry)
    os.utime(path, (mtime, mtime))


def write_runs(directory: Path) -> None:
    """Three old files and two recent ones, with sums that are inexact in binary."""
    write_run(directory / "a-1.prom", OLD, 0.1, 1_000.0, (0.3,))
    write_run(directory / "b-2.prom", OLD + 10, 0.2, 1_100.0, (0.7, 2.0))
    write_run(directory / "c-3.prom", OLD + 20, 0.7, 1_200.0, (0.1,))
    write_run(directory / "d-4.prom", RECENT, 0.3, 1_300.0, (0.6,))
    write_run(directory / "e-5.prom", RECENT + 10, 0.4, 1_400.0, (1.5,))


def names(directory: Path) -> set[str]:
    return {path.name for path in directory.glob("*.prom")}


def test_compaction_leaves_the_merged_exposition_unchanged(tmp_path: Path) -> None:
    write_runs(tmp_path)
    before = merged(tmp_path)

    assert compact_metrics_files(tmp_path, now=NOW) == 3
    assert merged(tmp_path) == before


def test_old_files_are_deleted_and_recent_ones_kept(tmp_path: Path) -> None:
    write_runs(tmp_path)

    compact_metrics_files(tmp_path, now=NOW)

    assert names(tmp_path) == {"compacted.prom", "d-4.prom", "e-5.prom"}


def test_a_second_compaction_folds_into_the_compacted_file_exactly(tmp_path: Path) -> None:
    write_runs(tmp_path)
    compact_metrics_files(tmp_path, now=NOW)
    write_run(tmp_path / "f-6.prom", RECENT + 20, 0.9, 1_500.0, (0.2, 0.4))
    write_run(tmp_path / "g-7.prom", int(NOW) + 3 * DAY, 0.05, 1_600.0, (3.0,))
    before = merged(tmp_path)

    assert compact_metrics_files(tmp_path, now=NOW + 2 * DAY) == 3
    assert names(tmp_path) == {"compacted.prom", "g-7.prom"}
    assert merged(tmp_path) == before


def test_a_recent_files_gauge_still_wins_over_the_compacted_one(tmp_path: Path) -> None:
    write_run(tmp_path / "old.prom", OLD, value=1_000.0)
    write_run(tmp_path / "new.prom", RECENT, value=1_200.0)

    compact_metrics_files(tmp_path, now=NOW)

    gauge = merged(tmp_path)["pas_portfolio_value_usd"]
    assert gauge == {("pas_portfolio_value_usd", ()): 1_200.0}


def test_an_unparsable_file_is_left_in_place(tmp_path: Path) -> None:
    broken = tmp_path / "broken.prom"
    broken.write_text("pas_x{ 1\n")
    os.utime(broken, (OLD, OLD))
    write_run(tmp_path / "good.prom", OLD)

    assert compact_metrics_files(tmp_path, now=NOW) == 1
    assert names(tmp_path) == {"broken.prom", "compacted.prom"}
    assert broken.read_text() == "pas_x{ 1\n"


def test_a_held_lock_makes_compaction_change_nothing(tmp_path: Path) -> None:
    write_runs(tmp_path)
    with (tmp_path / ".compact.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

        assert compact_metrics_files(tmp_path, now=NOW) == 0
        assert names(tmp_path) == {"a-1.prom", "b-2.prom", "c-3.prom", "d-4.prom", "e-5.prom"}


def test_without_old_files_nothing_is_written(tmp_path: Path) -> None:
    write_run(tmp_path / "new.prom", RECENT)

    assert compact_metrics_files(tmp_path, now=NOW) == 0
    assert names(tmp_path) == {"new.prom"}


def _get(app: ASGIApp) -> bytes:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    asyncio.run(app({"type": "http", "path": "/metrics"}, receive, send))
    return b"".join(message.get("body", b"") for message in sent)


def test_the_served_metrics_compact_at_most_once_an_hour(tmp_path: Path) -> None:
    clock = FakeClock()
    app = metrics_app(tmp_path, clock=clock)
    write_run(tmp_path / "first.prom", 1_000)  # 1970: older than a day whatever the clock
    _get(app)
    write_run(tmp_path / "second.prom", 1_000)

    clock.sleep(3_599)
    _get(app)
    kept_within_the_hour = names(tmp_path)
    clock.sleep(1)
    _get(app)

    assert kept_within_the_hour == {"compacted.prom", "second.prom"}
    assert names(tmp_path) == {"compacted.prom"}
