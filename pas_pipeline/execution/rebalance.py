"""Trade one rebalance: the steps the execution job runs, without Dagster.

1. Derive the rebalance id from the date, the strategies in the target and a hash of the
   target weights and the order limits: a new target (say, after a data fix) is a new
   rebalance, the same target re-run is the same rebalance.
2. Reuse the plan already recorded for that id (a re-run trades the *same* decision), else
   plan orders from the target weights against the broker's positions at the reference
   prices (the session's closes).
3. Record the full plan, then block the orders not yet at the broker that break a pre-trade
   limit (``limits.check_orders``: trading state, market open, order notional, position
   weight, gross exposure, daily turnover, price sanity), recording each with its reason.
4. Submit what the broker does not already have (``execute_plan``), poll the sent orders
   to a terminal status (up to ``poll_timeout_seconds``), record them (with the fill of
   each order that ended filled, completely or partially), snapshot positions. The
   outcome's ``filled`` / ``partially_filled`` are the orders' last seen states; a partial
   fill is reported, not a failure (the order reached the broker).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pas_pipeline.execution.broker import Broker
from pas_pipeline.execution.ids import client_order_id_prefix, config_hash, rebalance_id
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.limits import PreTradeLimits, check_orders
from pas_pipeline.execution.model import ExecutionReport, OrderLimits, PlannedOrder, Position
from pas_pipeline.execution.planning import plan_orders
from pas_pipeline.execution.reconcile import partially_filled, refresh_order_states, unfinished
from pas_pipeline.execution.submit import execute_plan


@dataclass(frozen=True)
class RebalanceOutcome:
    """What one execution did, for logs and asset metadata."""

    rebalance_id: str
    equity: float
    plan: list[PlannedOrder]
    report: ExecutionReport
    reused_plan: bool
    blocked: list[tuple[PlannedOrder, str]] = dataclasses.field(default_factory=list)
    unfinished: list[str] = dataclasses.field(default_factory=list)
    """Orders sent but not yet in a terminal status when polling stopped (e.g. DAY orders
    waiting for the open); the next reconciliation refreshes them."""

    @property
    def ok(self) -> bool:
        """Every planned order reached the broker (none failed, held back or blocked).
        Partially filled and unfinished orders reached it, so they do not count against."""
        return self.report.ok and not self.blocked

    def summary(self) -> str:
        text = (
            f"rebalance {self.rebalance_id}: {len(self.plan)} planned orders "
            f"({'reused' if self.reused_plan else 'new'} plan), {self.report.counts()}, "
            f"blocked {len(self.blocked)}, unfinished {len(self.unfinished)}"
        )
        if self.report.partially_filled:
            text += f"; partially filled: {', '.join(self.report.partially_filled)}"
        return text

    def metadata(self) -> dict[str, Any]:
        buys = sum(o.notional for o in self.plan if o.side == "buy")
        sells = sum(o.notional for o in self.plan if o.side == "sell")
        return {
            **{f"orders_{name}": count for name, count in self.report.counts().items()},
            "orders_blocked": len(self.blocked),
            "orders_unfinished": len(self.unfinished),
            "rebalance_id": self.rebalance_id,
            "orders_planned": len(self.plan),
            "buy_notional": float(buys),
            "sell_notional": float(sells),
            "turnover": float((buys + sells) / self.equity) if self.equity else 0.0,
            "equity": float(self.equity),
        }


def strategies_in(target: pd.DataFrame) -> list[str]:
    """Strategy names that contribute to a target frame (from its ``sleeves`` column)."""
    names = {
        label.split(":", 1)[0]
        for cell in target.get("sleeves", pd.Series(dtype=str)).dropna()
        for label in str(cell).split(";")
        if label
    }
    return sorted(names)


def sleeve_books(target: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per-sleeve weights ``{sleeve: {symbol: weight}}`` from the target's ``sleeves`` column
    (``strategy:weight`` parts that add up to each symbol's weight)."""
    books: dict[str, dict[str, float]] = {}
    for symbol, cell in zip(
        target["ticker"], target.get("sleeves", [None] * len(target)), strict=True
    ):
        for part in str(cell or "").split(";"):
            if part:
                sleeve, weight = part.rsplit(":", 1)
                books.setdefault(sleeve, {})[str(symbol)] = float(weight)
    return books


def decision_hash(target: pd.DataFrame, limits: OrderLimits) -> str:
    """Hash of what decides the orders: target weights (to 1e-12) and the order limits."""
    weights = {
        str(t): round(float(w), 12) for t, w in zip(target["ticker"], target["weight"], strict=True)
    }
    return config_hash({"target": weights, "limits": dataclasses.asdict(limits)})


