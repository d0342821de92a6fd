"""A planned order for tests, with the deterministic client order id the planner would give."""

from pas_pipeline.execution.ids import client_order_id
from pas_pipeline.execution.model import PlannedOrder


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
