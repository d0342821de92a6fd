"""Deterministic ids: config hash, rebalance id and client order id."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re

import pytest

from pas_pipeline.execution.ids import (
    client_order_id,
    client_order_id_prefix,
    config_hash,
    rebalance_id,
)

CONFIG = "c0ffee"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_config_hash_is_sha256_of_canonical_json() -> None:
    assert config_hash({"b": [1, 2], "a": 0.5}) == sha256('{"a":0.5,"b":[1,2]}')


def test_config_hash_ignores_key_order_but_not_values() -> None:
    assert config_hash({"x": 1, "y": {"p": 1, "q": 2}}) == config_hash(
        {"y": {"q": 2, "p": 1}, "x": 1}
    )
    assert config_hash({"x": 1}) != config_hash({"x": 2})


def test_config_hash_encodes_dates_and_rejects_nan() -> None:
    assert config_hash({"d": dt.date(2024, 7, 5)}) == sha256('{"d":"2024-07-05"}')
    with pytest.raises(ValueError):
        config_hash({"x": math.nan})


def test_rebalance_id_is_date_plus_ten_hex_of_strategies_and_config() -> None:
    expected = "rb-2024-07-05-" + sha256('[["congress","wiki"],"c0ffee"]')[:10]
    assert rebalance_id(dt.date(2024, 7, 5), ["wiki", "congress"], CONFIG) == expected
    assert re.fullmatch(r"rb-2024-07-05-[0-9a-f]{10}", expected)


def test_rebalance_id_ignores_strategy_order_duplicates_and_date_form() -> None:
    reference = rebalance_id(dt.date(2024, 7, 5), ["a", "b"], CONFIG)
    assert rebalance_id("2024-07-05", ["b", "a", "a"], CONFIG) == reference
    assert rebalance_id(dt.datetime(2024, 7, 5, 16, 0), ("b", "a"), CONFIG) == reference


def test_rebalance_id_changes_with_strategies_config_and_date() -> None:
    reference = rebalance_id("2024-07-05", ["a"], CONFIG)
    assert rebalance_id("2024-07-05", ["a", "b"], CONFIG) != reference
    assert rebalance_id("2024-07-05", ["a"], "other") != reference
    assert rebalance_id("2024-07-08", ["a"], CONFIG) != reference


def test_rebalance_id_rejects_a_bare_string_of_strategies() -> None:
    with pytest.raises(TypeError):
        rebalance_id("2024-07-05", "congress", CONFIG)


def test_client_order_id_format() -> None:
    rid = "rb-2024-07-05-0123456789"
    expected = f"pas-{sha256(rid)[:12]}-AAPL-buy"
    assert client_order_id(rid, "AAPL", "buy") == expected
    assert client_order_id_prefix(rid) == f"pas-{sha256(rid)[:12]}-"
    assert expected.startswith(client_order_id_prefix(rid))


def test_client_order_id_is_deterministic_and_distinct_per_leg_symbol_and_rebalance() -> None:
    rid = rebalance_id("2024-07-05", ["a"], CONFIG)
    next_day = rebalance_id("2024-07-08", ["a"], CONFIG)  # same strategies and config
    ids = {
        client_order_id(rid, "AAPL", "buy"),
        client_order_id(rid, "AAPL", "sell"),
        client_order_id(rid, "MSFT", "buy"),
        client_order_id(next_day, "AAPL", "buy"),
    }
    assert len(ids) == 4
    assert client_order_id(rid, "AAPL", "buy") == client_order_id(rid, "AAPL", "buy")


def test_client_order_id_fits_48_chars_and_rejects_longer() -> None:
    rid = rebalance_id("2024-07-05", ["a"], CONFIG)
    assert len(client_order_id(rid, "BRK.B", "sell")) <= 48
    # "pas-" + 12 hex + "-" + symbol + "-sell": a 26-char symbol is the longest that fits
    assert len(client_order_id(rid, "S" * 26, "sell")) == 48
    with pytest.raises(ValueError, match="longer than 48"):
        client_order_id(rid, "S" * 27, "sell")


@pytest.mark.parametrize(
    ("symbol", "leg"),
    [("", "buy"), ("A B", "buy"), ("AAPL", "Buy"), ("AAPL", "buy-1"), ("AAPL", "")],
)
def test_client_order_id_rejects_unusable_symbols_and_legs(symbol: str, leg: str) -> None:
    with pytest.raises(ValueError):
        client_order_id("rb-2024-07-05-0123456789", symbol, leg)
