"""Partial fills: an order that ends with only part filled puts exactly that part in the ledger.

Rule (``Ledger.record_order``): once an order is terminal (filled, canceled, expired, …)
with ``filled_qty`` > 0, the ledger holds one fill of ``filled_qty`` shares at
``filled_avg_price``; an order still ``partially_filled`` has none yet; seeing the same
ended order again adds nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from alpaca.trading.client import TradingClient

from pas_pipeline.execution import migrations
from pas_pipeline.execution.alpaca import AlpacaBroker
from pas_pipeline.execution.fake_alpaca import TEST_KEY_ID, TEST_SECRET, FakeAlpaca
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import BrokerOrder, OrderLimits
from pas_pipeline.execution.rebalance import RebalanceOutcome, execute_rebalance
from pas_pipeline.execution.reconcile import (
    ledger_fills,
    ledger_positions,
    reconcile,
    refresh_order_states,
    unfinished,
)
from pas_pipeline.execution.simulated import SimulatedBroker
from pas_pipeline.execution.submit import execute_plan, record_broker_order
from pas_pipeline_tests.fake_clock import FakeClock
from pas_pipeline_tests.orders import OPEN_LIMITS, planned_order

RID = "rb-2024-07-08-0123456789"
T0 = dt.datetime(2024, 7, 8, 13, 30, tzinfo=dt.UTC)  # submitted
T1 = T0 + dt.timedelta(minutes=5)  # the part that filled
T2 = dt.datetime(2024, 7, 8, 20, 0, tzinfo=dt.UTC)  # the close: the DAY order expires
CID = "pas-0123456789-AAPL-buy"
DAY = pd.Timestamp("2024-07-08")
PRICES = pd.Series({"XLK": 200.0, "XLE": 100.0})


def aapl(status: str, filled_qty: float = 40.0, **changes: object) -> BrokerOrder:
    """A buy of 100 AAPL of which ``filled_qty`` filled at an average of USD 101.25."""
    order = BrokerOrder(
        client_order_id=CID,
        broker_order_id="bo-1",
        symbol="AAPL",
        side="buy",
        qty=100.0,
        status=status,
        filled_qty=filled_qty,
        filled_avg_price=101.25 if filled_qty else None,
        submitted_at=T0,
        filled_at=T1 if status != "partially_filled" and filled_qty else None,
        updated_at=T2 if status != "partially_filled" else T1,
    )
    return dataclasses.replace(order, **changes)


def fill_rows(ledger: Ledger, rid: str = RID) -> list[list[object]]:
    fills = ledger.fills_for(rid)
    return fills[["client_order_id", "symbol", "side", "qty", "price", "filled_at"]].values.tolist()


@pytest.fixture
def ledger(ledger_target: str | Path) -> Iterator[Ledger]:
    with Ledger.connect(ledger_target) as book:
        yield book


# -- the ledger's fill rule ------------------------------------------------------------------


def test_a_partially_filled_then_expired_order_records_the_filled_shares_at_the_average(
    ledger: Ledger,
) -> None:
    record_broker_order(ledger, aapl("expired"), RID)
    assert fill_rows(ledger) == [[CID, "AAPL", "buy", 40.0, 101.25, T1]]


def test_a_partially_filled_order_records_nothing_until_it_ends(ledger: Ledger) -> None:
    record_broker_order(ledger, aapl("partially_filled"), RID)
    assert fill_rows(ledger) == []
    assert list(ledger.unfinished_orders()["client_order_id"]) == [CID]

    record_broker_order(ledger, aapl("canceled", filled_qty=55.0), RID)
    assert fill_rows(ledger) == [[CID, "AAPL", "buy", 55.0, 101.25, T1]]
    assert ledger.unfinished_orders().empty


def test_recording_the_same_terminal_order_twice_adds_one_fill(ledger: Ledger) -> None:
    assert ledger.record_order(aapl("expired"), rebalance_id=RID) is True
    assert ledger.record_order(aapl("expired"), rebalance_id=RID) is False
    assert fill_rows(ledger) == [[CID, "AAPL", "buy", 40.0, 101.25, T1]]


def test_a_second_look_with_another_time_stamp_adds_no_fill(ledger: Ledger) -> None:
    # First seen without filled_at (the fill is stamped with the last update, T2), then
    # with it: still one fill, the first one.
    record_broker_order(ledger, aapl("expired", filled_at=None), RID)
    record_broker_order(ledger, aapl("expired"), RID)
    assert fill_rows(ledger) == [[CID, "AAPL", "buy", 40.0, 101.25, T2]]


def test_the_fill_time_is_filled_at_else_the_last_update_else_the_submission() -> None:
    assert aapl("expired").final_fill == (40.0, 101.25, T1)
    assert aapl("expired", filled_at=None).final_fill == (40.0, 101.25, T2)
    assert aapl("expired", filled_at=None, updated_at=None).final_fill == (40.0, 101.25, T0)


def test_an_order_that_ended_with_nothing_filled_has_no_fill(ledger: Ledger) -> None:
    record_broker_order(ledger, aapl("expired", filled_qty=0.0, filled_at=None), RID)
    assert fill_rows(ledger) == []


def test_a_complete_fill_is_still_recorded_once_at_its_quantity(ledger: Ledger) -> None:
    record_broker_order(ledger, aapl("filled", filled_qty=100.0), RID)
    record_broker_order(ledger, aapl("filled", filled_qty=100.0), RID)
    assert fill_rows(ledger) == [[CID, "AAPL", "buy", 100.0, 101.25, T1]]


def test_migration_4_adds_the_missing_fills_of_orders_that_already_ended(
    ledger_target: str | Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger written before this rule kept no fill for an order that ended partly
    filled; the migration adds it (at filled_at, else the time the ledger recorded it)."""
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
    rows = [  # client order id, status, filled_qty, filled_avg_price, filled_at
        ("cid-expired", "expired", 40.0, 101.25, T1),
        ("cid-canceled-no-stamp", "canceled", 3.0, 50.0, None),
        ("cid-still-open", "partially_filled", 5.0, 20.0, None),
        ("cid-nothing", "expired", 0.0, None, None),
        ("cid-filled", "filled", 10.0, 30.0, T1),
    ]
    with Ledger.connect(ledger_target) as old:
        assert old.schema_version() == 3
        with old._db.transaction() as tx:
            for cid, status, qty, price, filled_at in rows:
                tx.execute(
                    "INSERT INTO orders (client_order_id, broker_order_id, rebalance_id, symbol,"
                    " side, qty, status, filled_qty, filled_avg_price, submitted_at, filled_at,"
                    " updated_at) VALUES (?, ?, ?, ?, 'buy', 100, ?, ?, ?, ?, ?, ?)",
                    [cid, f"bo-{cid}", RID, cid.upper(), status, qty, price, T0, filled_at, T2],
                )
            tx.execute(
                "INSERT INTO fills (client_order_id, qty, price, filled_at) VALUES (?, ?, ?, ?)",
                ["cid-filled", 10.0, 30.0, T1],
            )
    monkeypatch.undo()

    with Ledger.connect(ledger_target) as migrated:
        assert migrated.schema_version() == 4
        assert sorted(fill_rows(migrated)) == [
            ["cid-canceled-no-stamp", "CID-CANCELED-NO-STAMP", "buy", 3.0, 50.0, T2],
            ["cid-expired", "CID-EXPIRED", "buy", 40.0, 101.25, T1],
            ["cid-filled", "CID-FILLED", "buy", 10.0, 30.0, T1],
        ]


