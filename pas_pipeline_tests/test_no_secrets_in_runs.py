"""No secret reaches a run's event log, its metadata, its run config or the process output,
with every secret configured and the tracing console exporter on (the production code path
in sample mode: the real clients send the keys to the sample servers)."""

import dagster as dg
import pytest

from pas_pipeline.config import Settings
from pas_pipeline.defs.alt_data import ALT_DATA_ASSETS
from pas_pipeline.defs.definitions import build_definitions
from pas_pipeline.defs.market_data import prices, universe
from pas_pipeline.instance import prepare_dagster_home
from pas_pipeline_tests.pipeline_fixtures import SMALL_UNIVERSE

SECRETS = {
    "QUIVER_API_TOKEN": "quiver-secret-7f3a9c",
    "ALPACA_API_KEY": "alpaca-key-5b8e21",
    "ALPACA_API_SECRET": "alpaca-secret-c4d190",
    "REDDIT_CLIENT_ID": "reddit-id-0a6f44",
    "REDDIT_CLIENT_SECRET": "reddit-secret-93be07",
    "OPENFDA_API_KEY": "openfda-key-61d2aa",
    "API_TOKEN": "api-token-e58c3b",
    "PAS_ALERT_WEBHOOK_URL": "https://hooks.example.test/T000/B000/webhook-secret-2c71",
}
DAY = "2026-11-20"
SOURCES = ("congress_trades", "wsb_mentions", "news_sentiment", "fda_approvals")


def test_a_run_with_every_secret_set_shows_none_of_them(tmp_path, monkeypatch, capfd):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PAS_HOME", str(tmp_path))
    monkeypatch.setenv("PAS_TRACE_EXPORTER", "console")
    monkeypatch.setenv("PAS_SAMPLE_UNIVERSE_SIZE", str(SMALL_UNIVERSE))
    settings = Settings.from_env()
    defs = build_definitions(settings)
    assets = [universe, prices, *(a for a in ALT_DATA_ASSETS if a.key.path[-1] in SOURCES)]
    # the repository's instance configuration: the pipeline's log records join the event log
    home = prepare_dagster_home(settings, {"DAGSTER_HOME": str(tmp_path / "dagster")})
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize(
            assets, partition_key=DAY, resources=defs.resources, instance=instance
        )
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        recorded = [repr(entry) for entry in instance.all_logs(result.run_id)]
    captured = capfd.readouterr()
    haystack = "\n".join([*recorded, repr(run.run_config), captured.out, captured.err])
    assert "asset.compute" in captured.out  # the console exporter really wrote spans
    assert any("session established" in text for text in recorded)  # our loggers are in
    leaked = sorted(name for name, value in SECRETS.items() if value in haystack)
    assert leaked == []


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_the_settings_and_definitions_never_print_a_secret(name, tmp_path, monkeypatch):
    monkeypatch.setenv(name, SECRETS[name])
    settings = Settings.from_env({name: SECRETS[name], "PAS_HOME": str(tmp_path)})
    defs = build_definitions(settings)
    assert SECRETS[name] not in repr(settings) + repr(defs.resources)
