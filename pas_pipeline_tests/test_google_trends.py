"""Google Trends: search terms, the two-step client, ``)]}'`` prefixes, parser, schema, sample."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

from pas_pipeline.config import DataMode
from pas_pipeline.schemas import validate_frame
from pas_pipeline.sources.errors import PayloadError, SourceRateLimitedError
from pas_pipeline.sources.google_trends import (
    GOOGLE_TRENDS_POLICY,
    SEARCH_INTEREST_COLUMNS,
    SEARCH_INTEREST_SCHEMA,
    GoogleTrendsClient,
    fetch_search_interest,
    google_trends_apis,
    make_google_trends_client,
    parse_timeline,
    search_term,
    timeframe,
)
from pas_pipeline.sources.http import SAMPLE_HANDLERS, sample_transport
from pas_pipeline.sources.sample import google_trends as sample_trends
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.sample.alpaca_news import buzz_tickers
from pas_pipeline.sources.session_auth import SessionAuth
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline.strategies.trends_news import rising_interest

SIZE = 60
AS_OF = dt.date(2025, 7, 1)
JUNE_1 = 1717200000  # 2024-06-01T00:00:00Z


def point(day: int, value: int, **extra: Any) -> dict[str, Any]:
    """A daily ``timelineData`` point of June 2024 as Google sends it with ``tz=0``."""
    return {
        "time": str(JUNE_1 + (day - 1) * 86_400),
        "formattedTime": f"Jun {day}, 2024",
        "formattedAxisTime": f"Jun {day}",
        "value": [value],
        "hasData": [True],
        "formattedValue": [str(value)],
        **extra,
    }


TIMELINE = [point(1, 57), point(2, 100), point(3, 0, hasData=[False]), point(4, 80, isPartial=True)]
WIDGET_REQUEST = {
    "time": "2024-06-01 2024-06-04",
    "resolution": "DAY",
    "comparisonItem": [
        {"complexKeywordsRestriction": {"keyword": [{"type": "BROAD", "value": "Apple"}]}}
    ],
}
EXPLORE = {
    "widgets": [
        {"id": "GEO_MAP", "token": "geo", "request": {}},
        {"id": "TIMESERIES", "token": "APP6_TOKEN", "request": WIDGET_REQUEST},
    ]
}


def frame_of(rows: list[tuple[str, str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(SEARCH_INTEREST_COLUMNS))
    for column in ("event_date", "known_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    frame["interest"] = frame["interest"].astype("float64")
    return frame


# --- search terms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "term"),
    [
        ("Apple Inc.", "Apple"),
        ("Tesla, Inc.", "Tesla"),
        ("The Walt Disney Company", "Walt Disney"),
        ("Eli Lilly and Company", "Eli Lilly"),
        ("Merck & Co.", "Merck"),
        ("Amazon.com", "Amazon"),
        ("Oracle Corporation", "Oracle"),
        ("Linde plc", "Linde"),
        ("Northfield Global Dynamics Holdings Inc.", "Northfield Global Dynamics"),
        ("Nvidia", "Nvidia"),
        ("Group Inc.", "Group"),  # never stripped down to nothing
    ],
)
def test_the_search_term_is_the_short_company_name(name: str, term: str) -> None:
    assert search_term(name) == term


# --- parser -----------------------------------------------------------------------------------


def test_daily_points_parse_to_exact_rows_known_three_days_later() -> None:
    got = parse_timeline(TIMELINE, "AAPL", "Apple")
    # 3 June has no data and 4 June is partial: both left out.
    want = frame_of(
        [
            ("2024-06-01", "2024-06-04", "AAPL", "Apple", 57.0),
            ("2024-06-02", "2024-06-05", "AAPL", "Apple", 100.0),
        ]
    )
    pd.testing.assert_frame_equal(got, want)
    validate_frame(SEARCH_INTEREST_SCHEMA, got, "google_trends")


@pytest.mark.parametrize(
    ("row", "change", "field"),
    [
        (1, {"time": 1717286400}, "time"),  # a number, not text
        (0, {"time": "1717203600"}, "time"),  # 01:00 UTC: not a daily point with tz=0
        (1, {"time": str(JUNE_1)}, "time"),  # 1 June twice
        (2, {"value": [57, 3]}, "value"),  # two keywords
        (0, {"value": [101]}, "value"),
        (1, {"value": ["57"]}, "value"),
        (0, {"hasData": ["yes"]}, "hasData"),
        (3, {"isPartial": "true"}, "isPartial"),
    ],
)
def test_a_bad_point_names_the_field_and_row(row: int, change: dict[str, Any], field: str) -> None:
    points = [dict(p) for p in TIMELINE]
    points[row].update(change)
    with pytest.raises(PayloadError) as info:
        parse_timeline(points, "AAPL", "Apple")
    assert info.value.field == field and info.value.row == row
    assert str(info.value).startswith("google_trends: ") and f"row {row}" in str(info.value)


def test_the_schema_rejects_interest_above_100_naming_column_and_row() -> None:
    good = parse_timeline(TIMELINE, "AAPL", "Apple")
    with pytest.raises(PayloadError) as info:
        validate_frame(SEARCH_INTEREST_SCHEMA, good.assign(interest=[5.0, 100.5]), "google_trends")
    assert info.value.field == "interest" and info.value.row == 1


def test_a_daily_timeframe_is_shorter_than_270_days() -> None:
    assert timeframe(dt.date(2024, 3, 1), dt.date(2024, 5, 30)) == "2024-03-01 2024-05-30"
    with pytest.raises(ValueError, match="269"):
        timeframe(dt.date(2024, 1, 1), dt.date(2024, 9, 26))


# --- client on a scripted transport ---------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def prefixed(prefix: str, payload: Any, status: int = 200) -> httpx.Response:
    body = (prefix + "\n" + json.dumps(payload)).encode()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def live_client(handler: Handler) -> tuple[GoogleTrendsClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    apis = google_trends_apis(
        httpx.MockTransport(record), sleep=lambda seconds: None, clock=lambda: 0.0
    )
    return GoogleTrendsClient(*apis), seen


def google(request: httpx.Request) -> httpx.Response:
    """Google's two answers, each with its own anti-hijacking prefix."""
    if request.url.path == "/trends/api/explore":
        return prefixed(")]}'", EXPLORE)
    return prefixed(")]}',", {"default": {"timelineData": TIMELINE, "averages": []}})


