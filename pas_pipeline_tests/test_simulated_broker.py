"""SimulatedBroker: immediate fills at the reference price, state kept in a DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pas_pipeline.execution.broker import Broker, BrokerError, DuplicateClientOrderIdError
from pas_pipeline.execution.model import Account, PlannedOrder, Position
from pas_pipeline.execution.simulated import SimulatedBroker


def order(symbol: str, side: str, qty: float, price: float, cid: str | None = None) -> PlannedOrder:
    return PlannedOrder(
        client_order_id=cid or f"pas-test-{symbol}-{side}-{qty}@{price}",
        rebalance_id="rb-test",
        symbol=symbol,
        side=side,
        qty=qty,
        reference_price=price,
        notional=qty * price,
        current_weight=0.0,
        target_weight=0.0,
    )


@pytest.fixture
def broker(tmp_path: Path) -> SimulatedBroker:
    return SimulatedBroker(tmp_path / "broker.duckdb", initial_cash=100_000.0)


def test_new_account_holds_only_the_initial_cash(broker: SimulatedBroker) -> None:
    assert broker.get_account() == Account(equity=100_000.0, cash=100_000.0)
    assert broker.get_positions() == {}
    assert broker.list_orders() == []
    assert broker.is_paper is True
    assert isinstance(broker, Broker)


def test_buy_fills_completely_at_the_reference_price(broker: SimulatedBroker) -> None:
    filled = broker.submit_order(order("AAPL", "buy", 10, 150.0, cid="cid-1"))

    assert (filled.client_order_id, filled.symbol, filled.side, filled.qty) == (
        "cid-1",
        "AAPL",
        "buy",
        10.0,
    )
    assert (filled.status, filled.filled_qty, filled.filled_avg_price) == ("filled", 10.0, 150.0)
    assert filled.is_filled and filled.filled_at == filled.submitted_at
    assert broker.get_order_by_client_id("cid-1") == filled
    # cash 100,000 − 10 × 150 = 98,500; equity unchanged at the fill price
    assert broker.get_account() == Account(equity=100_000.0, cash=98_500.0)
    assert broker.get_positions() == {"AAPL": Position("AAPL", 10.0, 150.0, 1_500.0)}


def test_sell_raises_cash_and_keeps_the_average_entry_price(broker: SimulatedBroker) -> None:
    broker.submit_order(order("AAPL", "buy", 10, 150.0))
    broker.submit_order(order("AAPL", "buy", 10, 170.0))  # average entry (1500 + 1700) / 20
    broker.submit_order(order("AAPL", "sell", 5, 180.0))
    # cash 100,000 − 1,500 − 1,700 + 900 = 97,700; 15 sh marked at the last fill 180 = 2,700
    assert broker.get_account() == Account(equity=100_400.0, cash=97_700.0)
    assert broker.get_positions() == {"AAPL": Position("AAPL", 15.0, 160.0, 2_700.0)}


def test_selling_the_whole_fractional_position_removes_it_exactly(broker: SimulatedBroker) -> None:
    broker.submit_order(order("AAPL", "buy", 0.1, 100.0))
    broker.submit_order(order("AAPL", "buy", 0.2, 100.0))
    broker.submit_order(order("AAPL", "sell", 0.3, 100.0))  # 0.1 + 0.2 != 0.3 in floats
    assert broker.get_positions() == {}
    assert broker.get_account() == Account(equity=100_000.0, cash=100_000.0)


def test_selling_more_than_held_is_rejected_and_changes_nothing(broker: SimulatedBroker) -> None:
    broker.submit_order(order("AAPL", "buy", 10, 150.0))
    before = (broker.get_account(), broker.get_positions(), broker.list_orders())
    with pytest.raises(BrokerError, match="insufficient qty"):
        broker.submit_order(order("AAPL", "sell", 10.5, 150.0, cid="too-many"))
    with pytest.raises(BrokerError, match="insufficient qty"):
        broker.submit_order(order("MSFT", "sell", 1, 400.0))
    assert (broker.get_account(), broker.get_positions(), broker.list_orders()) == before
    assert broker.get_order_by_client_id("too-many") is None


def test_buying_for_more_than_the_cash_is_rejected(broker: SimulatedBroker) -> None:
    with pytest.raises(BrokerError, match="insufficient buying power"):
        broker.submit_order(order("AAPL", "buy", 1_000, 100.01))  # 100,010 > 100,000
    assert broker.get_account().cash == 100_000.0
    broker.submit_order(order("AAPL", "buy", 1_000, 100.0))  # exactly all the cash
    assert broker.get_account() == Account(equity=100_000.0, cash=0.0)


def test_duplicate_client_order_id_is_rejected_and_changes_nothing(broker: SimulatedBroker) -> None:
    first = broker.submit_order(order("AAPL", "buy", 10, 150.0, cid="same-id"))
    with pytest.raises(DuplicateClientOrderIdError) as raised:
        broker.submit_order(order("MSFT", "buy", 1, 400.0, cid="same-id"))
    assert raised.value.client_order_id == "same-id"
    assert broker.list_orders() == [first]
    assert broker.get_account().cash == 98_500.0
    assert set(broker.get_positions()) == {"AAPL"}


def test_quantities_with_more_than_nine_decimals_are_rejected(broker: SimulatedBroker) -> None:
    with pytest.raises(BrokerError, match="more than 9 decimals"):
        broker.submit_order(order("AAPL", "buy", 0.1234567891, 100.0))


def test_fill_price_is_kept_to_nine_decimals(broker: SimulatedBroker) -> None:
    filled = broker.submit_order(order("AAPL", "buy", 1, 187.529998779296875))  # float32 close
    assert filled.filled_avg_price == 187.529998779
    assert broker.get_order_by_client_id(filled.client_order_id) == filled


def test_mark_to_market_revalues_positions(broker: SimulatedBroker) -> None:
    broker.submit_order(order("AAPL", "buy", 10, 150.0))
    broker.mark_to_market({"AAPL": 160.0, "NOT_HELD": 5.0})
    assert broker.get_positions()["AAPL"].market_value == 1_600.0
    assert broker.get_account() == Account(equity=100_100.0, cash=98_500.0)


def test_list_orders_filters_by_client_order_id_prefix(broker: SimulatedBroker) -> None:
    broker.submit_order(order("AAPL", "buy", 1, 10.0, cid="pas-aaa-AAPL-buy"))
    broker.submit_order(order("MSFT", "buy", 1, 10.0, cid="pas-bbb-MSFT-buy"))
    assert [o.client_order_id for o in broker.list_orders("pas-aaa-")] == ["pas-aaa-AAPL-buy"]
    assert len(broker.list_orders()) == 2
    assert broker.list_orders("pas-%") == []  # a prefix, not a LIKE pattern


def test_state_survives_a_new_instance_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "broker.duckdb"
    first = SimulatedBroker(path, initial_cash=100_000.0)
    placed = first.submit_order(order("AAPL", "buy", 10, 150.0, cid="cid-1"))

    reopened = SimulatedBroker(path, initial_cash=5.0)  # initial cash applies only once

    assert reopened.get_account() == Account(equity=100_000.0, cash=98_500.0)
    assert reopened.get_order_by_client_id("cid-1") == placed
    with pytest.raises(DuplicateClientOrderIdError):
        reopened.submit_order(order("AAPL", "buy", 10, 150.0, cid="cid-1"))


def test_state_is_shared_with_another_process(tmp_path: Path) -> None:
    path = tmp_path / "broker.duckdb"
    broker = SimulatedBroker(path, initial_cash=100_000.0)
    broker.submit_order(order("AAPL", "buy", 10, 150.0, cid="from-parent"))
    broker.close()  # an open broker holds the DuckDB file; close() hands it to others
    script = textwrap.dedent(f"""
        from pas_pipeline.execution.model import PlannedOrder
        from pas_pipeline.execution.simulated import SimulatedBroker
        broker = SimulatedBroker({str(path)!r})
        assert broker.get_order_by_client_id("from-parent") is not None
        broker.submit_order(PlannedOrder("from-child", "rb", "MSFT", "buy", 2.0, 400.0, 800.0,
                                         0.0, 0.0))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)

    assert broker.get_order_by_client_id("from-child") is not None
    assert broker.get_account().cash == 100_000.0 - 1_500.0 - 800.0
