"""Trading calendar (NYSE, ``XNYS``) and the rebalance rules of the strategy table.

A rule names *nominal* dates (every Monday, every Friday, the first Monday of each month, the
first day of each month). The rebalance happens on the first trading session on or after a
nominal date, so a holiday moves it to the next session (Monday 2024-01-01 -> Tuesday
2024-01-02; Good Friday 2024-03-29 -> Monday 2024-04-01). Equivalently, session ``D`` is a
rebalance day when some nominal date falls in ``(previous session, D]``.

Dates are naive ``datetime.date`` values in exchange local time.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from functools import cache

import exchange_calendars as xcals
import pandas as pd

EXCHANGE = "XNYS"
EXCHANGE_TIMEZONE = "America/New_York"


class RebalanceRule(StrEnum):
    """When a strategy rebalances (the 'Period' column of the strategy table)."""

    WEEKLY_MONDAY = "weekly_monday"
    WEEKLY_FRIDAY = "weekly_friday"
    MONTHLY_FIRST_MONDAY = "monthly_first_monday"
    MONTHLY_FIRST_TRADING_DAY = "monthly_first_trading_day"


@cache
def exchange_calendar() -> xcals.ExchangeCalendar:
    """The XNYS calendar (cached: building it takes about half a second)."""
    return xcals.get_calendar(EXCHANGE)


def _as_date(day: dt.date | str | pd.Timestamp) -> dt.date:
    return pd.Timestamp(day).date()


def is_trading_day(day: dt.date | str | pd.Timestamp) -> bool:
    """True when the exchange holds a regular session on ``day``."""
    return bool(exchange_calendar().is_session(pd.Timestamp(_as_date(day))))


def trading_days(start: dt.date | str, end: dt.date | str) -> list[dt.date]:
    """All sessions in ``[start, end]``, both ends inclusive, in order."""
    sessions = exchange_calendar().sessions_in_range(
        pd.Timestamp(_as_date(start)), pd.Timestamp(_as_date(end))
    )
    return [ts.date() for ts in sessions]


def previous_trading_day(day: dt.date | str) -> dt.date:
    """The last session strictly before ``day``."""
    return (
        exchange_calendar()
        .date_to_session(pd.Timestamp(_as_date(day)) - pd.Timedelta(days=1), direction="previous")
        .date()
    )


def latest_trading_day(day: dt.date | str) -> dt.date:
    """``day`` itself when it is a session, else the last session before it."""
    return (
        exchange_calendar()
        .date_to_session(pd.Timestamp(_as_date(day)), direction="previous")
        .date()
    )


def shift_trading_days(day: dt.date | str, sessions: int) -> dt.date:
    """The session ``sessions`` sessions after (or, if negative, before) session ``day``."""
    return exchange_calendar().session_offset(pd.Timestamp(_as_date(day)), sessions).date()


def _has_nominal_date(rule: RebalanceRule, after: dt.date, upto: dt.date) -> bool:
    """True when a nominal date of ``rule`` lies in the half-open interval ``(after, upto]``."""
    day = after + dt.timedelta(days=1)
    while day <= upto:
        if rule is RebalanceRule.WEEKLY_MONDAY and day.weekday() == 0:
            return True
        if rule is RebalanceRule.WEEKLY_FRIDAY and day.weekday() == 4:
            return True
        if rule is RebalanceRule.MONTHLY_FIRST_MONDAY and day.weekday() == 0 and day.day <= 7:
            return True
        if rule is RebalanceRule.MONTHLY_FIRST_TRADING_DAY and day.day == 1:
            return True
        day += dt.timedelta(days=1)
    return False


def is_rebalance_day(rule: RebalanceRule | str, day: dt.date | str) -> bool:
    """True when ``rule`` rebalances on ``day`` (a holiday moves it to the next session)."""
    rule = RebalanceRule(rule)
    day = _as_date(day)
    if not is_trading_day(day):
        return False
    return _has_nominal_date(rule, previous_trading_day(day), day)


def last_rebalance_day(rule: RebalanceRule | str, day: dt.date | str) -> dt.date:
    """The latest rebalance day of ``rule`` on or before ``day`` (a session)."""
    session = latest_trading_day(day)
    while not is_rebalance_day(rule, session):
        session = previous_trading_day(session)
    return session


def rebalance_days(
    rule: RebalanceRule | str, start: dt.date | str, end: dt.date | str
) -> list[dt.date]:
    """All rebalance days of ``rule`` in ``[start, end]``."""
    return [day for day in trading_days(start, end) if is_rebalance_day(rule, day)]


MAX_SESSIONS_SINCE_REBALANCE: dict[RebalanceRule, int] = {
    RebalanceRule.WEEKLY_MONDAY: 6,
    RebalanceRule.WEEKLY_FRIDAY: 6,
    RebalanceRule.MONTHLY_FIRST_MONDAY: 25,
    RebalanceRule.MONTHLY_FIRST_TRADING_DAY: 24,
}
"""Upper bound on sessions between a session and the last rebalance day of the rule on or
before it (weekly rules: at most a week plus a holiday; monthly: at most a month)."""
