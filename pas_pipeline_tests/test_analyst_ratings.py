"""Analyst rating changes (Yahoo ``upgradeDowngradeHistory``): client, parser, schema, sample."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

from pas_pipeline.config import DataMode
from pas_pipeline.schemas import validate_frame
from pas_pipeline.sources.analyst_ratings import (
    RATING_CHANGE_COLUMNS,
    RATING_CHANGES_SCHEMA,
    AnalystRatingsClient,
    fetch_rating_changes,
    make_analyst_ratings_client,
    parse_rating_changes,
)
from pas_pipeline.sources.errors import PayloadError, SourceAuthError
from pas_pipeline.sources.http import ApiClient, sample_transport, unlimited
from pas_pipeline.sources.sample import analyst_ratings as sample_ratings
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.session_auth import YAHOO_COOKIE_URL, YAHOO_CRUMB_URL, SessionAuth
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline.sources.yahoo import YAHOO_POLICY

SIZE = 300
AS_OF = dt.date(2025, 6, 30)

# The shape of the brief / yfinance: newest first; the second item is 01:15 UTC on 6 June
# (still 5 June in New York): the UTC day is the event day. The third repeats the first
# (firm, day, action) and is dropped; the fourth is a newer payload with price targets.
RECORDED = json.loads("""
{"quoteSummary": {"result": [{"upgradeDowngradeHistory": {"history": [
  {"epochGradeDate": 1717632000, "firm": "Morgan Stanley", "toGrade": "Overweight",
   "fromGrade": "Equal-Weight", "action": "up"},
  {"epochGradeDate": 1717636500, "firm": "Goldman Sachs", "toGrade": "Buy",
   "fromGrade": "", "action": "init"},
  {"epochGradeDate": 1717640000, "firm": "Morgan Stanley", "toGrade": "Overweight",
   "fromGrade": "Underweight", "action": "up"},
  {"epochGradeDate": 1717545600, "firm": " UBS ", "toGrade": "Neutral", "fromGrade": "Neutral",
   "action": "main", "priceTargetAction": "Raises", "currentPriceTarget": 120.0,
   "priorPriceTarget": 110.0}
], "maxAge": 86400}}], "error": null}}
""")
NOT_FOUND = {
    "quoteSummary": {
        "result": None,
        "error": {"code": "Not Found", "description": "Quote not found for symbol: XXXX"},
    }
}


def frame_of(rows: list[tuple[str, str, str, str, str, str]]) -> pd.DataFrame:
    """Rows of (day, ticker, firm, action, from_grade, to_grade), known on their day."""
    frame = pd.DataFrame(rows, columns=["event_date", *RATING_CHANGE_COLUMNS[2:]])
    frame["event_date"] = pd.to_datetime(frame["event_date"]).astype("datetime64[ns]")
    frame.insert(1, "known_date", frame["event_date"])
    return frame


def history_of(*items: dict[str, Any]) -> dict[str, Any]:
    return {"quoteSummary": {"result": [{"upgradeDowngradeHistory": {"history": list(items)}}]}}


# --- parser ---------------------------------------------------------------------------------


def test_the_recorded_payload_parses_to_exact_values() -> None:
    got = parse_rating_changes(RECORDED, "AAPL")
    want = frame_of(
        [
            ("2024-06-05", "AAPL", "UBS", "main", "Neutral", "Neutral"),
            ("2024-06-06", "AAPL", "Goldman Sachs", "init", "", "Buy"),
            ("2024-06-06", "AAPL", "Morgan Stanley", "up", "Equal-Weight", "Overweight"),
        ]
    )
    pd.testing.assert_frame_equal(got, want)
    validate_frame(RATING_CHANGES_SCHEMA, got, "yahoo")


def test_missing_grades_are_empty_text_and_actions_are_lower_cased() -> None:
    item = {"epochGradeDate": 1717632000, "firm": "Jefferies", "action": "Init", "toGrade": None}
    got = parse_rating_changes(history_of(item), "MSFT")
    pd.testing.assert_frame_equal(
        got, frame_of([("2024-06-06", "MSFT", "Jefferies", "init", "", "")])
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"quoteSummary": {"result": [{}], "error": None}},  # no analyst coverage (an ETF)
        {"quoteSummary": {"result": [], "error": None}},
        history_of(),
    ],
)
def test_no_history_is_an_empty_frame_with_the_tidy_dtypes(payload: dict[str, Any]) -> None:
    got = parse_rating_changes(payload, "XLK")
    assert got.empty and list(got.columns) == list(RATING_CHANGE_COLUMNS)
    assert str(got["event_date"].dtype) == "datetime64[ns]"
    assert str(got["known_date"].dtype) == "datetime64[ns]"
    validate_frame(RATING_CHANGES_SCHEMA, got, "yahoo")


GOOD = {"epochGradeDate": 1717632000, "firm": "Citigroup", "action": "up", "toGrade": "Buy"}
MISSING = object()


@pytest.mark.parametrize(
    ("row", "change", "field"),
    [
        (1, {"epochGradeDate": MISSING}, "epochGradeDate"),
        (2, {"epochGradeDate": "2024-06-06"}, "epochGradeDate"),
        (1, {"epochGradeDate": 1717632000000}, "epochGradeDate"),  # milliseconds
        (2, {"action": "upgrade"}, "action"),
        (1, {"action": None}, "action"),
        (0, {"firm": ""}, "firm"),
        (1, {"toGrade": 5}, "toGrade"),
    ],
)
def test_a_bad_item_names_the_field_and_row(row: int, change: dict[str, Any], field: str) -> None:
    items = [dict(GOOD, firm=f"Firm {n}") for n in range(3)]
    items[row] = {
        key: value for key, value in {**items[row], **change}.items() if value is not MISSING
    }
    with pytest.raises(PayloadError) as info:
        parse_rating_changes(history_of(*items), "AAPL")
    assert (info.value.field, info.value.row) == (field, row)
    assert f"field {field!r}, row {row}" in str(info.value)


def test_an_item_that_is_not_an_object_names_its_row() -> None:
    with pytest.raises(PayloadError) as info:
        parse_rating_changes(history_of(GOOD, ["up"]), "AAPL")
    assert (info.value.field, info.value.row) == ("history", 1)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], "quoteSummary"),
        (NOT_FOUND, "quoteSummary.error"),
        ({"quoteSummary": {"result": None, "error": None}}, "quoteSummary.result"),
        (
            {"quoteSummary": {"result": [{"upgradeDowngradeHistory": []}]}},
            "upgradeDowngradeHistory",
        ),
        (
            {"quoteSummary": {"result": [{"upgradeDowngradeHistory": {"history": {}}}]}},
            "upgradeDowngradeHistory.history",
        ),
    ],
)
def test_a_payload_that_is_not_a_quote_summary_names_the_field(payload: Any, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_rating_changes(payload, "AAPL")
    assert info.value.field == field


def test_the_schema_rejects_a_repeated_key_and_an_unknown_action() -> None:
    frame = parse_rating_changes(RECORDED, "AAPL")
    repeated = pd.concat([frame, frame.iloc[[2]]], ignore_index=True)
    with pytest.raises(PayloadError) as info:
        validate_frame(RATING_CHANGES_SCHEMA, repeated, "yahoo")
    assert info.value.field == "ticker, firm, event_date, action"
    bad = frame.copy()
    bad.loc[1, "action"] = "upgrade"
    with pytest.raises(PayloadError) as info:
        validate_frame(RATING_CHANGES_SCHEMA, bad, "yahoo")
    assert (info.value.field, info.value.row) == ("action", 1)


# --- client on a scripted transport ---------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def json_response(payload: Any, status: int = 200) -> httpx.Response:
    body = json.dumps(payload).encode()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def live_client(handler: Handler) -> tuple[AnalystRatingsClient, list[httpx.Request]]:
    """The client on a scripted transport, without Yahoo's session (see test_session_auth)."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    api = ApiClient(
        unlimited(YAHOO_POLICY),
        transport=httpx.MockTransport(record),
        sleep=lambda seconds: None,
        clock=lambda: 0.0,
    )
    return AnalystRatingsClient(api), seen