# -- polling -----------------------------------------------------------------------------------


class ScriptedBroker:
    """Answers each look-up of ``CID`` with the next state of ``states`` (the last one
    repeats): an order seen partially filled for a while, then ended."""

    def __init__(self, states: list[BrokerOrder]) -> None:
        self.states = states
        self.lookups = 0

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        self.lookups += 1
        return self.states[min(self.lookups, len(self.states)) - 1]


def test_polling_records_the_fill_once_the_partially_filled_order_ends(
    tmp_path: Path,
) -> None:
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    broker = ScriptedBroker([aapl("partially_filled"), aapl("partially_filled"), aapl("expired")])
    clock = FakeClock()

    seen = refresh_order_states(
        broker,
        ledger,
        {CID: RID},
        60,
        5,
        clock=clock,
        sleep=clock.sleep,  # type: ignore[arg-type]
    )

    assert seen[CID] == aapl("expired") and unfinished(seen) == []
    assert clock.sleeps == [5, 5]
    assert fill_rows(ledger) == [[CID, "AAPL", "buy", 40.0, 101.25, T1]]


def test_polling_that_stops_while_partially_filled_records_no_fill(tmp_path: Path) -> None:
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    broker = ScriptedBroker([aapl("partially_filled")])
    clock = FakeClock()
    still_open = unfinished(
        refresh_order_states(
            broker,
            ledger,
            {CID: RID},
            10,
            5,
            clock=clock,
            sleep=clock.sleep,  # type: ignore[arg-type]
        )
    )
    assert still_open == [CID]
    assert fill_rows(ledger) == []
    assert list(ledger.orders_for(RID)["filled_qty"]) == [40.0]


