"""Trading one rebalance: the same target is traded once, a new target is a new rebalance."""

import dataclasses

import pandas as pd
import pytest

from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import OrderLimits, TradingState
from pas_pipeline.execution.rebalance import execute_rebalance, strategies_in
from pas_pipeline.execution.simulated import SimulatedBroker
from pas_pipeline_tests.orders import OPEN_LIMITS

DAY = pd.Timestamp("2024-07-05")
PRICES = pd.Series({"XLK": 200.0, "XLE": 100.0})


def target(xlk: float, xle: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticker": ["XLE", "XLK"],
            "weight": [xle, xlk],
            "sleeves": [f"momentum:{xle}", f"momentum:{xlk}"],
        }
    )


@pytest.fixture
def broker(tmp_path):
    return SimulatedBroker(tmp_path / "broker.duckdb", initial_cash=100_000.0)


@pytest.fixture
def ledger(tmp_path):
    return Ledger.connect(tmp_path / "ledger.duckdb")


def trade(broker, ledger, weights, dry_run=False, pre_trade=OPEN_LIMITS):
    return execute_rebalance(
        as_of=DAY,
        target=weights,
        prices=PRICES,
        broker=broker,
        ledger=ledger,
        limits=OrderLimits(),
        pre_trade=pre_trade,
        dry_run=dry_run,
    )


def test_strategies_are_read_from_the_sleeves_column():
    assert strategies_in(target(0.5, 0.3)) == ["momentum"]


def test_first_run_buys_the_target_at_the_reference_prices(broker, ledger):
    outcome = trade(broker, ledger, target(0.5, 0.3))
    positions = broker.get_positions()
    # 100,000 equity: XLK 50,000 / 200 = 250 shares, XLE 30,000 / 100 = 300 shares
    assert positions["XLK"].qty == pytest.approx(250.0, abs=1e-9)
    assert positions["XLE"].qty == pytest.approx(300.0, abs=1e-9)
    assert outcome.report.ok


def test_rerun_of_the_same_target_reuses_the_plan_and_places_nothing(broker, ledger):
    first = trade(broker, ledger, target(0.5, 0.3))
    again = trade(broker, ledger, target(0.5, 0.3))
    assert again.rebalance_id == first.rebalance_id
    assert again.reused_plan
    assert len(again.report.submitted) == 0
    assert len(broker.list_orders()) == 2


def test_a_changed_target_is_a_new_rebalance_that_trades_only_the_difference(broker, ledger):
    first = trade(broker, ledger, target(0.5, 0.3))
    second = trade(broker, ledger, target(0.5, 0.4))
    assert second.rebalance_id != first.rebalance_id
    [order] = second.plan
    assert (order.symbol, order.side) == ("XLE", "buy")
    assert order.qty == pytest.approx(100.0, abs=1e-9)  # 10% of 100,000 at 100


def test_dry_run_plans_but_neither_trades_nor_records(broker, ledger):
    outcome = trade(broker, ledger, target(0.5, 0.3), dry_run=True)
    assert len(outcome.plan) == 2
    assert broker.list_orders() == []
    assert ledger.get_rebalance(outcome.rebalance_id) is None
    assert ledger.plan_for(outcome.rebalance_id) == []


def test_an_order_over_the_position_limit_is_blocked_recorded_and_sent_once_allowed(broker, ledger):
    tight = dataclasses.replace(OPEN_LIMITS, max_position_weight=0.4)
    first = trade(broker, ledger, target(0.5, 0.3), pre_trade=tight)
    [(order, reason)] = first.blocked
    assert (order.symbol, order.side) == ("XLK", "buy")
    assert reason == "XLK would be 50 % of equity (limit 40 %)"
    assert not first.ok
    assert [o.symbol for o in broker.list_orders()] == ["XLE"]
    events = ledger.order_events_for(order.client_order_id)
    assert "blocked_by_limits" in set(events["status"])
    again = trade(broker, ledger, target(0.5, 0.3))  # limit relaxed: same rebalance, same plan
    assert again.reused_plan and again.ok
    assert sorted(o.symbol for o in broker.list_orders()) == ["XLE", "XLK"]


def test_the_kill_switch_blocks_every_order(broker, ledger):
    ledger.set_trading_state(TradingState.HALTED, "test")
    outcome = trade(broker, ledger, target(0.5, 0.3))
    assert {reason for _, reason in outcome.blocked} == {"trading is HALTED"}
    assert broker.list_orders() == []


def test_each_position_is_attributed_to_its_sleeves_in_the_ledger(broker, ledger):
    weights = pd.DataFrame(
        {"ticker": ["XLK"], "weight": [0.5], "sleeves": ["momentum:0.300000;congress:0.200000"]}
    )
    outcome = trade(broker, ledger, weights)
    books = ledger.sleeve_books_for(outcome.rebalance_id)
    assert sorted(zip(books["sleeve"], books["symbol"], books["weight"], strict=True)) == [
        ("congress", "XLK", 0.2),
        ("momentum", "XLK", 0.3),
    ]


def test_the_daily_turnover_limit_counts_the_days_earlier_rebalances(broker, ledger):
    # First rebalance buys 80,000 USD (0.8 of equity); the second would add 10,000 more.
    capped = dataclasses.replace(OPEN_LIMITS, max_daily_turnover=0.85)
    first = trade(broker, ledger, target(0.5, 0.3), pre_trade=capped)
    assert first.ok
    second = trade(broker, ledger, target(0.5, 0.4), pre_trade=capped)
    [(order, reason)] = second.blocked
    assert (order.symbol, order.side) == ("XLE", "buy")
    assert "turnover" in reason
    assert ledger.traded_notional_on(DAY.date()) == pytest.approx(80_000.0)
    assert ledger.traded_notional_on(DAY.date(), excluding_rebalance=first.rebalance_id) == 0.0