def marked_equity(cash: float, positions: Mapping[str, Position], prices: pd.Series) -> float:
    """Account equity (USD) with every position marked at ``prices`` (USD per share)."""
    missing = sorted(set(positions) - set(prices.index))
    if missing:
        raise ValueError(f"no reference price for held symbols {missing}")
    return float(cash + sum(p.qty * float(prices[s]) for s, p in positions.items()))


def execute_rebalance(
    *,
    as_of: pd.Timestamp,
    target: pd.DataFrame,
    prices: pd.Series,
    broker: Broker,
    ledger: Ledger,
    limits: OrderLimits,
    pre_trade: PreTradeLimits,
    dry_run: bool = False,
    input_runs: Mapping[str, str] | None = None,
    poll_timeout_seconds: float = 0.0,
) -> RebalanceOutcome:
    """Plan (or reuse the recorded plan), block what breaks the pre-trade limits, and submit
    the rest of the orders of the rebalance on ``as_of``."""
    strategies = strategies_in(target)
    settings_hash = decision_hash(target, limits)
    rid = rebalance_id(as_of.date(), strategies, settings_hash)
    positions = broker.get_positions()
    equity = marked_equity(broker.get_account().cash, positions, prices)
    recorded = ledger.plan_for(rid)
    if recorded:
        plan = recorded
    else:
        weights = pd.Series(target["weight"].to_numpy(), index=target["ticker"].to_numpy())
        plan = plan_orders(weights, positions, prices, equity, limits, rid)
        if not dry_run:
            ledger.record_rebalance(
                rid, as_of.date(), strategies, settings_hash, dict(input_runs or {})
            )
            ledger.record_sleeve_books(rid, sleeve_books(target))
    if not dry_run:
        ledger.record_plan(rid, plan)  # the full plan, so a blocked order is retried later
    blocked = screen(plan, broker, ledger, positions, prices, equity, pre_trade, as_of.date())
    if not dry_run:
        for order, reason in blocked:
            ledger.record_event(order.client_order_id, "blocked_by_limits", reason)
    blocked_ids = {order.client_order_id for order, _ in blocked}
    to_send = [order for order in plan if order.client_order_id not in blocked_ids]
    report = execute_plan(to_send, broker, ledger, dry_run=dry_run)
    still_open: list[str] = []
    if not dry_run:
        sent = {cid: rid for cid in (*report.submitted, *report.already_present)}
        seen = refresh_order_states(broker, ledger, sent, poll_timeout_seconds)
        still_open = unfinished(seen)
        report = dataclasses.replace(  # the states after polling, not at submission
            report,
            filled=tuple(cid for cid, o in seen.items() if o is not None and o.is_filled),
            partially_filled=tuple(partially_filled(seen)),
        )
        ledger.snapshot_positions(as_of, broker.get_positions(), source="broker")
    return RebalanceOutcome(
        rid,
        equity,
        plan,
        report,
        reused_plan=bool(recorded),
        blocked=blocked,
        unfinished=still_open,
    )


def screen(
    plan: list[PlannedOrder],
    broker: Broker,
    ledger: Ledger,
    positions: Mapping[str, Position],
    prices: pd.Series,
    equity: float,
    pre_trade: PreTradeLimits,
    day: dt.date,
) -> list[tuple[PlannedOrder, str]]:
    """Orders of ``plan`` not yet at the broker that the pre-trade limits block, with reasons.

    Orders already at the broker (one listing by the rebalance's client-order-id prefix) are
    not re-checked; they count toward the day's turnover, together with the orders of the
    day's other rebalances recorded in the ledger."""
    if not plan:
        return []
    rid = plan[0].rebalance_id
    at_broker = {o.client_order_id for o in broker.list_orders(client_order_id_prefix(rid))}
    present = [o for o in plan if o.client_order_id in at_broker]
    missing = [o for o in plan if o.client_order_id not in at_broker]
    traded_elsewhere = ledger.traded_notional_on(day, excluding_rebalance=rid)
    closes = {str(k): float(v) for k, v in prices.items()}
    _, blocked = check_orders(
        missing,
        positions,
        closes,
        closes,
        equity,
        pre_trade,
        market_open=broker.is_market_open() if pre_trade.require_market_open else True,
        trading_state=ledger.get_trading_state(),
        traded_today_notional=float(sum(o.notional for o in present)) + traded_elsewhere,
    )
    return blocked
