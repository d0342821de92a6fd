"""Fixtures shared by the Dagster-shell tests: small sample settings, their definitions and
an in-memory instance (conftest.py imports them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pas_pipeline.config import Settings
from pas_pipeline.defs.definitions import build_definitions

SMALL_UNIVERSE = 40
"""Names in the generated universe the pipeline tests use (the demo uses 1,500)."""


def small_settings(home: Path) -> Settings:
    return Settings(home=home, sample_universe_size=SMALL_UNIVERSE)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return small_settings(tmp_path / "pas_home")


@pytest.fixture
def defs(settings: Settings) -> dg.Definitions:
    return build_definitions(settings)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """An in-memory instance: the SQLite event log costs ~10 ms per event on this disk."""
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance
