"""Wikimedia page views: client, parser, schema, sample handler and the attention strategy."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

from pas_pipeline.calendar import RebalanceRule
from pas_pipeline.config import DataMode
from pas_pipeline.schemas import PAGEVIEWS_SCHEMA, validate_frame
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import SAMPLE_HANDLERS, USER_AGENT, ApiClient
from pas_pipeline.sources.sample import wikimedia as sample_wikimedia
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline.sources.wikimedia import (
    PAGEVIEW_COLUMNS,
    WIKIMEDIA_POLICY,
    WikimediaClient,
    article_path,
    fetch_pageviews,
    make_wikimedia_client,
    parse_pageviews,
)
from pas_pipeline.strategies.attention import attention_spikes, wikipedia_attention_surge
from pas_pipeline.strategies.registry import StrategySpec

SIZE = 300
AS_OF = dt.date(2025, 6, 30)

# Literally the example of external-apis.md section 2, as JSON text.
RECORDED = json.loads("""
{"items": [
{"project": "en.wikipedia", "article": "Nvidia", "granularity": "daily", "timestamp": "2024070100",
 "access": "all-access", "agent": "user", "views": 21457},
{"project": "en.wikipedia", "article": "Nvidia", "granularity": "daily", "timestamp": "2024070200",
 "access": "all-access", "agent": "user", "views": 19803}
]}
""")
PROBLEM_404 = {
    "type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found",
    "title": "Not found.",
    "method": "get",
    "detail": "The date(s) you used are valid, but we either do not have data for those date(s)",
    "uri": "/analytics.wikimedia.org/v1/pageviews/per-article/en.wikipedia/all-access/user/X",
}


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def frame_of(rows: list[tuple[str, str, str, str, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(PAGEVIEW_COLUMNS))
    frame["event_date"] = pd.to_datetime(frame["event_date"]).astype("datetime64[ns]")
    frame["known_date"] = pd.to_datetime(frame["known_date"]).astype("datetime64[ns]")
    frame["views"] = frame["views"].astype("int64")
    return frame


# --- parser ---------------------------------------------------------------------------------


def test_the_recorded_payload_parses_to_exact_values() -> None:
    got = parse_pageviews(RECORDED["items"], "NVDA")
    want = frame_of(
        [
            ("2024-07-01", "2024-07-02", "NVDA", "Nvidia", 21457),
            ("2024-07-02", "2024-07-03", "NVDA", "Nvidia", 19803),
        ]
    )
    pd.testing.assert_frame_equal(got, want)
    validate_frame(PAGEVIEWS_SCHEMA, got, "wikimedia")


def test_missing_days_are_filled_with_zero_between_start_and_end() -> None:
    items = [RECORDED["items"][0], {**RECORDED["items"][1], "timestamp": "2024070300"}]
    got = parse_pageviews(items, "NVDA", start=dt.date(2024, 6, 30), end=dt.date(2024, 7, 4))
    assert list(got["event_date"].dt.day) == [30, 1, 2, 3, 4]
    assert list(got["views"]) == [0, 21457, 0, 19803, 0]
    assert (got["known_date"] - got["event_date"] == pd.Timedelta(days=1)).all()
    assert set(got["article"]) == {"Nvidia"} and got["views"].dtype == "int64"
    validate_frame(PAGEVIEWS_SCHEMA, got, "wikimedia")


def test_no_items_is_an_empty_frame_with_the_tidy_dtypes() -> None:
    got = parse_pageviews([], "NVDA", start=dt.date(2024, 7, 1), end=dt.date(2024, 7, 2))
    assert list(got.columns) == list(PAGEVIEW_COLUMNS) and got.empty
    assert str(got["event_date"].dtype) == "datetime64[ns]" and got["views"].dtype == "int64"


@pytest.mark.parametrize(
    ("row", "change", "field"),
    [
        (1, {"views": "19803"}, "views"),
        (1, {"views": -1}, "views"),
        (0, {"views": None}, "views"),
        (1, {"timestamp": "2024-07-02"}, "timestamp"),
        (0, {"timestamp": "2024070112"}, "timestamp"),
        (1, {"timestamp": "2024070100"}, "timestamp"),  # the same day twice
        (1, {"article": 7}, "article"),
    ],
)
def test_a_bad_item_names_the_field_and_row(row: int, change: dict[str, Any], field: str) -> None:
    items = [dict(item) for item in RECORDED["items"]]
    items[row].update(change)
    with pytest.raises(PayloadError) as info:
        parse_pageviews(items, "NVDA")
    assert info.value.field == field and info.value.row == row
    assert f"field '{field}'" in str(info.value) and f"row {row}" in str(info.value)
    assert str(info.value).startswith("wikimedia: ")


def test_an_item_that_is_not_an_object_names_its_row() -> None:
    with pytest.raises(PayloadError) as info:
        parse_pageviews([RECORDED["items"][0], "oops"], "NVDA")
    assert info.value.field == "items" and info.value.row == 1


def test_the_schema_rejects_bad_values_naming_the_column_and_row() -> None:
    good = parse_pageviews(RECORDED["items"], "NVDA")
    negative = good.assign(views=pd.Series([5, -1], dtype="int64"))
    with pytest.raises(PayloadError) as info:
        validate_frame(PAGEVIEWS_SCHEMA, negative, "wikimedia")
    assert info.value.field == "views" and info.value.row == 1
    same_day = good.assign(known_date=good["event_date"])
    with pytest.raises(PayloadError) as info:
        validate_frame(PAGEVIEWS_SCHEMA, same_day, "wikimedia")
    assert info.value.field == "known_date" and info.value.row == 0
    twice = pd.concat([good, good.iloc[[0]]], ignore_index=True)
    with pytest.raises(PayloadError, match="ticker, event_date"):
        validate_frame(PAGEVIEWS_SCHEMA, twice, "wikimedia")


# --- client on a scripted transport ---------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def live_client(handler: Handler) -> tuple[WikimediaClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    api = ApiClient(
        WIKIMEDIA_POLICY,
        transport=httpx.MockTransport(record),
        sleep=lambda seconds: None,
        clock=lambda: 0.0,
    )
    return WikimediaClient(api), seen


def json_response(payload: Any, status: int = 200) -> httpx.Response:
    body = json.dumps(payload).encode()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def test_the_url_and_the_user_agent_header() -> None:
    client, seen = live_client(lambda request: json_response(RECORDED))
    with client:
        items = client.daily_views("Nvidia", dt.date(2024, 7, 1), dt.date(2024, 7, 2))
        client.daily_views("Johnson & Johnson", dt.date(2024, 7, 1), dt.date(2024, 7, 2))
        client.daily_views("AC/DC", dt.date(2024, 7, 1), dt.date(2024, 7, 2))
    assert items == RECORDED["items"]
    first = seen[0]
    assert first.headers["user-agent"] == USER_AGENT
    assert first.headers["user-agent"].startswith("pas-pipeline/") and "@" in USER_AGENT
    assert first.url.host == "wikimedia.org"
    prefix = "/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/"
    assert first.url.raw_path.decode() == f"{prefix}Nvidia/daily/2024070100/2024070200"
    assert seen[1].url.raw_path.decode().startswith(f"{prefix}Johnson_%26_Johnson/daily/")
    assert seen[2].url.raw_path.decode().startswith(f"{prefix}AC%2FDC/daily/")


def test_a_404_problem_body_is_no_rows_without_retrying() -> None:
    client, seen = live_client(lambda request: json_response(PROBLEM_404, 404))
    with client:
        assert client.daily_views("Nope", dt.date(2024, 7, 1), dt.date(2024, 7, 2)) == []
        frame = fetch_pageviews(client, {"NOPE": "Nope"}, dt.date(2024, 7, 1), dt.date(2024, 7, 2))
    assert len(seen) == 2
    assert frame.empty and list(frame.columns) == list(PAGEVIEW_COLUMNS)


def test_a_body_without_items_is_a_payload_error() -> None:
    client, _ = live_client(lambda request: json_response({"data": []}))
    with client, pytest.raises(PayloadError) as info:
        client.daily_views("Nvidia", dt.date(2024, 7, 1), dt.date(2024, 7, 2))
    assert info.value.field == "items"


def test_fetch_fills_gaps_up_to_the_last_published_day() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "/Nvidia/" in request.url.raw_path.decode():
            return json_response(RECORDED)  # 1 and 2 July
        if "/Gone/" in request.url.raw_path.decode():
            return json_response(PROBLEM_404, 404)
        only_first = {"items": [{**RECORDED["items"][0], "article": "Apple_Inc."}]}
        return json_response(only_first)

    client, _ = live_client(answer)
    mapping = {"NVDA": "Nvidia", "AAPL": "Apple Inc.", "GONE": "Gone"}
    with client:
        frame = fetch_pageviews(client, mapping, dt.date(2024, 6, 30), dt.date(2024, 7, 5))
    # 3-5 July are not published yet by anyone: not filled. 30 June and Apple's 2 July are.
    want = frame_of(
        [
            ("2024-06-30", "2024-07-01", "AAPL", "Apple_Inc.", 0),
            ("2024-07-01", "2024-07-02", "AAPL", "Apple_Inc.", 21457),
            ("2024-07-02", "2024-07-03", "AAPL", "Apple_Inc.", 0),
            ("2024-06-30", "2024-07-01", "NVDA", "Nvidia", 0),
            ("2024-07-01", "2024-07-02", "NVDA", "Nvidia", 21457),
            ("2024-07-02", "2024-07-03", "NVDA", "Nvidia", 19803),
        ]
    )
    pd.testing.assert_frame_equal(frame, want)


def test_the_live_policy() -> None:
    assert WIKIMEDIA_POLICY.base_url == "https://wikimedia.org/api/rest_v1"
    assert WIKIMEDIA_POLICY.requests_per_second <= 10 and WIKIMEDIA_POLICY.burst == 1
    assert WIKIMEDIA_POLICY.not_found_is_empty is True
    path = article_path("AT&T", dt.date(2024, 7, 1), dt.date(2024, 7, 31))
    assert path.endswith("/user/AT%26T/daily/2024070100/2024073100")


# --- sample handler ---------------------------------------------------------------------------


@pytest.fixture
def sample() -> Iterator[WikimediaClient]:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    with make_wikimedia_client(DataMode.SAMPLE) as client:
        yield client
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def mapping() -> dict[str, str]:
    universe = sample_universe(SIZE, 7)
    return dict(zip(universe["ticker"], universe["wiki_article"], strict=True))


def test_importing_the_sample_module_registers_the_host() -> None:
    assert SAMPLE_HANDLERS["wikimedia.org"] is sample_wikimedia.handle_request


def test_sample_round_trip_is_deterministic_and_passes_the_schema(sample: WikimediaClient) -> None:
    start, end = dt.date(2025, 4, 1), dt.date(2025, 7, 15)
    first = fetch_pageviews(sample, mapping(), start, end)
    pd.testing.assert_frame_equal(first, fetch_pageviews(sample, mapping(), start, end))
    validate_frame(PAGEVIEWS_SCHEMA, first, "wikimedia")
    assert set(first["ticker"]) == set(mapping())
    assert first["event_date"].min() == day("2025-04-01")
    assert first["known_date"].max() == pd.Timestamp(AS_OF)  # nothing after as_of
    raw = sample.daily_views("AT&T", dt.date(2025, 6, 1), dt.date(2025, 6, 3))
    assert set(raw[0]) == set(RECORDED["items"][0])
    assert [r["timestamp"] for r in raw] == ["2025060100", "2025060200", "2025060300"]
    assert all(isinstance(r["views"], int) for r in raw)
    alone = sample.daily_views("AT&T", dt.date(2025, 6, 2), dt.date(2025, 6, 2))
    assert alone == [raw[1]]  # a day's count does not depend on the range asked


def test_sample_magnitudes_follow_market_cap_and_weekdays(sample: WikimediaClient) -> None:
    frame = fetch_pageviews(sample, mapping(), dt.date(2025, 1, 1), dt.date(2025, 5, 31))
    means = frame.groupby("ticker")["views"].mean()
    assert means["NVDA"] > 5_000 and means.min() < 200
    weekend = frame["event_date"].dt.weekday >= 5
    assert frame.loc[weekend, "views"].mean() < frame.loc[~weekend, "views"].mean()


def test_the_sample_404s_unknown_articles_and_days_after_as_of(sample: WikimediaClient) -> None:
    assert sample.daily_views("No_Such_Company", dt.date(2025, 6, 1), dt.date(2025, 6, 2)) == []
    assert sample.daily_views("Nvidia", AS_OF, AS_OF + dt.timedelta(days=5)) == []
    with httpx.Client(transport=httpx.MockTransport(sample_wikimedia.handle_request)) as raw:
        url = "https://wikimedia.org/api/rest_v1" + article_path(
            "No such", dt.date(2025, 6, 1), dt.date(2025, 6, 2)
        )
        answer = raw.get(url)
    assert answer.status_code == 404
    assert {"type", "title", "detail", "uri"} <= set(answer.json())


def test_the_surge_articles_top_the_sample_strategy(sample: WikimediaClient) -> None:
    frame = fetch_pageviews(sample, mapping(), dt.date(2025, 4, 1), AS_OF)
    sleeve = wikipedia_attention_surge({"pageviews": frame}, pd.Timestamp(AS_OF), spec(10))
    by_article = dict(zip(mapping().values(), mapping().keys(), strict=True))
    surging = {by_article[a] for a in sample_wikimedia.surge_articles()}
    spikes = attention_spikes(frame, pd.Timestamp(AS_OF))
    eligible = surging & set(spikes.index)
    assert eligible and eligible <= set(sleeve.holdings["ticker"].head(len(surging)))
    assert len(sleeve.holdings) == 10


# --- strategy ---------------------------------------------------------------------------------

STRATEGY_AS_OF = pd.Timestamp("2024-09-02")  # a Monday


def spec(top_n: int = 10, **params: Any) -> StrategySpec:
    return StrategySpec(
        name="wikipedia_attention_surge",
        title="Wikipedia Attention Surge",
        sources=("pageviews",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=top_n,
        lookback_sessions=50,
        signal=wikipedia_attention_surge,
        weighting="equal weight, top 10 by 7-day / 56-day Wikipedia views",
        params=params,
    )


def ticker_views(
    ticker: str, baseline: list[int], recent: list[int], as_of: pd.Timestamp = STRATEGY_AS_OF
) -> pd.DataFrame:
    """Rows whose known days are the ``len(recent)`` days up to ``as_of`` and, before
    them, ``len(baseline)`` baseline days (both lists oldest first)."""
    views = baseline + recent
    known = [as_of - pd.Timedelta(days=len(views) - 1 - n) for n in range(len(views))]
    return pd.DataFrame(
        {
            "event_date": [k - pd.Timedelta(days=1) for k in known],
            "known_date": known,
            "ticker": ticker,
            "article": ticker.title(),
            "views": pd.Series(views, dtype="int64"),
        }
    )


def hand_worked() -> pd.DataFrame:
    late = pd.DataFrame(
        {
            "event_date": [STRATEGY_AS_OF],
            "known_date": [STRATEGY_AS_OF + pd.Timedelta(days=1)],
            "ticker": ["GGG"],
            "article": ["Ggg"],
            "views": pd.Series([1_000_000], dtype="int64"),
        }
    )
    return pd.concat(
        [
            # baseline mean 200, recent mean 500: spike 1.5
            ticker_views("AAA", [100, 300] * 28, [400, 500, 600, 500, 500, 500, 500]),
            ticker_views("BBB", [1000] * 56, [1500] * 7),  # 0.5
            ticker_views("CCC", [100] * 56, [150] * 7),  # 0.5, ties with BBB: BBB first
            ticker_views("DDD", [400] * 56, [300] * 7),  # -0.25: not held
            ticker_views("EEE", [100] * 27, [1000] * 7),  # 27 baseline days: too thin
            ticker_views("FFF", [99] * 56, [990] * 7),  # baseline below 100 views a day
            # flat 300; the 1,000,000 known only tomorrow must be ignored: spike 0
            ticker_views("GGG", [300] * 56, [300] * 7),
            late,
            # the 8th-oldest-day of the window is baseline, the 64th is outside everything
            ticker_views("HHH", [10_000] + [200] * 56, [260] * 7),  # 0.3
        ],
        ignore_index=True,
    )


def test_the_hand_worked_example_scores_and_weights() -> None:
    frame = hand_worked()
    spikes = attention_spikes(frame, STRATEGY_AS_OF)
    assert spikes.to_dict() == pytest.approx(
        {"AAA": 1.5, "BBB": 0.5, "CCC": 0.5, "DDD": -0.25, "GGG": 0.0, "HHH": 0.3}
    )
    sleeve = wikipedia_attention_surge({"pageviews": frame}, STRATEGY_AS_OF, spec(3))
    assert list(sleeve.holdings["ticker"]) == ["AAA", "BBB", "CCC"]
    assert list(sleeve.holdings["score"]) == pytest.approx([1.5, 0.5, 0.5])
    assert list(sleeve.holdings["weight"]) == pytest.approx([1 / 3] * 3)
    assert sleeve.note == "" and sleeve.rebalance_date == STRATEGY_AS_OF


def test_short_sleeves_keep_cash_slots() -> None:
    sleeve = wikipedia_attention_surge({"pageviews": hand_worked()}, STRATEGY_AS_OF, spec(10))
    assert list(sleeve.holdings["ticker"]) == ["AAA", "BBB", "CCC", "HHH"]
    assert list(sleeve.holdings["weight"]) == pytest.approx([0.1] * 4)
    assert sleeve.cash_weight == pytest.approx(0.6)
    assert "only 4 of 10" in sleeve.note


def test_a_thin_or_small_baseline_is_excluded_and_params_override() -> None:
    frame = hand_worked()
    spikes = attention_spikes(frame, STRATEGY_AS_OF)
    assert "EEE" not in spikes.index and "FFF" not in spikes.index
    relaxed = wikipedia_attention_surge(
        {"pageviews": frame},
        STRATEGY_AS_OF,
        spec(2, min_baseline_days=27, min_baseline_views=99),
    )
    assert list(relaxed.holdings["ticker"]) == ["EEE", "FFF"]  # 9.0 and 9.0, by ticker
    assert list(relaxed.holdings["score"]) == pytest.approx([9.0, 9.0])


def test_rows_known_after_as_of_are_ignored() -> None:
    frame = hand_worked()
    with_late = attention_spikes(frame, STRATEGY_AS_OF)
    without = attention_spikes(frame[frame["ticker"] != "GGG"], STRATEGY_AS_OF)
    assert with_late["GGG"] == 0.0 and with_late.drop("GGG").equals(without)
    # A day later the late row is known and GGG surges.
    tomorrow = attention_spikes(frame, STRATEGY_AS_OF + pd.Timedelta(days=1))
    assert tomorrow["GGG"] > 100


def test_no_or_empty_pageviews_is_an_all_cash_sleeve() -> None:
    for data in ({}, {"pageviews": hand_worked().iloc[0:0]}):
        sleeve = wikipedia_attention_surge(data, STRATEGY_AS_OF, spec())
        assert sleeve.holdings.empty and "no Wikipedia page views" in sleeve.note
    flat = ticker_views("AAA", [300] * 56, [200] * 7)
    sleeve = wikipedia_attention_surge({"pageviews": flat}, STRATEGY_AS_OF, spec())
    assert sleeve.holdings.empty and "no ticker has a positive" in sleeve.note
