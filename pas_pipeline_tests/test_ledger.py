"""Ledger: the same behaviour on DuckDB and on PostgreSQL; every write is idempotent."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from pas_pipeline.config import Secret
from pas_pipeline.execution.ledger import Ledger, LedgerError, redact_uri
from pas_pipeline.execution.migrations import MIGRATIONS
from pas_pipeline.execution.model import BrokerOrder, PlannedOrder, Position, TradingState
from pas_pipeline_tests.orders import planned_order

RID = "rb-2024-07-05-0123456789"
T0 = dt.datetime(2024, 7, 5, 14, 30, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(seconds=2)


def planned(symbol: str, side: str, qty: float, price: float) -> PlannedOrder:
    return planned_order(RID, symbol, side, qty, price, current_weight=0.1, target_weight=0.2)


PLAN = [
    planned("XOM", "sell", 100.0, 100.0),
    planned("AAPL", "buy", 2.5, 200.0),
    planned("MSFT", "buy", 25.0, 400.0),
]


def at_broker(p: PlannedOrder, status: str = "filled") -> BrokerOrder:
    done = status == "filled"
    return BrokerOrder(
        p.client_order_id,
        f"bo-{p.symbol}",
        p.symbol,
        p.side,
        p.qty,
        status,
        filled_qty=p.qty if done else 0.0,
        filled_avg_price=p.reference_price if done else None,
        submitted_at=T0,
        filled_at=T1 if done else None,
    )


@pytest.fixture
def ledger(ledger_target: str | Path) -> Ledger:
    return Ledger.connect(ledger_target)


def test_new_ledger_is_migrated_and_active(ledger: Ledger) -> None:
    assert ledger.schema_version() == MIGRATIONS[-1][0]
    assert ledger.get_trading_state() is TradingState.ACTIVE
    assert ledger.plan_for(RID) == []
    assert ledger.orders_for(RID).empty


def test_connecting_again_does_not_reapply_migrations(ledger_target: str | Path) -> None:
    first = Ledger.connect(ledger_target)
    first.set_trading_state("HALTED", "drill")
    second = Ledger.connect(ledger_target)  # would fail on CREATE TABLE if migrations re-ran
    assert second.schema_version() == MIGRATIONS[-1][0]
    assert second.get_trading_state() is TradingState.HALTED


def test_record_rebalance_is_an_idempotent_upsert(ledger_target: str | Path) -> None:
    ledger = Ledger.connect(ledger_target, clock=lambda: T0)
    ledger.record_rebalance(
        RID, dt.date(2024, 7, 5), ["wiki", "congress"], "abc", {"prices": "2024-07-05"}
    )
    later = Ledger.connect(ledger_target, clock=lambda: T1)
    later.record_rebalance(
        RID,
        "2024-07-05",
        ["congress", "wiki"],
        "abc",
        {"prices": "2024-07-05", "wiki": "2024-07-04"},
    )
    record = later.get_rebalance(RID)
    assert record is not None
    assert record["as_of_date"] == dt.date(2024, 7, 5)
    assert record["strategies"] == ["congress", "wiki"]
    assert record["input_partitions"] == {"prices": "2024-07-05", "wiki": "2024-07-04"}
    assert record["created_at"] == T0  # first recording time kept
    assert later.get_rebalance("rb-unknown") is None


def test_rebalances_on_lists_the_days_rebalances_oldest_first(ledger_target: str | Path) -> None:
    moments = iter([T1, T0, T0])
    ledger = Ledger.connect(ledger_target, clock=lambda: next(moments))
    ledger.record_rebalance("rb-late", dt.date(2024, 7, 5), ["wiki"], "h1")
    ledger.record_rebalance("rb-early", dt.date(2024, 7, 5), ["congress"], "h2")
    ledger.record_rebalance("rb-other-day", dt.date(2024, 7, 8), ["wiki"], "h3")
    assert ledger.rebalances_on(dt.date(2024, 7, 5)) == ["rb-early", "rb-late"]


def test_plan_round_trips_sells_first_and_is_recorded_once(ledger: Ledger) -> None:
    ledger.record_plan(RID, PLAN)
    ledger.record_plan(RID, PLAN)
    assert ledger.plan_for(RID) == PLAN


def test_replanned_order_keeps_its_first_values_and_new_orders_are_added(ledger: Ledger) -> None:
    ledger.record_plan(RID, PLAN[:2])
    changed = dataclasses.replace(PLAN[1], qty=3.0, notional=600.0)
    ledger.record_plan(RID, [changed, PLAN[2]])
    assert ledger.plan_for(RID) == PLAN


def test_plan_with_orders_of_another_rebalance_is_rejected(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="rb-other"):
        ledger.record_plan("rb-other", PLAN)


def test_failed_write_leaves_nothing_behind(ledger: Ledger) -> None:
    broken = dataclasses.replace(PLAN[2])
    object.__setattr__(broken, "side", "short")  # violates the table's CHECK constraint
    with pytest.raises(Exception, match=r"(?i)check"):
        ledger.record_plan(RID, [PLAN[0], PLAN[1], broken])
    assert ledger.plan_for(RID) == []


def test_record_order_stores_the_broker_view_once_per_change(ledger: Ledger) -> None:
    ledger.record_plan(RID, PLAN)
    accepted = at_broker(PLAN[0], status="accepted")

    assert ledger.record_order(accepted) is True
    assert ledger.record_order(accepted) is False  # same state: no new row, no new event
    assert ledger.record_order(at_broker(PLAN[0])) is True

    orders = ledger.orders_for(RID)
    assert len(orders) == 1
    row = orders.iloc[0]
    assert (row.client_order_id, row.broker_order_id, row.rebalance_id) == (
        PLAN[0].client_order_id,
        "bo-XOM",
        RID,
    )  # rebalance id taken from the plan
    assert (row.symbol, row.side, row.qty, row.status, row.filled_qty, row.filled_avg_price) == (
        "XOM",
        "sell",
        100.0,
        "filled",
        100.0,
        100.0,
    )
    assert (row.submitted_at, row.filled_at) == (T0, T1)
    events = ledger.order_events_for(PLAN[0].client_order_id)
    assert list(events.status) == ["accepted", "filled"]


def test_record_order_refuses_a_different_symbol_for_a_known_id(ledger: Ledger) -> None:
    ledger.record_order(at_broker(PLAN[0]), rebalance_id=RID)
    impostor = dataclasses.replace(at_broker(PLAN[0]), symbol="AAPL", status="new")
    with pytest.raises(ValueError, match="AAPL"):
        ledger.record_order(impostor)


def test_naive_timestamps_are_taken_as_utc(ledger: Ledger) -> None:
    naive = dataclasses.replace(
        at_broker(PLAN[0]), submitted_at=T0.replace(tzinfo=None), filled_at=T1.replace(tzinfo=None)
    )
    ledger.record_order(naive, rebalance_id=RID)
    assert ledger.record_order(at_broker(PLAN[0]), rebalance_id=RID) is False


def test_fills_are_recorded_once_per_order_and_time(ledger: Ledger) -> None:
    ledger.record_order(at_broker(PLAN[1]), rebalance_id=RID)
    ledger.record_fill(PLAN[1].client_order_id, 2.5, 200.0, T1)
    ledger.record_fill(PLAN[1].client_order_id, 2.5, 200.0, T1)
    fills = ledger.fills_for(RID)
    assert fills[["client_order_id", "symbol", "side", "qty", "price"]].values.tolist() == [
        [PLAN[1].client_order_id, "AAPL", "buy", 2.5, 200.0]
    ]
    assert fills.filled_at.tolist() == [T1]
    with pytest.raises(ValueError):
        ledger.record_fill(PLAN[1].client_order_id, 0.0, 200.0, T0)


def test_position_snapshot_replaces_the_same_time_and_source(ledger: Ledger) -> None:
    two = {
        "AAPL": Position("AAPL", 10.0, 150.0, 2_000.0),
        "MSFT": Position("MSFT", 5.0, 300.0, 2_000.0),
    }
    ledger.snapshot_positions(T0, two, source="broker")
    ledger.snapshot_positions(T0, two, source="broker")
    ledger.snapshot_positions(T0, {"AAPL": two["AAPL"]}, source="model")
    assert ledger.position_snapshot(T0, "broker").values.tolist() == [
        ["AAPL", 10.0, 200.0, 2_000.0],
        ["MSFT", 5.0, 400.0, 2_000.0],
    ]

    ledger.snapshot_positions(T0, {"AAPL": two["AAPL"]}, source="broker", prices={"AAPL": 201.0})
    assert ledger.position_snapshot(T0, "broker").values.tolist() == [
        ["AAPL", 10.0, 201.0, 2_000.0]
    ]
    assert len(ledger.position_snapshot(T0, "model")) == 1


def test_end_of_day_snapshot_marks_at_the_closes_and_records_cash(ledger: Ledger) -> None:
    held = {
        "AAPL": Position("AAPL", 10.0, 150.0, 1_990.0),
        "MSFT": Position("MSFT", 5.0, 300.0, 2_000.0),
    }
    ledger.snapshot_end_of_day(dt.date(2024, 7, 5), 500.0, held, {"AAPL": 201.0})
    ledger.snapshot_end_of_day(dt.date(2024, 7, 5), 600.0, held, {"AAPL": 202.0})  # replaces
    ledger.snapshot_end_of_day(dt.date(2024, 7, 8), 700.0, {}, {})
    positions, cash = ledger.end_of_day_history()
    midnight = dt.datetime(2024, 7, 5, tzinfo=dt.UTC)
    assert positions[["symbol", "qty", "price", "market_value"]].values.tolist() == [
        ["AAPL", 10.0, 202.0, 2_020.0],
        ["MSFT", 5.0, 400.0, 2_000.0],
    ]
    assert [pd.Timestamp(t) for t in positions["as_of"]] == [pd.Timestamp(midnight)] * 2
    assert cash.tolist() == [600.0, 700.0]
    before, cash_before = ledger.end_of_day_history(before=dt.date(2024, 7, 8))
    assert len(before) == 2 and cash_before.tolist() == [600.0]


def test_sleeve_book_history_keeps_the_last_rebalance_of_each_date(
    ledger_target: str | Path,
) -> None:
    moments = iter([T0, T1, T1 + dt.timedelta(days=3)])
    ledger = Ledger.connect(ledger_target, clock=lambda: next(moments))
    first, second = "rb-2024-07-05-aaaaaaaaaa", "rb-2024-07-05-bbbbbbbbbb"
    later = "rb-2024-07-08-cccccccccc"
    for rid, day in ((first, "2024-07-05"), (second, "2024-07-05"), (later, "2024-07-08")):
        ledger.record_rebalance(rid, day, ["wiki"], "hash")
        ledger.record_sleeve_books(rid, {"wiki": {rid[-1].upper(): 1.0}})
    books = ledger.sleeve_book_history()
    assert books.values.tolist() == [[second, "wiki", "B", 1.0], [later, "wiki", "C", 1.0]]
    assert ledger.sleeve_book_history(before=dt.date(2024, 7, 8)).rebalance_id.tolist() == [second]


def test_sleeve_books_are_replaced_per_rebalance(ledger: Ledger) -> None:
    ledger.record_sleeve_books(RID, {"wiki": {"AAPL": 0.5, "MSFT": 0.5}, "congress": {"XOM": 1}})
    ledger.record_sleeve_books(RID, {"wiki": {"AAPL": 1.0}})
    assert ledger.sleeve_books_for(RID).values.tolist() == [["wiki", "AAPL", 1.0]]


def test_trading_state_changes_need_a_valid_state_and_a_reason(ledger_target: str | Path) -> None:
    ledger = Ledger.connect(ledger_target, clock=lambda: T1)
    ledger.set_trading_state(TradingState.REDUCE_ONLY, "drawdown limit hit")
    detail = ledger.trading_state_detail()
    assert (detail.state, detail.reason, detail.updated_at) == (
        TradingState.REDUCE_ONLY,
        "drawdown limit hit",
        T1,
    )
    with pytest.raises(ValueError):
        ledger.set_trading_state("PAUSED", "no such state")
    with pytest.raises(ValueError):
        ledger.set_trading_state("HALTED", " ")
    assert ledger.get_trading_state() == "REDUCE_ONLY"


def test_duckdb_ledger_rejects_a_schema(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        Ledger.connect(tmp_path / "l.duckdb", schema="x")


def test_other_uri_schemes_are_refused_not_taken_for_file_names() -> None:
    with pytest.raises(ValueError, match=r"postgresql\+psycopg://bob:\*\*\*@db/pas"):
        Ledger.connect("postgresql+psycopg://bob:s3cret@db/pas")


def test_redact_uri_hides_passwords() -> None:
    assert redact_uri("postgresql://bob:s3cret@db:5432/pas?sslmode=require") == (
        "postgresql://bob:***@db:5432/pas?sslmode=require"
    )
    assert redact_uri("postgresql://db/pas?user=bob&password=s3cret") == (
        "postgresql://db/pas?user=bob&password=%2A%2A%2A"
    )


def test_unreachable_postgres_error_does_not_show_the_password() -> None:
    with pytest.raises(LedgerError) as raised:
        Ledger.connect(Secret("postgresql://bob:s3cret@127.0.0.1:1/pas?connect_timeout=2"))
    assert "s3cret" not in str(raised.value)
    assert "bob:***@127.0.0.1:1" in str(raised.value)


@pytest.mark.postgres
def test_postgres_ledger_in_a_named_schema_hides_the_password(postgres_uri: str) -> None:
    base = postgres_uri.split("?")[0].replace("postgres@", "postgres:s3cret@")  # trust auth
    schema = "pytest_ledger_schema_arg"
    try:
        ledger = Ledger.connect(base, schema=schema)
        ledger.record_plan(RID, PLAN)
        assert "s3cret" not in repr(ledger) and schema in repr(ledger)
        with psycopg.connect(base) as conn:
            count = conn.execute(f"SELECT COUNT(*) FROM {schema}.order_plans").fetchone()
        assert count == (3,)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
