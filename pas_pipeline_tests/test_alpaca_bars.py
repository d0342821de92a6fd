"""Alpaca stock bars: client, batching, pagination, parser, schema, sample mode vs Yahoo."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from pas_pipeline.config import DataMode, Secret
from pas_pipeline.schemas import PRICES_SCHEMA, validate_frame
from pas_pipeline.sources import alpaca_bars
from pas_pipeline.sources.alpaca_bars import (
    ALPACA_BARS_POLICY,
    AlpacaBarsClient,
    alpaca_bars_api,
    fetch_alpaca_prices,
    make_alpaca_bars_client,
    parse_bars,
)
from pas_pipeline.sources.errors import PayloadError, SourceAuthError
from pas_pipeline.sources.http import sample_transport
from pas_pipeline.sources.sample import alpaca_bars as sample_bars
from pas_pipeline.sources.sample import alpaca_news as sample_news
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.sample.market import sample_market
from pas_pipeline.sources.yahoo import PRICE_COLUMNS, fetch_prices, make_yahoo_client

KEY, SECRET = "PKTESTKEY123", "s3cr3t-value-xyz"
SIZE = 60
AS_OF = dt.date(2025, 7, 1)
BARS_URL = "https://data.alpaca.markets/v2/stocks/bars"

# The reference payload of external-apis.md §5.4 (adjustment=split) ...
SPLIT_BARS: dict[str, list[dict[str, Any]]] = {
    "AAPL": [
        {"t": "2024-07-08T04:00:00Z", "o": 227.09, "h": 227.85, "l": 223.25, "c": 227.82,
         "v": 59085861, "n": 780434, "vw": 226.08},
        {"t": "2024-07-09T04:00:00Z", "o": 227.93, "h": 229.4, "l": 226.37, "c": 228.68,
         "v": 48169822, "n": 652391, "vw": 228.19},
    ]
}  # fmt: skip
# ... and its adjustment=all twin: a later dividend scales every price by 0.995.
ALL_BARS = {
    "AAPL": [
        {**bar, **{k: round(bar[k] * 0.995, 6) for k in ("o", "h", "l", "c")}}
        for bar in SPLIT_BARS["AAPL"]
    ]
}


def json_response(payload: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(payload).encode(), headers={"content-type": "application/json"}
    )


Handler = Callable[[httpx.Request], httpx.Response]


def live_client(handler: Handler) -> tuple[AlpacaBarsClient, list[httpx.Request]]:
    """The production client with keys, on a recording mock transport, without waits."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    api = alpaca_bars_api(
        Secret(KEY),
        Secret(SECRET),
        transport=httpx.MockTransport(record),
        sleep=lambda seconds: None,
        clock=lambda: 0.0,
    )
    return AlpacaBarsClient(api), seen


def by_adjustment(request: httpx.Request) -> httpx.Response:
    """The reference bars: ``split`` for adjustment=split, ``all`` for adjustment=all."""
    bars = ALL_BARS if request.url.params["adjustment"] == "all" else SPLIT_BARS
    return json_response({"bars": bars, "next_page_token": None})


@pytest.fixture
def sample_config() -> Iterator[None]:
    """A small sample market with a fixed "today", restored afterwards."""
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    yield
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


@pytest.fixture
def sample_client(sample_config: None) -> Iterator[AlpacaBarsClient]:
    with make_alpaca_bars_client(DataMode.SAMPLE) as client:
        yield client


# --- parser ---------------------------------------------------------------------------------


def test_the_reference_payload_becomes_the_tidy_price_frame() -> None:
    frame = parse_bars(SPLIT_BARS, ALL_BARS)
    assert list(frame.columns) == list(PRICE_COLUMNS)
    assert frame["date"].tolist() == [pd.Timestamp("2024-07-08"), pd.Timestamp("2024-07-09")]
    assert frame["ticker"].tolist() == ["AAPL", "AAPL"]
    assert frame["open"].tolist() == [227.09, 227.93]
    assert frame["high"].tolist() == [227.85, 229.4]
    assert frame["low"].tolist() == [223.25, 226.37]
    assert frame["close"].tolist() == [227.82, 228.68]  # the split-adjusted answer
    assert frame["adj_close"].tolist() == [226.6809, 227.5366]  # 227.82 * 0.995, 228.68 * 0.995
    assert frame["volume"].tolist() == [59085861, 48169822]