# -- the simulated broker and a rebalance ------------------------------------------------------


def target_weights(xlk: float, xle: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"ticker": ["XLE", "XLK"], "weight": [xle, xlk], "sleeves": [f"m:{xle}", f"m:{xlk}"]}
    )


def trade(broker: SimulatedBroker, ledger: Ledger) -> RebalanceOutcome:
    return execute_rebalance(
        as_of=DAY,
        target=target_weights(0.5, 0.3),
        prices=PRICES,
        broker=broker,
        ledger=ledger,
        limits=OrderLimits(),
        pre_trade=OPEN_LIMITS,
    )


@pytest.fixture
def thin_xlk(tmp_path: Path) -> SimulatedBroker:
    """USD 100,000; only half of each XLK order fills (whole shares), then it expires."""
    return SimulatedBroker(
        tmp_path / "broker.duckdb", initial_cash=100_000.0, fill_ratios={"XLK": 0.5}
    )


def test_the_simulated_broker_fills_the_ratio_in_whole_shares_then_expires(
    thin_xlk: SimulatedBroker,
) -> None:
    placed = thin_xlk.submit_order(planned_order(RID, "XLK", "buy", 25.0, 200.0))
    assert (placed.status, placed.qty, placed.filled_qty, placed.filled_avg_price) == (
        "expired",
        25.0,
        12.0,  # floor(25 × 0.5)
        200.0,
    )
    assert placed.is_partially_filled and placed.filled_at is not None
    assert thin_xlk.get_positions()["XLK"].qty == 12.0
    assert thin_xlk.get_account().cash == 100_000.0 - 12 * 200.0


def test_execute_plan_reports_a_partial_fill_apart_and_not_as_a_failure(
    thin_xlk: SimulatedBroker, tmp_path: Path
) -> None:
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    plan = [
        planned_order(RID, "XLE", "buy", 300.0, 100.0),
        planned_order(RID, "XLK", "buy", 250.0, 200.0),
    ]
    report = execute_plan(plan, thin_xlk, ledger)
    assert report.ok
    assert report.filled == (plan[0].client_order_id,)
    assert report.partially_filled == (plan[1].client_order_id,)
    assert report.counts()["partially_filled"] == 1
    assert [row[3] for row in fill_rows(ledger)] == [300.0, 125.0]


def test_a_rebalance_with_a_partial_fill_succeeds_and_says_so(
    thin_xlk: SimulatedBroker, tmp_path: Path
) -> None:
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    outcome = trade(thin_xlk, ledger)
    xlk = next(o.client_order_id for o in outcome.plan if o.symbol == "XLK")
    assert outcome.ok
    assert outcome.report.partially_filled == (xlk,)
    metadata = outcome.metadata()
    assert (metadata["orders_filled"], metadata["orders_partially_filled"]) == (1, 1)
    assert f"partially filled: {xlk}" in outcome.summary()


def test_reconciliation_after_a_partial_fill_reports_no_mismatch(
    thin_xlk: SimulatedBroker, tmp_path: Path
) -> None:
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    trade(thin_xlk, ledger)
    expected = ledger_positions(ledger_fills(ledger))
    assert expected.to_dict() == {"XLE": 300.0, "XLK": 125.0}  # XLK: 125 of 250 filled
    report = reconcile(thin_xlk.get_positions(), expected)
    assert report.ok, report.summary()


def test_a_rerun_after_a_partial_fill_sends_nothing_and_adds_no_fill(
    thin_xlk: SimulatedBroker, tmp_path: Path
) -> None:
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    first = trade(thin_xlk, ledger)
    again = trade(thin_xlk, ledger)
    assert again.reused_plan and again.report.submitted == ()
    assert again.report.partially_filled == first.report.partially_filled
    assert len(ledger.fills_for(first.rebalance_id)) == 2


