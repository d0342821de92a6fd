"""One year of every source in one process: ``python -m benchmarks.backfill HOME END``.

Backfills ``market_data`` (universe, prices, returns) and then ``alt_data`` (every
alternative-data asset, derived ones included) over the 252 sessions ending on ``END``, each
as one run over the whole range, in sample mode on the ~1,500-name universe, into ``HOME``
(an empty ``PAS_HOME``). ``benchmarks.run`` times it and reads its peak memory.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import dagster as dg

from pas_pipeline.calendar import previous_trading_day, shift_trading_days
from pas_pipeline.config import Settings
from pas_pipeline.defs.definitions import build_definitions
from pas_pipeline.demo import QUIET, RANGE_END_TAG, RANGE_START_TAG

SESSIONS = 252


def backfill_year(home: Path, end: dt.date) -> None:
    settings = dataclasses.replace(Settings.from_env(), home=home)
    defs = build_definitions(settings)
    start = shift_trading_days(end, -(SESSIONS - 1))
    with dg.DagsterInstance.ephemeral() as instance:
        defs.resolve_job_def("market_data").execute_in_process(  # the close before the range
            instance=instance,
            run_config=QUIET,
            partition_key=previous_trading_day(start).isoformat(),
            asset_selection=[dg.AssetKey("universe"), dg.AssetKey("prices")],
        )
        for job in ("market_data", "alt_data"):
            defs.resolve_job_def(job).execute_in_process(
                instance=instance,
                run_config=QUIET,
                tags={RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()},
            )


if __name__ == "__main__":
    backfill_year(Path(sys.argv[1]), dt.date.fromisoformat(sys.argv[2]))
