"""Turn target weights and current holdings into a list of market orders.

For each symbol in the target or held:

* current weight ``w0 = qty × price / equity``; a held symbol missing from the target has
  target ``w1 = 0``;
* if ``|w1 − w0| < no_trade_band`` nothing is traded — except a **full exit** (``w1 = 0``
  and shares held), which always sells the whole holding, whatever its size;
* otherwise ``Δqty = w1 × equity / price − qty`` shares, truncated toward zero to
  ``qty_decimals`` decimals (fractional) or whole shares, so a buy never spends more and a
  sell never sells more than the exact difference;
* orders under ``min_order_notional`` USD are dropped (full exits excepted).

Arithmetic is done in :class:`decimal.Decimal` on the inputs' shortest decimal form, so
hand-worked examples (0.057 × 100 000 / 100 = 57 shares) come out exactly.
Sells come first (they raise the cash the buys spend), then buys, each sorted by symbol.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal

import pandas as pd

from pas_pipeline.execution.ids import client_order_id
from pas_pipeline.execution.model import OrderLimits, PlannedOrder, Position, Side

WEIGHT_SUM_TOLERANCE = 1e-9


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _validated_targets(target_weights: pd.Series) -> dict[str, Decimal]:
    if not target_weights.index.is_unique:
        dupes = sorted(set(target_weights.index[target_weights.index.duplicated()]))
        raise ValueError(f"target weights list symbols more than once: {dupes}")
    values = pd.to_numeric(target_weights, errors="coerce").astype(float)
    bad = [str(s) for s, w in values.items() if not math.isfinite(w) or w < 0]
    if bad:
        raise ValueError(f"target weights must be finite and >= 0; offending symbols: {bad}")
    total = float(values.sum())
    if total > 1 + WEIGHT_SUM_TOLERANCE:
        raise ValueError(f"target weights sum to {total:.12g} > 1 (no leverage allowed)")
    return {str(s): _dec(w) for s, w in values.items()}


def _held_quantities(positions: Mapping[str, Position | float] | pd.Series) -> dict[str, Decimal]:
    if isinstance(positions, pd.Series) and not positions.index.is_unique:
        raise ValueError("positions list a symbol more than once")
    items = (
        (symbol, pos.qty if isinstance(pos, Position) else pos) for symbol, pos in positions.items()
    )
    held: dict[str, Decimal] = {}
    for symbol, qty in items:
        if not math.isfinite(float(qty)):
            raise ValueError(f"{symbol}: held quantity is not finite ({qty!r})")
        if float(qty) != 0:
            held[str(symbol)] = _dec(qty)
    return held


def _price(prices: pd.Series, symbol: str) -> Decimal:
    value = prices.get(symbol)
    if isinstance(value, pd.Series):
        raise ValueError(f"{symbol}: more than one price given")
    if value is None or not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"{symbol}: needs a positive finite price to trade, got {value!r}")
    return _dec(value)


def _truncate(qty: Decimal, limits: OrderLimits) -> Decimal:
    decimals = limits.qty_decimals if limits.fractional else 0
    return qty.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)


def _within_cash(
    deltas: dict[str, tuple[Decimal, Decimal]],
    held: Mapping[str, Decimal],
    equity: Decimal,
    limits: OrderLimits,
) -> dict[str, tuple[Decimal, Decimal]]:
    """Scale the buys down, pro rata, when they would cost more than the cash the account
    has after the sells (holdings left inside the no-trade band keep their money tied up);
    scaled quantities are truncated again and dropped below the minimum notional."""
    invested = sum(held[s] * price for s, (_, price) in deltas.items() if s in held)
    cash = equity - invested
    proceeds = sum(-d * p for d, p in deltas.values() if d < 0)
    cost = sum(d * p for d, p in deltas.values() if d > 0)
    available = cash + proceeds
    if cost <= available or cost == 0:
        return deltas
    scale = max(available, Decimal(0)) / cost
    scaled = {}
    for symbol, (delta, price) in deltas.items():
        if delta > 0:
            delta = _truncate(delta * scale, limits)
            if delta * price < _dec(limits.min_order_notional):
                delta = Decimal(0)
        scaled[symbol] = (delta, price)
    return scaled


def _order_delta(
    target: Decimal, held: Decimal, price: Decimal, equity: Decimal, limits: OrderLimits
) -> Decimal:
    """Signed share quantity to trade (0 = nothing); a full exit returns exactly −held."""
    if target == 0 and held != 0:
        return -held
    current = held * price / equity
    if abs(target - current) < _dec(limits.no_trade_band):
        return Decimal(0)
    delta = _truncate(target * equity / price - held, limits)
    if abs(delta) * price < _dec(limits.min_order_notional):
        return Decimal(0)
    return delta


def plan_orders(
    target_weights: pd.Series,
    positions: Mapping[str, Position | float] | pd.Series,
    prices: pd.Series,
    equity: float,
    limits: OrderLimits,
    rebalance_id: str,
) -> list[PlannedOrder]:
    """Orders that move the holdings to ``target_weights``; sells first, then buys, by symbol.

    Parameters
    ----------
    target_weights
        Symbol → weight (fraction of equity), finite, ≥ 0, summing to ≤ 1 (+1e-9); the rest
        is cash. Symbols held but absent are sold out.
    positions
        Symbol → :class:`Position` (or quantity), or a Series symbol → quantity in shares.
    prices
        Symbol → reference price in USD per share; required (finite, > 0) for every symbol
        with a target weight > 0 or a holding.
    equity
        Account equity in USD (> 0) that the weights refer to.
    limits
        No-trade band, minimum notional and share rounding (:class:`OrderLimits`).
    rebalance_id
        The rebalance the orders belong to; it seeds each ``client_order_id``.

    Raises
    ------
    ValueError
        Invalid weights, equity or quantities, or a missing / non-positive price (the message
        names the symbol).
    """
    if not math.isfinite(equity) or equity <= 0:
        raise ValueError(f"equity must be a positive finite USD amount, got {equity!r}")
    targets = _validated_targets(target_weights)
    held = _held_quantities(positions)
    equity_d = _dec(equity)
    deltas: dict[str, tuple[Decimal, Decimal]] = {}
    for symbol in sorted(set(targets) | set(held)):
        target, qty_held = targets.get(symbol, Decimal(0)), held.get(symbol, Decimal(0))
        if target == 0 and qty_held == 0:
            continue
        price = _price(prices, symbol)
        deltas[symbol] = (_order_delta(target, qty_held, price, equity_d, limits), price)
    deltas = _within_cash(deltas, held, equity_d, limits)
    orders: list[PlannedOrder] = []
    for symbol, (delta, price) in deltas.items():
        target, qty_held = targets.get(symbol, Decimal(0)), held.get(symbol, Decimal(0))
        if delta == 0:
            continue
        side: Side = "buy" if delta > 0 else "sell"
        orders.append(
            PlannedOrder(
                client_order_id=client_order_id(rebalance_id, symbol, side),
                rebalance_id=rebalance_id,
                symbol=symbol,
                side=side,
                qty=float(abs(delta)),
                reference_price=float(price),
                notional=float(abs(delta) * price),
                current_weight=float(qty_held * price / equity_d),
                target_weight=float(target),
            )
        )
    return sorted(orders, key=lambda o: (o.side != "sell", o.symbol))
