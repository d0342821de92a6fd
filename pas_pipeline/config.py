"""Typed settings read from environment variables (and a local ``.env`` file, if present).

Secrets are wrapped in :class:`Secret`, whose ``repr``/``str`` never show the value, so a
settings object can be logged or put in an error message safely. The Dagster shell passes
secrets to resources through ``dagster.EnvVar`` so the UI shows the variable's name only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from dotenv import load_dotenv

from pas_pipeline.observability.tracing import trace_exporter_from_env

PAPER_BASE_URL = "https://paper-api.alpaca.markets"
LIVE_BASE_URL = "https://api.alpaca.markets"


class DataMode(StrEnum):
    """Where source clients get their answers: generated payloads (offline) or the real APIs."""

    SAMPLE = "sample"
    LIVE = "live"


class BrokerKind(StrEnum):
    SIMULATED = "simulated"
    ALPACA = "alpaca"


@dataclass(frozen=True)
class Secret:
    """A secret string that never prints its value."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"

    def __bool__(self) -> bool:
        return bool(self.value)


def _truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in {"1", "true", "yes", "on"}


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    value = env.get(name, "").strip()
    return Secret(value) if value else None


class PriceSource(StrEnum):
    """Where daily bars come from (the same tidy frame either way)."""

    YAHOO = "yahoo"
    ALPACA = "alpaca"


@dataclass(frozen=True)
class Settings:
    """Every setting of the pipeline, with its default. See ``docs/configuration.md``."""

    home: Path
    data_mode: DataMode = DataMode.SAMPLE
    broker: BrokerKind = BrokerKind.SIMULATED
    sample_universe_size: int = 1500
    price_source: PriceSource = PriceSource.YAHOO
    pg_uri: Secret | None = None
    alpaca_api_key: Secret | None = None
    alpaca_api_secret: Secret | None = None
    alpaca_base_url: str = PAPER_BASE_URL
    allow_live_trading: bool = False
    alpaca_url_override: str | None = None
    """A local stand-in for Alpaca (``pas demo --broker fake-alpaca``); always paper. Not read
    from the environment: only code that starts such a server sets it."""
    reddit_client_id: Secret | None = None
    reddit_client_secret: Secret | None = None
    quiver_api_token: Secret | None = None
    openfda_api_key: Secret | None = None
    api_token: Secret | None = None
    alert_webhook_url: Secret | None = None
    trace_exporter: str = "none"

    @property
    def metrics_dir(self) -> Path:
        """Prometheus text files each run process writes (merged by the served ``/metrics``)."""
        return self.home / "metrics"

    @property
    def warehouse_path(self) -> Path:
        """DuckDB file that holds the asset tables (Dagster IO manager)."""
        return self.home / "warehouse.duckdb"

    @property
    def ledger_path(self) -> Path:
        """DuckDB ledger used when ``PG_URI`` is not set."""
        return self.home / "ledger.duckdb"

    @property
    def simulated_broker_path(self) -> Path:
        """State of the simulated broker (its orders and positions)."""
        return self.home / "simulated_broker.duckdb"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default: ``os.environ`` after loading ``.env``)."""
        if env is None:
            load_dotenv(override=False)
            env = os.environ
        return cls(
            home=Path(env.get("PAS_HOME") or ".pas_home").resolve(),
            data_mode=DataMode(env.get("PAS_DATA_MODE", "sample").strip().lower() or "sample"),
            broker=BrokerKind(env.get("PAS_BROKER", "simulated").strip().lower() or "simulated"),
            sample_universe_size=int(env.get("PAS_SAMPLE_UNIVERSE_SIZE", "1500")),
            price_source=PriceSource(
                env.get("PAS_PRICE_SOURCE", "yahoo").strip().lower() or "yahoo"
            ),
            pg_uri=_secret(env, "PG_URI"),
            alpaca_api_key=_secret(env, "ALPACA_API_KEY"),
            alpaca_api_secret=_secret(env, "ALPACA_API_SECRET"),
            alpaca_base_url=env.get("ALPACA_BASE_URL", PAPER_BASE_URL).strip() or PAPER_BASE_URL,
            allow_live_trading=_truthy(env.get("PAS_ALLOW_LIVE_TRADING")),
            reddit_client_id=_secret(env, "REDDIT_CLIENT_ID"),
            reddit_client_secret=_secret(env, "REDDIT_CLIENT_SECRET"),
            quiver_api_token=_secret(env, "QUIVER_API_TOKEN"),
            openfda_api_key=_secret(env, "OPENFDA_API_KEY"),
            api_token=_secret(env, "API_TOKEN"),
            alert_webhook_url=_secret(env, "PAS_ALERT_WEBHOOK_URL"),
            trace_exporter=trace_exporter_from_env(env),
        )