def test_the_frame_has_the_prices_dtypes_and_passes_the_prices_schema() -> None:
    frame = parse_bars(SPLIT_BARS, ALL_BARS)
    assert str(frame["date"].dtype) == "datetime64[ns]"
    assert frame["volume"].dtype == np.int64
    assert all(frame[c].dtype == np.float64 for c in ("open", "high", "low", "close", "adj_close"))
    validate_frame(PRICES_SCHEMA, frame, "alpaca_bars")


def test_without_the_adjusted_answer_adj_close_is_the_close() -> None:
    frame = parse_bars(SPLIT_BARS)
    assert frame["adj_close"].tolist() == frame["close"].tolist() == [227.82, 228.68]


def test_a_winter_bar_at_five_utc_is_the_same_new_york_day() -> None:
    winter = {"SPY": [{"t": "2024-01-08T05:00:00Z", "o": 1, "h": 2, "l": 1, "c": 2, "v": 10}]}
    assert parse_bars(winter)["date"].tolist() == [pd.Timestamp("2024-01-08")]


def test_an_offset_time_is_converted_to_its_new_york_day() -> None:
    bars = {"SPY": [{"t": "2024-07-08T00:00:00-04:00", "o": 1, "h": 2, "l": 1, "c": 2, "v": 1}]}
    assert parse_bars(bars)["date"].tolist() == [pd.Timestamp("2024-07-08")]


def test_a_repeated_session_keeps_the_last_bar() -> None:
    first, second = SPLIT_BARS["AAPL"]
    bars = {"AAPL": [first, second, {**second, "c": 229.0}]}
    frame = parse_bars(bars)
    assert frame["close"].tolist() == [227.82, 229.0]


def test_symbols_keep_their_order_and_a_bar_without_n_or_vw_is_fine() -> None:
    bars = {
        "MSFT": [{"t": "2024-07-08T04:00:00Z", "o": 1, "h": 3, "l": 1, "c": 2, "v": 5}],
        "AAPL": SPLIT_BARS["AAPL"][:1],
    }
    assert parse_bars(bars)["ticker"].tolist() == ["MSFT", "AAPL"]


@pytest.mark.parametrize(
    ("row_change", "field", "row"),
    [
        ({"c": "abc"}, "bars.AAPL.c", 1),
        ({"c": None}, "bars.AAPL.c", 1),
        ({"v": [1]}, "bars.AAPL.v", 1),
        ({"o": True}, "bars.AAPL.o", 1),
        ({"t": "2024-07-09T04:00:00"}, "bars.AAPL.t", 1),  # no zone
        ({"t": 1720497600}, "bars.AAPL.t", 1),  # epoch number, not RFC-3339 text
        ({"t": "yesterday"}, "bars.AAPL.t", 1),
    ],
)
def test_a_malformed_bar_is_a_payload_error_naming_field_and_row(
    row_change: dict[str, Any], field: str, row: int
) -> None:
    bars = copy.deepcopy(SPLIT_BARS)
    bars["AAPL"][1].update(row_change)
    with pytest.raises(PayloadError) as caught:
        parse_bars(bars)
    assert (caught.value.field, caught.value.row) == (field, row)
    assert f"field '{field}'" in str(caught.value) and f"row {row}" in str(caught.value)


def test_a_missing_price_key_names_it() -> None:
    bars = copy.deepcopy(SPLIT_BARS)
    del bars["AAPL"][0]["h"]
    with pytest.raises(PayloadError) as caught:
        parse_bars(bars)
    assert (caught.value.field, caught.value.row) == ("bars.AAPL.h", 0)


def test_a_bar_that_is_not_an_object_names_the_symbol_and_row() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_bars({"AAPL": [SPLIT_BARS["AAPL"][0], [1, 2, 3]]})
    assert (caught.value.field, caught.value.row) == ("bars.AAPL", 1)


def test_an_adjusted_answer_without_a_session_is_a_payload_error() -> None:
    short = {"AAPL": ALL_BARS["AAPL"][:1]}
    with pytest.raises(PayloadError) as caught:
        parse_bars(SPLIT_BARS, short)
    assert (caught.value.field, caught.value.row) == ("bars.AAPL", 1)


def test_an_adjusted_answer_with_an_extra_session_is_a_payload_error() -> None:
    early = {**ALL_BARS["AAPL"][0], "t": "2024-07-05T04:00:00Z"}
    longer = {"AAPL": [early, *ALL_BARS["AAPL"]]}
    with pytest.raises(PayloadError) as caught:
        parse_bars(SPLIT_BARS, longer)
    assert (caught.value.field, caught.value.row) == ("bars.AAPL", 2)


