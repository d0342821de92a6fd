"""execute_plan: every planned order reaches the broker exactly once, whatever goes wrong."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from pas_pipeline.execution.broker import (
    BrokerError,
    DuplicateClientOrderIdError,
    OrderOutcomeUnknownError,
)
from pas_pipeline.execution.ids import client_order_id_prefix
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import (
    Account,
    BrokerOrder,
    OrderLimits,
    PlannedOrder,
    Position,
    TradingState,
)
from pas_pipeline.execution.planning import plan_orders
from pas_pipeline.execution.simulated import SimulatedBroker
from pas_pipeline.execution.submit import execute_plan

RID = "rb-2024-07-05-0123456789"
PRICES = pd.Series({"AAPL": 200.0, "MSFT": 400.0, "NVDA": 125.0, "XOM": 100.0})


class WrappedBroker:
    """Delegates to a real broker; subclasses break ``submit_order`` in one way or another."""

    def __init__(self, inner: SimulatedBroker) -> None:
        self.inner = inner
        self.submit_calls: list[str] = []

    @property
    def is_paper(self) -> bool:
        return True

    def get_account(self) -> Account:
        return self.inner.get_account()

    def get_positions(self) -> dict[str, Position]:
        return self.inner.get_positions()

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        return self.inner.get_order_by_client_id(client_order_id)

    def list_orders(self, client_order_id_prefix: str | None = None) -> list[BrokerOrder]:
        return self.inner.list_orders(client_order_id_prefix)

    def submit_order(self, order: PlannedOrder) -> BrokerOrder:
        self.submit_calls.append(order.client_order_id)
        return self.inner.submit_order(order)


class ProcessKilled(Exception):
    """Stands for the process dying mid-run (not a BrokerError, so it is not caught)."""


class CrashingBroker(WrappedBroker):
    """Submits ``k`` orders, then 'the process dies' before the next one is sent."""

    def __init__(self, inner: SimulatedBroker, k: int) -> None:
        super().__init__(inner)
        self.k = k

    def submit_order(self, order: PlannedOrder) -> BrokerOrder:
        if len(self.submit_calls) == self.k:
            raise ProcessKilled("killed")
        return super().submit_order(order)


class LostResponseBroker(WrappedBroker):
    """The order reaches the broker but the response is lost (timeout after sending)."""

    def submit_order(self, order: PlannedOrder) -> BrokerOrder:
        super().submit_order(order)
        raise OrderOutcomeUnknownError(order.client_order_id, "read timeout")


class LostRequestBroker(WrappedBroker):
    """The request never reaches the broker, and the client cannot tell (timeout)."""

    def submit_order(self, order: PlannedOrder) -> BrokerOrder:
        self.submit_calls.append(order.client_order_id)
        raise OrderOutcomeUnknownError(order.client_order_id, "connect timeout")


class StaleLookupBroker(WrappedBroker):
    """Lookups miss orders that exist (e.g. replication lag); the broker rejects the resend."""

    def __init__(self, inner: SimulatedBroker) -> None:
        super().__init__(inner)
        self.misses = 0

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        if self.misses == 0 and super().get_order_by_client_id(client_order_id) is not None:
            self.misses += 1
            return None
        return super().get_order_by_client_id(client_order_id)


@pytest.fixture
def sim(tmp_path: Path) -> SimulatedBroker:
    broker = SimulatedBroker(tmp_path / "broker.duckdb", initial_cash=100_000.0)
    # Holdings: XOM 100 sh (w 0.10), AAPL 100 sh (w 0.20); cash 70,000
    for symbol, qty in (("XOM", 100), ("AAPL", 100)):
        broker.submit_order(
            PlannedOrder(
                f"setup-{symbol}",
                "setup",
                symbol,
                "buy",
                qty,
                float(PRICES[symbol]),
                qty * PRICES[symbol],
                0,
                0,
            )
        )
    return broker


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.connect(tmp_path / "ledger.duckdb")


@pytest.fixture
def plan(sim: SimulatedBroker) -> list[PlannedOrder]:
    """Sell XOM 100 and AAPL 50, buy MSFT 75 and NVDA 200 (see the planning tests)."""
    targets = pd.Series({"AAPL": 0.10, "MSFT": 0.30, "NVDA": 0.25})
    orders = plan_orders(
        targets, sim.get_positions(), PRICES, sim.get_account().equity, OrderLimits(), RID
    )
    assert [(o.side, o.symbol, o.qty) for o in orders] == [
        ("sell", "AAPL", 50.0),
        ("sell", "XOM", 100.0),
        ("buy", "MSFT", 75.0),
        ("buy", "NVDA", 200.0),
    ]
    return orders


def rebalance_orders(broker: SimulatedBroker) -> list[BrokerOrder]:
    return broker.list_orders(client_order_id_prefix(RID))


def assert_exactly_once(plan: list[PlannedOrder], broker: SimulatedBroker, ledger: Ledger) -> None:
    """Each planned order is at the broker once, and the ledger agrees with the broker."""
    at_broker = rebalance_orders(broker)
    assert Counter(o.client_order_id for o in at_broker) == Counter(o.client_order_id for o in plan)
    recorded = ledger.orders_for(RID)
    broker_view = sorted(
        (o.client_order_id, o.broker_order_id, o.symbol, o.side, o.qty, o.status, o.filled_qty)
        for o in at_broker
    )
    assert recorded[
        ["client_order_id", "broker_order_id", "symbol", "side", "qty", "status", "filled_qty"]
    ].values.tolist() == [list(row) for row in broker_view]
    assert sorted(ledger.fills_for(RID).client_order_id) == sorted(o.client_order_id for o in plan)


def test_first_run_submits_everything_and_records_it(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    report = execute_plan(plan, sim, ledger)

    ids = tuple(o.client_order_id for o in plan)
    assert (report.submitted, report.filled, report.already_present) == (ids, ids, ())
    assert report.ok and report.counts()["submitted"] == 4
    assert ledger.plan_for(RID) == plan
    assert_exactly_once(plan, sim, ledger)
    # XOM gone, AAPL 50, MSFT 75, NVDA 200; cash 70,000 + 20,000 − 55,000 = 35,000
    assert {s: p.qty for s, p in sim.get_positions().items()} == {
        "AAPL": 50.0,
        "MSFT": 75.0,
        "NVDA": 200.0,
    }
    assert sim.get_account() == Account(equity=100_000.0, cash=35_000.0)


def test_rerun_submits_nothing_new(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    execute_plan(plan, sim, ledger)
    counting = WrappedBroker(sim)

    report = execute_plan(plan, counting, ledger)

    assert counting.submit_calls == []
    assert report.submitted == ()
    assert report.already_present == tuple(o.client_order_id for o in plan)
    assert_exactly_once(plan, sim, ledger)


def test_sells_are_submitted_before_buys(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    counting = WrappedBroker(sim)
    shuffled = [plan[3], plan[0], plan[2], plan[1]]  # buy NVDA, sell AAPL, buy MSFT, sell XOM
    execute_plan(shuffled, counting, ledger)
    # sells first; within a side the given order is kept
    assert counting.submit_calls == [
        o.client_order_id for o in (plan[0], plan[1], plan[3], plan[2])
    ]


@pytest.mark.parametrize("k", [0, 1, 3])
def test_crash_after_k_orders_then_rerun_gives_each_order_once(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder], k: int
) -> None:
    with pytest.raises(ProcessKilled):
        execute_plan(plan, CrashingBroker(sim, k), ledger)
    assert len(rebalance_orders(sim)) == k

    report = execute_plan(plan, sim, ledger)

    ids = [o.client_order_id for o in plan]
    assert (list(report.already_present), list(report.submitted)) == (ids[:k], ids[k:])
    assert_exactly_once(plan, sim, ledger)


def test_lost_response_is_looked_up_not_resent(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    lossy = LostResponseBroker(sim)
    report = execute_plan(plan, lossy, ledger)

    assert lossy.submit_calls == [o.client_order_id for o in plan]  # one call each
    assert report.submitted == tuple(o.client_order_id for o in plan)
    assert report.failures == ()
    assert_exactly_once(plan, sim, ledger)


def test_lost_request_is_a_failure_and_holds_back_the_buys(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    lossy = LostRequestBroker(sim)
    report = execute_plan(plan, lossy, ledger)

    sells, buys = plan[:2], plan[2:]
    assert lossy.submit_calls == [o.client_order_id for o in sells]  # never resent
    assert [f.client_order_id for f in report.failures] == [o.client_order_id for o in sells]
    assert "not at the broker" in report.failures[0].error
    assert report.skipped == tuple(o.client_order_id for o in buys)
    assert not report.ok
    assert rebalance_orders(sim) == []
    events = ledger.order_events_for(sells[0].client_order_id)
    assert list(events.status) == ["submit_failed"]

    rerun = execute_plan(plan, sim, ledger)  # the next run sends what is missing
    assert rerun.submitted == tuple(o.client_order_id for o in plan)
    assert_exactly_once(plan, sim, ledger)


def test_duplicate_reported_by_the_broker_counts_as_already_present(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    sim.submit_order(plan[0])  # reached the broker, but the ledger never heard of it
    stale = StaleLookupBroker(sim)

    report = execute_plan(plan, stale, ledger)

    assert stale.misses == 1
    assert report.already_present == (plan[0].client_order_id,)
    assert report.submitted == tuple(o.client_order_id for o in plan[1:])
    assert_exactly_once(plan, sim, ledger)


def test_rejected_sell_holds_back_buys(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    sim.submit_order(PlannedOrder("elsewhere", "other", "XOM", "sell", 60, 100.0, 6_000, 0, 0))
    report = execute_plan(plan, sim, ledger)  # selling 100 XOM of the 40 left is rejected

    assert report.submitted == (plan[0].client_order_id,)
    assert [f.symbol for f in report.failures] == ["XOM"]
    assert "insufficient qty" in report.failures[0].error
    assert report.skipped == tuple(o.client_order_id for o in plan[2:])


def test_dry_run_sends_and_writes_nothing(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    report = execute_plan(plan, sim, ledger, dry_run=True)

    assert report.dry_run and report.would_submit == tuple(o.client_order_id for o in plan)
    assert report.submitted == ()
    assert rebalance_orders(sim) == []
    assert ledger.plan_for(RID) == []


def test_halted_trading_sends_nothing(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    ledger.set_trading_state(TradingState.HALTED, "kill switch")
    report = execute_plan(plan, sim, ledger)
    assert report.skipped == tuple(o.client_order_id for o in plan)
    assert rebalance_orders(sim) == []


def test_reduce_only_sends_only_sells(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    ledger.set_trading_state(TradingState.REDUCE_ONLY, "drawdown")
    report = execute_plan(plan, sim, ledger)
    assert report.submitted == tuple(o.client_order_id for o in plan[:2])
    assert report.skipped == tuple(o.client_order_id for o in plan[2:])


def test_order_already_at_the_broker_is_recorded_even_when_halted(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    sim.submit_order(plan[0])
    ledger.set_trading_state(TradingState.HALTED, "kill switch")
    report = execute_plan(plan, sim, ledger)
    assert report.already_present == (plan[0].client_order_id,)
    assert ledger.orders_for(RID).client_order_id.tolist() == [plan[0].client_order_id]


def test_an_id_used_by_a_different_order_is_a_failure(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    nvda = plan[3]
    sim.submit_order(PlannedOrder(nvda.client_order_id, RID, "AMD", "buy", 1, 100.0, 100, 0, 0))
    report = execute_plan(plan, sim, ledger)
    assert [f.client_order_id for f in report.failures] == [nvda.client_order_id]
    assert "AMD" in report.failures[0].error


def test_plan_with_repeated_ids_is_refused(
    sim: SimulatedBroker, ledger: Ledger, plan: list[PlannedOrder]
) -> None:
    with pytest.raises(ValueError, match="repeats"):
        execute_plan([plan[0], plan[0]], sim, ledger)


def test_broker_exceptions_form_one_family() -> None:
    assert issubclass(DuplicateClientOrderIdError, BrokerError)
    assert issubclass(OrderOutcomeUnknownError, BrokerError)
