"""Yahoo chart client and parser, on recorded-shape payloads and on the sample transport."""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from pas_pipeline.calendar import trading_days
from pas_pipeline.config import DataMode
from pas_pipeline.schemas import PRICES_SCHEMA, validate_frame
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import SAMPLE_HANDLERS, ApiClient, sample_transport, unlimited
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.sample.market import sample_market
from pas_pipeline.sources.yahoo import (
    PRICE_COLUMNS,
    YAHOO_POLICY,
    YahooChartClient,
    fetch_prices,
    make_yahoo_client,
    parse_chart,
)

# Literally the example of external-apis.md section 4. Its values are illustrative: the third
# timestamp, 1720099800, is 2024-07-04 09:30 New York (a holiday), which the parser must not
# second-guess.
XLK_PAYLOAD: dict[str, Any] = {"chart": {"result": [{
  "meta": {"currency": "USD", "symbol": "XLK", "exchangeName": "PCX", "instrumentType": "ETF",
           "firstTradeDate": 914077800, "regularMarketTime": 1720209600, "gmtoffset": -14400,
           "timezone": "EDT", "exchangeTimezoneName": "America/New_York", "regularMarketPrice": 231.47,  # noqa: E501
           "chartPreviousClose": 228.61, "priceHint": 2, "dataGranularity": "1d", "range": "",
           "validRanges": ["1d","5d","1mo","3mo","6mo","1y","2y","5y","10y","ytd","max"]},
  "timestamp": [1719840600, 1719927000, 1720099800],
  "indicators": {"quote": [{"open": [228.9, 229.8, 230.05], "high": [230.12, 231.02, 231.6],
                             "low": [227.4, 228.77, 229.61], "close": [229.6, 230.85, 231.47],
                             "volume": [4121800, 3987300, 2733100]}],
                 "adjclose": [{"adjclose": [229.0, 230.24, 230.86]}]},
  "events": {"dividends": {"1719840600": {"amount": 0.1573, "date": 1719840600}}}}],
  "error": None}}  # fmt: skip

NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}
AS_OF = dt.date(2025, 6, 30)
SIZE = 1500


def xlk(**changes: Any) -> dict[str, Any]:
    """A deep copy of the XLK payload with some fields of ``result[0]`` replaced."""
    payload = copy.deepcopy(XLK_PAYLOAD)
    payload["chart"]["result"][0].update(changes)
    return payload


