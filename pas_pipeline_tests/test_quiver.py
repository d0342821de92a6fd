"""Quiver client, parsers, schemas and sample handler, on recorded-shape payloads."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from pas_pipeline.config import DataMode, Secret
from pas_pipeline.schemas import (
    APP_RATINGS_SCHEMA,
    CONGRESS_TRADES_SCHEMA,
    GOV_CONTRACTS_SCHEMA,
    INSIDER_TRADES_SCHEMA,
    LOBBYING_SCHEMA,
    validate_frame,
)
from pas_pipeline.sources.errors import (
    PayloadError,
    SourceAuthError,
    SourceError,
    SourceUnavailableError,
)
from pas_pipeline.sources.http import SAMPLE_HANDLERS
from pas_pipeline.sources.quiver import (
    QUIVER_DATASETS,
    QUIVER_POLICY,
    TOKEN_ENV,
    QuiverClient,
    make_quiver_client,
    quiver_api,
)
from pas_pipeline.sources.quiver_parsers import (
    APP_RATINGS_COLUMNS,
    CONGRESS_COLUMNS,
    GOV_CONTRACTS_COLUMNS,
    INSIDER_COLUMNS,
    LOBBYING_COLUMNS,
    clean_ticker,
    parse_app_ratings,
    parse_congress_trades,
    parse_gov_contracts,
    parse_insider_trades,
    parse_lobbying,
    parse_report,
    transaction_side,
    usd_range,
)
from pas_pipeline.sources.sample import quiver as sample_quiver
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline_tests.fake_clock import FakeClock

TOKEN = "qv-TEST-7f3a9c1e5b"
"""A fake token: no error text or log line may ever contain it."""
SIZE = 300
AS_OF = dt.date(2025, 6, 30)

# Literally the examples of external-apis.md section 1 (illustrative values), as JSON text.
CONGRESS_V2: dict[str, Any] = json.loads("""
{"Ticker": "NVDA", "TickerType": "ST", "Company": "NVIDIA Corporation",
 "Traded": "2024-06-24", "Transaction": "Purchase", "Trade_Size_USD": "$15,001 - $50,000",
 "Status": "New", "Subholding": null, "Description": null, "Name": "Khanna, Ro",
 "BioGuideID": "K000389", "Filed": "2024-07-19", "Party": "D", "District": "CA17",
 "Chamber": "House", "Comments": null, "Quiver_Upload_Time": "2024-07-20T04:11:52",
 "excess_return": "3.412876201", "State": "California", "last_modified": "2024-07-20"}
""")
CONGRESS_V1: dict[str, Any] = json.loads("""
{"Representative": "Nancy Pelosi", "BioGuideID": "P000197", "ReportDate": "2024-07-03",
 "TransactionDate": "2024-06-26", "Ticker": "NVDA", "Transaction": "Purchase",
 "Range": "$1,000,001 - $5,000,000", "District": "CA11", "House": "Representatives",
 "Amount": "1000001.0", "Party": "D", "last_modified": "2024-07-04",
 "TickerType": "OP", "Description": "Purchased 20 call options, strike $100",
 "ExcessReturn": 4.87, "PriceChange": 9.12, "SPYChange": 4.25}
""")
CONTRACT: dict[str, Any] = json.loads("""
{"Ticker": "LMT", "Date": "2024-07-12",
 "Description": "F-35 LIGHTNING II SUSTAINMENT - LOT 18 LONG LEAD",
 "Agency": "Department of Defense", "Amount": 1043587224.0, "action_date": "2024-07-10"}
""")
INSIDER: dict[str, Any] = json.loads("""
{"Ticker": "CRM", "Date": "2024-06-05", "Name": "Benioff Marc", "AcquiredDisposedCode": "D",
 "TransactionCode": "S", "Shares": 1850.0, "PricePerShare": 237.41,
 "SharesOwnedFollowing": 12034618.0,
 "fileDate": "2024-06-07T18:32:05", "officerTitle": "Chair and CEO", "isDirector": true,
 "isOfficer": true, "isTenPercentOwner": false, "isOther": false,
 "directOrIndirectOwnership": "D", "uploaded": "2024-06-07T19:05:41"}
""")
LOBBYING: dict[str, Any] = json.loads("""
{"Date": "2024-04-19", "Amount": "2380000.0", "Client": "ALPHABET INC. AND SUBSIDIARIES",
 "Issue": "Copyright/Patent/Trademark",
 "Specific_Issue": "Issues related to AI and copyright; S. 4178",
 "Registrant": "GOOGLE CLIENT SERVICES LLC", "Ticker": "GOOGL"}
""")
APP: dict[str, Any] = json.loads("""
{"Ticker": "UBER", "App": "Uber - Request a ride", "Created": "2010-05-21T00:00:00",
 "Publisher": "Uber Technologies, Inc.", "Rating": 4.9, "Count": 12685744,
 "Time": "2024-07-08T06:02:11"}
