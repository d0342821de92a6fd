"""Settings from the environment: defaults, types, and secrets that never print."""

from pathlib import Path

import pytest

from pas_pipeline.config import PAPER_BASE_URL, BrokerKind, DataMode, Settings
from pas_pipeline.defs.definitions import build_resources


def test_defaults_are_offline_sample_data_and_the_simulated_broker(tmp_path):
    settings = Settings.from_env({"PAS_HOME": str(tmp_path)})
    assert settings.data_mode is DataMode.SAMPLE
    assert settings.broker is BrokerKind.SIMULATED
    assert settings.alpaca_base_url == PAPER_BASE_URL
    assert settings.allow_live_trading is False
    assert settings.warehouse_path == Path(tmp_path) / "warehouse.duckdb"


def test_secrets_never_appear_in_repr_or_str(tmp_path):
    env = {
        "PAS_HOME": str(tmp_path),
        "ALPACA_API_KEY": "PKSECRETKEY123",
        "ALPACA_API_SECRET": "s3cr3t-value",
        "PG_URI": "postgresql://u:hunter2@db/x",
    }
    settings = Settings.from_env(env)
    text = repr(settings) + str(settings) + str(settings.alpaca_api_secret)
    for value in env.values():
        if value != str(tmp_path):
            assert value not in text
    assert settings.alpaca_api_key.value == "PKSECRETKEY123"


def test_unknown_data_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'replay' is not a valid DataMode"):
        Settings.from_env({"PAS_HOME": str(tmp_path), "PAS_DATA_MODE": "replay"})


def test_postgres_ledger_uri_reaches_the_resource_as_an_env_var_name(tmp_path, monkeypatch):
    monkeypatch.setenv("PG_URI", "postgresql://u:hunter2@db/x")
    settings = Settings.from_env(
        {"PAS_HOME": str(tmp_path), "PG_URI": "postgresql://u:hunter2@db/x"}
    )
    ledger = build_resources(settings)["ledger"]
    assert "hunter2" not in repr(ledger)