def test_no_bars_give_an_empty_frame_with_the_prices_dtypes() -> None:
    frame = parse_bars({})
    assert list(frame.columns) == list(PRICE_COLUMNS) and frame.empty
    validate_frame(PRICES_SCHEMA, frame, "alpaca_bars")


# --- client ---------------------------------------------------------------------------------


def test_a_request_asks_for_daily_bars_between_new_york_midnights_with_the_keys() -> None:
    client, seen = live_client(by_adjustment)
    client.daily_bars(["AAPL", "MSFT"], dt.date(2024, 1, 8), dt.date(2024, 7, 9), "split")
    (request,) = seen
    assert request.url.path == "/v2/stocks/bars"
    assert dict(request.url.params) == {
        "symbols": "AAPL,MSFT",
        "timeframe": "1Day",
        "start": "2024-01-08T05:00:00Z",  # winter: New York is UTC-5
        "end": "2024-07-09T04:00:00Z",  # summer: UTC-4; the last bar's own t (inclusive)
        "limit": "10000",
        "adjustment": "split",
        "feed": "sip",
        "sort": "asc",
    }
    assert request.headers["APCA-API-KEY-ID"] == KEY
    assert request.headers["APCA-API-SECRET-KEY"] == SECRET


def test_pages_are_followed_and_a_symbol_split_over_pages_is_joined() -> None:
    first, second = SPLIT_BARS["AAPL"]
    msft = {**first, "c": 466.24}
    pages = {
        None: ({"AAPL": [first]}, "page-2"),
        "page-2": ({"AAPL": [second], "MSFT": [msft]}, None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        bars, token = pages[request.url.params.get("page_token")]
        return json_response({"bars": bars, "next_page_token": token})

    client, seen = live_client(handler)
    bars = client.daily_bars(["AAPL", "MSFT"], dt.date(2024, 7, 8), dt.date(2024, 7, 9))
    assert bars == {"AAPL": [first, second], "MSFT": [msft]}
    assert [r.url.params.get("page_token") for r in seen] == [None, "page-2"]


def test_symbols_go_two_hundred_to_a_request() -> None:
    client, seen = live_client(lambda r: json_response({"bars": {}, "next_page_token": None}))
    symbols = [f"S{i:03d}" for i in range(450)] + ["S000"]  # a repeat is asked once
    client.daily_bars(symbols, dt.date(2024, 7, 8), dt.date(2024, 7, 9))
    sizes = [len(r.url.params["symbols"].split(",")) for r in seen]
    assert sizes == [200, 200, 50]


def test_a_null_bars_object_means_no_bars() -> None:
    client, _ = live_client(lambda r: json_response({"bars": None, "next_page_token": None}))
    assert client.daily_bars(["ZZZZ"], dt.date(2024, 7, 8), dt.date(2024, 7, 9)) == {}


def test_a_repeating_page_token_is_a_payload_error() -> None:
    client, _ = live_client(lambda r: json_response({"bars": {}, "next_page_token": "same"}))
    with pytest.raises(PayloadError) as caught:
        client.daily_bars(["AAPL"], dt.date(2024, 7, 8), dt.date(2024, 7, 9))
    assert caught.value.field == "next_page_token"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "bars"),
        ({"bars": []}, "bars"),
        ({"bars": {"AAPL": {}}}, "bars.AAPL"),
        ({"bars": {}, "next_page_token": 7}, "next_page_token"),
    ],
)
def test_a_body_of_the_wrong_shape_is_a_payload_error(body: Any, field: str) -> None:
    client, _ = live_client(lambda r: json_response(body))
    with pytest.raises(PayloadError) as caught:
        client.daily_bars(["AAPL"], dt.date(2024, 7, 8), dt.date(2024, 7, 9))
    assert caught.value.field == field


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth_errors_that_never_show_the_keys(status: int) -> None:
    body = {"code": 40110000, "message": f"access key verification failed {KEY} {SECRET}"}
    client, _ = live_client(lambda r: json_response(body, status))
    with pytest.raises(SourceAuthError) as caught:
        client.daily_bars(["AAPL"], dt.date(2024, 7, 8), dt.date(2024, 7, 9))
    text = str(caught.value)
    assert str(status) in text and "/v2/stocks/bars" in text
    assert KEY not in text and SECRET not in text