def test_explore_then_multiline_with_the_widget_token_and_both_prefixes() -> None:
    client, seen = live_client(google)
    with client:
        points = client.timeline("Apple", dt.date(2024, 6, 1), dt.date(2024, 6, 4))
    assert points == TIMELINE
    explore, multiline = seen
    assert explore.url.host == "trends.google.com" and explore.url.path == "/trends/api/explore"
    assert explore.url.params["hl"] == "en-US" and explore.url.params["tz"] == "0"
    assert json.loads(explore.url.params["req"]) == {
        "comparisonItem": [{"keyword": "Apple", "geo": "US", "time": "2024-06-01 2024-06-04"}],
        "category": 0,
        "property": "",
    }
    assert multiline.url.path == "/trends/api/widgetdata/multiline"
    assert multiline.url.params["token"] == "APP6_TOKEN" and multiline.url.params["tz"] == "0"
    assert json.loads(multiline.url.params["req"]) == WIDGET_REQUEST


def test_a_prefix_of_the_other_endpoint_is_a_payload_error() -> None:
    def swapped(request: httpx.Request) -> httpx.Response:
        return prefixed(")]}',", EXPLORE)  # the explore answer with the multiline prefix

    client, _ = live_client(swapped)
    with client, pytest.raises(PayloadError, match="invalid JSON"):
        client.timeseries_widget("Apple", dt.date(2024, 6, 1), dt.date(2024, 6, 4))