""")

PARSE = {
    "congress_trades": (parse_congress_trades, CONGRESS_V2, CONGRESS_TRADES_SCHEMA),
    "gov_contracts": (parse_gov_contracts, CONTRACT, GOV_CONTRACTS_SCHEMA),
    "insider_trades": (parse_insider_trades, INSIDER, INSIDER_TRADES_SCHEMA),
    "lobbying": (parse_lobbying, LOBBYING, LOBBYING_SCHEMA),
    "app_ratings": (parse_app_ratings, APP, APP_RATINGS_SCHEMA),
}
SCHEMAS = {name: schema for name, (_, _, schema) in PARSE.items()}


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def row(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(base)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return record


def expected(columns: tuple[str, ...], *rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(columns))
    for name in ("event_date", "known_date"):
        frame[name] = frame[name].astype("datetime64[ns]")
    return frame


# --- parsers: recorded shapes to exact values ---------------------------------------------


def test_congress_v2_row_parses_to_exact_values() -> None:
    frame = parse_congress_trades([CONGRESS_V2])
    want = expected(
        CONGRESS_COLUMNS,
        {
            "event_date": day("2024-06-24"),
            "known_date": day("2024-07-19"),
            "ticker": "NVDA",
            "politician": "Khanna, Ro",
            "bioguide_id": "K000389",
            "chamber": "House",
            "party": "D",
            "transaction": "Purchase",
            "side": "buy",
            "amount_low": 15001.0,
            "amount_high": 50000.0,
            "amount_mid": 32500.5,
            "ticker_type": "ST",
        },
    )
    pd.testing.assert_frame_equal(frame, want)
    validate_frame(CONGRESS_TRADES_SCHEMA, frame, "quiver")


def test_congress_v1_row_uses_report_date_as_known_date() -> None:
    frame = parse_congress_trades([CONGRESS_V1])
    want = expected(
        CONGRESS_COLUMNS,
        {
            "event_date": day("2024-06-26"),
            "known_date": day("2024-07-03"),
            "ticker": "NVDA",
            "politician": "Nancy Pelosi",
            "bioguide_id": "P000197",
            "chamber": "House",
            "party": "D",
            "transaction": "Purchase",
            "side": "buy",
            "amount_low": 1000001.0,
            "amount_high": 5000000.0,
            "amount_mid": 3000000.5,
            "ticker_type": "OP",
        },
    )
    pd.testing.assert_frame_equal(frame, want)


def test_contract_row_parses_to_exact_values() -> None:
    frame = parse_gov_contracts([CONTRACT])
    want = expected(
        GOV_CONTRACTS_COLUMNS,
        {
            "event_date": day("2024-07-10"),
            "known_date": day("2024-07-12"),
            "ticker": "LMT",
            "amount": 1043587224.0,
            "agency": "Department of Defense",
            "description": "F-35 LIGHTNING II SUSTAINMENT - LOT 18 LONG LEAD",
        },
    )
    pd.testing.assert_frame_equal(frame, want)
    validate_frame(GOV_CONTRACTS_SCHEMA, frame, "quiver")


def test_insider_row_parses_to_exact_values() -> None:
    frame = parse_insider_trades([INSIDER])
    want = expected(
        INSIDER_COLUMNS,
        {
            "event_date": day("2024-06-05"),
            "known_date": day("2024-06-07"),
            "ticker": "CRM",
            "insider": "Benioff Marc",
            "transaction_code": "S",
            "acquired_disposed": "D",
            "shares": 1850.0,
            "price": 237.41,
            "value": 1850.0 * 237.41,
            "is_officer": True,
            "is_director": True,
            "title": "Chair and CEO",
        },
    )
    pd.testing.assert_frame_equal(frame, want)
    validate_frame(INSIDER_TRADES_SCHEMA, frame, "quiver")


def test_lobbying_row_parses_to_exact_values_with_or_without_dollar_signs() -> None:
    frame = parse_lobbying([LOBBYING, row(LOBBYING, Amount="$1,250,000", Issue="Taxation")])
    base = {
        "event_date": day("2024-04-19"),
        "known_date": day("2024-04-19"),
        "ticker": "GOOGL",
        "client": "ALPHABET INC. AND SUBSIDIARIES",
        "registrant": "GOOGLE CLIENT SERVICES LLC",
    }
    want = expected(
        LOBBYING_COLUMNS,
        {**base, "amount": 2380000.0, "issue": "Copyright/Patent/Trademark"},
        {**base, "amount": 1250000.0, "issue": "Taxation"},
    )
    pd.testing.assert_frame_equal(frame, want)
    validate_frame(LOBBYING_SCHEMA, frame, "quiver")


def test_app_rating_row_parses_to_exact_values() -> None:
    frame = parse_app_ratings([APP])
    want = expected(
        APP_RATINGS_COLUMNS,
        {
            "event_date": day("2024-07-08"),
            "known_date": day("2024-07-08"),
            "ticker": "UBER",
            "app": "Uber - Request a ride",
            "rating": 4.9,
            "review_count": 12685744.0,
        },
    )
    pd.testing.assert_frame_equal(frame, want)
    validate_frame(APP_RATINGS_SCHEMA, frame, "quiver")


@pytest.mark.parametrize("name", list(PARSE))
def test_an_empty_payload_is_an_empty_frame_with_the_documented_dtypes(name: str) -> None:
    parser, record, schema = PARSE[name]
    empty, one = parser([]), parser([record])
    assert empty.empty
    assert list(empty.columns) == list(one.columns)
    assert empty.dtypes.equals(one.dtypes)
    assert str(empty["known_date"].dtype) == "datetime64[ns]"
    validate_frame(schema, empty, "quiver")


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("$1,001 - $15,000", 1001.0, 15000.0),
        ("$1,000,001 - $5,000,000", 1000001.0, 5000000.0),
        ("$15,001-$50,000", 15001.0, 50000.0),
        ("Over $50,000,000", 50_000_000.0, math.nan),
        ("$50,000,000 +", 50_000_000.0, math.nan),
        ("Under $1,000", 0.0, 1000.0),
        ("$15,000", 15000.0, 15000.0),
        (None, math.nan, math.nan),
        ("", math.nan, math.nan),
    ],
)
def test_usd_ranges(text: str | None, low: float, high: float) -> None:
    assert usd_range(text, "Trade_Size_USD", 0) == pytest.approx((low, high), nan_ok=True)


def test_an_open_range_has_its_lower_bound_as_midpoint() -> None:
    frame = parse_congress_trades([row(CONGRESS_V2, Trade_Size_USD="Over $50,000,000")])
    assert frame.loc[0, "amount_low"] == frame.loc[0, "amount_mid"] == 50_000_000.0
    assert math.isnan(frame.loc[0, "amount_high"])
    validate_frame(CONGRESS_TRADES_SCHEMA, frame, "quiver")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("(NYSE:FBC)", "FBC"),
        ("NASDAQ:aapl", "AAPL"),
        (" msft ", "MSFT"),
        ("GOOGL GOOG", "GOOGL"),
        ("BRK/B", "BRK.B"),
        ("BRK.B", "BRK.B"),
        ("N/A", None),
        ("", None),
        (None, None),
        (12, None),
        ("--", None),
    ],
)
def test_ticker_cleaning(raw: Any, clean: str | None) -> None:
    assert clean_ticker(raw) == clean


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ("Purchase", "buy"),
        ("Buy", "buy"),
        ("Sale (Full)", "sell"),
        ("Sale (Partial)", "sell"),
        ("sell", "sell"),
        ("Exchange", "other"),
    ],
)
def test_transaction_side(text: str, side: str) -> None:
    assert transaction_side(text) == side


@pytest.mark.parametrize(
    ("filed", "known"),
    [
        ("2024-07-19", "2024-07-19"),
        ("2024-07-19T00:00:00", "2024-07-19"),
        ("2024-07-19T23:59:59.123", "2024-07-19"),
        ("2024-07-20T02:00:00Z", "2024-07-19"),  # 22:00 in New York
        ("2024-07-19T12:00:00-04:00", "2024-07-19"),
    ],
)
def test_dates_and_iso_datetimes_become_midnights(filed: str, known: str) -> None:
    frame = parse_congress_trades([row(CONGRESS_V2, Filed=filed)])
    assert frame.loc[0, "known_date"] == pd.Timestamp(known)


def test_numbers_may_arrive_as_strings_and_nan_literals() -> None:
    frame = parse_insider_trades(
        [row(INSIDER, Shares="1,850", PricePerShare="237.41"), row(INSIDER, Name="X", Shares="NaN")]
    )
    assert frame.loc[0, "value"] == pytest.approx(1850 * 237.41)
    assert math.isnan(frame.loc[1, "shares"]) and math.isnan(frame.loc[1, "value"])
    validate_frame(INSIDER_TRADES_SCHEMA, frame, "quiver")


# --- parsers: bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("congress_trades", "Filed"),
        ("congress_trades", "Traded"),
        ("congress_trades", "BioGuideID"),
        ("congress_trades", "Transaction"),
        ("congress_trades", "Chamber"),
        ("gov_contracts", "Date"),
        ("gov_contracts", "action_date"),
        ("insider_trades", "fileDate"),
        ("insider_trades", "TransactionCode"),
        ("lobbying", "Registrant"),
        ("app_ratings", "Time"),
        ("app_ratings", "App"),
    ],
)
def test_a_missing_required_field_names_source_field_and_row(name: str, field: str) -> None:
    parser, record, _ = PARSE[name]
    with pytest.raises(PayloadError) as caught:
        parser([record, row(record, **{field: ...})])
    error = caught.value
    assert (error.source, error.field, error.row) == ("quiver", field, 1)
    assert "missing required field" in str(error)


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("congress_trades", "Filed", 20240719),
        ("congress_trades", "Filed", "19/07/2024"),
        ("congress_trades", "Trade_Size_USD", "a lot"),
        ("congress_trades", "Trade_Size_USD", 15000),
        ("congress_trades", "Chamber", "Parliament"),
        ("congress_trades", "Name", ["Khanna"]),
        ("gov_contracts", "Amount", "about a billion"),
        ("gov_contracts", "Amount", True),
        ("gov_contracts", "Amount", math.inf),
        ("insider_trades", "Shares", {"value": 1850}),
        ("insider_trades", "isOfficer", "maybe"),
        ("lobbying", "Amount", "$2.3m"),
        ("app_ratings", "Rating", [4.9]),
        ("gov_contracts", "Ticker", 42),
    ],
)
def test_a_wrong_type_or_unparsable_value_names_the_field_and_row(
    name: str, field: str, value: Any
) -> None:
    parser, record, _ = PARSE[name]
    with pytest.raises(PayloadError) as caught:
        parser([record, record, row(record, **{field: value})])
    assert (caught.value.field, caught.value.row) == (field, 2)


@pytest.mark.parametrize("payload", [{"rows": []}, "text", None, [CONTRACT, "x"]])
def test_a_payload_that_is_not_an_array_of_objects_is_a_payload_error(payload: Any) -> None:
    with pytest.raises(PayloadError, match="expected"):
        parse_gov_contracts(payload)


def test_a_data_envelope_is_unwrapped() -> None:
    assert len(parse_gov_contracts({"data": [CONTRACT]})) == 1


def test_nan_in_a_value_is_kept_as_nan_but_in_a_date_it_is_an_error() -> None:
    frame = parse_gov_contracts([row(CONTRACT, Amount=math.nan)])
    assert math.isnan(frame.loc[0, "amount"])
    validate_frame(GOV_CONTRACTS_SCHEMA, frame, "quiver")
    with pytest.raises(PayloadError) as caught:
        parse_gov_contracts([row(CONTRACT, Date=math.nan)])
    assert (caught.value.field, caught.value.row) == ("Date", 0)


def test_exact_duplicates_are_dropped_and_counted() -> None:
    frame = parse_congress_trades([CONGRESS_V2, CONGRESS_V2, row(CONGRESS_V2, Ticker="AMD")])
    assert list(frame["ticker"]) == ["AMD", "NVDA"]
    assert parse_report(frame)["duplicates"] == 1
    validate_frame(CONGRESS_TRADES_SCHEMA, frame, "quiver")


def test_rows_differing_only_outside_the_tidy_columns_are_duplicates() -> None:
    later = row(CONGRESS_V2, Quiver_Upload_Time="2024-07-21T00:00:00", excess_return="3.5")
    frame = parse_congress_trades([CONGRESS_V2, later])
    assert len(frame) == 1 and parse_report(frame)["duplicates"] == 1


def test_rows_without_a_ticker_are_dropped_and_dirty_tickers_cleaned() -> None:
    frame = parse_insider_trades(
        [row(INSIDER, Ticker=None), row(INSIDER, Ticker="(NYSE:FBC)"), row(INSIDER, Ticker="")]
    )
    assert list(frame["ticker"]) == ["FBC"]
    assert parse_report(frame)["without_ticker"] == 2


def test_a_trade_reported_before_it_happened_is_dropped_and_counted() -> None:
    frame = parse_congress_trades([CONGRESS_V2, row(CONGRESS_V2, Traded="2204-06-24")])
    assert len(frame) == 1 and parse_report(frame)["event_after_known"] == 1


def test_app_ratings_keep_the_latest_scrape_of_a_day() -> None:
    early = row(APP, Time="2024-07-08T01:00:00", Rating=4.1)
    frame = parse_app_ratings([APP, early, APP])
    assert list(frame["rating"]) == [4.9]
    assert parse_report(frame) | {} == {
        "dataset": "app_ratings",
        "records": 3,
        "without_ticker": 0,
        "event_after_known": 0,
        "duplicates": 1,
        "superseded": 1,
    }


# --- schemas ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "column", "value"),
    [
        ("gov_contracts", "amount", -5.0),
        ("lobbying", "amount", -1.0),
        ("insider_trades", "price", -0.01),
        ("insider_trades", "acquired_disposed", "X"),
        ("congress_trades", "side", "hold"),
        ("congress_trades", "known_date", pd.Timestamp("2024-01-01")),
        ("congress_trades", "amount_low", 1e9),
        ("app_ratings", "rating", 7.0),
        ("lobbying", "ticker", "not a ticker"),
        ("gov_contracts", "known_date", pd.Timestamp("2024-07-12 13:00")),
    ],
)
def test_schemas_reject_bad_values_naming_the_column_and_row(
    name: str, column: str, value: Any
) -> None:
    parser, record, schema = PARSE[name]
    frame = parser([record, row(record, Ticker="ZZZ")])
    frame.loc[1, column] = value
    with pytest.raises(PayloadError) as caught:
        validate_frame(schema, frame, "quiver")
    assert (caught.value.field, caught.value.row) == (column, 1)


@pytest.mark.parametrize("name", list(PARSE))
def test_schemas_reject_a_repeated_natural_key(name: str) -> None:
    parser, record, schema = PARSE[name]
    frame = parser([record])
    with pytest.raises(PayloadError, match="uniqueness"):
        validate_frame(schema, pd.concat([frame, frame], ignore_index=True), "quiver")


def test_schemas_are_strict_and_named() -> None:
    for name, schema in SCHEMAS.items():
        assert isinstance(schema, pa.DataFrameSchema) and schema.strict is True
        assert schema.name == name


# --- the client, on a scripted transport --------------------------------------------------


Handler = Callable[[httpx.Request], httpx.Response]


def live_client(handler: Handler, clock: FakeClock | None = None) -> QuiverClient:
    """The live client (policy, header, group buckets) on a scripted transport."""
    clock = clock or FakeClock()
    api = quiver_api(
        Secret(TOKEN),
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
        wall_clock=lambda: 1.7e9,
    )
    return QuiverClient(api, sleep=clock.sleep, clock=clock)


def json_response(payload: Any, status: int = 200, **headers: str) -> httpx.Response:
    headers = {"content-type": "application/json", **headers}
    return httpx.Response(status, content=json.dumps(payload).encode(), headers=headers)


def recording(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[Handler, list]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return handler, seen


def paged(rows: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["page_size"])
        return json_response(rows[(page - 1) * size : page * size])

    return answer


def lobbying_rows(count: int) -> list[dict[str, Any]]:
    return [row(LOBBYING, Amount=f"{10_000 * (n + 1)}.0") for n in range(count)]


def test_the_bearer_token_and_json_accept_headers_are_sent() -> None:
    handler, seen = recording(lambda request: json_response([APP]))
    with live_client(handler) as client:
        client.fetch("app_ratings", dt.date(2024, 7, 8), dt.date(2024, 7, 8))
    request = seen[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert TOKEN not in str(request.url)
    assert request.url.host == "api.quiverquant.com"
    assert request.url.path == "/beta/live/appratings"


def test_pages_are_requested_until_a_short_page() -> None:
    rows = lobbying_rows(2500)
    handler, seen = recording(paged(rows))
    with live_client(handler) as client:
        got = client.fetch("lobbying", dt.date(2024, 4, 1), dt.date(2024, 6, 30))
    assert got == rows
    assert [r.url.params["page"] for r in seen] == ["1", "2", "3"]
    assert {r.url.params["page_size"] for r in seen} == {"1000"}
    assert seen[0].url.params["date_from"] == "20240401"
    assert seen[0].url.params["date_to"] == "20240630"


def test_an_exact_multiple_of_the_page_size_ends_on_an_empty_page() -> None:
    handler, seen = recording(paged(lobbying_rows(2000)))
    with live_client(handler) as client:
        got = client.fetch("lobbying", dt.date(2024, 4, 1), dt.date(2024, 6, 30))
    assert len(got) == 2000 and len(seen) == 3


def test_single_date_endpoints_loop_over_days() -> None:
    handler, seen = recording(lambda request: json_response([CONTRACT]))
    with live_client(handler) as client:
        got = client.fetch("gov_contracts", dt.date(2024, 7, 11), dt.date(2024, 7, 13))
    assert [r.url.params["date"] for r in seen] == ["20240711", "20240712", "20240713"]
    assert len(got) == 3


def test_congress_uses_bulk_v2_per_day_or_a_politicians_history() -> None:
    handler, seen = recording(lambda request: json_response([CONGRESS_V2]))
    clock = FakeClock()
    with live_client(handler, clock) as client:
        client.fetch("congress_trades", dt.date(2024, 7, 19), dt.date(2024, 7, 19))
        client.politician_trades("K000389")
    assert [r.url.path for r in seen] == ["/beta/bulk/congresstrading"] * 2
    assert seen[0].url.params["version"] == "V2" and seen[0].url.params["date"] == "20240719"
    assert seen[1].url.params["bioguide_id"] == "K000389" and "date" not in seen[1].url.params


def test_the_bulk_group_is_held_to_five_requests_an_hour() -> None:
    handler, _ = recording(lambda request: json_response([]))
    clock = FakeClock()
    with live_client(handler, clock) as client:
        client.fetch("congress_trades", dt.date(2024, 7, 1), dt.date(2024, 7, 6))
    assert clock.now == pytest.approx(720.0, abs=2.0)  # the sixth request waits 1/5 hour


def test_a_data_envelope_is_accepted_by_the_client() -> None:
    handler, _ = recording(lambda request: json_response({"data": [APP]}))
    with live_client(handler) as client:
        frame = client.fetch_frame("app_ratings", dt.date(2024, 7, 8), dt.date(2024, 7, 8))
    assert list(frame["ticker"]) == ["UBER"]


def test_an_unknown_ticker_is_an_empty_result() -> None:
    handler, seen = recording(lambda request: json_response([]))
    with live_client(handler) as client:
        frame = client.fetch_frame(
            "insider_trades", dt.date(2024, 6, 7), dt.date(2024, 6, 7), ticker="NOPE"
        )
    assert seen[0].url.params["ticker"] == "NOPE"
    assert frame.empty
    validate_frame(INSIDER_TRADES_SCHEMA, frame, "quiver")


def test_duplicated_rows_are_deduped_through_the_client() -> None:
    handler, _ = recording(lambda request: json_response([INSIDER, INSIDER, INSIDER]))
    with live_client(handler) as client:
        frame = client.fetch_frame("insider_trades", dt.date(2024, 6, 7), dt.date(2024, 6, 7))
    assert len(frame) == 1 and parse_report(frame)["duplicates"] == 2


def test_nan_inside_json_parses() -> None:
    body = json.dumps([row(CONTRACT, Amount=math.nan)]).encode()  # writes the NaN literal
    assert b"NaN" in body
    handler, _ = recording(lambda request: httpx.Response(200, content=body))
    with live_client(handler) as client:
        frame = client.fetch_frame("gov_contracts", dt.date(2024, 7, 12), dt.date(2024, 7, 12))
    assert math.isnan(frame.loc[0, "amount"])


def raised(
    answer: Callable[[httpx.Request], httpx.Response], kind: type[BaseException]
) -> BaseException:
    handler, _ = recording(answer)
    with live_client(handler) as client, pytest.raises(kind) as caught:
        client.fetch_frame("gov_contracts", dt.date(2024, 7, 12), dt.date(2024, 7, 12))
    return caught.value


def test_a_missing_field_through_the_client_names_source_field_and_row() -> None:
    error = raised(lambda r: json_response([CONTRACT, row(CONTRACT, Date=...)]), PayloadError)
    assert isinstance(error, PayloadError)
    assert (error.source, error.field, error.row) == ("quiver", "Date", 1)


def test_a_wrong_type_through_the_client_names_field_and_row() -> None:
    error = raised(lambda r: json_response([row(CONTRACT, Amount="lots")]), PayloadError)
    assert isinstance(error, PayloadError)
    assert (error.field, error.row) == ("Amount", 0)


def test_an_html_page_with_status_200_is_a_payload_error() -> None:
    html = httpx.Response(200, text="<html><body>Maintenance</body></html>")
    error = raised(lambda r: html, PayloadError)
    assert "HTML" in str(error) and error.source == "quiver"  # type: ignore[attr-defined]


def test_an_empty_body_is_a_payload_error() -> None:
    assert "empty body" in str(raised(lambda r: httpx.Response(200, content=b""), PayloadError))


def test_truncated_json_is_a_payload_error() -> None:
    body = json.dumps([CONTRACT, CONTRACT]).encode()[:-30]
    error = raised(lambda r: httpx.Response(200, content=body), PayloadError)
    assert "invalid JSON" in str(error)


def test_401_is_an_auth_error_naming_the_variable() -> None:
    body = {"detail": "Invalid token."}
    error = raised(lambda r: json_response(body, 401), SourceAuthError)
    assert "401" in str(error) and TOKEN_ENV in str(error)


@pytest.mark.parametrize(
    "body",
    [
        {"detail": "Upgrade your subscription plan to access this dataset."},
        "Upgrade your subscription plan to access this dataset.",
    ],
)
def test_403_is_a_plan_error_for_both_body_forms(body: Any) -> None:
    error = raised(lambda r: json_response(body, 403), SourceAuthError)
    assert "403" in str(error) and "plan" in str(error)


def test_the_old_bare_string_body_is_a_plan_error_even_with_status_200() -> None:
    body = "Upgrade your subscription plan to access this dataset."
    error = raised(lambda r: json_response(body, 200), SourceAuthError)
    assert "Upgrade your subscription plan" in str(error) and TOKEN_ENV in str(error)


def test_429_waits_exactly_retry_after_then_succeeds() -> None:
    answers = iter(
        [
            json_response({"detail": "Request was throttled. Expected available in 7 seconds."},
                          429, **{"Retry-After": "7"}),
            json_response([CONTRACT]),
        ]
    )  # fmt: skip
    handler, seen = recording(lambda request: next(answers))
    clock = FakeClock()
    with live_client(handler, clock) as client:
        rows = client.fetch("gov_contracts", dt.date(2024, 7, 12), dt.date(2024, 7, 12))
    assert rows == [CONTRACT] and len(seen) == 2
    assert clock.sleeps == [7.0]


def test_timeouts_are_retried_then_reported_unavailable() -> None:
    error = raised(_timeout, SourceUnavailableError)
    assert "ReadTimeout" in str(error) and "6 attempts" in str(error)


def test_a_wrong_path_gets_quivers_html_404_as_a_source_error() -> None:
    page = httpx.Response(404, text=sample_quiver.NOT_FOUND_HTML)
    assert "404" in str(raised(lambda r: page, SourceError))


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


BAD_ANSWERS: list[tuple[Callable[[httpx.Request], httpx.Response], type[BaseException]]] = [
    (lambda r: json_response([row(CONTRACT, Date=...)]), PayloadError),
    (lambda r: json_response([row(CONTRACT, Amount="lots")]), PayloadError),
    (lambda r: httpx.Response(200, text="<html>Maintenance</html>"), PayloadError),
    (lambda r: httpx.Response(200, content=b""), PayloadError),
    (lambda r: httpx.Response(200, content=b'[{"Ticker": "LMT", "Da'), PayloadError),
    (lambda r: json_response({"detail": "Invalid token."}, 401), SourceAuthError),
    (lambda r: json_response({"detail": "Upgrade your subscription plan"}, 403), SourceAuthError),
    (lambda r: json_response("Upgrade your subscription plan to access this dataset.", 403),
     SourceAuthError),
    (lambda r: json_response([], 429, **{"Retry-After": "1"}), SourceError),
    (lambda r: httpx.Response(404, text=sample_quiver.NOT_FOUND_HTML), SourceError),
    (_timeout, SourceUnavailableError),
]  # fmt: skip


def test_the_token_never_appears_in_error_text_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for answer, kind in BAD_ANSWERS:
        error = raised(answer, kind)
        chain = [error, error.__cause__, error.__context__]
        assert all(TOKEN not in f"{e} {e!r}" for e in chain if e is not None)
    assert TOKEN not in caplog.text


def test_live_mode_without_a_token_names_the_variable_not_a_value() -> None:
    for token in (None, Secret("")):
        with pytest.raises(SourceAuthError, match=TOKEN_ENV):
            make_quiver_client(DataMode.LIVE, token)


def test_live_mode_with_a_token_uses_the_live_policy() -> None:
    with make_quiver_client(DataMode.LIVE, Secret(TOKEN)) as client:
        assert client.api.policy is QUIVER_POLICY
        assert client.api._client.headers["authorization"] == f"Bearer {TOKEN}"


def test_the_live_policy() -> None:
    assert QUIVER_POLICY.base_url == "https://api.quiverquant.com"
    assert QUIVER_POLICY.requests_per_second <= 1.0 and QUIVER_POLICY.burst == 1
    assert QUIVER_POLICY.not_found_is_empty is False


def test_the_dataset_table() -> None:
    assert set(QUIVER_DATASETS) == set(PARSE)
    for name, dataset in QUIVER_DATASETS.items():
        assert dataset.name == name and dataset.parser is PARSE[name][0]
        assert dataset.path.startswith("/beta/")
    with pytest.raises(ValueError, match="unknown Quiver dataset"):
        QuiverClient(quiver_api(Secret(TOKEN))).fetch("x", dt.date(2024, 1, 1), dt.date(2024, 1, 1))


# --- the sample handler --------------------------------------------------------------------


@pytest.fixture
def sample() -> Iterator[QuiverClient]:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    with make_quiver_client(DataMode.SAMPLE) as client:
        yield client
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


WINDOWS = {
    "congress_trades": (dt.date(2025, 6, 2), dt.date(2025, 6, 6)),
    "gov_contracts": (dt.date(2025, 6, 2), dt.date(2025, 6, 6)),
    "insider_trades": (dt.date(2025, 6, 2), dt.date(2025, 6, 6)),
    "lobbying": (dt.date(2025, 4, 1), dt.date(2025, 4, 20)),
    "app_ratings": (AS_OF, AS_OF),
}


def test_importing_the_sample_module_registers_the_quiver_host() -> None:
    assert SAMPLE_HANDLERS["api.quiverquant.com"] is sample_quiver.handle_request


@pytest.mark.parametrize("name", list(QUIVER_DATASETS))
def test_sample_round_trip_is_deterministic_and_passes_the_schema(
    sample: QuiverClient, name: str
) -> None:
    start, end = WINDOWS[name]
    first = sample.fetch(name, start, end)
    assert first == sample.fetch(name, start, end)
    frame = QUIVER_DATASETS[name].parser(first)
    assert len(frame) > 0
    validate_frame(SCHEMAS[name], frame, "quiver")
    universe = set(sample_universe(SIZE, 7)["ticker"])
    assert set(frame["ticker"]) <= universe
    assert frame["known_date"].max() <= pd.Timestamp(AS_OF)


def test_a_days_rows_do_not_depend_on_the_range_asked(sample: QuiverClient) -> None:
    alone = sample.fetch("insider_trades", dt.date(2025, 6, 4), dt.date(2025, 6, 4))
    week = sample.fetch("insider_trades", dt.date(2025, 6, 2), dt.date(2025, 6, 6))
    assert alone and all(r in week for r in alone)


def test_sample_rows_have_the_real_field_names_and_types(sample: QuiverClient) -> None:
    congress = sample.fetch("congress_trades", dt.date(2025, 6, 2), dt.date(2025, 6, 2))
    assert set(congress[0]) == set(CONGRESS_V2)
    assert all(isinstance(r["Trade_Size_USD"], str) for r in congress)
    assert all(isinstance(r["excess_return"], str) for r in congress)
    contract = sample.fetch("gov_contracts", dt.date(2025, 6, 2), dt.date(2025, 6, 2))[0]
    assert set(contract) == set(CONTRACT) and isinstance(contract["Amount"], float)
    insider = sample.fetch("insider_trades", dt.date(2025, 6, 2), dt.date(2025, 6, 2))[0]
    assert set(insider) == set(INSIDER) and isinstance(insider["isDirector"], bool)
    lobbying = sample.fetch("lobbying", dt.date(2025, 4, 1), dt.date(2025, 4, 20))[0]
    assert set(lobbying) == set(LOBBYING) and isinstance(lobbying["Amount"], str)
    app = sample.fetch("app_ratings", AS_OF, AS_OF)[0]
    assert set(app) == set(APP) and isinstance(app["Count"], int)


def test_sample_magnitudes_are_plausible(sample: QuiverClient) -> None:
    start, end = dt.date(2025, 5, 1), dt.date(2025, 5, 30)
    congress = sample.fetch_frame("congress_trades", start, end)
    lag = (congress["known_date"] - congress["event_date"]).dt.days
    assert 15 <= len(congress) / 21 <= 45 and lag.between(5, 45).all()
    contracts = sample.fetch_frame("gov_contracts", start, end)
    assert (contracts["amount"] >= 50e6).sum() >= 10 and contracts["amount"].median() < 10e6
    codes = sample.fetch_frame("insider_trades", start, end)["transaction_code"]
    assert codes.isin(["S", "A", "M", "F"]).mean() > 0.7 and (codes == "P").mean() > 0.03


def test_signal_names_stand_out(sample: QuiverClient) -> None:
    signals = set(sample_quiver.signal_tickers())
    start, end = dt.date(2025, 3, 1), dt.date(2025, 5, 30)
    congress = sample.fetch_frame("congress_trades", start, end)
    net = congress.assign(n=np.where(congress["side"] == "buy", 1, -1)).groupby("ticker")["n"].sum()
    assert set(net.nlargest(len(signals)).index) == signals
    buys = sample.fetch_frame("insider_trades", start, end).query("transaction_code == 'P'")
    assert set(buys["ticker"].value_counts().nlargest(3).index) <= signals


def test_a_politicians_history_is_served_in_one_paged_request(sample: QuiverClient) -> None:
    frame = parse_congress_trades(sample.politician_trades("P000197"))
    assert set(frame["bioguide_id"]) == {"P000197"}
    assert frame["known_date"].min() < pd.Timestamp("2019-01-01")
    assert frame["known_date"].max() <= pd.Timestamp(AS_OF)


def test_the_sample_serves_nothing_after_today(sample: QuiverClient) -> None:
    later = (AS_OF + dt.timedelta(days=1), AS_OF + dt.timedelta(days=10))
    for name in ("congress_trades", "gov_contracts", "insider_trades", "lobbying"):
        assert sample.fetch(name, *later) == []


def test_the_sample_honours_pagination_and_filters() -> None:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    try:
        with httpx.Client(transport=httpx.MockTransport(sample_quiver.handle_request)) as raw:
            url = "https://api.quiverquant.com/beta/live/insiders"
            everything = raw.get(url, params={"date": "20250603"}).json()
            page = raw.get(url, params={"date": "20250603", "page": 2, "page_size": 10}).json()
            assert page == everything[10:20]
            ticker = everything[0]["Ticker"]
            only = raw.get(url, params={"date": "20250603", "ticker": ticker}).json()
            assert only and {r["Ticker"] for r in only} == {ticker}
            assert raw.get(url, params={"date": "20250603", "ticker": "NOPE"}).json() == []
            bad = raw.get(url, params={"date": "2025-06-03"})
            assert bad.status_code == 400 and "detail" in bad.json()
            missing = raw.get("https://api.quiverquant.com/beta/live/nothing")
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("text/html")
            v1 = raw.get(
                "https://api.quiverquant.com/beta/bulk/congresstrading", params={"date": "20250603"}
            ).json()
            assert "ReportDate" in v1[0] and parse_congress_trades(v1).shape[0] > 0
    finally:
        sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def test_an_unknown_path_through_the_client_is_a_source_error(sample: QuiverClient) -> None:
    with pytest.raises(SourceError, match="404"):
        sample.api.get_json("/beta/live/googletrends")