def test_live_mode_without_keys_names_the_variables() -> None:
    with pytest.raises(SourceAuthError) as caught:
        make_alpaca_bars_client(DataMode.LIVE, Secret(KEY), None)
    assert "ALPACA_API_KEY" in str(caught.value) and "ALPACA_API_SECRET" in str(caught.value)
    assert KEY not in str(caught.value)


def test_the_live_policy_is_three_requests_a_second_with_retries() -> None:
    assert ALPACA_BARS_POLICY.base_url == "https://data.alpaca.markets"
    assert ALPACA_BARS_POLICY.requests_per_second == 3.0
    assert ALPACA_BARS_POLICY.max_retries == 5


# --- fetch ----------------------------------------------------------------------------------


def test_fetch_takes_close_from_split_and_adj_close_from_all_and_lists_missing() -> None:
    client, seen = live_client(by_adjustment)
    result = fetch_alpaca_prices(client, ["ZZZZ", "AAPL"], dt.date(2024, 7, 8), dt.date(2024, 7, 9))
    assert sorted(r.url.params["adjustment"] for r in seen) == ["all", "split"]
    assert result.frame["close"].tolist() == [227.82, 228.68]
    assert result.frame["adj_close"].tolist() == [226.6809, 227.5366]
    assert result.missing == ["ZZZZ"] and result.unknown == []


def test_fetch_refuses_an_end_before_the_start() -> None:
    client, _ = live_client(by_adjustment)
    with pytest.raises(ValueError, match="before start"):
        fetch_alpaca_prices(client, ["AAPL"], dt.date(2024, 7, 9), dt.date(2024, 7, 8))


# --- sample mode ----------------------------------------------------------------------------


def test_importing_the_sample_module_adds_the_bars_route_to_the_alpaca_host() -> None:
    assert sample_news.ROUTES["/v2/stocks/bars"] is sample_bars.bars_response
    assert sample_news.ROUTES["/v1beta1/news"] is sample_news.news_response


def test_sample_client_is_the_real_client_without_a_rate_limit(
    sample_client: AlpacaBarsClient,
) -> None:
    assert math.isinf(sample_client.api.policy.requests_per_second)


def test_the_sample_serves_the_real_shape_and_leaves_unknown_symbols_out(
    sample_config: None,
) -> None:
    params = {
        "symbols": "XLK,ZZZZ",
        "timeframe": "1Day",
        "start": "2024-07-08T04:00:00Z",
        "end": "2024-07-09T04:00:00Z",
        "adjustment": "raw",
    }
    with httpx.Client(transport=sample_transport()) as raw:
        body = raw.get(BARS_URL, params=params).json()
    assert list(body) == ["bars", "next_page_token"] and body["next_page_token"] is None
    assert list(body["bars"]) == ["XLK"]
    bars = body["bars"]["XLK"]
    assert [bar["t"] for bar in bars] == ["2024-07-08T04:00:00Z", "2024-07-09T04:00:00Z"]
    assert set(bars[0]) == {"t", "o", "h", "l", "c", "v", "n", "vw"}
    market = sample_market(SIZE, 7).bars("XLK", dt.date(2024, 7, 8), dt.date(2024, 7, 9))
    assert [bar["c"] for bar in bars] == np.round(market.close, 6).tolist()


def test_the_sample_pages_split_a_symbol_and_join_back_to_the_whole(sample_config: None) -> None:
    params = {
        "symbols": "XLK,XLE",
        "timeframe": "1Day",
        "start": "2024-07-01T04:00:00Z",
        "end": "2024-07-12T04:00:00Z",  # 9 sessions (July 4 is a holiday)
    }
    with httpx.Client(transport=sample_transport()) as raw:
        whole = raw.get(BARS_URL, params=params).json()["bars"]
        joined: dict[str, list[Any]] = {}
        token, pages = None, []
        while True:
            paged = {**params, "limit": 5, **({"page_token": token} if token else {})}
            body = raw.get(BARS_URL, params=paged).json()
            pages.append({symbol: len(rows) for symbol, rows in body["bars"].items()})
            for symbol, rows in body["bars"].items():
                joined.setdefault(symbol, []).extend(rows)
            token = body["next_page_token"]
            if token is None:
                break
    assert pages == [{"XLE": 5}, {"XLE": 4, "XLK": 1}, {"XLK": 5}, {"XLK": 3}]
    assert joined == whole


