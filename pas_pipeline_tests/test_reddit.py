"""r/wallstreetbets through PRAW: sample mode, auth, error wrapping, listing parsing."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import prawcore.sessions
import pytest
import requests

from pas_pipeline.config import DataMode, Secret
from pas_pipeline.sources.errors import (
    PayloadError,
    SourceAuthError,
    SourceRateLimitedError,
    SourceUnavailableError,
)
from pas_pipeline.sources.reddit import (
    DOCUMENT_COLUMNS,
    Reply,
    fetch_wsb_documents,
    in_process_session,
    json_reply,
    make_reddit,
)
from pas_pipeline.sources.sample import reddit as sample_reddit
from pas_pipeline.sources.sample import yahoo as sample_yahoo

AS_OF = dt.date(2025, 6, 30)
CLIENT_ID = Secret("my-client-id")
CLIENT_SECRET = Secret("top-secret-value-42")


@pytest.fixture(autouse=True)
def sample_market() -> Iterator[None]:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(300, 7, as_of=AS_OF)
    yield
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def recording_session(
    seen: list[requests.PreparedRequest], api: Any = sample_reddit.handle_api
) -> requests.Session:
    """The sample handlers (``api`` replacing the listing handler), recording every request."""

    def record(handler: Any) -> Any:
        def answer(request: requests.PreparedRequest) -> Reply:
            seen.append(request)
            return handler(request)

        return answer

    return in_process_session(
        {
            sample_reddit.TOKEN_HOST: record(sample_reddit.handle_token),
            sample_reddit.API_HOST: record(api),
        }
    )


def reddit_on(session: requests.Session) -> Any:
    return make_reddit(DataMode.SAMPLE, CLIENT_ID, CLIENT_SECRET, session=session)


def listing(children: list[dict[str, Any]]) -> dict[str, Any]:
    data = {"after": None, "before": None, "dist": len(children), "modhash": "", "geo_filter": ""}
    return {"kind": "Listing", "data": {**data, "children": children}}


def post(ident: str, created: float, **fields: Any) -> dict[str, Any]:
    data = {"id": ident, "name": f"t3_{ident}", "title": "GME", "selftext": "", "author": "ape"}
    return {"kind": "t3", "data": {**data, "created_utc": created, "score": 1, **fields}}


def test_sample_mode_reads_a_window_of_posts_and_comments() -> None:
    seen: list[requests.PreparedRequest] = []
    reddit = reddit_on(recording_session(seen))
    assert reddit.read_only
    start, end = dt.date(2025, 6, 27), dt.date(2025, 6, 28)
    frame = fetch_wsb_documents(reddit, start, end)
    assert list(frame.columns) == list(DOCUMENT_COLUMNS)
    assert set(frame["kind"]) == {"t3", "t1"}
    assert set(frame["event_date"]) == {pd.Timestamp(start), pd.Timestamp(end)}
    assert str(frame["event_date"].dtype) == "datetime64[ns]"
    assert str(frame["score"].dtype) == "int64"
    assert not frame.duplicated(["kind", "id"]).any()
    posts = frame[frame["kind"] == "t3"]
    assert posts["created_utc"].is_monotonic_decreasing  # newest first, as listed
    for kind in ("t3", "t1"):  # every document the sample served for each day, no other
        per_day = frame[frame["kind"] == kind].groupby("event_date").size()
        served = [len(sample_reddit._day_documents(kind, d, 300, 7, AS_OF)) for d in (start, end)]
        assert list(per_day) == served
    # The real paths and parameters; pages of <= 100; reading stops past the cutoff.
    listings = [urlsplit(r.url) for r in seen if "oauth" in (r.url or "")]
    assert {u.path for u in listings} == {
        "/r/wallstreetbets/new",
        "/r/wallstreetbets/comments/",
    }  # as PRAW sends them
    assert all(parse_qs(u.query)["raw_json"] == ["1"] for u in listings)
    assert all(parse_qs(u.query)["limit"] == ["1024"] for u in listings)  # server gives 100
    assert len(listings) <= 12
    pd.testing.assert_frame_equal(frame, fetch_wsb_documents(reddit, start, end))


def test_the_token_request_carries_basic_auth_with_the_app_keys() -> None:
    seen: list[requests.PreparedRequest] = []
    fetch_wsb_documents(reddit_on(recording_session(seen)), AS_OF - dt.timedelta(1), AS_OF)
    token = seen[0]
    assert token.method == "POST" and token.url == "https://www.reddit.com/api/v1/access_token"
    expected = base64.b64encode(b"my-client-id:top-secret-value-42").decode()
    assert token.headers["Authorization"] == f"Basic {expected}"
    assert token.body == "grant_type=client_credentials"
    assert token.headers["User-Agent"].startswith("python:pas-pipeline:v")
    assert all(r.headers["Authorization"] == "bearer sample-access-token" for r in seen[1:])


def test_a_rejected_secret_is_an_auth_error_without_the_secret() -> None:
    def reject(request: requests.PreparedRequest) -> Reply:
        return json_reply(401, {"message": "Unauthorized", "error": 401})

    session = in_process_session({"www.reddit.com": reject})
    with pytest.raises(SourceAuthError) as error:
        fetch_wsb_documents(reddit_on(session), AS_OF, AS_OF)
    message = str(error.value)
    assert "HTTP 401" in message and "REDDIT_CLIENT_SECRET" in message
    assert CLIENT_SECRET.value not in message and CLIENT_ID.value not in message
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_live_mode_without_keys_names_the_environment_variables() -> None:
    with pytest.raises(SourceAuthError) as both:
        make_reddit(DataMode.LIVE, None, None)
    assert "REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET" in str(both.value)
    with pytest.raises(SourceAuthError) as secret_only:
        make_reddit(DataMode.LIVE, CLIENT_ID, Secret("  "))
    assert "REDDIT_CLIENT_SECRET" in str(secret_only.value)
    assert "REDDIT_CLIENT_ID" not in str(secret_only.value)


def test_a_malformed_listing_item_names_the_field_and_row() -> None:
    def bad_listing(request: requests.PreparedRequest) -> Reply:
        now = 1751241600.0  # 2025-06-30 00:00 UTC
        children = [
            post("a3", now - 100),
            post("a2", now - 200),
            post("a1", "yesterday"),  # type: ignore[arg-type]
        ]
        return json_reply(200, listing(children), sample_reddit.RATELIMIT_HEADERS)

    reddit = reddit_on(recording_session([], api=bad_listing))
    with pytest.raises(PayloadError) as error:
        fetch_wsb_documents(reddit, dt.date(2025, 6, 1), dt.date(2025, 6, 29))
    assert error.value.field == "created_utc" and error.value.row == 2
    assert "'yesterday'" in str(error.value)


def test_a_listing_child_without_an_id_is_a_payload_error() -> None:
    def no_id(request: requests.PreparedRequest) -> Reply:
        child = post("x", 1751241500.0)
        del child["data"]["id"]
        return json_reply(200, listing([child]), sample_reddit.RATELIMIT_HEADERS)

    with pytest.raises(PayloadError, match="unreadable listing"):
        fetch_wsb_documents(reddit_on(recording_session([], api=no_id)), AS_OF, AS_OF)


def test_429_is_rate_limited_and_5xx_unavailable_after_prawcore_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[str] = []
    monkeypatch.setattr(prawcore.sessions.RetryStrategy, "sleep", lambda self: waits.append("x"))

    def status(code: int) -> Any:
        return lambda request: json_reply(code, {"message": "nope", "error": code})

    with pytest.raises(SourceRateLimitedError, match="HTTP 429"):
        fetch_wsb_documents(reddit_on(recording_session([], api=status(429))), AS_OF, AS_OF)
    seen: list[requests.PreparedRequest] = []
    with pytest.raises(SourceUnavailableError, match="HTTP 503") as error:
        fetch_wsb_documents(reddit_on(recording_session(seen, api=status(503))), AS_OF, AS_OF)
    assert len([r for r in seen if "oauth" in (r.url or "")]) == 3  # 1 try + 2 retries
    assert "/r/wallstreetbets/new" in str(error.value)


def test_sample_responses_carry_generous_rate_limit_headers() -> None:
    reddit = make_reddit(DataMode.SAMPLE)
    fetch_wsb_documents(reddit, AS_OF - dt.timedelta(1), AS_OF - dt.timedelta(1))
    limiter = reddit._core.rate_limiter
    assert limiter.remaining == 999 and limiter.used == 1
    assert limiter.next_request_timestamp_ns is not None  # a wait of 0 s was computed


def test_a_sample_listing_ends_after_its_1000_newest_items_as_on_reddit() -> None:
    reddit = reddit_on(recording_session([]))
    subreddit = reddit.subreddit("wallstreetbets")
    posts = list(subreddit.new(limit=None))
    comments = list(subreddit.comments(limit=None))
    assert len(posts) == len(comments) == sample_reddit.LISTING_CAP
    newest_first = [p.created_utc for p in posts]
    assert newest_first == sorted(newest_first, reverse=True)
    # so a window older than the listing reaches is simply empty
    assert fetch_wsb_documents(reddit, dt.date(2024, 1, 2), dt.date(2024, 1, 3)).empty
