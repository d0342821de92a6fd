"""Send a plan to the broker exactly once, however often it is run.

For each planned order, sells first:

1. look the order up at the broker by ``client_order_id``; if it exists, an earlier run sent
   it: record it as *already present*;
2. otherwise submit it (unless dry run, the trading state forbids it, or an earlier sell of
   this plan failed — buys are then held back so they cannot overspend or lever up);
3. a :class:`DuplicateClientOrderIdError` means it exists after all: fetch and record it; an
   :class:`OrderOutcomeUnknownError` means it may exist: look it up, and if it is not found
   report a failure — it is never re-sent blindly (the next run looks it up again);
4. record the broker's order in the ledger, and its fill once the order is terminal with
   shares filled, completely or partially (``filled_qty`` at ``filled_avg_price``, once per
   order; see ``Ledger.record_order``). A ``partially_filled`` order that can still fill
   gets its fill when it is seen terminal later (polling, a re-run, the reconciliation).

A crash at any point is safe: the next run finds what reached the broker and sends only the
rest. Exceptions other than :class:`BrokerError` propagate (stop the run); adapters must map
transport errors to :class:`OrderOutcomeUnknownError`. A dry run reads the broker and the
trading state but writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pas_pipeline.execution.broker import (
    Broker,
    BrokerError,
    DuplicateClientOrderIdError,
    OrderOutcomeUnknownError,
)
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import (
    BrokerOrder,
    ExecutionReport,
    OrderFailure,
    PlannedOrder,
    TradingState,
)
from pas_pipeline.observability.tracing import order_span


@dataclass
class _Tally:
    submitted: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    would_submit: list[str] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)
    partially_filled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[OrderFailure] = field(default_factory=list)

    def fail(self, order: PlannedOrder, error: str) -> None:
        self.failures.append(OrderFailure(order.client_order_id, order.symbol, order.side, error))

    def report(self, planned: int, dry_run: bool) -> ExecutionReport:
        return ExecutionReport(
            planned=planned,
            submitted=tuple(self.submitted),
            already_present=tuple(self.already_present),
            would_submit=tuple(self.would_submit),
            filled=tuple(self.filled),
            partially_filled=tuple(self.partially_filled),
            skipped=tuple(self.skipped),
            failures=tuple(self.failures),
            dry_run=dry_run,
        )


def _found(broker: Broker, order: PlannedOrder, why: str) -> BrokerOrder:
    """The order at the broker after ``why``; BrokerError when the broker has none."""
    placed = broker.get_order_by_client_id(order.client_order_id)
    if placed is None:
        raise BrokerError(
            f"{why}, and the order is not at the broker; not re-sent (a re-run looks it up again)"
        )
    return placed


def _submit(broker: Broker, order: PlannedOrder) -> tuple[bool, BrokerOrder]:
    """Submit; returns (sent by this call, broker order). Raises BrokerError on failure."""
    try:
        with order_span(order.client_order_id, order.symbol, order.side):
            return True, broker.submit_order(order)
    except DuplicateClientOrderIdError:
        return False, _found(broker, order, "the broker reported a duplicate client order id")
    except OrderOutcomeUnknownError as exc:
        return True, _found(broker, order, f"submit outcome unknown ({exc})")


def _check_matches(order: PlannedOrder, placed: BrokerOrder) -> None:
    if (placed.symbol, placed.side) != (order.symbol, order.side):
        raise BrokerError(
            f"client order id belongs to a {placed.side} {placed.symbol} order "
            f"at the broker, not {order.side} {order.symbol}"
        )


def _hold_back_reason(state: TradingState, order: PlannedOrder, sell_failed: bool) -> str | None:
    if state == TradingState.HALTED:
        return "trading is HALTED"
    if order.side == "buy" and state == TradingState.REDUCE_ONLY:
        return "trading is REDUCE_ONLY"
    if order.side == "buy" and sell_failed:
        return "a sell of this plan failed"
    return None


def record_broker_order(ledger: Ledger, placed: BrokerOrder, rebalance_id: str | None) -> None:
    """Store the broker's view of an order and, once it is terminal with shares filled
    (completely or partially), its fill of ``filled_qty`` shares, once per order; one
    transaction (``Ledger.record_order``)."""
    ledger.record_order(placed, rebalance_id=rebalance_id)


def _execute_one(
    order: PlannedOrder,
    broker: Broker,
    ledger: Ledger,
    dry_run: bool,
    hold_back: str | None,
    tally: _Tally,
) -> None:
    """Bring one order to the broker (or find it there); BrokerError when that fails."""
    placed = broker.get_order_by_client_id(order.client_order_id)
    if placed is not None:
        sent = False
    elif hold_back is not None:
        tally.skipped.append(order.client_order_id)
        return
    elif dry_run:
        tally.would_submit.append(order.client_order_id)
        return
    else:
        sent, placed = _submit(broker, order)
    _check_matches(order, placed)
    (tally.submitted if sent else tally.already_present).append(order.client_order_id)
    if placed.is_filled:
        tally.filled.append(order.client_order_id)
    elif placed.is_partially_filled:
        tally.partially_filled.append(order.client_order_id)
    if not dry_run:
        record_broker_order(ledger, placed, order.rebalance_id)


def execute_plan(
    plan: Sequence[PlannedOrder], broker: Broker, ledger: Ledger, dry_run: bool = False
) -> ExecutionReport:
    """Submit the orders of ``plan`` that the broker does not have yet; see the module doc.

    Records the plan (not in dry run), then handles sells before buys, keeping the plan's
    order within each side. Returns which client order ids were submitted, already present,
    filled, partially filled (ended with part filled), skipped or failed.
    """
    ids = [o.client_order_id for o in plan]
    if len(set(ids)) != len(ids):
        raise ValueError("plan repeats client order ids")
    ordered = sorted(plan, key=lambda o: o.side != "sell")
    if not dry_run:
        for rebalance_id in dict.fromkeys(o.rebalance_id for o in ordered):
            ledger.record_plan(rebalance_id, [o for o in ordered if o.rebalance_id == rebalance_id])
    state = ledger.get_trading_state()
    tally = _Tally()
    sell_failed = False
    for order in ordered:
        hold_back = _hold_back_reason(state, order, sell_failed)
        try:
            _execute_one(order, broker, ledger, dry_run, hold_back, tally)
        except BrokerError as exc:
            tally.fail(order, str(exc))
            sell_failed = sell_failed or order.side == "sell"
            if not dry_run:
                ledger.record_event(order.client_order_id, "submit_failed", str(exc))
    return tally.report(planned=len(plan), dry_run=dry_run)
