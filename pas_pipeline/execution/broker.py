"""The ``Broker`` protocol every broker adapter implements, and its exceptions.

Adapters must map transport problems onto these exceptions, because
:func:`~pas_pipeline.execution.submit.execute_plan` decides what is safe from the type:

* :class:`DuplicateClientOrderIdError` — the broker already has an order with this client
  order id and created nothing (Alpaca: HTTP 422 ``"client_order_id must be unique"``);
* :class:`OrderOutcomeUnknownError` — the request may or may not have reached the broker
  (timeout, connection reset, 5xx after sending); the order must be looked up, never blindly
  re-sent;
* :class:`BrokerError` — any other definite failure (rejected order, bad request, auth).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pas_pipeline.execution.model import Account, BrokerOrder, PlannedOrder, Position


class BrokerError(Exception):
    """The broker refused or failed a request; nothing was created by it."""


class DuplicateClientOrderIdError(BrokerError):
    """An order with this client order id already exists at the broker (nothing created)."""

    def __init__(self, client_order_id: str, message: str | None = None) -> None:
        super().__init__(message or f"client_order_id must be unique: {client_order_id!r}")
        self.client_order_id = client_order_id


class OrderOutcomeUnknownError(BrokerError):
    """A submit whose outcome is unknown: the order may or may not exist at the broker."""

    def __init__(self, client_order_id: str, message: str | None = None) -> None:
        super().__init__(message or f"outcome of submitting {client_order_id!r} is unknown")
        self.client_order_id = client_order_id


@runtime_checkable
class Broker(Protocol):
    """A brokerage account: read its state, look orders up by client order id, submit.

    Quantities are shares, prices and amounts USD. ``submit_order`` sends a market, DAY
    order for ``order.qty`` shares with ``order.client_order_id``.
    """

    @property
    def is_paper(self) -> bool:
        """True for paper / simulated accounts, False when real money is at stake."""
        ...

    def get_account(self) -> Account:
        """Current equity and cash (USD)."""
        ...

    def is_market_open(self) -> bool:
        """True while the broker's market is in its regular session."""
        ...

    def close(self) -> None:
        """Release what the broker holds (connections, files)."""
        ...

    def get_positions(self) -> dict[str, Position]:
        """Open positions keyed by symbol (no zero-quantity entries)."""
        ...

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        """The order with this client order id, or None when the broker has none."""
        ...

    def list_orders(self, client_order_id_prefix: str | None = None) -> list[BrokerOrder]:
        """All orders (any status), optionally only those whose client id has this prefix."""
        ...

    def submit_order(self, order: PlannedOrder) -> BrokerOrder:
        """Submit ``order``; raises :class:`DuplicateClientOrderIdError` if its id exists."""
        ...
