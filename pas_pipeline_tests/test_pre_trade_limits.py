"""Pre-trade limits block orders; every expectation below is worked out by hand.

Account used throughout: equity USD 100,000; holds 100 AAA at 100 (10,000 = 10 %) and 200
BBB at 50 (10,000 = 10 %), so gross exposure is 20 %. Current prices equal the last closes:
AAA 100, BBB 50, CCC 25, DDD 10. Limits: 20,000 USD per order, 25 % per position, 60 %
gross, 50 % daily turnover, 5 % price deviation, market must be open.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from pas_pipeline.execution.limits import PreTradeLimits, check_orders
from pas_pipeline.execution.model import PlannedOrder, Position, TradingState
from pas_pipeline_tests.orders import planned_order

RID = "rb-2024-07-08-0123456789"
EQUITY = 100_000.0
POSITIONS = {
    "AAA": Position("AAA", 100.0, 90.0, 10_000.0),
    "BBB": Position("BBB", 200.0, 45.0, 10_000.0),
}
CLOSES = {"AAA": 100.0, "BBB": 50.0, "CCC": 25.0, "DDD": 10.0, "EEE": 100.0, "FFF": 10.0}
LIMITS = PreTradeLimits(
    max_order_notional=20_000.0,
    max_position_weight=0.25,
    max_gross_exposure=0.60,
    max_daily_turnover=0.50,
    max_price_deviation=0.05,
    require_market_open=True,
)


def order(symbol: str, side: str, qty: float, reference_price: float | None = None) -> PlannedOrder:
    price = CLOSES[symbol] if reference_price is None else reference_price
    return planned_order(RID, symbol, side, qty, price)


def check(
    plan: list[PlannedOrder],
    *,
    positions: dict = POSITIONS,  # never mutated
    prices: dict | None = None,
    closes: dict = CLOSES,  # never mutated
    limits: PreTradeLimits = LIMITS,
    market_open: bool = True,
    state: TradingState | str = TradingState.ACTIVE,
    traded_today: float = 0.0,
) -> tuple[list[str], dict[str, str]]:
    """(symbols+sides allowed, {symbol-side: reason} blocked)."""
    allowed, blocked = check_orders(
        plan,
        positions,
        dict(CLOSES) if prices is None else prices,
        closes,
        EQUITY,
        limits,
        market_open,
        state,
        traded_today_notional=traded_today,
    )
    return (
        [f"{o.symbol}-{o.side}" for o in allowed],
        {f"{o.symbol}-{o.side}": reason for o, reason in blocked},
    )


def test_a_plan_within_every_limit_passes_whole() -> None:
    # sell 50 AAA = 5,000; buy 400 CCC = 10,000 (10 %); buy 100 BBB = 5,000 (BBB 300 × 50 =
    # 15 %). Gross after = 5,000 + 15,000 + 10,000 = 30 %; turnover 20,000 = 20 %.
    plan = [order("AAA", "sell", 50), order("BBB", "buy", 100), order("CCC", "buy", 400)]
    allowed, blocked = check(plan)
    assert allowed == ["AAA-sell", "BBB-buy", "CCC-buy"]
    assert blocked == {}


def test_max_order_notional_is_inclusive() -> None:
    # 800 CCC × 25 = 20,000 = the limit (allowed); 2,001 DDD × 10 = 20,010 > 20,000
    assert check([order("CCC", "buy", 800)]) == (["CCC-buy"], {})
    allowed, blocked = check([order("DDD", "buy", 2_001)])
    assert allowed == []
    assert blocked == {"DDD-buy": "notional 20010 USD exceeds the limit of 20000 USD"}


def test_max_position_weight_counts_what_is_already_held() -> None:
    # BBB holds 200; +300 → 500 × 50 = 25,000 = 25 % (allowed, inclusive)
    assert check([order("BBB", "buy", 300)]) == (["BBB-buy"], {})
    # +302 → 502 × 50 = 25,100 = 25.1 % > 25 %
    allowed, blocked = check([order("BBB", "buy", 302)])
    assert allowed == []
    assert blocked == {"BBB-buy": "BBB would be 25.1 % of equity (limit 25 %)"}


def test_a_sell_that_reduces_an_oversized_position_is_never_blocked_by_weight() -> None:
    positions = {**POSITIONS, "EEE": Position("EEE", 400.0, 100.0, 40_000.0)}  # 40 % > 25 %
    # gross is 60 % (at the limit); selling 100 EEE leaves it at 30 %: still over, but lower
    allowed, blocked = check([order("EEE", "sell", 100)], positions=positions)
    assert (allowed, blocked) == (["EEE-sell"], {})


def test_gross_exposure_accumulates_over_allowed_buys() -> None:
    # gross 20 % → +800 CCC (20,000) 40 % → +1,900 DDD (19,000) 59 % → +200 BBB (10,000) 69 %
    plan = [order("CCC", "buy", 800), order("DDD", "buy", 1_900), order("BBB", "buy", 200)]
    allowed, blocked = check(plan)
    assert allowed == ["CCC-buy", "DDD-buy"]  # turnover 39,000 = 39 % ≤ 50 %
    assert blocked == {"BBB-buy": "gross exposure would be 69 % of equity (limit 60 %)"}


def test_sells_are_examined_first_and_make_room_for_buys() -> None:
    # Listed last, the sell of 100 AAA (10,000) is examined first: gross 20 % → 10 %, then
    # CCC 30 %, DDD 49 %, BBB 59 % ≤ 60 %. Turnover 59 %, so the turnover limit is raised.
    plan = [
        order("CCC", "buy", 800),
        order("DDD", "buy", 1_900),
        order("BBB", "buy", 200),
        order("AAA", "sell", 100),
    ]
    limits = dataclasses.replace(LIMITS, max_daily_turnover=1.0)
    allowed, blocked = check(plan, limits=limits)
    assert allowed == ["CCC-buy", "DDD-buy", "BBB-buy", "AAA-sell"]  # the plan's order
    assert blocked == {}


def test_daily_turnover_blocks_the_whole_plan() -> None:
    # 10,000 + 20,000 + 19,000 = 49,000 = 49 % ≤ 50 %
    plan = [order("AAA", "sell", 100), order("CCC", "buy", 800), order("DDD", "buy", 1_900)]
    assert check(plan)[0] == ["AAA-sell", "CCC-buy", "DDD-buy"]
    # plus 2,000 already traded today: 51,000 = 51 % > 50 % → nothing is traded
    allowed, blocked = check(plan, traded_today=2_000.0)
    assert allowed == []
    reason = "daily turnover would be 51 % of equity (limit 50 %); the whole plan is held back"
    assert blocked == {"AAA-sell": reason, "CCC-buy": reason, "DDD-buy": reason}


def test_orders_blocked_for_another_reason_do_not_count_toward_turnover() -> None:
    # 2,001 DDD (20,010) is blocked by the order limit, so turnover is 20,000 + 10,000 = 30 %
    plan = [order("CCC", "buy", 800), order("DDD", "buy", 2_001), order("AAA", "sell", 100)]
    allowed, blocked = check(plan, traded_today=15_000.0)  # 45 % in total
    assert allowed == ["CCC-buy", "AAA-sell"]
    assert list(blocked) == ["DDD-buy"]


def test_price_deviation_from_last_close() -> None:
    # CCC now 26.25 vs close 25: 1.25 / 25 = 5 % (allowed); DDD now 10.6 vs 10: 6 % > 5 %
    prices = {**CLOSES, "CCC": 26.25, "DDD": 10.6}
    plan = [order("CCC", "buy", 100), order("DDD", "buy", 100)]
    allowed, blocked = check(plan, prices=prices)
    assert allowed == ["CCC-buy"]
    assert blocked == {"DDD-buy": "price 10.6 is 6 % from the last close 10 (limit 5 %)"}


def test_a_plan_priced_at_a_stale_close_is_blocked() -> None:
    # reference price 20 (an old close) vs last close 25: 20 % away
    allowed, blocked = check([order("CCC", "buy", 100, reference_price=20.0)])
    assert allowed == []
    assert blocked == {"CCC-buy": "reference price 20 is 20 % from the last close 25 (limit 5 %)"}


def test_missing_prices_block_the_order() -> None:
    prices = {s: p for s, p in CLOSES.items() if s != "CCC"}
    closes = {**CLOSES, "DDD": math.nan}
    plan = [order("CCC", "buy", 10), order("DDD", "buy", 10), order("AAA", "sell", 10)]
    allowed, blocked = check(plan, prices=prices, closes=closes)
    assert allowed == ["AAA-sell"]
    assert blocked == {
        "CCC-buy": "no usable current price for CCC",
        "DDD-buy": "no usable last close for DDD",
    }


def test_selling_more_than_held_is_blocked_in_any_state() -> None:
    allowed, blocked = check([order("AAA", "sell", 101), order("CCC", "sell", 1)])
    assert allowed == []
    assert blocked == {
        "AAA-sell": "sell of 101 AAA exceeds the 100 held (no short selling)",
        "CCC-sell": "sell of 1 CCC exceeds the 0 held (no short selling)",
    }


def test_reduce_only_allows_only_orders_that_shrink_a_position() -> None:
    positions = {**POSITIONS, "FFF": Position("FFF", -100.0, 10.0, -1_000.0)}  # a short
    plan = [
        order("AAA", "sell", 50),  # 100 → 50: reduces
        order("BBB", "sell", 200),  # 200 → 0: full exit reduces
        order("CCC", "buy", 100),  # 0 → 100: opens
        order("FFF", "buy", 60),  # −100 → −40: covers part of the short
        order("DDD", "buy", 1),  # 0 → 1: opens
    ]
    allowed, blocked = check(plan, positions=positions, state="REDUCE_ONLY")
    assert allowed == ["AAA-sell", "BBB-sell", "FFF-buy"]
    assert blocked["CCC-buy"] == (
        "trading is REDUCE_ONLY and this buy of 100 CCC does not reduce the position of 0"
    )
    assert list(blocked) == ["CCC-buy", "DDD-buy"]
    # buying 150 FFF flips −100 into +50: not a reduction
    _, flipped = check([order("FFF", "buy", 150)], positions=positions, state="REDUCE_ONLY")
    assert "does not reduce the position of -100" in flipped["FFF-buy"]


def test_reduce_only_oversell_gives_every_reason() -> None:
    allowed, blocked = check([order("AAA", "sell", 150)], state=TradingState.REDUCE_ONLY)
    assert allowed == []
    assert blocked["AAA-sell"] == (
        "trading is REDUCE_ONLY and this sell of 150 AAA does not reduce the position of "
        "100; sell of 150 AAA exceeds the 100 held (no short selling)"
    )


def test_halted_blocks_everything_even_sells() -> None:
    plan = [order("AAA", "sell", 10), order("CCC", "buy", 10)]
    allowed, blocked = check(plan, state=TradingState.HALTED)
    assert allowed == []
    assert blocked == {"AAA-sell": "trading is HALTED", "CCC-buy": "trading is HALTED"}


def test_closed_market_blocks_everything_unless_not_required() -> None:
    plan = [order("AAA", "sell", 10), order("CCC", "buy", 10)]
    allowed, blocked = check(plan, market_open=False)
    assert allowed == [] and set(blocked.values()) == {"market is closed"}
    limits = dataclasses.replace(LIMITS, require_market_open=False)
    assert check(plan, market_open=False, limits=limits) == (["AAA-sell", "CCC-buy"], {})


def test_infinite_limits_disable_checks() -> None:
    off = PreTradeLimits(math.inf, math.inf, math.inf, math.inf, math.inf, False)
    # 10,000 DDD = 100,000 USD (100 % of equity, 120 % gross), price 50 % off the close
    allowed, blocked = check(
        [order("DDD", "buy", 10_000, reference_price=15.0)],
        prices={**CLOSES, "DDD": 15.0},
        limits=off,
        market_open=False,
    )
    assert (allowed, blocked) == (["DDD-buy"], {})


def test_bad_inputs_raise() -> None:
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="max_order_notional"):
            dataclasses.replace(LIMITS, max_order_notional=bad)
    with pytest.raises(ValueError, match="equity"):
        check_orders([], POSITIONS, CLOSES, CLOSES, 0.0, LIMITS, True, "ACTIVE")
    with pytest.raises(ValueError, match="held symbol BBB"):
        check_orders([], POSITIONS, {"AAA": 100.0}, CLOSES, EQUITY, LIMITS, True, "ACTIVE")
    with pytest.raises(ValueError):
        check_orders([], POSITIONS, CLOSES, CLOSES, EQUITY, LIMITS, True, "PAUSED")


def test_positions_may_be_plain_quantities() -> None:
    allowed, _ = check([order("BBB", "buy", 300)], positions={"AAA": 100.0, "BBB": 200.0})
    assert allowed == ["BBB-buy"]
