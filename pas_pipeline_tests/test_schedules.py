"""Strategy schedules tick every weekday and request a run only on the rule's days."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pas_pipeline.calendar import rebalance_days
from pas_pipeline.defs.definitions import build_definitions
from pas_pipeline.strategies.registry import STRATEGIES
from pas_pipeline_tests.pipeline_fixtures import small_settings

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def schedule(tmp_path_factory):
    defs = build_definitions(small_settings(tmp_path_factory.mktemp("home")))
    return defs, defs.resolve_schedule_def("sector_risk_parity_momentum_schedule")


def tick(defs_and_schedule, day: dt.date):
    defs, schedule = defs_and_schedule
    moment = dt.datetime.combine(day, dt.time(17, 30), tzinfo=NEW_YORK)
    context = dg.build_schedule_context(
        scheduled_execution_time=moment, repository_def=defs.get_repository_def()
    )
    return schedule.evaluate_tick(context)


def test_schedule_ticks_after_the_close_on_weekdays(schedule):
    _, schedule = schedule
    assert schedule.cron_schedule == "30 17 * * 1-5"
    assert schedule.execution_timezone == "America/New_York"


def test_friday_tick_requests_the_partition_with_a_strategy_date_run_key(schedule):
    result = tick(schedule, dt.date(2024, 7, 5))
    [request] = result.run_requests
    assert request.run_key == "sector_risk_parity_momentum:2024-07-05"
    assert request.partition_key == "2024-07-05"
    keys = {key.to_user_string() for key in request.asset_selection}
    assert {"prices", "sector_risk_parity_momentum", "target_weights"} <= keys


def test_good_friday_skips_and_the_next_monday_rebalances(schedule):
    assert tick(schedule, dt.date(2024, 3, 29)).run_requests == []
    assert tick(schedule, dt.date(2024, 3, 29)).skip_message
    [request] = tick(schedule, dt.date(2024, 4, 1)).run_requests
    assert request.partition_key == "2024-04-01"


def test_midweek_tick_skips_with_a_reason(schedule):
    result = tick(schedule, dt.date(2024, 7, 10))
    assert result.run_requests == []
    assert "not a weekly_friday rebalance day" in result.skip_message


@pytest.mark.parametrize("spec", STRATEGIES, ids=lambda s: s.name)
def test_every_schedule_over_2024_matches_the_exchange_calendar(tmp_path, spec):
    defs = build_definitions(small_settings(tmp_path))
    schedule = (defs, defs.resolve_schedule_def(f"{spec.name}_schedule"))
    requested = []
    for day in (dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(366)):
        if day.weekday() < 5:
            requested += [r.partition_key for r in tick(schedule, day).run_requests]
    expected = [day.isoformat() for day in rebalance_days(spec.rule, "2024-01-01", "2024-12-31")]
    assert requested == expected


def test_market_data_schedule_fetches_every_session_and_skips_holidays(schedule):
    defs, _ = schedule
    prices = (defs, defs.resolve_schedule_def("market_data_schedule"))
    [request] = tick(prices, dt.date(2024, 7, 3)).run_requests
    assert (request.run_key, request.partition_key) == ("market_data:2024-07-03", "2024-07-03")
    assert tick(prices, dt.date(2024, 7, 4)).run_requests == []
