"""Alpaca News API: client, batching, pagination, parser, daily sentiment, schema, sample."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

from pas_pipeline.config import DataMode, Secret
from pas_pipeline.schemas import validate_frame
from pas_pipeline.sources.alpaca_news import (
    ALPACA_NEWS_POLICY,
    NEWS_SENTIMENT_COLUMNS,
    NEWS_SENTIMENT_SCHEMA,
    AlpacaNewsClient,
    alpaca_news_api,
    batches,
    daily_sentiment,
    fetch_news_sentiment,
    make_alpaca_news_client,
    parse_articles,
)
from pas_pipeline.sources.errors import PayloadError, SourceAuthError
from pas_pipeline.sources.http import SAMPLE_HANDLERS
from pas_pipeline.sources.sample import alpaca_news as sample_news
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline.strategies.trends_news import news_scores

KEY, SECRET = "PKTESTKEY123", "s3cr3t-value-xyz"
SIZE = 60
AS_OF = dt.date(2025, 7, 1)


def article(ident: int, created_at: str, symbols: list[str], headline: str, **extra: Any) -> dict:
    """An article in the shape of alpaca-py's news test (content empty, three images)."""
    return {
        "author": "John",
        "content": "",
        "created_at": created_at,
        "headline": headline,
        "id": ident,
        "images": [{"size": "thumb", "url": "https://"}],
        "source": "benzinga",
        "summary": "",
        "symbols": symbols,
        "updated_at": created_at,
        "url": "https://",
        **extra,
    }


# Scores: 1.0 (surge, record), -1.0 (fall, miss), 0.0 (no lexicon word).
ARTICLES = [
    article(40432158, "2024-08-18T20:15:44Z", ["AAPL", "QCOM"], "Apple shares surge to record"),
    article(40432159, "2024-08-18T22:01:00Z", ["AAPL"], "Apple shares fall after revenue miss"),
    article(40432160, "2024-08-19T01:30:00Z", ["AAPL"], "Apple to present at conference"),
    article(40432161, "2024-08-19T09:00:00-04:00", ["MSFT"], "Microsoft wins contract"),
]


def json_response(payload: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(payload).encode(), headers={"content-type": "application/json"}
    )


Handler = Callable[[httpx.Request], httpx.Response]


