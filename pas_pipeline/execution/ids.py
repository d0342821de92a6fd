"""Deterministic identifiers: configuration hash, rebalance id and client order id.

The same inputs always give the same ids, so a re-run of a rebalance produces the same
``client_order_id`` for every order, and the broker (which rejects a reused client order id)
makes a second submission of the same order impossible.

Formats:

* ``config_hash(mapping)`` → 64 hex chars, sha256 of the mapping's canonical JSON;
* ``rebalance_id(date, strategies, config_hash)`` → ``rb-2024-07-05-1a2b3c4d5e``: the date
  plus 10 hex chars of sha256 over the sorted, de-duplicated strategy names and the config
  hash;
* ``client_order_id(rebalance_id, symbol, leg)`` → ``pas-0a1b2c3d4e5f-AAPL-buy``: 12 hex
  chars of sha256(rebalance_id) (so two rebalances never share an order id, even with the
  same strategies and config on different dates), the symbol and the leg; ≤ 48 chars.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

MAX_CLIENT_ORDER_ID_LENGTH = 48
_REBALANCE_DIGEST_CHARS = 10
_ORDER_DIGEST_CHARS = 12
_SYMBOL_RE = re.compile(r"^[A-Za-z0-9./_-]+$")
_LEG_RE = re.compile(r"^[a-z0-9]+$")


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"config_hash: cannot encode {type(value).__name__} value {value!r}")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace and no NaN/inf (which would raise ValueError).

    Dates become ISO strings, enums their value, sets sorted lists, Decimals and paths strings.
    """
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def config_hash(mapping: Mapping[str, Any]) -> str:
    """sha256 (64 lowercase hex chars) of ``mapping``'s canonical JSON (key order ignored)."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"config_hash expects a mapping, got {type(mapping).__name__}")
    return _sha256_hex(canonical_json(dict(mapping)))


def as_date(value: dt.date | str) -> dt.date:
    """``value`` as a date: a date, the date part of a datetime, or an ISO ``YYYY-MM-DD``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError(f"expected a date or an ISO date string, got {type(value).__name__}")


def rebalance_id(date: dt.date | str, strategies: Iterable[str], config_hash: str) -> str:
    """``rb-YYYY-MM-DD-<10 hex>`` for the rebalance of ``strategies`` on ``date``.

    The hex part is sha256 over the sorted, de-duplicated strategy names and ``config_hash``,
    so the order in which strategies are given does not matter.
    """
    if isinstance(strategies, str):
        raise TypeError("strategies must be an iterable of names, not a single string")
    names = sorted(set(strategies))
    if not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"strategy names must be non-empty strings, got {names!r}")
    if not isinstance(config_hash, str) or not config_hash:
        raise ValueError("config_hash must be a non-empty string")
    digest = _sha256_hex(canonical_json([names, config_hash]))[:_REBALANCE_DIGEST_CHARS]
    return f"rb-{as_date(date).isoformat()}-{digest}"


def client_order_id_prefix(rebalance_id: str) -> str:
    """``pas-<12 hex of sha256(rebalance_id)>-``: the start of every order id of a rebalance."""
    if not rebalance_id:
        raise ValueError("rebalance_id must not be empty")
    return f"pas-{_sha256_hex(rebalance_id)[:_ORDER_DIGEST_CHARS]}-"


def client_order_id(rebalance_id: str, symbol: str, leg: str) -> str:
    """``pas-<12 hex>-<SYMBOL>-<leg>``, at most 48 chars, e.g. ``pas-0a1b2c3d4e5f-AAPL-buy``.

    ``symbol`` is kept as given (letters, digits and ``. / _ -``); ``leg`` is lowercase
    alphanumeric (``buy``/``sell``). Since the leg contains no ``-`` and comes last, distinct
    (symbol, leg) pairs of one rebalance always give distinct ids.
    """
    if not isinstance(symbol, str) or not _SYMBOL_RE.match(symbol):
        raise ValueError(f"symbol {symbol!r} is not usable in a client order id")
    if not isinstance(leg, str) or not _LEG_RE.match(leg):
        raise ValueError(f"leg {leg!r} must be lowercase letters/digits, e.g. 'buy' or 'sell'")
    cid = f"{client_order_id_prefix(rebalance_id)}{symbol}-{leg}"
    if len(cid) > MAX_CLIENT_ORDER_ID_LENGTH:
        raise ValueError(f"client order id {cid!r} is longer than {MAX_CLIENT_ORDER_ID_LENGTH}")
    return cid