def quote_of(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["chart"]["result"][0]["indicators"]["quote"][0]


@pytest.fixture
def sample_client() -> Iterator[YahooChartClient]:
    """The production client on the sample transport, serving a fixed "today"."""
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    with make_yahoo_client(DataMode.SAMPLE) as client:
        yield client
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


# --- parser ------------------------------------------------------------------------------


def test_parser_turns_the_reference_payload_into_the_tidy_frame() -> None:
    frame = parse_chart(XLK_PAYLOAD, "XLK")
    assert list(frame.columns) == list(PRICE_COLUMNS)
    assert frame["date"].tolist() == [
        pd.Timestamp("2024-07-01"),
        pd.Timestamp("2024-07-02"),
        pd.Timestamp("2024-07-04"),
    ]
    assert frame["ticker"].tolist() == ["XLK", "XLK", "XLK"]
    assert frame["open"].tolist() == [228.9, 229.8, 230.05]
    assert frame["high"].tolist() == [230.12, 231.02, 231.6]
    assert frame["low"].tolist() == [227.4, 228.77, 229.61]
    assert frame["close"].tolist() == [229.6, 230.85, 231.47]
    assert frame["adj_close"].tolist() == [229.0, 230.24, 230.86]
    assert frame["volume"].tolist() == [4121800, 3987300, 2733100]


def test_parsed_columns_have_the_documented_dtypes() -> None:
    dtypes = parse_chart(XLK_PAYLOAD, "XLK").dtypes.astype(str).to_dict()
    assert dtypes == {
        "date": "datetime64[ns]",
        "ticker": "object",
        "open": "float64",
        "high": "float64",
        "low": "float64",
        "close": "float64",
        "adj_close": "float64",
        "volume": "int64",
    }


def test_the_parsed_reference_payload_passes_the_prices_schema() -> None:
    validate_frame(PRICES_SCHEMA, parse_chart(XLK_PAYLOAD, "XLK"), "yahoo")


def test_bars_with_a_null_close_are_dropped() -> None:
    payload = xlk()
    quote = quote_of(payload)
    quote["close"][1] = None
    quote["open"][1] = None
    frame = parse_chart(payload, "XLK")
    assert frame["date"].tolist() == [pd.Timestamp("2024-07-01"), pd.Timestamp("2024-07-04")]
    assert frame["close"].tolist() == [229.6, 231.47]


def test_null_open_high_low_fall_back_to_the_close_and_null_volume_to_zero() -> None:
    payload = xlk()
    quote = quote_of(payload)
    quote["open"][0] = quote["high"][0] = quote["low"][0] = quote["volume"][0] = None
    row = parse_chart(payload, "XLK").iloc[0]
    assert (row["open"], row["high"], row["low"], row["volume"]) == (229.6, 229.6, 229.6, 0)


def test_adj_close_falls_back_to_close_without_adjclose() -> None:
    payload = xlk()
    del payload["chart"]["result"][0]["indicators"]["adjclose"]
    frame = parse_chart(payload, "XLK")
    assert frame["adj_close"].tolist() == [229.6, 230.85, 231.47]


def test_a_missing_timestamp_is_a_payload_error_naming_it() -> None:
    payload = xlk()
    del payload["chart"]["result"][0]["timestamp"]
    with pytest.raises(PayloadError) as caught:
        parse_chart(payload, "XLK")
    assert caught.value.field == "timestamp"
    assert "'timestamp'" in str(caught.value)


def test_a_wrong_type_names_the_field_and_row() -> None:
    payload = xlk()
    quote_of(payload)["close"][2] = {"raw": 231.47}
    with pytest.raises(PayloadError) as caught:
        parse_chart(payload, "XLK")
    assert (caught.value.field, caught.value.row) == ("indicators.quote[0].close", 2)
    assert "row 2" in str(caught.value)


def test_numeric_strings_are_accepted() -> None:
    payload = xlk()
    quote_of(payload)["volume"][0] = "4121800"
    assert parse_chart(payload, "XLK")["volume"].iloc[0] == 4121800


def test_arrays_of_unequal_length_are_a_payload_error() -> None:
    payload = xlk()
    quote_of(payload)["high"].pop()
    with pytest.raises(PayloadError) as caught:
        parse_chart(payload, "XLK")
    assert caught.value.field == "indicators.quote[0].high"
    assert "2 values but timestamp has 3" in str(caught.value)


def test_a_range_without_sessions_parses_to_an_empty_frame() -> None:
    payload = xlk(indicators={"quote": [{}], "adjclose": [{}]})
    del payload["chart"]["result"][0]["timestamp"]
    frame = parse_chart(payload, "XLK")
    assert frame.empty
    assert list(frame.columns) == list(PRICE_COLUMNS)


def test_an_unknown_exchange_time_zone_is_a_payload_error() -> None:
    payload = xlk()
    payload["chart"]["result"][0]["meta"]["exchangeTimezoneName"] = "Mars/Olympus_Mons"
    with pytest.raises(PayloadError) as caught:
        parse_chart(payload, "XLK")
    assert caught.value.field == "meta.exchangeTimezoneName"


def test_a_chart_error_is_a_payload_error_with_its_description() -> None:
    with pytest.raises(PayloadError, match="symbol may be delisted"):
        parse_chart(NOT_FOUND, "NOPE")


def test_a_repeated_session_keeps_the_last_bar() -> None:
    payload = xlk(timestamp=[1719840600, 1719927000, 1719927000])
    frame = parse_chart(payload, "XLK")
    assert frame["date"].tolist() == [pd.Timestamp("2024-07-01"), pd.Timestamp("2024-07-02")]
    assert frame["close"].iloc[-1] == 231.47


# --- prices schema -----------------------------------------------------------------------


def schema_error(frame: pd.DataFrame) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        validate_frame(PRICES_SCHEMA, frame, "yahoo")
    return caught.value


def test_schema_failure_names_the_column_and_the_first_failing_row() -> None:
    frame = parse_chart(XLK_PAYLOAD, "XLK")
    frame.loc[2, "close"] = -1.0
    frame.loc[1, "close"] = 0.0
    error = schema_error(frame)
    assert (error.source, error.field, error.row) == ("yahoo", "close", 1)
    assert "field 'close', row 1" in str(error)


def test_schema_rejects_non_finite_prices() -> None:
    frame = parse_chart(XLK_PAYLOAD, "XLK")
    frame.loc[0, "adj_close"] = math.inf
    assert (schema_error(frame).field, schema_error(frame).row) == ("adj_close", 0)


def test_schema_rejects_a_low_above_the_high() -> None:
    frame = parse_chart(XLK_PAYLOAD, "XLK")
    frame.loc[1, "low"] = 999.0
    assert (schema_error(frame).field, schema_error(frame).row) == ("low", 1)


def test_schema_rejects_a_repeated_date_and_ticker() -> None:
    frame = parse_chart(XLK_PAYLOAD, "XLK")
    frame.loc[2, "date"] = frame.loc[1, "date"]
    assert (schema_error(frame).field, schema_error(frame).row) == ("date, ticker", 1)


def test_schema_rejects_a_float_volume_column() -> None:
    frame = parse_chart(XLK_PAYLOAD, "XLK").astype({"volume": "float64"})
    assert schema_error(frame).field == "volume"


# --- client ------------------------------------------------------------------------------


def test_daily_bars_asks_for_new_york_midnights_with_an_exclusive_period2() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=XLK_PAYLOAD)

    api = ApiClient(unlimited(YAHOO_POLICY), transport=httpx.MockTransport(handler))
    with YahooChartClient(api) as client:
        client.daily_bars("^GSPC", dt.date(2024, 7, 1), dt.date(2024, 7, 5))
    url = seen[0].url
    assert url.host == "query2.finance.yahoo.com"
    assert url.raw_path.startswith(b"/v8/finance/chart/%5EGSPC?")
    assert url.params["period1"] == "1719806400"  # 2024-07-01 00:00 EDT
    assert url.params["period2"] == "1720238400"  # 2024-07-06 00:00 EDT
    assert (url.params["interval"], url.params["events"]) == ("1d", "div,splits")