def test_both_endpoints_share_one_rate_limit() -> None:
    client, _ = live_client(google)
    assert client.widgets.bucket is client.explore.bucket
    assert GOOGLE_TRENDS_POLICY.requests_per_second <= 0.5 and GOOGLE_TRENDS_POLICY.burst == 1
    assert GOOGLE_TRENDS_POLICY.backoff_base_seconds >= 30


class Highest(random.Random):
    """Jitter at its maximum, so each backoff is its cap."""

    def random(self) -> float:
        return 1.0


def test_a_persistent_429_waits_long_between_tries_then_gives_up() -> None:
    waits: list[float] = []
    seen: list[httpx.Request] = []

    def throttled(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, text="Too many requests")

    apis = google_trends_apis(
        httpx.MockTransport(throttled), sleep=waits.append, clock=lambda: 0.0, rng=Highest()
    )
    with GoogleTrendsClient(*apis) as client, pytest.raises(SourceRateLimitedError):
        client.timeline("Apple", dt.date(2024, 6, 1), dt.date(2024, 6, 4))
    assert len(seen) == GOOGLE_TRENDS_POLICY.max_retries + 1 == 5
    backoffs = [wait for wait in waits if wait >= 30]  # the rest is the 2 s request spacing
    assert backoffs == [30.0, 60.0, 120.0, 240.0]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"widgets": {}}, "widgets"),
        ({"widgets": [{"id": "GEO_MAP", "token": "t", "request": {}}]}, "widgets"),
        ({"widgets": [{"id": "TIMESERIES", "request": {}}]}, "widgets.token"),
        ({"widgets": [{"id": "TIMESERIES", "token": "t", "request": "x"}]}, "widgets.request"),
    ],
)
def test_an_explore_answer_without_a_usable_timeseries_widget(payload: Any, field: str) -> None:
    client, _ = live_client(lambda r: prefixed(")]}'", payload))
    with client, pytest.raises(PayloadError) as info:
        client.timeseries_widget("Apple", dt.date(2024, 6, 1), dt.date(2024, 6, 4))
    assert info.value.field == field


def test_a_multiline_answer_without_timeline_data_is_a_payload_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("explore"):
            return prefixed(")]}'", EXPLORE)
        return prefixed(")]}',", {"default": {}})

    client, _ = live_client(answer)
    with client, pytest.raises(PayloadError) as info:
        client.timeline("Apple", dt.date(2024, 6, 1), dt.date(2024, 6, 4))
    assert info.value.field == "default.timelineData"


def test_fetch_asks_for_the_days_three_before_the_known_range() -> None:
    client, seen = live_client(google)
    with client:
        frame = fetch_search_interest(
            client, {"AAPL": "Apple", "MSFT": "Microsoft"}, dt.date(2024, 6, 4), dt.date(2024, 6, 5)
        )
    first = json.loads(seen[0].url.params["req"])["comparisonItem"][0]
    assert first["time"] == "2024-06-01 2024-06-02" and first["keyword"] == "Apple"
    assert json.loads(seen[2].url.params["req"])["comparisonItem"][0]["keyword"] == "Microsoft"
    assert list(frame["ticker"]) == ["AAPL", "AAPL", "MSFT", "MSFT"]
    assert list(frame["known_date"].dt.day) == [4, 5, 4, 5]
    assert list(frame["interest"]) == [57.0, 100.0, 57.0, 100.0]


# --- sample handler ---------------------------------------------------------------------------


@pytest.fixture
def sample() -> Iterator[GoogleTrendsClient]:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    with make_google_trends_client(DataMode.SAMPLE) as client:
        yield client
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def terms() -> dict[str, str]:
    universe = sample_universe(SIZE, 7)
    return {t: search_term(n) for t, n in zip(universe["ticker"], universe["name"], strict=True)}


def test_importing_the_sample_module_registers_the_host() -> None:
    assert SAMPLE_HANDLERS["trends.google.com"] is sample_trends.handle_request


