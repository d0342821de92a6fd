"""Pre-trade limits: a pure check that **blocks** planned orders (never only warns).

:func:`check_orders` splits a plan into ``allowed`` and ``blocked`` orders (with a reason).
Orders are examined in execution order (sells first, then buys, plan order within each
side); running positions and gross exposure include the allowed orders examined before.

Global blocks (every order):

* trading state ``HALTED`` → ``trading is HALTED``;
* ``require_market_open`` and the market is closed → ``market is closed``;
* the turnover of the orders that pass all per-order checks, plus ``traded_today_notional``,
  above ``max_daily_turnover`` × equity → every one of them is blocked (a runaway plan does
  not trade at all, rather than trading its first part).

Per order, at the current ``prices[symbol]`` (USD):

* a price and a last close must exist, be finite and > 0;
* ``|price − last_close| / last_close`` and ``|reference_price − last_close| / last_close``
  must be ≤ ``max_price_deviation`` (a bad quote, or a plan priced at a stale close);
* trading state ``REDUCE_ONLY`` → only orders that reduce an existing position: a sell of at
  most the held long quantity, or a buy of at most the held short quantity;
* a sell may not exceed the held quantity (no short selling, in any state);
* ``qty × price`` ≤ ``max_order_notional`` USD;
* a buy may not leave ``|position after| × price / equity`` above ``max_position_weight``;
* a buy may not leave gross exposure ``Σ |qty × price| / equity`` above
  ``max_gross_exposure``.

Sells that reduce a long position are never blocked by weight or exposure: they lower risk.
Bounds are inclusive (a value equal to its limit passes). Arithmetic is ``Decimal`` on each
input's shortest repr, so hand-worked numbers are exact. Limits are fractions of equity,
except ``max_order_notional`` (USD); ``math.inf`` disables a limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pas_pipeline.execution.model import PlannedOrder, Position, TradingState


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _positive_limit(value: float, name: str) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or math.isnan(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a number > 0 (math.inf for no limit), got {value!r}")


@dataclass(frozen=True)
class PreTradeLimits:
    """Hard limits checked before any order is sent.

    ``max_order_notional``: USD per order. ``max_position_weight``: largest weight
    (fraction of equity) a buy may leave in one symbol. ``max_gross_exposure``: largest
    Σ |position value| / equity after buys. ``max_daily_turnover``: largest (notional traded
    today + notional of the plan) / equity. ``max_price_deviation``: largest relative
    distance of the current price and of the plan's reference price from the last close.
    ``require_market_open``: block everything while the market is closed.
    """

    max_order_notional: float
    max_position_weight: float
    max_gross_exposure: float
    max_daily_turnover: float
    max_price_deviation: float
    require_market_open: bool = True

    def __post_init__(self) -> None:
        for name in (
            "max_order_notional",
            "max_position_weight",
            "max_gross_exposure",
            "max_daily_turnover",
            "max_price_deviation",
        ):
            _positive_limit(getattr(self, name), name)
        if not isinstance(self.require_market_open, bool):
            raise ValueError("require_market_open must be a bool")


def _price(prices: Mapping[str, Any], symbol: str) -> Decimal | None:
    value = prices.get(symbol)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return _dec(number) if math.isfinite(number) and number > 0 else None


def _held(positions: Mapping[str, Position | float]) -> dict[str, Decimal]:
    held: dict[str, Decimal] = {}
    for symbol, pos in positions.items():
        qty = float(pos.qty if isinstance(pos, Position) else pos)
        if not math.isfinite(qty):
            raise ValueError(f"{symbol}: held quantity is not finite ({qty!r})")
        if qty != 0:
            held[str(symbol)] = _dec(qty)
    return held


def _pct(value: Decimal) -> str:
    return f"{float(value) * 100:.6g} %"


def _num(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 20010.00 → 20010, 1E+2 → 100."""
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def check_orders(
    plan: Sequence[PlannedOrder],
    positions: Mapping[str, Position | float],
    prices: Mapping[str, float],
    last_close: Mapping[str, float],
    equity: float,
    limits: PreTradeLimits,
    market_open: bool,
    trading_state: TradingState | str,
    traded_today_notional: float = 0.0,
) -> tuple[list[PlannedOrder], list[tuple[PlannedOrder, str]]]:
    """``(allowed, blocked)`` for ``plan``; see the module doc for the rules.

    ``positions``: held shares by symbol (Position or qty; negative = short). ``prices``:
    current USD prices; ``last_close``: last session close (USD); ``equity``: account equity
    (USD, > 0); ``traded_today_notional``: USD already traded today (counts toward turnover).
    Both lists keep the plan's order; a blocked order's reason lists every rule it breaks.
    Raises ValueError when ``equity`` is not a positive finite number, or a held symbol has
    no usable price (exposure could not be computed).
    """
    if not (isinstance(equity, int | float) and math.isfinite(equity) and equity > 0):
        raise ValueError(f"equity must be a positive finite USD amount, got {equity!r}")
    if not (math.isfinite(traded_today_notional) and traded_today_notional >= 0):
        raise ValueError("traded_today_notional must be finite and >= 0")
    state = TradingState(trading_state)
    plan = list(plan)
    if state == TradingState.HALTED:
        return [], [(o, "trading is HALTED") for o in plan]
    if limits.require_market_open and not market_open:
        return [], [(o, "market is closed") for o in plan]

    eq = _dec(equity)
    held = _held(positions)
    marks: dict[str, Decimal] = {}
    for symbol in held:
        mark = _price(prices, symbol)
        if mark is None:
            raise ValueError(f"no usable price for held symbol {symbol}")
        marks[symbol] = mark
    gross = sum((abs(q) * marks[s] for s, q in held.items()), Decimal(0))
    max_notional = limits.max_order_notional
    max_weight = limits.max_position_weight
    max_gross = limits.max_gross_exposure
    max_dev = limits.max_price_deviation

    reasons: dict[int, list[str]] = {}
    passed: list[tuple[int, Decimal]] = []  # (index in plan, notional)
    execution_order = sorted(range(len(plan)), key=lambda i: plan[i].side != "sell")
    for i in execution_order:
        order = plan[i]
        why: list[str] = []
        symbol = order.symbol
        price = _price(prices, symbol)
        close = _price(last_close, symbol)
        if price is None:
            why.append(f"no usable current price for {symbol}")
        if close is None:
            why.append(f"no usable last close for {symbol}")
        if price is None or close is None:
            reasons[i] = why
            continue
        deviation = abs(price - close) / close
        if deviation > _dec_or_inf(max_dev):
            why.append(
                f"price {_num(price)} is {_pct(deviation)} from the last close {_num(close)} "
                f"(limit {_pct(_dec(max_dev))})"
            )
        ref = _dec(order.reference_price)
        ref_deviation = abs(ref - close) / close
        if ref_deviation > _dec_or_inf(max_dev):
            why.append(
                f"reference price {_num(ref)} is {_pct(ref_deviation)} from the last close "
                f"{_num(close)} (limit {_pct(_dec(max_dev))})"
            )
        qty = _dec(order.qty)
        before = held.get(symbol, Decimal(0))
        after = before + qty if order.side == "buy" else before - qty
        reduces = abs(after) < abs(before) and (after == 0 or (after > 0) == (before > 0))
        if state == TradingState.REDUCE_ONLY and not reduces:
            why.append(
                f"trading is REDUCE_ONLY and this {order.side} of {_num(qty)} {symbol} does not "
                f"reduce the position of {_num(before)}"
            )
        if order.side == "sell" and qty > max(before, Decimal(0)):
            why.append(
                f"sell of {_num(qty)} {symbol} exceeds the {_num(max(before, Decimal(0)))} held "
                "(no short selling)"
            )
        notional = qty * price
        if notional > _dec_or_inf(max_notional):
            why.append(
                f"notional {_num(notional)} USD exceeds the limit of {_num(_dec(max_notional))} USD"
            )
        new_gross = gross - abs(before) * price + abs(after) * price
        if order.side == "buy" and not reduces:
            weight = abs(after) * price / eq
            if weight > _dec_or_inf(max_weight):
                why.append(
                    f"{symbol} would be {_pct(weight)} of equity (limit {_pct(_dec(max_weight))})"
                )
            exposure = new_gross / eq
            if exposure > _dec_or_inf(max_gross):
                why.append(
                    f"gross exposure would be {_pct(exposure)} of equity "
                    f"(limit {_pct(_dec(max_gross))})"
                )
        if why:
            reasons[i] = why
            continue
        held[symbol] = after
        gross = new_gross  # every symbol is marked at its current price
        passed.append((i, notional))

    turnover = (_dec(traded_today_notional) + sum((n for _, n in passed), Decimal(0))) / eq
    if passed and turnover > _dec_or_inf(limits.max_daily_turnover):
        reason = (
            f"daily turnover would be {_pct(turnover)} of equity "
            f"(limit {_pct(_dec(limits.max_daily_turnover))}); the whole plan is held back"
        )
        for i, _ in passed:
            reasons[i] = [reason]
        passed = []

    allowed = [plan[i] for i in range(len(plan)) if i not in reasons]
    blocked = [(plan[i], "; ".join(reasons[i])) for i in range(len(plan)) if i in reasons]
    return allowed, blocked


def _dec_or_inf(limit: float) -> Decimal:
    return Decimal("Infinity") if math.isinf(limit) else _dec(limit)