def test_the_live_policy_is_throttled_and_treats_404_as_unknown_symbol() -> None:
    assert YAHOO_POLICY.requests_per_second == 2.0
    assert YAHOO_POLICY.burst == 5
    assert YAHOO_POLICY.not_found_is_empty
    assert YAHOO_POLICY.base_url == "https://query2.finance.yahoo.com"


# --- sample mode -------------------------------------------------------------------------


def test_importing_the_sample_module_registers_the_yahoo_host() -> None:
    assert SAMPLE_HANDLERS["query2.finance.yahoo.com"] is sample_yahoo.handle_chart_request


def test_sample_client_has_no_rate_limit(sample_client: YahooChartClient) -> None:
    assert math.isinf(sample_client.api.policy.requests_per_second)


def test_sample_round_trip_returns_the_sessions_of_the_range(
    sample_client: YahooChartClient,
) -> None:
    start, end = dt.date(2024, 6, 28), dt.date(2024, 7, 9)
    result = fetch_prices(sample_client, ["XLK", "AAPL", "ROM"], start, end)
    frame = result.frame
    sessions = [pd.Timestamp(d) for d in trading_days(start, end)]
    assert len(sessions) == 7  # 2024-07-04 is a holiday
    for ticker in ("XLK", "AAPL", "ROM"):
        assert frame.loc[frame["ticker"] == ticker, "date"].tolist() == sessions
    assert result.unknown == [] and result.missing == []
    validate_frame(PRICES_SCHEMA, frame, "yahoo")


def test_sample_prices_are_the_sample_markets_bars(sample_client: YahooChartClient) -> None:
    start, end = dt.date(2024, 6, 3), dt.date(2024, 6, 28)
    frame = fetch_prices(sample_client, ["XLE"], start, end).frame
    bars = sample_market(SIZE, 7).bars("XLE", start, end)
    np.testing.assert_allclose(frame["close"], bars.close, atol=1e-6)
    np.testing.assert_allclose(frame["adj_close"], bars.adj_close, atol=1e-6)
    assert frame["volume"].tolist() == bars.volume.tolist()


