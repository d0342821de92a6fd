"""The rebalance calendar: each rule's days over 2020-2026, holidays moving to the next session."""

import datetime as dt

import pandas as pd
import pytest

from pas_pipeline.calendar import (
    MAX_SESSIONS_SINCE_REBALANCE,
    RebalanceRule,
    exchange_calendar,
    is_rebalance_day,
    is_trading_day,
    last_rebalance_day,
    rebalance_days,
    trading_days,
)

NOMINAL_FREQUENCY = {
    RebalanceRule.WEEKLY_MONDAY: "W-MON",
    RebalanceRule.WEEKLY_FRIDAY: "W-FRI",
    RebalanceRule.MONTHLY_FIRST_MONDAY: "WOM-1MON",
    RebalanceRule.MONTHLY_FIRST_TRADING_DAY: "MS",
}


def expected_days(rule: RebalanceRule, start: str, end: str) -> set[dt.date]:
    """Independent formulation: each nominal date rolled forward to the next XNYS session."""
    calendar = exchange_calendar()
    nominal = pd.date_range(start, end, freq=NOMINAL_FREQUENCY[rule])
    rolled = {calendar.date_to_session(day, direction="next").date() for day in nominal}
    return {day for day in rolled if day <= pd.Timestamp(end).date()}


@pytest.mark.parametrize("rule", list(RebalanceRule))
def test_rule_matches_exchange_calendar_2020_to_2026(rule):
    assert set(rebalance_days(rule, "2020-01-01", "2026-12-31")) == expected_days(
        rule, "2020-01-01", "2026-12-31"
    )


def test_new_year_monday_moves_weekly_monday_to_tuesday():
    assert not is_trading_day("2024-01-01")
    assert is_rebalance_day(RebalanceRule.WEEKLY_MONDAY, "2024-01-02")


def test_good_friday_moves_weekly_friday_to_monday():
    assert not is_rebalance_day(RebalanceRule.WEEKLY_FRIDAY, "2024-03-28")
    assert is_rebalance_day(RebalanceRule.WEEKLY_FRIDAY, "2024-04-01")


def test_labor_day_moves_first_monday_to_tuesday():
    assert is_rebalance_day(RebalanceRule.MONTHLY_FIRST_MONDAY, "2024-09-03")
    assert not is_rebalance_day(RebalanceRule.MONTHLY_FIRST_MONDAY, "2024-09-09")


def test_first_trading_day_of_month_skips_new_year():
    assert rebalance_days(RebalanceRule.MONTHLY_FIRST_TRADING_DAY, "2024-01-01", "2024-03-31") == [
        dt.date(2024, 1, 2),
        dt.date(2024, 2, 1),
        dt.date(2024, 3, 1),
    ]


def test_ordinary_midweek_day_is_not_a_weekly_rebalance():
    assert not is_rebalance_day(RebalanceRule.WEEKLY_MONDAY, "2024-07-10")
    assert not is_rebalance_day(RebalanceRule.WEEKLY_FRIDAY, "2024-07-10")


def test_weekend_is_never_a_rebalance_day():
    assert not any(is_rebalance_day(rule, "2024-07-06") for rule in RebalanceRule)


def test_last_rebalance_day_looks_back_to_the_rule():
    assert last_rebalance_day(RebalanceRule.WEEKLY_FRIDAY, "2024-03-31") == dt.date(2024, 3, 22)
    monthly = RebalanceRule.MONTHLY_FIRST_TRADING_DAY
    assert last_rebalance_day(monthly, "2024-07-31") == dt.date(2024, 7, 1)


@pytest.mark.parametrize("rule", list(RebalanceRule))
def test_sessions_since_rebalance_stay_within_the_documented_bound(rule):
    sessions = trading_days("2020-01-01", "2026-12-31")
    days = set(rebalance_days(rule, "2020-01-01", "2026-12-31"))
    gap, longest = 0, 0
    for day in sessions:
        gap = 0 if day in days else gap + 1
        longest = max(longest, gap)
    assert longest < MAX_SESSIONS_SINCE_REBALANCE[rule]
