"""Order helpers for tests: a planned order with the deterministic client order id the planner
would give, and pre-trade limits that block nothing."""

from pas_pipeline.execution.ids import client_order_id
from pas_pipeline.execution.limits import PreTradeLimits
from pas_pipeline.execution.model import PlannedOrder

OPEN_LIMITS = PreTradeLimits(
    max_order_notional=1e9,
    max_position_weight=1.0,
    max_gross_exposure=1.0,
    max_daily_turnover=2.0,
    max_price_deviation=0.1,
    require_market_open=False,
)
"""Limits loose enough that no test order is blocked (the market need not be open)."""


def planned_order(
    rebalance_id: str,
    symbol: str,
    side: str,
    qty: float,
    price: float,
    current_weight: float = 0.0,
    target_weight: float = 0.0,
) -> PlannedOrder:
    """``qty`` shares of ``symbol`` at ``price`` USD; notional = qty × price."""
    return PlannedOrder(
        client_order_id=client_order_id(rebalance_id, symbol, side),
        rebalance_id=rebalance_id,
        symbol=symbol,
        side=side,  # type: ignore[arg-type]
        qty=qty,
        reference_price=price,
        notional=qty * price,
        current_weight=current_weight,
        target_weight=target_weight,
    )
