"""Settings from the environment: defaults, types, and secrets that never print."""

from pathlib import Path

import pytest

from pas_pipeline.config import PAPER_BASE_URL, BrokerKind, DataMode, Settings
from pas_pipeline.defs.definitions import build_definitions, build_resources


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


def test_kill_switch_set_from_the_cli_survives_a_new_process(tmp_path, monkeypatch, capsys):
    from pas_pipeline.cli import main
    from pas_pipeline.execution.ledger import Ledger

    monkeypatch.setenv("PAS_HOME", str(tmp_path))
    monkeypatch.delenv("PG_URI", raising=False)
    assert main(["trading-state", "HALTED", "--reason", "drill"]) == 0
    assert capsys.readouterr().out.startswith("HALTED  (drill")
    assert Ledger.connect(tmp_path / "ledger.duckdb").get_trading_state().value == "HALTED"


def test_kill_switch_set_from_the_cli_reaches_the_served_gauge(tmp_path, monkeypatch):
    from pas_pipeline.cli import main
    from pas_pipeline.observability.metrics import collect_metrics_text

    monkeypatch.setenv("PAS_HOME", str(tmp_path))
    monkeypatch.delenv("PG_URI", raising=False)
    main(["trading-state", "REDUCE_ONLY", "--reason", "drill"])
    served = collect_metrics_text(tmp_path / "metrics", registry=None).decode()
    assert 'pas_trading_state{state="REDUCE_ONLY"} 1.0' in served
    assert 'pas_trading_state{state="ACTIVE"} 0.0' in served


def test_kill_switch_set_from_a_dagster_job(tmp_path):
    import dagster as dg

    from pas_pipeline.execution.ledger import Ledger

    defs = build_definitions(Settings(home=tmp_path))
    result = defs.resolve_job_def("set_trading_state_job").execute_in_process(
        run_config={
            "ops": {
                "set_trading_state": {"config": {"state": "REDUCE_ONLY", "reason": "vol spike"}}
            }
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert Ledger.connect(tmp_path / "ledger.duckdb").get_trading_state().value == "REDUCE_ONLY"


def test_alpaca_broker_resource_refuses_a_host_that_is_not_alpacas(tmp_path):
    from pas_pipeline.defs.resources import BrokerResource
    from pas_pipeline.execution.alpaca import AlpacaConfigError

    resource = BrokerResource(
        kind="alpaca",
        simulated_path=str(tmp_path / "sim.duckdb"),
        alpaca_api_key="PKTEST",
        alpaca_api_secret="secret",
        alpaca_base_url="https://example.org",
    )
    with pytest.raises(AlpacaConfigError, match=r"must be https://paper-api\.alpaca\.markets"):
        resource.open()


def test_alpaca_live_host_is_refused_without_the_opt_in(tmp_path):
    from pas_pipeline.defs.resources import BrokerResource
    from pas_pipeline.execution.alpaca import LiveTradingNotAllowedError

    resource = BrokerResource(
        kind="alpaca",
        simulated_path=str(tmp_path / "sim.duckdb"),
        alpaca_api_key="AKTEST",
        alpaca_api_secret="secret",
        alpaca_base_url="https://api.alpaca.markets",
    )
    with pytest.raises(LiveTradingNotAllowedError):
        resource.open()
