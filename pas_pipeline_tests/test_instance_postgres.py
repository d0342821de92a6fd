"""The repository's dagster.yaml: run and event storage in PostgreSQL, the pipeline's log
records in the run's event log."""

import logging

import dagster as dg
import psycopg

from pas_pipeline.config import Settings
from pas_pipeline.defs.definitions import build_definitions
from pas_pipeline.defs.market_data import universe
from pas_pipeline.instance import instance_config, prepare_dagster_home
from pas_pipeline_tests.pipeline_fixtures import small_settings


def test_without_dagster_pg_url_the_instance_falls_back_to_sqlite():
    assert "storage" not in instance_config(postgres=False)
    assert instance_config(postgres=True)["storage"]["postgres"]["postgres_url"] == {
        "env": "DAGSTER_PG_URL"
    }


def test_materialisation_records_land_in_postgres(tmp_path, postgres_database, monkeypatch):
    env = {"DAGSTER_HOME": str(tmp_path / "dagster"), "DAGSTER_PG_URL": postgres_database}
    home = prepare_dagster_home(Settings(home=tmp_path), env)
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_database)
    defs = build_definitions(small_settings(tmp_path / "pas_home"))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize(
            [universe],
            instance=instance,
            resources={
                "data_sources": defs.resources["data_sources"],
                "io_manager": defs.resources["io_manager"],
                "observability": defs.resources["observability"],
            },
        )
        assert result.success
    with psycopg.connect(postgres_database) as conn:
        runs = conn.execute("select run_id, status from runs").fetchall()
        events = conn.execute(
            "select count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION'"
        ).fetchone()[0]
    assert runs == [(result.run_id, "SUCCESS")]
    assert events == 1


def test_the_pipelines_log_records_join_the_runs_event_log(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    home = prepare_dagster_home(Settings(home=tmp_path), {"DAGSTER_HOME": str(tmp_path / "dg")})

    @dg.asset
    def chatty() -> int:
        logging.getLogger("pas_pipeline.sources.example").warning("retrying in 2.00 s")
        logging.getLogger("elsewhere").warning("not ours")
        return 1

    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize([chatty], instance=instance)
        records = [
            (entry.level, entry.user_message)
            for entry in instance.all_logs(result.run_id)
            if entry.dagster_event is None
        ]
    assert (logging.WARNING, "retrying in 2.00 s") in records
    assert all(message != "not ours" for _, message in records)
