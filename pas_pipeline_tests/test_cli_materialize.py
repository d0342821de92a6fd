"""Materialising assets from the command line, as operations.md shows: ``pas instance`` and
``dagster asset materialize`` as real processes, a single-run partition range included."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pas_pipeline_tests.pipeline_fixtures import SMALL_UNIVERSE

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
MODULE = ("-m", "pas_pipeline.defs.definitions")
FIRST, LAST = "2026-11-16", "2026-11-20"  # Monday..Friday, five sessions


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PAS_HOME where universe, then prices over five sessions, were materialised."""
    home = tmp_path_factory.mktemp("cli") / "pas_home"
    env = _environment(home)
    dagster_home = subprocess.run(
        [str(BIN / "pas"), "instance"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    env["DAGSTER_HOME"] = dagster_home
    materialize = [str(BIN / "dagster"), "asset", "materialize", *MODULE]
    for selection in (
        ["--select", "universe"],
        ["--select", "prices", "--partition-range", f"{FIRST}...{LAST}"],
    ):
        done = subprocess.run(
            [*materialize, *selection], env=env, cwd=REPO, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-4000:]
    return home


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAS_", "DAGSTER_"))}
    env.pop("PG_URI", None)
    return {
        **env,
        "PAS_HOME": str(home),
        "PAS_DATA_MODE": "sample",
        "PAS_SAMPLE_UNIVERSE_SIZE": str(SMALL_UNIVERSE),
    }


def test_a_cli_partition_range_stores_every_session_in_the_warehouse(home: Path) -> None:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        sessions = conn.execute(
            "select strftime(date, '%Y-%m-%d'), count(*) from public.prices group by 1 order by 1"
        ).fetchall()
    assert [day for day, _ in sessions] == [f"2026-11-{d}" for d in range(16, 21)]
    assert all(rows >= SMALL_UNIVERSE for _, rows in sessions)


def test_a_cli_materialisation_writes_its_metrics_file(home: Path) -> None:
    texts = [path.read_text() for path in (home / "metrics").glob("*.prom")]
    assert any('pas_rows_ingested_total{asset="prices"}' in text for text in texts)