def test_sample_round_trip_is_deterministic_scaled_and_passes_the_schema(
    sample: GoogleTrendsClient,
) -> None:
    chosen = dict(list(terms().items())[:8])
    start = AS_OF - dt.timedelta(days=90)
    frame = fetch_search_interest(sample, chosen, start, AS_OF + dt.timedelta(days=5))
    pd.testing.assert_frame_equal(
        frame, fetch_search_interest(sample, chosen, start, AS_OF + dt.timedelta(days=5))
    )
    validate_frame(SEARCH_INTEREST_SCHEMA, frame, "google_trends")
    assert set(frame["ticker"]) == set(chosen)
    assert (frame.groupby("ticker")["interest"].max() == 100.0).all()  # scaled per request
    # Served up to today - 1, which is partial and dropped: known up to today + 1 at most.
    assert frame["event_date"].max() == pd.Timestamp(AS_OF - dt.timedelta(days=2))
    raw = sample.timeline("Apple", dt.date(2025, 6, 1), dt.date(2025, 6, 3))
    assert set(raw[0]) == set(TIMELINE[0]) and raw[0]["formattedTime"] == "Jun 1, 2025"


def test_an_unknown_term_has_no_data(sample: GoogleTrendsClient) -> None:
    raw = sample.timeline("No Such Company", dt.date(2025, 6, 1), dt.date(2025, 6, 3))
    assert [p["hasData"] for p in raw] == [[False]] * 3
    assert parse_timeline(raw, "NOPE", "No Such Company").empty


def test_a_token_of_another_request_is_refused() -> None:
    with httpx.Client(transport=httpx.MockTransport(sample_trends.handle_request)) as raw:
        raw.get("https://trends.google.com/?geo=US")  # the NID cookie
        answer = raw.get(
            "https://trends.google.com/trends/api/widgetdata/multiline",
            params={"req": json.dumps(WIDGET_REQUEST), "token": "APP6_TOKEN", "tz": 0},
        )
    assert answer.status_code == 400


def test_the_sample_client_succeeds_only_because_it_established_googles_session(
    sample: GoogleTrendsClient,
) -> None:
    assert sample.timeline("Apple", dt.date(2025, 6, 1), dt.date(2025, 6, 3))
    auth = sample.explore._client.auth
    assert isinstance(auth, SessionAuth) and auth.established
    assert sample.widgets._client.auth is auth  # one session for both endpoints
    explore = {
        "hl": "en-US",
        "tz": 0,
        "req": json.dumps(
            {
                "comparisonItem": [
                    {"keyword": "Apple", "geo": "US", "time": "2025-06-01 2025-06-03"}
                ],
                "category": 0,
                "property": "",
            }
        ),
    }
    url = "https://trends.google.com/trends/api/explore"
    with httpx.Client(transport=sample_transport()) as raw:
        refused = raw.get(url, params=explore)  # the same request without the session
        home = raw.get("https://trends.google.com/?geo=US")
        assert home.status_code == 200 and "NID" in raw.cookies
        answered = raw.get(url, params=explore)
    assert refused.status_code == 429 and answered.status_code == 200
    widget = answered.text.split("\n", 1)[1]
    assert (
        json.loads(widget)["widgets"][0]["token"]
        == sample.timeseries_widget("Apple", dt.date(2025, 6, 1), dt.date(2025, 6, 3))["token"]
    )


def test_the_live_client_shares_one_google_session() -> None:
    with make_google_trends_client(DataMode.LIVE) as client:
        auth = client.explore._client.auth
        assert isinstance(auth, SessionAuth) and auth.source == "google_trends"
        assert client.widgets._client.auth is auth and not auth.established


def test_the_buzz_tickers_have_the_most_rising_interest(sample: GoogleTrendsClient) -> None:
    frame = fetch_search_interest(sample, terms(), AS_OF - dt.timedelta(days=90), AS_OF)
    rising = rising_interest(frame, pd.Timestamp(AS_OF)).sort_values(ascending=False)
    buzz = set(buzz_tickers())
    assert set(rising.index[: len(buzz)]) == buzz
    assert (rising[list(buzz)] > 0.5).all()
