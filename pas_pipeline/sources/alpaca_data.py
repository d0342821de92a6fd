"""What every client of Alpaca's market-data host shares: the key headers of the trading
account and the error when they are missing (naming the variables, never a value)."""

from __future__ import annotations

from typing import Any

import httpx

from pas_pipeline.config import Secret
from pas_pipeline.sources.errors import SourceAuthError
from pas_pipeline.sources.http import ApiClient, ApiPolicy

KEY_ENV = "ALPACA_API_KEY"
SECRET_ENV = "ALPACA_API_SECRET"


def alpaca_data_api(
    policy: ApiPolicy,
    key: Secret | None,
    secret: Secret | None,
    purpose: str,
    transport: httpx.BaseTransport | None = None,
    **client_options: Any,
) -> ApiClient:
    """A live :class:`ApiClient` for ``policy`` with Alpaca's key headers; missing keys raise
    :class:`SourceAuthError` saying both variables must be set for ``purpose``."""
    if not key or not secret:
        raise SourceAuthError(policy.name, f"{KEY_ENV} and {SECRET_ENV} must be set for {purpose}")
    headers = {"APCA-API-KEY-ID": key.value, "APCA-API-SECRET-KEY": secret.value}
    return ApiClient(policy, transport=transport, headers=headers, **client_options)
