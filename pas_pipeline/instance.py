"""Prepare ``$DAGSTER_HOME``: PostgreSQL-backed when ``DAGSTER_PG_URL`` is set, SQLite otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from pas_pipeline.config import Settings

REPO_INSTANCE_CONFIG = Path(__file__).resolve().parent.parent / "dagster.yaml"


def instance_config(postgres: bool) -> dict:
    """The instance configuration: the repository's ``dagster.yaml``, minus its storage
    section when PostgreSQL is not configured (Dagster then uses SQLite under the home)."""
    config = yaml.safe_load(REPO_INSTANCE_CONFIG.read_text())
    if not postgres:
        config.pop("storage")
    return config


def prepare_dagster_home(settings: Settings, env: dict[str, str] | None = None) -> Path:
    """Create ``$DAGSTER_HOME`` (default ``$PAS_HOME/dagster``) with its ``dagster.yaml``;
    sets the variable in ``os.environ`` so Dagster finds it. Returns the directory."""
    env = os.environ if env is None else env
    home = Path(env.get("DAGSTER_HOME") or settings.home / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = instance_config(postgres=bool(env.get("DAGSTER_PG_URL")))
    # written beside and renamed over: the webserver and the daemon may prepare the home at
    # the same moment, and neither may read a half-written file
    partial = home / f".dagster.yaml.{os.getpid()}.tmp"
    partial.write_text(yaml.safe_dump(config, sort_keys=False))
    os.replace(partial, home / "dagster.yaml")
    env["DAGSTER_HOME"] = str(home)
    return home