def live_client(handler: Handler) -> tuple[AlpacaNewsClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    api = alpaca_news_api(
        Secret(KEY),
        Secret(SECRET),
        transport=httpx.MockTransport(record),
        sleep=lambda seconds: None,
        clock=lambda: 0.0,
    )
    return AlpacaNewsClient(api), seen


def frame_of(rows: list[tuple[str, str, str, int, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(NEWS_SENTIMENT_COLUMNS))
    for column in ("event_date", "known_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    frame["articles"] = frame["articles"].astype("int64")
    frame["sentiment"] = frame["sentiment"].astype("float64")
    return frame


# --- parser and daily sentiment ---------------------------------------------------------------


def test_articles_become_one_row_per_requested_ticker_in_utc() -> None:
    got = parse_articles(ARTICLES, wanted=["AAPL", "MSFT"])
    assert list(got["id"]) == [40432158, 40432159, 40432160, 40432161]  # QCOM not requested
    assert list(got["ticker"]) == ["AAPL", "AAPL", "AAPL", "MSFT"]
    assert got["created_at"].iloc[3] == pd.Timestamp("2024-08-19 13:00:00")  # -04:00 -> UTC
    assert str(got["created_at"].dtype) == "datetime64[ns]" and got["id"].dtype == "int64"
    everyone = parse_articles(ARTICLES)
    assert sorted(everyone["ticker"]) == ["AAPL", "AAPL", "AAPL", "MSFT", "QCOM"]


def test_daily_sentiment_is_the_count_and_mean_score_per_ticker_and_utc_day() -> None:
    got = daily_sentiment(parse_articles(ARTICLES, wanted=["AAPL", "MSFT"]))
    want = frame_of(
        [
            ("2024-08-18", "2024-08-19", "AAPL", 2, 0.0),  # (1.0 + -1.0) / 2
            ("2024-08-19", "2024-08-20", "AAPL", 1, 0.0),
            ("2024-08-19", "2024-08-20", "MSFT", 1, 1.0),
        ]
    )
    pd.testing.assert_frame_equal(got, want)
    validate_frame(NEWS_SENTIMENT_SCHEMA, got, "alpaca_news")


def test_no_articles_is_an_empty_frame_with_the_tidy_dtypes() -> None:
    got = daily_sentiment(parse_articles([]))
    assert got.empty and list(got.columns) == list(NEWS_SENTIMENT_COLUMNS)
    assert got["articles"].dtype == "int64" and str(got["event_date"].dtype) == "datetime64[ns]"


@pytest.mark.parametrize(
    ("row", "change", "field"),
    [
        (1, {"id": "40432159"}, "id"),
        (0, {"id": True}, "id"),
        (2, {"headline": None}, "headline"),
        (2, {"headline": "  "}, "headline"),
        (3, {"summary": 5}, "summary"),
        (1, {"created_at": "2024-08-18 22:01:00"}, "created_at"),  # no zone
        (0, {"created_at": "yesterday"}, "created_at"),
        (3, {"symbols": "MSFT"}, "symbols"),
    ],
)
def test_a_bad_article_names_the_field_and_row(
    row: int, change: dict[str, Any], field: str
) -> None:
    items = [dict(item) for item in ARTICLES]
    items[row].update(change)
    with pytest.raises(PayloadError) as info:
        parse_articles(items)
    assert info.value.field == field and info.value.row == row
    assert f"field '{field}'" in str(info.value) and f"row {row}" in str(info.value)
    assert str(info.value).startswith("alpaca_news: ")


def test_the_schema_rejects_out_of_range_sentiment_naming_column_and_row() -> None:
    good = daily_sentiment(parse_articles(ARTICLES))
    bad = good.assign(sentiment=[0.0, 0.0, 1.5, 0.0])
    with pytest.raises(PayloadError) as info:
        validate_frame(NEWS_SENTIMENT_SCHEMA, bad, "alpaca_news")
    assert info.value.field == "sentiment" and info.value.row == 2
    early = good.assign(known_date=good["event_date"] - pd.Timedelta(days=1))
    with pytest.raises(PayloadError) as info:
        validate_frame(NEWS_SENTIMENT_SCHEMA, early, "alpaca_news")
    assert info.value.field == "known_date"


# --- client on a scripted transport ---------------------------------------------------------


def test_the_request_path_parameters_and_key_headers() -> None:
    client, seen = live_client(lambda r: json_response({"news": [], "next_page_token": None}))
    with client:
        client.news_page(["AAPL", "MSFT"], dt.datetime(2024, 8, 18), dt.datetime(2024, 8, 20))
    request = seen[0]
    assert request.url.host == "data.alpaca.markets" and request.url.path == "/v1beta1/news"
    assert dict(request.url.params) == {
        "symbols": "AAPL,MSFT",
        "start": "2024-08-18T00:00:00Z",
        "end": "2024-08-20T00:00:00Z",
        "limit": "50",
        "sort": "asc",
        "include_content": "false",
    }
    assert request.headers["APCA-API-KEY-ID"] == KEY
    assert request.headers["APCA-API-SECRET-KEY"] == SECRET


def test_tickers_are_sent_fifty_to_a_request() -> None:
    tickers = [f"T{n:03d}" for n in range(120)]
    assert [len(group) for group in batches(tickers + tickers[:5])] == [50, 50, 20]
    client, seen = live_client(lambda r: json_response({"news": [], "next_page_token": None}))
    with client:
        frame = fetch_news_sentiment(client, tickers, dt.date(2024, 8, 19), dt.date(2024, 8, 20))
    assert frame.empty
    sent = [request.url.params["symbols"].split(",") for request in seen]
    assert [len(symbols) for symbols in sent] == [50, 50, 20]
    assert [symbol for symbols in sent for symbol in symbols] == tickers


def test_pages_are_followed_with_the_page_token_until_it_is_null() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("page_token")
        if token is None:
            return json_response({"news": ARTICLES[:2], "next_page_token": "MTcyNDAwMjIyNA=="})
        assert token == "MTcyNDAwMjIyNA=="
        return json_response({"news": ARTICLES[2:], "next_page_token": None})

    client, seen = live_client(answer)
    with client:
        frame = fetch_news_sentiment(
            client, ["AAPL", "MSFT"], dt.date(2024, 8, 19), dt.date(2024, 8, 20)
        )
    assert len(seen) == 2 and "page_token" not in seen[0].url.params
    assert seen[1].url.params["symbols"] == "AAPL,MSFT"
    assert list(zip(frame["ticker"], frame["articles"], strict=True)) == [
        ("AAPL", 2),
        ("AAPL", 1),
        ("MSFT", 1),
    ]


def test_fetch_asks_for_the_days_before_and_keeps_only_them() -> None:
    late = article(1, "2024-08-20T00:00:00Z", ["AAPL"], "Apple soars")  # known on the 21st
    client, seen = live_client(lambda r: json_response({"news": [*ARTICLES, late]}))
    with client:
        frame = fetch_news_sentiment(client, ["AAPL"], dt.date(2024, 8, 19), dt.date(2024, 8, 20))
    assert seen[0].url.params["start"] == "2024-08-18T00:00:00Z"
    assert seen[0].url.params["end"] == "2024-08-20T00:00:00Z"
    assert list(frame["known_date"].dt.day) == [19, 20]  # 18th -> 19th, 19th -> 20th
    assert frame["known_date"].max() <= pd.Timestamp("2024-08-20")


def test_a_repeated_page_token_is_a_payload_error_not_a_loop() -> None:
    client, _ = live_client(lambda r: json_response({"news": [], "next_page_token": "same"}))
    with client, pytest.raises(PayloadError) as info:
        client.articles(["AAPL"], dt.datetime(2024, 8, 18), dt.datetime(2024, 8, 19))
    assert info.value.field == "next_page_token"


@pytest.mark.parametrize(
    ("payload", "field"),
    [([], "news"), ({"news": {}}, "news"), ({"news": [], "next_page_token": 5}, "next_page_token")],
)
def test_a_body_of_another_shape_is_a_payload_error(payload: Any, field: str) -> None:
    client, _ = live_client(lambda r: json_response(payload))
    with client, pytest.raises(PayloadError) as info:
        client.news_page(["AAPL"], dt.datetime(2024, 8, 18), dt.datetime(2024, 8, 19))
    assert info.value.field == field


@pytest.mark.parametrize(("status", "words"), [(401, "401"), (403, "403")])
def test_401_and_403_are_auth_errors_that_never_show_the_keys(status: int, words: str) -> None:
    body = {"code": 40110000, "message": f"access key verification failed {KEY}"}
    client, seen = live_client(lambda r: json_response(body, status))
    with client, pytest.raises(SourceAuthError) as info:
        client.news_page(["AAPL"], dt.datetime(2024, 8, 18), dt.datetime(2024, 8, 19))
    assert words in str(info.value) and str(info.value).startswith("alpaca_news: ")
    assert KEY not in str(info.value) and SECRET not in str(info.value)
    assert len(seen) == 1  # not retried


def test_live_mode_without_keys_names_the_variables_only() -> None:
    with pytest.raises(SourceAuthError) as info:
        make_alpaca_news_client(DataMode.LIVE, Secret(KEY), None)
    assert "ALPACA_API_KEY" in str(info.value) and "ALPACA_API_SECRET" in str(info.value)
    assert KEY not in str(info.value)


def test_the_live_policy_stays_under_200_requests_a_minute() -> None:
    assert ALPACA_NEWS_POLICY.base_url == "https://data.alpaca.markets"
    assert ALPACA_NEWS_POLICY.requests_per_second * 60 < 200
    assert ALPACA_NEWS_POLICY.burst == 1


# --- sample handler ---------------------------------------------------------------------------


@pytest.fixture
def sample() -> Iterator[AlpacaNewsClient]:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    with make_alpaca_news_client(DataMode.SAMPLE) as client:
        yield client
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def tickers() -> list[str]:
    return list(sample_universe(SIZE, 7)["ticker"])


def test_importing_the_sample_registers_a_path_dispatcher_with_the_news_route() -> None:
    assert SAMPLE_HANDLERS["data.alpaca.markets"] is sample_news.handle_request
    assert sample_news.ROUTES["/v1beta1/news"] is sample_news.news_response
    with httpx.Client(transport=httpx.MockTransport(sample_news.handle_request)) as raw:
        answer = raw.get("https://data.alpaca.markets/v2/no/such/path")
    assert answer.status_code == 404 and answer.json()["code"] == 40410000


def test_a_route_added_by_another_module_is_served() -> None:
    def other(request: httpx.Request) -> httpx.Response:
        return json_response({"other": [], "next_page_token": None})

    sample_news.ROUTES["/v2/other"] = other
    try:
        with httpx.Client(transport=httpx.MockTransport(sample_news.handle_request)) as raw:
            assert raw.get("https://data.alpaca.markets/v2/other").json() == {
                "other": [],
                "next_page_token": None,
            }
    finally:
        del sample_news.ROUTES["/v2/other"]


def test_sample_round_trip_is_deterministic_and_passes_the_schema(sample: AlpacaNewsClient) -> None:
    start = AS_OF - dt.timedelta(days=20)
    first = fetch_news_sentiment(sample, tickers(), start, AS_OF + dt.timedelta(days=3))
    again = fetch_news_sentiment(sample, tickers(), start, AS_OF + dt.timedelta(days=3))
    pd.testing.assert_frame_equal(first, again)
    validate_frame(NEWS_SENTIMENT_SCHEMA, first, "alpaca_news")
    assert first["known_date"].min() >= pd.Timestamp(start)
    assert first["known_date"].max() == pd.Timestamp(AS_OF)  # nothing from "today" on
    counts = first.groupby("ticker")["articles"].sum()
    assert counts["NVDA"] > counts.median()  # big companies get more news
    raw, _ = sample.news_page(["AAPL"], dt.datetime(2025, 6, 1), dt.datetime(2025, 6, 8))
    assert set(raw[0]) == set(ARTICLES[0])
    assert raw[0]["symbols"] == ["AAPL"] and raw[0]["content"] == ""


def test_sample_pages_split_one_query_without_gaps(sample: AlpacaNewsClient) -> None:
    start, end = dt.datetime(2025, 6, 1), dt.datetime(2025, 6, 15)
    every = sample.articles(tickers()[:10], start, end)
    assert len(every) > 50  # so at least two pages were followed
    ids = [item["id"] for item in every]
    assert len(set(ids)) == len(ids)
    created = [item["created_at"] for item in every]
    assert created == sorted(created)


def test_sample_buzz_tickers_have_positive_news_in_the_last_month(sample: AlpacaNewsClient) -> None:
    buzz = sample_news.buzz_tickers()
    assert 1 <= len(buzz) <= 6 and set(buzz) <= set(tickers())
    frame = fetch_news_sentiment(sample, buzz, AS_OF - dt.timedelta(days=30), AS_OF)
    scores = news_scores(frame, pd.Timestamp(AS_OF))
    assert set(scores.index) == set(buzz)
    assert (scores["sentiment"] > 0.3).all() and (scores["articles"] >= 10).all()