def test_fill_ratios_must_be_fractions(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fill ratio"):
        SimulatedBroker(tmp_path / "b.duckdb", fill_ratios={"XLK": 1.5})


# -- alpaca-py over HTTP against the fake Alpaca server --------------------------------------


class Moment:
    """The fake server's clock, moved by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    """USD 10,000; BBB at 20 fills half of each order (whole shares), CCC at 10 all."""
    clock = Moment(T0)
    with FakeAlpaca(
        cash="10000", prices={"BBB": "20", "CCC": "10"}, clock=clock, fill_ratios={"BBB": 0.5}
    ) as server:
        server.moment = clock  # type: ignore[attr-defined]
        yield server


def alpaca_broker(fake: FakeAlpaca) -> AlpacaBroker:
    return AlpacaBroker(TEST_KEY_ID, TEST_SECRET, fake.base_url, timeout=5, retry_wait_seconds=0)


def test_the_fake_leaves_a_thin_order_partially_filled_until_the_close(fake: FakeAlpaca) -> None:
    order = planned_order(RID, "BBB", "buy", 9.0, 20.0)
    placed = alpaca_broker(fake).submit_order(order)
    assert (placed.status, placed.filled_qty, placed.filled_avg_price, placed.filled_at) == (
        "partially_filled",
        4.0,  # floor(9 × 0.5)
        20.0,
        None,
    )
    assert fake.positions() == {"BBB": Decimal(4)} and fake.cash == Decimal("9920")

    fake.moment.now = T2  # type: ignore[attr-defined]
    assert fake.end_day() == [order.client_order_id]
    [ended] = fake.orders()
    assert (ended["status"], ended["qty"], ended["filled_qty"], ended["filled_avg_price"]) == (
        "expired",
        "9",
        "4",
        "20",
    )
    assert (ended["filled_at"], ended["expired_at"], ended["updated_at"]) == (
        "2024-07-08T13:30:00.000000Z",
        "2024-07-08T20:00:00.000000Z",
        "2024-07-08T20:00:00.000000Z",
    )


def test_a_partial_fill_reaches_the_ledger_over_http(fake: FakeAlpaca, tmp_path: Path) -> None:
    broker = alpaca_broker(fake)
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    plan = [
        planned_order(RID, "BBB", "buy", 9.0, 20.0),
        planned_order(RID, "CCC", "buy", 5.0, 10.0),
    ]
    bbb, ccc = (o.client_order_id for o in plan)

    report = execute_plan(plan, broker, ledger)
    assert report.ok and report.filled == (ccc,) and report.partially_filled == ()
    assert fill_rows(ledger) == [[ccc, "CCC", "buy", 5.0, 10.0, T0]]  # BBB still open
    assert not reconcile(broker.get_positions(), ledger_positions(ledger_fills(ledger))).ok

    fake.moment.now = T2  # type: ignore[attr-defined]
    fake.end_day()
    pending = ledger.unfinished_orders()
    assert list(pending["client_order_id"]) == [bbb]
    open_orders = dict(zip(pending.client_order_id, pending.rebalance_id, strict=True))
    assert unfinished(refresh_order_states(broker, ledger, open_orders)) == []

    assert fill_rows(ledger) == [
        [bbb, "BBB", "buy", 4.0, 20.0, T0],
        [ccc, "CCC", "buy", 5.0, 10.0, T0],
    ]
    assert reconcile(broker.get_positions(), ledger_positions(ledger_fills(ledger))).ok
    # seen again: no second fill
    assert unfinished(refresh_order_states(broker, ledger, {bbb: RID})) == []
    assert len(ledger.fills_for(RID)) == 2


def test_cancelling_a_partially_filled_order_keeps_what_filled(fake: FakeAlpaca) -> None:
    broker = alpaca_broker(fake)
    placed = broker.submit_order(planned_order(RID, "BBB", "buy", 3.0, 20.0))
    TradingClient(TEST_KEY_ID, TEST_SECRET, url_override=fake.base_url).cancel_order_by_id(
        placed.broker_order_id
    )
    ended = broker.get_order_by_client_id(placed.client_order_id)
    assert ended is not None
    assert (ended.status, ended.filled_qty, ended.is_partially_filled) == ("canceled", 1.0, True)
    assert ended.final_fill == (1.0, 20.0, T0)
