"""Helpers shared by the Dagster-shell tests: small sample settings and a temporary instance."""

from __future__ import annotations

from pathlib import Path

from pas_pipeline.config import Settings

SMALL_UNIVERSE = 40
"""Names in the generated universe the pipeline tests use (the demo uses 1,500)."""


def small_settings(home: Path) -> Settings:
    return Settings(home=home, sample_universe_size=SMALL_UNIVERSE)
