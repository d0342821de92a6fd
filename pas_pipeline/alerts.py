"""Alerts: what is wrong, recorded in the ledger and posted to a webhook (no Dagster here).

An :class:`Alert` has a deterministic id built from its kind and what it is about (a run id,
a date, an asset), so a sensor that looks at the same failure twice raises it once. The
rules below are pure functions that return the alerts a state calls for:

* :func:`var_alert` - the book's one-day historical VaR (fraction of equity, positive =
  loss) above its budget;
* :func:`drawdown_alert` - the realised drawdown (fraction below the running peak) above
  its limit;
* :func:`stale_source_alerts` - an asset whose newest stored session is more than its
  allowed number of sessions behind the latest session;
* :func:`partial_fill_alerts` - orders that ended with only part of their shares filled,
  so the book is short of its target until the next rebalance.

:func:`post_alert` sends one alert as JSON to a webhook with ``httpx``; the URL is a secret
(chat webhooks carry their token in it), so it never appears in a log line or an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import httpx

from pas_pipeline.config import Secret

log = logging.getLogger(__name__)

SEVERITIES = ("warning", "critical")


@dataclass(frozen=True)
class Alert:
    """One alert: ``kind`` (e.g. ``run_failure``, ``var_over_budget``), ``subject`` (what it
    is about: a job, a date, an asset), ``severity`` (warning or critical), ``message``
    (for people) and ``key`` (what makes it unique within kind and subject)."""

    kind: str
    subject: str
    severity: str
    message: str
    key: str = ""
    alert_id: str = ""
    """``<kind>-<16 hex>`` of sha256(kind, subject, key) unless given (an alert read back
    from the ledger keeps its stored id): the same alert always has the same id."""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if not self.alert_id:
            digest = hashlib.sha256(f"{self.kind}|{self.subject}|{self.key}".encode()).hexdigest()
            object.__setattr__(self, "alert_id", f"{self.kind}-{digest[:16]}")

    def payload(self) -> dict[str, str]:
        """The JSON body posted to the webhook (``text`` for chat tools that show only it)."""
        return {
            **asdict(self),
            "text": f"[{self.severity.upper()}] {self.kind}: {self.message}",
        }


VAR_TOLERANCE = 1e-9
"""Relative slack of the VaR comparison: the budget scaling lands *on* the budget, give or
take a float rounding step, which is not a breach."""


def var_alert(
    var_95: float | None, budget: float, day: dt.date, book: str = "target_weights"
) -> Alert | None:
    """An alert when the one-day 95% VaR of ``book`` (an asset: ``target_weights``, the book
    the pipeline wants, or ``daily_statistics``, the book the account holds) on ``day`` exceeds
    ``budget`` (fractions of equity, losses positive) by more than :data:`VAR_TOLERANCE`."""
    if var_95 is None or var_95 <= budget * (1 + VAR_TOLERANCE):
        return None
    return Alert(
        "var_over_budget",
        book,
        "warning",
        f"one-day 95% VaR of {book} on {day} is {var_95:.2%} of equity, above the budget of "
        f"{budget:.2%}",
        key=day.isoformat(),
    )


def partial_fill_alerts(orders: Iterable[Mapping[str, object]]) -> list[Alert]:
    """One warning per order that ended (``status``) with ``filled_qty`` of its ``qty``
    shares filled, ``0 < filled_qty < qty`` (rows as ``Ledger.partially_filled_orders``
    gives them); keyed by the client order id, so each is raised once."""
    return [
        Alert(
            "partial_fill",
            str(order["symbol"]),
            "warning",
            f"{order['side']} {order['symbol']} ended {order['status']} with "
            f"{float(order['filled_qty']):g} of {float(order['qty']):g} shares filled; the "
            "account holds less than its target until the next rebalance",
            key=str(order["client_order_id"]),
        )
        for order in orders
    ]


def drawdown_alert(drawdown: float | None, limit: float, day: dt.date) -> Alert | None:
    """An alert when the realised drawdown on ``day`` exceeds ``limit`` (both fractions)."""
    if drawdown is None or drawdown <= limit:
        return None
    return Alert(
        "drawdown_over_limit",
        day.isoformat(),
        "critical",
        f"drawdown {drawdown:.2%} on {day} is beyond the limit of {limit:.2%}",
        key=day.isoformat(),
    )


def stale_source_alerts(
    newest: Mapping[str, dt.date | None],
    sessions_behind: Mapping[str, int],
    allowed: Mapping[str, int],
    latest_session: dt.date,
) -> list[Alert]:
    """One alert per asset whose newest stored session (``newest``; None = never stored) is
    more than ``allowed[asset]`` sessions (``sessions_behind[asset]``) behind
    ``latest_session``."""
    alerts = []
    for asset in sorted(newest):
        behind, limit = sessions_behind[asset], allowed[asset]
        if behind <= limit:
            continue
        last = newest[asset]
        seen = f"last stored for {last}" if last else "never stored"
        alerts.append(
            Alert(
                "stale_source",
                asset,
                "warning",
                f"{asset} is {behind} sessions behind {latest_session} ({seen}; its cadence "
                f"allows {limit})",
                key=latest_session.isoformat(),
            )
        )
    return alerts


def post_alert(
    alert: Alert, webhook: Secret, client: httpx.Client | None = None, timeout: float = 10.0
) -> bool:
    """POST ``alert.payload()`` to the webhook; True on a 2xx answer. Failures are logged
    (without the URL) and return False: an alert that could not be delivered stays recorded
    in the ledger, undelivered, for the next attempt."""
    owned = client is None
    http = client or httpx.Client(timeout=timeout)
    try:
        response = http.post(webhook.value, json=alert.payload())
    except httpx.HTTPError as exc:
        log.warning("alert %s not delivered: %s", alert.alert_id, type(exc).__name__)
        return False
    finally:
        if owned:
            http.close()
    if response.is_success:
        return True
    log.warning("alert %s not delivered: webhook answered %d", alert.alert_id, response.status_code)
    return False