def test_the_real_client_follows_the_samples_pages(
    sample_client: AlpacaBarsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, end = dt.date(2024, 6, 3), dt.date(2024, 6, 28)
    one_page = fetch_alpaca_prices(sample_client, ["XLK", "AAPL"], start, end).frame
    monkeypatch.setattr(alpaca_bars, "PAGE_LIMIT", 7)
    paged = fetch_alpaca_prices(sample_client, ["XLK", "AAPL"], start, end).frame
    assert len(one_page) == 2 * 19  # 19 sessions in June 2024 (Juneteenth closed)
    pd.testing.assert_frame_equal(paged, one_page)


def test_sample_adjustment_all_closes_are_the_markets_adjusted_closes(sample_config: None) -> None:
    params = {
        "symbols": "XLU",
        "timeframe": "1Day",
        "start": "2024-06-03T04:00:00Z",
        "end": "2024-06-28T04:00:00Z",
        "adjustment": "all",
    }
    with httpx.Client(transport=sample_transport()) as raw:
        bars = raw.get(BARS_URL, params=params).json()["bars"]["XLU"]
    market = sample_market(SIZE, 7).bars("XLU", dt.date(2024, 6, 3), dt.date(2024, 6, 28))
    assert [bar["c"] for bar in bars] == np.round(market.adj_close, 6).tolist()
    assert market.adj_close[0] < market.close[0]  # a June ex-date lies after the first session


def test_in_sample_mode_alpaca_and_yahoo_give_the_same_frame(
    sample_client: AlpacaBarsClient,
) -> None:
    tickers = ["XLK", "XLU", "ROM", "AAPL", "MSFT"]
    start, end = dt.date(2024, 3, 1), dt.date(2024, 7, 12)
    alpaca = fetch_alpaca_prices(sample_client, tickers, start, end)
    with make_yahoo_client(DataMode.SAMPLE) as yahoo_client:
        yahoo = fetch_prices(yahoo_client, tickers, start, end)
    assert not alpaca.frame.empty and alpaca.missing == yahoo.missing == []
    pd.testing.assert_frame_equal(alpaca.frame, yahoo.frame, check_exact=False, atol=1e-9, rtol=0)
    validate_frame(PRICES_SCHEMA, alpaca.frame, "alpaca_bars")


def test_symbols_outside_the_sample_market_are_missing(sample_client: AlpacaBarsClient) -> None:
    result = fetch_alpaca_prices(
        sample_client, ["XLK", "ZZZZZ", "AAPL"], dt.date(2024, 7, 1), dt.date(2024, 7, 3)
    )
    assert result.missing == ["ZZZZZ"] and result.unknown == []
    assert result.frame["ticker"].unique().tolist() == ["XLK", "AAPL"]


def test_the_sample_has_no_bars_after_as_of(sample_client: AlpacaBarsClient) -> None:
    frame = fetch_alpaca_prices(sample_client, ["XLK"], dt.date(2025, 6, 1), dt.date(2025, 8, 1))
    assert frame.frame["date"].max() == pd.Timestamp(AS_OF)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"timeframe": "1Hour"}, "timeframe"),
        ({"start": "2024-07-08"}, "RFC-3339"),
        ({"limit": "10001"}, "limit"),
        ({"adjustment": "none"}, "adjustment"),
        ({"page_token": "not-a-token"}, "page token"),
    ],
)
def test_the_sample_answers_bad_parameters_with_400(
    sample_config: None, change: dict[str, str], words: str
) -> None:
    params = {"symbols": "XLK", "timeframe": "1Day", "start": "2024-07-08T04:00:00Z", **change}
    with httpx.Client(transport=sample_transport()) as raw:
        response = raw.get(BARS_URL, params=params)
    assert response.status_code == 400 and words in response.json()["message"]


def test_the_price_source_setting_switches_the_prices_asset_without_changing_a_number() -> None:
    from pas_pipeline.config import PriceSource, Settings
    from pas_pipeline.defs.resources import DataSourcesResource

    assert Settings.from_env({"PAS_PRICE_SOURCE": "Alpaca"}).price_source is PriceSource.ALPACA
    symbols, start, end = ["XLK", "XLE"], dt.date(2024, 6, 3), dt.date(2024, 6, 14)
    yahoo = DataSourcesResource(price_source="yahoo").prices(symbols, start, end).frame
    alpaca = DataSourcesResource(price_source="alpaca").prices(symbols, start, end).frame
    assert len(yahoo) == 20
    pd.testing.assert_frame_equal(
        alpaca.sort_values(["ticker", "date"], ignore_index=True),
        yahoo.sort_values(["ticker", "date"], ignore_index=True),
        check_exact=False,
        atol=1e-9,
    )
