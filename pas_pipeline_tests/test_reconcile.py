"""Reconciliation: the ledger's fills against the broker's positions, and order polling."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import BrokerOrder, OrderLimits, PlannedOrder
from pas_pipeline.execution.planning import plan_orders
from pas_pipeline.execution.reconcile import (
    FILL_COLUMNS,
    MISMATCH_COLUMNS,
    PositionMismatch,
    ledger_fills,
    ledger_positions,
    poll_until_terminal,
    reconcile,
    unfinished,
)
from pas_pipeline.execution.simulated import SimulatedBroker
from pas_pipeline.execution.submit import execute_plan
from pas_pipeline_tests.fake_clock import FakeClock

RID_1 = "rb-2024-07-05-0123456789"
RID_2 = "rb-2024-07-08-9876543210"
PRICES = pd.Series({"AAPL": 200.0, "MSFT": 400.0, "NVDA": 125.0, "XOM": 100.0})


@pytest.fixture
def sim(tmp_path: Path) -> SimulatedBroker:
    return SimulatedBroker(tmp_path / "broker.duckdb", initial_cash=100_000.0)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.connect(tmp_path / "ledger.duckdb")


def trade(sim: SimulatedBroker, ledger: Ledger, targets: dict[str, float], rid: str) -> None:
    plan = plan_orders(
        pd.Series(targets),
        sim.get_positions(),
        PRICES,
        sim.get_account().equity,
        OrderLimits(),
        rid,
    )
    report = execute_plan(plan, sim, ledger)
    assert report.ok and len(report.filled) == len(plan) > 0


@pytest.fixture
def traded(sim: SimulatedBroker, ledger: Ledger) -> None:
    """Two rebalances through execute_plan; the broker ends with AAPL 50, MSFT 75, NVDA 200."""
    # 100,000 USD: buy AAPL 100 (20 %), MSFT 25 (10 %), XOM 100 (10 %)
    trade(sim, ledger, {"AAPL": 0.20, "MSFT": 0.10, "XOM": 0.10}, RID_1)
    # sell AAPL 50 and XOM 100, buy MSFT 50 and NVDA 200
    trade(sim, ledger, {"AAPL": 0.10, "MSFT": 0.30, "NVDA": 0.25}, RID_2)
    assert {s: p.qty for s, p in sim.get_positions().items()} == {
        "AAPL": 50.0,
        "MSFT": 75.0,
        "NVDA": 200.0,
    }


def order(cid: str, symbol: str, side: str, qty: float, price: float) -> PlannedOrder:
    return PlannedOrder(cid, "manual", symbol, side, qty, price, qty * price, 0.0, 0.0)


# -- ledger positions ---------------------------------------------------------------------


def test_ledger_fills_cover_every_rebalance_with_side(
    sim: SimulatedBroker, ledger: Ledger, traded: None
) -> None:
    fills = ledger_fills(ledger)

    assert tuple(fills.columns) == FILL_COLUMNS
    assert len(fills) == 7  # 3 buys, then 2 sells and 2 buys
    assert Counter(zip(fills.symbol, fills.side, strict=True)) == Counter(
        {
            ("AAPL", "buy"): 1,
            ("MSFT", "buy"): 2,
            ("XOM", "buy"): 1,
            ("AAPL", "sell"): 1,
            ("XOM", "sell"): 1,
            ("NVDA", "buy"): 1,
        }
    )
    per_rebalance = pd.concat([ledger.fills_for(RID_1), ledger.fills_for(RID_2)])
    assert sorted(fills.client_order_id) == sorted(per_rebalance.client_order_id)


def test_ledger_positions_are_signed_net_fills(ledger: Ledger, traded: None) -> None:
    net = ledger_positions(ledger_fills(ledger))

    # XOM was bought and sold whole: it stays, at exactly 0
    assert net.to_dict() == {"AAPL": 50.0, "MSFT": 75.0, "NVDA": 200.0, "XOM": 0.0}
    assert net.name == "qty"


def test_ledger_positions_sum_exactly_and_add_the_opening() -> None:
    fills = pd.DataFrame(
        {
            "symbol": ["A", "A", "A", "B"],
            "side": ["buy", "buy", "sell", "sell"],
            "qty": [0.1, 0.2, 0.3, 1.5],
        }
    )
    assert 0.1 + 0.2 - 0.3 != 0.0  # float arithmetic would leave dust
    net = ledger_positions(fills, opening=pd.Series({"B": 2.0, "C": 7.0}))
    assert net.to_dict() == {"A": 0.0, "B": 0.5, "C": 7.0}


def test_ledger_positions_reject_bad_fills() -> None:
    with pytest.raises(ValueError, match="side"):
        ledger_positions(pd.DataFrame({"symbol": ["A"], "qty": [1.0]}))
    with pytest.raises(ValueError, match="'short'"):
        ledger_positions(pd.DataFrame({"symbol": ["A"], "side": ["short"], "qty": [1.0]}))


# -- reconcile -----------------------------------------------------------------------------


def test_ledger_and_broker_agree_after_execution(
    sim: SimulatedBroker, ledger: Ledger, traded: None
) -> None:
    report = reconcile(sim.get_positions(), ledger_positions(ledger_fills(ledger)))

    assert report.ok
    assert report.matched == ("AAPL", "MSFT", "NVDA", "XOM")
    assert report.mismatches == ()
    assert report.mismatch_frame().empty
    assert tuple(report.mismatch_frame().columns) == MISMATCH_COLUMNS
    assert report.summary() == "positions reconciled: 4 symbols agree"


def test_a_position_changed_behind_the_systems_back_is_caught(
    sim: SimulatedBroker, ledger: Ledger, traded: None
) -> None:
    # someone trades in the account with client ids the ledger never saw
    sim.submit_order(order("manual-1", "MSFT", "sell", 25, 400.0))
    sim.submit_order(order("manual-2", "XOM", "buy", 10, 100.0))

    report = reconcile(sim.get_positions(), ledger_positions(ledger_fills(ledger)))

    assert not report.ok
    assert report.matched == ("AAPL", "NVDA")
    assert report.mismatches == (
        PositionMismatch("MSFT", broker_qty=50.0, ledger_qty=75.0, difference=-25.0),
        PositionMismatch("XOM", broker_qty=10.0, ledger_qty=0.0, difference=10.0),
    )
    assert report.mismatch_frame().values.tolist() == [
        ["MSFT", 50.0, 75.0, -25.0],
        ["XOM", 10.0, 0.0, 10.0],
    ]
    assert report.summary() == (
        "2 position mismatch(es), 2 symbols agree: "
        "MSFT: broker 50 vs ledger 75 (difference -25); "
        "XOM: broker 10 vs ledger 0 (difference +10)"
    )


def test_a_position_the_ledger_has_but_the_broker_lost_is_caught(
    sim: SimulatedBroker, ledger: Ledger, traded: None
) -> None:
    sim.submit_order(order("manual-3", "NVDA", "sell", 200, 125.0))  # sold whole

    report = reconcile(sim.get_positions(), ledger_positions(ledger_fills(ledger)))

    assert report.mismatches == (PositionMismatch("NVDA", 0.0, 200.0, -200.0),)


def test_holdings_from_before_the_ledger_need_the_opening(
    sim: SimulatedBroker, ledger: Ledger
) -> None:
    sim.submit_order(order("legacy", "XOM", "buy", 40, 100.0))  # held before the pipeline
    trade(sim, ledger, {"AAPL": 0.20, "XOM": 0.04}, RID_1)  # buys AAPL 100 only (XOM in band)
    fills = ledger_fills(ledger)

    assert not reconcile(sim.get_positions(), ledger_positions(fills)).ok
    opening = pd.Series({"XOM": 40.0})
    assert reconcile(sim.get_positions(), ledger_positions(fills, opening)).ok


def test_tolerance_is_in_shares() -> None:
    from pas_pipeline.execution.model import Position

    held = {"A": Position("A", 10.0000005, 1.0, 10.0)}
    assert reconcile(held, pd.Series({"A": 10.0})).ok
    report = reconcile(held, pd.Series({"A": 10.0}), tolerance_shares=1e-9)
    assert [m.symbol for m in report.mismatches] == ["A"]
    with pytest.raises(ValueError, match="tolerance_shares"):
        reconcile(held, pd.Series({"A": 10.0}), tolerance_shares=-1.0)
    with pytest.raises(ValueError, match="repeat"):
        reconcile(held, pd.Series([1.0, 2.0], index=["A", "A"]))


# -- polling -------------------------------------------------------------------------------


class SlowBroker:
    """The simulated broker, but each order looks ``new`` for its first ``pending`` lookups
    (a real broker's market order before it fills); ``pending=None`` never fills."""

    def __init__(self, inner: SimulatedBroker, pending: dict[str, int | None]) -> None:
        self.inner = inner
        self.pending = pending
        self.lookups: Counter[str] = Counter()

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        self.lookups[client_order_id] += 1
        placed = self.inner.get_order_by_client_id(client_order_id)
        wait = self.pending.get(client_order_id, 0)
        if placed is not None and (wait is None or self.lookups[client_order_id] <= wait):
            return dataclasses.replace(
                placed, status="new", filled_qty=0.0, filled_avg_price=None, filled_at=None
            )
        return placed


@pytest.fixture
def placed(sim: SimulatedBroker) -> list[str]:
    sim.submit_order(order("cid-a", "AAPL", "buy", 10, 200.0))
    sim.submit_order(order("cid-b", "MSFT", "buy", 5, 400.0))
    return ["cid-a", "cid-b"]


def test_polling_returns_terminal_states(sim: SimulatedBroker, placed: list[str]) -> None:
    clock = FakeClock()
    broker = SlowBroker(sim, {"cid-a": 2, "cid-b": 0})

    seen = poll_until_terminal(
        broker, placed, timeout_seconds=60, interval_seconds=5, clock=clock, sleep=clock.sleep
    )

    assert list(seen) == placed
    assert seen == {cid: sim.get_order_by_client_id(cid) for cid in placed}
    assert {o.status for o in seen.values()} == {"filled"}
    assert unfinished(seen) == []
    assert clock.sleeps == [5, 5]  # three rounds
    # a terminal order is not looked up again
    assert broker.lookups == Counter({"cid-a": 3, "cid-b": 1})


def test_polling_stops_at_the_timeout_with_the_last_state(
    sim: SimulatedBroker, placed: list[str]
) -> None:
    clock = FakeClock()
    broker = SlowBroker(sim, {"cid-a": None, "cid-b": 1})

    seen = poll_until_terminal(
        broker,
        [*placed, "never-sent"],
        timeout_seconds=10,
        interval_seconds=3,
        clock=clock,
        sleep=clock.sleep,
    )

    assert clock.sleeps == [3, 3, 3, 1]  # rounds at 0, 3, 6, 9 and the deadline 10
    assert clock.now == 10
    assert broker.lookups == Counter({"cid-a": 5, "cid-b": 2, "never-sent": 5})
    assert seen["cid-a"].status == "new" and seen["cid-a"].filled_qty == 0.0
    assert seen["cid-b"].status == "filled"
    assert seen["never-sent"] is None
    assert unfinished(seen) == ["cid-a", "never-sent"]


def test_polling_with_zero_timeout_looks_once(sim: SimulatedBroker, placed: list[str]) -> None:
    clock = FakeClock()
    broker = SlowBroker(sim, {"cid-a": None})
    seen = poll_until_terminal(broker, placed, 0, 1, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []
    assert unfinished(seen) == ["cid-a"]


def test_polling_rejects_bad_intervals(sim: SimulatedBroker) -> None:
    with pytest.raises(ValueError, match="interval_seconds"):
        poll_until_terminal(sim, ["x"], 10, 0)
    with pytest.raises(ValueError, match="timeout_seconds"):
        poll_until_terminal(sim, ["x"], float("nan"), 1)


def test_refresh_records_the_fill_of_an_order_the_ledger_still_saw_as_accepted(
    tmp_path: Path,
) -> None:
    from pas_pipeline.execution.reconcile import refresh_order_states, unfinished

    broker = SimulatedBroker(tmp_path / "broker.duckdb", initial_cash=10_000.0)
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    placed = broker.submit_order(order("late-fill", "AAPL", "buy", 10, 100.0))
    stale = dataclasses.replace(placed, status="accepted", filled_qty=0.0, filled_avg_price=None)
    ledger.record_order(stale, rebalance_id="rb-x")
    assert list(ledger.unfinished_orders()["client_order_id"]) == ["late-fill"]
    assert unfinished(refresh_order_states(broker, ledger, {"late-fill": "rb-x"})) == []
    assert ledger.unfinished_orders().empty
    assert ledger_positions(ledger_fills(ledger)).to_dict() == {"AAPL": 10.0}