def test_the_request_path_and_parameters() -> None:
    client, seen = live_client(lambda request: json_response(RECORDED))
    with client:
        assert client.upgrade_downgrade_history("BRK-B") == RECORDED
    request = seen[0]
    assert request.url.host == "query2.finance.yahoo.com"
    assert request.url.path == "/v10/finance/quoteSummary/BRK-B"
    assert dict(request.url.params) == {"modules": "upgradeDowngradeHistory", "formatted": "false"}


def test_an_unknown_symbol_404_is_no_rows_without_retrying() -> None:
    client, seen = live_client(lambda request: json_response(NOT_FOUND, 404))
    with client:
        assert client.upgrade_downgrade_history("XXXX") is None
        frame = fetch_rating_changes(client, ["XXXX"], dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert len(seen) == 2
    assert frame.empty and list(frame.columns) == list(RATING_CHANGE_COLUMNS)


def test_fetch_cuts_each_history_to_the_range_and_skips_unknown_symbols() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/GONE"):
            return json_response(NOT_FOUND, 404)
        return json_response(RECORDED)

    client, _ = live_client(answer)
    with client:
        frame = fetch_rating_changes(
            client, ["MSFT", "GONE", "AAPL"], dt.date(2024, 6, 6), dt.date(2024, 6, 30)
        )
    want = frame_of(
        [
            ("2024-06-06", "AAPL", "Goldman Sachs", "init", "", "Buy"),
            ("2024-06-06", "AAPL", "Morgan Stanley", "up", "Equal-Weight", "Overweight"),
            ("2024-06-06", "MSFT", "Goldman Sachs", "init", "", "Buy"),
            ("2024-06-06", "MSFT", "Morgan Stanley", "up", "Equal-Weight", "Overweight"),
        ]
    )
    pd.testing.assert_frame_equal(frame, want)


def test_the_live_client_uses_the_yahoo_policy_and_session() -> None:
    with make_analyst_ratings_client(DataMode.LIVE) as client:
        assert client.api.policy is YAHOO_POLICY
        auth = client.api._client.auth
        assert isinstance(auth, SessionAuth) and auth.source == "yahoo"
        assert [step.url for step in auth.steps] == [YAHOO_COOKIE_URL, YAHOO_CRUMB_URL]
        assert not auth.established  # lazily, on the first request
    assert YAHOO_POLICY.not_found_is_empty is True


# --- sample handler -------------------------------------------------------------------------


@pytest.fixture
def sample() -> Iterator[AnalystRatingsClient]:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    with make_analyst_ratings_client(DataMode.SAMPLE) as client:
        yield client
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def some_tickers() -> list[str]:
    universe = list(sample_universe(SIZE, 7)["ticker"])
    return sorted({*universe[:5], *universe[-5:], *sample_ratings.burst_tickers()})


def test_sample_round_trip_is_deterministic_and_passes_the_schema(
    sample: AnalystRatingsClient,
) -> None:
    start, end = dt.date(2024, 1, 1), AS_OF
    first = fetch_rating_changes(sample, some_tickers(), start, end)
    pd.testing.assert_frame_equal(first, fetch_rating_changes(sample, some_tickers(), start, end))
    validate_frame(RATING_CHANGES_SCHEMA, first, "yahoo")
    assert set(first["ticker"]) == set(some_tickers())
    assert set(first["action"]) == {"up", "down", "main", "init", "reit"}
    assert first["event_date"].max() <= pd.Timestamp(AS_OF)


def test_the_sample_payload_has_the_real_shape_newest_first(sample: AnalystRatingsClient) -> None:
    payload = sample.upgrade_downgrade_history("AAPL")
    assert payload is not None and payload["quoteSummary"]["error"] is None
    module = payload["quoteSummary"]["result"][0]["upgradeDowngradeHistory"]
    assert module["maxAge"] == 86400
    history = module["history"]
    assert set(history[0]) == {"epochGradeDate", "firm", "toGrade", "fromGrade", "action"}
    stamps = [item["epochGradeDate"] for item in history]
    assert stamps == sorted(stamps, reverse=True)
    assert dt.datetime.fromtimestamp(stamps[-1], dt.UTC).date() >= sample_ratings.HISTORY_START


def test_the_sample_404s_unknown_symbols_and_has_no_coverage_of_etfs(
    sample: AnalystRatingsClient,
) -> None:
    assert sample.upgrade_downgrade_history("NOPE") is None
    assert parse_rating_changes(sample.upgrade_downgrade_history("XLK"), "XLK").empty


def test_burst_tickers_get_four_to_seven_upgrades_in_the_last_two_weeks(
    sample: AnalystRatingsClient,
) -> None:
    start = AS_OF - dt.timedelta(days=13)
    frame = fetch_rating_changes(sample, sample_ratings.burst_tickers(), start, AS_OF)
    ups = frame[frame["action"] == "up"].groupby("ticker").size()
    assert len(ups) == len(sample_ratings.burst_tickers()) > 0
    assert ups.min() >= 4


def test_moving_today_only_adds_history(sample: AnalystRatingsClient) -> None:
    tickers = sample_universe(SIZE, 7)["ticker"]
    ticker = next(t for t in tickers if t not in sample_ratings.burst_tickers())
    earlier = copy.deepcopy(sample.upgrade_downgrade_history(ticker))
    sample_yahoo.reconfigure(as_of=AS_OF + dt.timedelta(days=60))
    later = parse_rating_changes(sample.upgrade_downgrade_history(ticker), ticker)
    before = parse_rating_changes(earlier, ticker)
    pd.testing.assert_frame_equal(later[later["event_date"] <= pd.Timestamp(AS_OF)], before)
    assert later["event_date"].max() > pd.Timestamp(AS_OF)


def test_the_sample_client_succeeds_only_because_it_established_yahoos_session(
    sample: AnalystRatingsClient,
) -> None:
    path = "/v10/finance/quoteSummary/AAPL"
    params = {"modules": "upgradeDowngradeHistory", "formatted": "false"}
    assert sample.upgrade_downgrade_history("AAPL") is not None
    auth = sample.api._client.auth
    assert isinstance(auth, SessionAuth) and auth.established
    bare = ApiClient(unlimited(YAHOO_POLICY), transport=sample_transport())
    with bare, pytest.raises(SourceAuthError, match="HTTP 401"):
        bare.get_json(path, params)  # the same request without the session
    with httpx.Client(base_url=YAHOO_POLICY.base_url, transport=sample_transport()) as raw:
        refused = raw.get(path, params=params)
        cookie = raw.get("https://fc.yahoo.com/")  # sets A3 in the client's jar
        assert cookie.status_code == 404 and "A3" in raw.cookies
        wrong_crumb = raw.get(path, params={**params, "crumb": "not-the-crumb"})
        crumb = raw.get("https://query1.finance.yahoo.com/v1/test/getcrumb").text
        signed = raw.get(path, params={**params, "crumb": crumb})
    assert refused.status_code == wrong_crumb.status_code == 401
    assert refused.json()["finance"]["error"]["description"] == "Invalid Crumb"
    assert crumb == sample_yahoo.crumb_for(raw.cookies["A3"])
    assert signed.json() == sample.upgrade_downgrade_history("AAPL")


def test_the_chart_path_of_the_same_host_still_serves_bars(sample: AnalystRatingsClient) -> None:
    payload = sample.api.get_json("/v8/finance/chart/AAPL", {"range": "5d", "interval": "1d"})
    assert payload is not None and len(payload["chart"]["result"][0]["timestamp"]) == 5