def test_unknown_symbols_are_skipped_and_reported(sample_client: YahooChartClient) -> None:
    result = fetch_prices(
        sample_client, ["XLK", "ZZZZZ", "AAPL"], dt.date(2024, 7, 1), dt.date(2024, 7, 3)
    )
    assert result.unknown == ["ZZZZZ"]
    assert result.missing == ["ZZZZZ"]
    assert sorted(result.frame["ticker"].unique()) == ["AAPL", "XLK"]


def test_the_sample_answers_an_unknown_symbol_with_yahoos_404_body() -> None:
    with httpx.Client(transport=sample_transport()) as raw:
        response = raw.get("https://query2.finance.yahoo.com/v8/finance/chart/ZZZZZ")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_fetching_is_deterministic_and_a_sub_range_is_a_slice(
    sample_client: YahooChartClient,
) -> None:
    symbols = ["XLF", "UYG", "MSFT"]
    long_range = fetch_prices(sample_client, symbols, dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    again = fetch_prices(sample_client, symbols, dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    pd.testing.assert_frame_equal(long_range.frame, again.frame)
    short = fetch_prices(sample_client, symbols, dt.date(2024, 3, 1), dt.date(2024, 3, 31)).frame
    in_march = long_range.frame["date"].between("2024-03-01", "2024-03-31")
    pd.testing.assert_frame_equal(short, long_range.frame[in_march].reset_index(drop=True))


def test_the_sample_has_no_bars_after_as_of(sample_client: YahooChartClient) -> None:
    frame = fetch_prices(sample_client, ["XLK"], dt.date(2025, 6, 1), dt.date(2025, 8, 1)).frame
    assert frame["date"].max() == pd.Timestamp(AS_OF)
    result = fetch_prices(sample_client, ["XLK"], dt.date(2025, 7, 1), dt.date(2025, 7, 31))
    assert result.frame.empty
    assert result.missing == ["XLK"] and result.unknown == []


def test_the_sample_payload_has_yahoos_shape(sample_client: YahooChartClient) -> None:
    payload = sample_client.daily_bars("XLU", dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    assert payload is not None and payload["chart"]["error"] is None
    result = payload["chart"]["result"][0]
    meta = result["meta"]
    assert set(XLK_PAYLOAD["chart"]["result"][0]["meta"]) <= set(meta)
    assert (meta["symbol"], meta["instrumentType"], meta["exchangeName"]) == ("XLU", "ETF", "PCX")
    assert meta["exchangeTimezoneName"] == "America/New_York"
    assert set(result["indicators"]["quote"][0]) == {"open", "high", "low", "close", "volume"}
    first_open = dt.datetime(2024, 6, 3, 9, 30, tzinfo=sample_yahoo.NEW_YORK)
    assert result["timestamp"][0] == int(first_open.timestamp())
    ((key, dividend),) = result["events"]["dividends"].items()
    assert key == str(dividend["date"]) and int(key) in result["timestamp"]
    assert dividend["amount"] > 0


def test_the_sample_serves_range_requests_ending_at_as_of() -> None:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    try:
        with httpx.Client(transport=sample_transport()) as raw:
            response = raw.get(
                "https://query2.finance.yahoo.com/v8/finance/chart/AAPL",
                params={"range": "5d", "interval": "1d"},
            )
    finally:
        sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)
    frame = parse_chart(response.json(), "AAPL")
    assert response.json()["chart"]["result"][0]["meta"]["range"] == "5d"
    expected = trading_days(dt.date(2025, 6, 24), AS_OF)
    assert [d.date() for d in frame["date"]] == expected


def test_make_yahoo_client_selects_the_sample_universe_size() -> None:
    before = sample_yahoo.sample_config()
    try:
        with make_yahoo_client(DataMode.SAMPLE, universe_size=200):
            assert sample_yahoo.sample_config().size == 200
    finally:
        sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)
