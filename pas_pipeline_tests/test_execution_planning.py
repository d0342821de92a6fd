"""plan_orders: hand-worked examples on an account of 100,000 USD equity."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pas_pipeline.execution.ids import client_order_id
from pas_pipeline.execution.model import OrderLimits, PlannedOrder, Position
from pas_pipeline.execution.planning import plan_orders

EQUITY = 100_000.0
RID = "rb-2024-07-05-0123456789"
DEFAULTS = OrderLimits()  # band 0.002, min notional 1 USD, fractional to 9 decimals


def plan(
    targets: dict[str, float],
    held: dict[str, float],
    prices: dict[str, float],
    limits: OrderLimits = DEFAULTS,
) -> list[PlannedOrder]:
    return plan_orders(
        pd.Series(targets, dtype=float),
        pd.Series(held, dtype=float),
        pd.Series(prices, dtype=float),
        EQUITY,
        limits,
        RID,
    )


def legs(orders: list[PlannedOrder]) -> list[tuple[str, str, float]]:
    return [(o.side, o.symbol, o.qty) for o in orders]


def test_rebalance_example_with_exact_quantities() -> None:
    # AAPL 100 sh × 200 = 20,000 (w 0.20) → target 0.10 = 10,000 = 50 sh: sell 50
    # MSFT  50 sh × 400 = 20,000 (w 0.20) → target 0.30 = 30,000 = 75 sh: buy 25
    # XOM  100 sh × 100 = 10,000 (w 0.10) → not in target: sell all 100
    # NVDA not held, price 125             → target 0.25 = 25,000 = 200 sh: buy 200
    positions = {
        "AAPL": Position("AAPL", qty=100, avg_entry_price=150.0, market_value=20_000.0),
        "MSFT": Position("MSFT", qty=50, avg_entry_price=300.0, market_value=20_000.0),
        "XOM": Position("XOM", qty=100, avg_entry_price=90.0, market_value=10_000.0),
    }
    prices = pd.Series({"AAPL": 200.0, "MSFT": 400.0, "NVDA": 125.0, "XOM": 100.0})
    targets = pd.Series({"AAPL": 0.10, "MSFT": 0.30, "NVDA": 0.25})

    orders = plan_orders(targets, positions, prices, EQUITY, DEFAULTS, RID)

    assert orders == [
        PlannedOrder(
            client_order_id(RID, "AAPL", "sell"),
            RID,
            "AAPL",
            "sell",
            50.0,
            200.0,
            10_000.0,
            current_weight=0.20,
            target_weight=0.10,
        ),
        PlannedOrder(
            client_order_id(RID, "XOM", "sell"),
            RID,
            "XOM",
            "sell",
            100.0,
            100.0,
            10_000.0,
            current_weight=0.10,
            target_weight=0.0,
        ),
        PlannedOrder(
            client_order_id(RID, "MSFT", "buy"),
            RID,
            "MSFT",
            "buy",
            25.0,
            400.0,
            10_000.0,
            current_weight=0.20,
            target_weight=0.30,
        ),
        PlannedOrder(
            client_order_id(RID, "NVDA", "buy"),
            RID,
            "NVDA",
            "buy",
            200.0,
            125.0,
            25_000.0,
            current_weight=0.0,
            target_weight=0.25,
        ),
    ]


def test_positions_as_positions_or_quantities_give_the_same_plan() -> None:
    prices = {"AAPL": 200.0, "NVDA": 125.0}
    as_series = plan({"NVDA": 0.25}, {"AAPL": 100}, prices)
    as_positions = plan_orders(
        pd.Series({"NVDA": 0.25}),
        {"AAPL": Position("AAPL", 100, 1.0, 20_000.0)},
        pd.Series(prices),
        EQUITY,
        DEFAULTS,
        RID,
    )
    as_quantities = plan_orders(
        pd.Series({"NVDA": 0.25}), {"AAPL": 100.0}, pd.Series(prices), EQUITY, DEFAULTS, RID
    )
    assert as_series == as_positions == as_quantities
    assert legs(as_series) == [("sell", "AAPL", 100.0), ("buy", "NVDA", 200.0)]


def test_fractional_quantity_is_truncated_to_nine_decimals() -> None:
    # 0.0123 × 100,000 = 1,230 USD / 333.33 = 3.690036900369… sh → 3.690036900
    (order,) = plan({"ABC": 0.0123}, {}, {"ABC": 333.33})
    assert order.qty == 3.6900369
    assert order.notional == pytest.approx(3.6900369 * 333.33)
    assert order.notional <= 1_230.0


def test_whole_shares_round_toward_zero_so_a_buy_never_overspends() -> None:
    # 1,230 USD / 333.33 = 3.69 sh → 3 sh, notional 999.99 (not 4 sh = 1,333.32)
    (order,) = plan({"ABC": 0.0123}, {}, {"ABC": 333.33}, OrderLimits(fractional=False))
    assert (order.side, order.qty, order.notional) == ("buy", 3.0, 999.99)


def test_partial_sell_rounds_toward_zero_so_it_never_sells_too_much() -> None:
    # 30 sh × 30 = 900 (w 0.009) → target 0.001 = 100 USD = 3.33… sh: sell 26.66… sh
    whole = plan({"XYZ": 0.001}, {"XYZ": 30}, {"XYZ": 30.0}, OrderLimits(fractional=False))
    fractional = plan({"XYZ": 0.001}, {"XYZ": 30}, {"XYZ": 30.0})
    assert legs(whole) == [("sell", "XYZ", 26.0)]
    assert legs(fractional) == [("sell", "XYZ", 26.666666666)]


def test_difference_below_the_no_trade_band_is_left_alone() -> None:
    # AAPL 50 sh × 200 = 10,000 (w 0.1000); targets 0.1015 / 0.0985 differ by 0.0015 < 0.002
    assert plan({"AAPL": 0.1015}, {"AAPL": 50}, {"AAPL": 200.0}) == []
    assert plan({"AAPL": 0.0985}, {"AAPL": 50}, {"AAPL": 200.0}) == []


def test_difference_at_or_above_the_band_trades() -> None:
    # 0.102 − 0.100 = 0.002 (exactly the band, not below it): 200 USD / 200 = 1 sh
    assert legs(plan({"AAPL": 0.102}, {"AAPL": 50}, {"AAPL": 200.0})) == [("buy", "AAPL", 1.0)]
    # 0.0975 − 0.100 = −0.0025: 250 USD / 200 = 1.25 sh
    assert legs(plan({"AAPL": 0.0975}, {"AAPL": 50}, {"AAPL": 200.0})) == [("sell", "AAPL", 1.25)]


def test_orders_below_the_minimum_notional_are_dropped() -> None:
    no_band = OrderLimits(no_trade_band=0.0, min_order_notional=1.0)
    # 0.000009 × 100,000 = 0.90 USD < 1 USD: dropped; 0.00001 → 1.00 USD: kept (0.1 sh at 10)
    assert plan({"PENNY": 0.000009}, {}, {"PENNY": 10.0}, no_band) == []
    (order,) = plan({"PENNY": 0.00001}, {}, {"PENNY": 10.0}, no_band)
    assert (order.qty, order.notional) == (0.1, 1.0)


def test_whole_share_order_rounded_to_zero_is_dropped() -> None:
    # 0.003 × 100,000 = 300 USD of a 400 USD share: 0.75 sh → 0 whole shares
    assert plan({"MSFT": 0.003}, {}, {"MSFT": 400.0}, OrderLimits(fractional=False)) == []


def test_full_exit_sells_everything_even_inside_band_and_below_min_notional() -> None:
    # 0.004 sh × 100 = 0.40 USD (w 0.000004): tiny, but the target is 0, so sell it all
    assert legs(plan({}, {"XOM": 0.004}, {"XOM": 100.0})) == [("sell", "XOM", 0.004)]
    # a target listed as 0 is the same as an absent one
    assert legs(plan({"XOM": 0.0}, {"XOM": 0.004}, {"XOM": 100.0})) == [("sell", "XOM", 0.004)]


def test_full_exit_sells_a_fractional_holding_whole_even_in_whole_share_mode() -> None:
    exits = plan({}, {"XOM": 2.5}, {"XOM": 100.0}, OrderLimits(fractional=False))
    assert legs(exits) == [("sell", "XOM", 2.5)]


def test_sells_come_first_then_buys_each_sorted_by_symbol() -> None:
    prices = {s: 100.0 for s in ("AA", "BB", "CC", "DD", "EE")}
    held = {"EE": 100, "BB": 100, "CC": 100}  # 10,000 USD each (w 0.10)
    orders = plan({"DD": 0.2, "AA": 0.2, "CC": 0.05}, held, prices)
    assert legs(orders) == [
        ("sell", "BB", 100.0),
        ("sell", "CC", 50.0),
        ("sell", "EE", 100.0),
        ("buy", "AA", 200.0),
        ("buy", "DD", 200.0),
    ]


def test_client_order_ids_follow_rebalance_symbol_and_side() -> None:
    orders = plan({"NVDA": 0.25}, {"AAPL": 100}, {"AAPL": 200.0, "NVDA": 125.0})
    assert [o.client_order_id for o in orders] == [
        client_order_id(RID, "AAPL", "sell"),
        client_order_id(RID, "NVDA", "buy"),
    ]
    assert all(o.rebalance_id == RID for o in orders)


def test_weights_summing_to_one_within_tolerance_are_accepted() -> None:
    # sum 1 + 5e-10 ≤ 1 + 1e-9 is accepted; the 0.00005 USD the buys would cost beyond the
    # 100,000 cash is taken off pro rata (factor 100,000 / 100,000.00005), then truncated
    orders = plan({"A": 0.5, "B": 0.5 + 5e-10}, {}, {"A": 100.0, "B": 100.0})
    assert legs(orders) == [("buy", "A", 499.99999975), ("buy", "B", 500.000000249)]
    assert sum(o.notional for o in orders) <= 100_000.0


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"A": 0.6, "B": 0.5}, "sum to 1.1"),
        ({"A": -0.1}, "A"),
        ({"A": math.nan}, "A"),
        ({"A": math.inf}, "A"),
    ],
)
def test_invalid_target_weights_are_rejected(targets: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan(targets, {}, {"A": 100.0, "B": 100.0})


def test_duplicate_target_symbols_are_rejected() -> None:
    targets = pd.Series([0.1, 0.2], index=["A", "A"])
    with pytest.raises(ValueError, match="more than once"):
        plan_orders(targets, {}, pd.Series({"A": 1.0}), EQUITY, DEFAULTS, RID)


@pytest.mark.parametrize("prices", [{}, {"NVDA": 0.0}, {"NVDA": -5.0}, {"NVDA": math.nan}])
def test_missing_or_non_positive_price_of_a_traded_symbol_names_it(
    prices: dict[str, float],
) -> None:
    with pytest.raises(ValueError, match="NVDA"):
        plan({"NVDA": 0.25}, {}, prices)


def test_held_symbol_without_price_is_an_error_even_when_it_is_sold_out() -> None:
    with pytest.raises(ValueError, match="XOM"):
        plan({}, {"XOM": 10}, {})


def test_price_is_not_needed_for_a_zero_target_that_is_not_held() -> None:
    assert plan({"GONE": 0.0, "A": 0.1}, {}, {"A": 100.0}) == plan({"A": 0.1}, {}, {"A": 100.0})


@pytest.mark.parametrize("equity", [0.0, -1.0, math.nan])
def test_equity_must_be_positive(equity: float) -> None:
    with pytest.raises(ValueError, match="equity"):
        plan_orders(pd.Series({"A": 0.1}), {}, pd.Series({"A": 1.0}), equity, DEFAULTS, RID)


def test_buys_never_cost_more_than_the_cash_left_after_the_sells():
    # equity 100,000, no cash: A (501.9 sh) stays inside the band above its 0.5 target, so
    # selling C for 10,000 leaves 10,000 to spend, not the 10,190 B's target asks for
    positions = {"A": 501.9, "B": 398.1, "C": 100.0}
    prices = pd.Series({"A": 100.0, "B": 100.0, "C": 100.0})
    targets = pd.Series({"A": 0.5, "B": 0.5})
    plan = plan_orders(targets, positions, prices, 100_000.0, OrderLimits(), "rb-cash")
    buys = [o for o in plan if o.side == "buy"]
    sells = [o for o in plan if o.side == "sell"]
    assert [(o.symbol, o.qty) for o in sells] == [("C", 100.0)]
    assert [o.symbol for o in buys] == ["B"]
    assert buys[0].qty == pytest.approx(100.0, abs=1e-9)  # 101.9 scaled by 10,000 / 10,190
    assert sum(o.notional for o in buys) <= sum(o.notional for o in sells) + 1e-9
