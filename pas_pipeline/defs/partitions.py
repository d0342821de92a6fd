"""The one trading-day partitions definition shared by every time-series asset.

Partition keys are XNYS session dates (``YYYY-MM-DD``). Weekends are outside the weekday
cron; exchange holidays are excluded explicitly. ``end_offset=1`` makes today's session a
partition as soon as the day starts, so an after-close run can materialise it.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from pas_pipeline.calendar import EXCHANGE_TIMEZONE, exchange_calendar, trading_days

PARTITIONS_START = "2019-01-02"


def _holidays() -> list[dt.datetime]:
    """Weekdays without a session, from the partitions' start to the calendar's end."""
    last = exchange_calendar().last_session.date()
    weekdays = pd.bdate_range(PARTITIONS_START, last).date
    sessions = set(trading_days(PARTITIONS_START, last))
    return [dt.datetime.combine(day, dt.time()) for day in weekdays if day not in sessions]


trading_day_partitions = dg.TimeWindowPartitionsDefinition(
    start=PARTITIONS_START,
    fmt="%Y-%m-%d",
    cron_schedule="0 0 * * 1-5",
    timezone=EXCHANGE_TIMEZONE,
    end_offset=1,
    exclusions=_holidays(),
)


def lookback(sessions: int) -> dg.TimeWindowPartitionMapping:
    """Map partition ``D`` to the ``sessions`` trading days before it and ``D`` itself."""
    return dg.TimeWindowPartitionMapping(
        start_offset=-sessions, end_offset=0, allow_nonexistent_upstream_partitions=True
    )
