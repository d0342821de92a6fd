"""Web sessions (``session_auth``): Yahoo's cookie + crumb and Google's NID, on fake servers.

Each fake server is an ``httpx.MockTransport`` handler that behaves like the real one:
``fc.yahoo.com`` sets the ``A3`` cookie, ``/v1/test/getcrumb`` answers the crumb only with
that cookie, the quote endpoint answers 401 ``Invalid Crumb`` without both; Google's home
page sets ``NID``. Cookie and crumb values are distinctive strings, so the tests can check
that none of them leaks into an error or a log record.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pas_pipeline.sources.errors import SourceAuthError, SourceRateLimitedError
from pas_pipeline.sources.google_trends import GoogleTrendsClient, google_trends_apis
from pas_pipeline.sources.http import ApiClient, unlimited
from pas_pipeline.sources.session_auth import (
    BootstrapStep,
    SessionAuth,
    google_trends_session_auth,
    yahoo_session_auth,
)
from pas_pipeline.sources.yahoo import YAHOO_POLICY
from pas_pipeline_tests.fake_clock import FakeClock

QUOTE = "/v7/finance/quote"
Handler = Callable[[httpx.Request], httpx.Response]


def cookies_of(request: httpx.Request) -> dict[str, str]:
    jar = SimpleCookie(request.headers.get("cookie", ""))
    return {name: morsel.value for name, morsel in jar.items()}


def invalid_crumb() -> httpx.Response:
    error = {"code": "Unauthorized", "description": "Invalid Crumb"}
    return httpx.Response(401, json={"finance": {"result": None, "error": error}})


class FakeYahoo:
    """Yahoo's session endpoints and the quote endpoint.

    Session ``n`` (1-based, one per ``fc.yahoo.com`` visit) has the cookie
    ``A3=cookie-secret-n`` and the crumb ``crumbSecret.n``. ``expire_after`` quote answers,
    every earlier session is refused (the crumb went stale); ``always_401`` refuses all.
    """

    def __init__(self, expire_after: int | None = None, always_401: bool = False) -> None:
        self.sessions = 0
        self.expire_after = expire_after
        self.always_401 = always_401
        self.requests: list[httpx.Request] = []
        self.answered = 0

    def secrets(self) -> list[str]:
        return [
            value
            for n in range(1, self.sessions + 1)
            for value in (f"cookie-secret-{n}", f"crumbSecret.{n}")
        ]

    def quotes(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == QUOTE]

    def visits(self, host: str) -> int:
        return sum(r.url.host == host for r in self.requests)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "fc.yahoo.com":
            self.sessions += 1
            cookie = (
                f"A3=cookie-secret-{self.sessions}; Domain=.yahoo.com; Path=/; Secure; "
                "HttpOnly; SameSite=None"
            )
            return httpx.Response(404, text="<html>404</html>", headers={"set-cookie": cookie})
        session = cookies_of(request).get("A3", "").removeprefix("cookie-secret-")
        if request.url.path == "/v1/test/getcrumb":
            if not session:
                return httpx.Response(401, text="Unauthorized")
            return httpx.Response(200, text=f"crumbSecret.{session}")
        if request.url.params.get("crumb") != f"crumbSecret.{session}" or self.always_401:
            return invalid_crumb()
        expired = self.expire_after is not None and self.answered >= self.expire_after
        if expired and (session != str(self.sessions) or self.sessions == 1):
            return invalid_crumb()
        self.answered += 1
        return httpx.Response(200, json={"quoteResponse": {"result": [], "error": None}})


def yahoo_api(server: Handler, auth: httpx.Auth | None = None) -> ApiClient:
    clock = FakeClock()
    return ApiClient(
        unlimited(YAHOO_POLICY),
        transport=httpx.MockTransport(server),
        sleep=clock.sleep,
        clock=clock,
        auth=auth if auth is not None else yahoo_session_auth(),
    )


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)  # httpx logs every request URL (with its query) at INFO
    yield caplog


def assert_no_secret(secrets: list[str], *texts: str, caplog: pytest.LogCaptureFixture) -> None:
    assert secrets
    logged = [record.getMessage() for record in caplog.records] + [caplog.text]
    for secret in secrets:
        for text in [*texts, *logged]:
            assert secret not in text


# --- Yahoo ----------------------------------------------------------------------------------


def test_the_session_is_established_once_and_signs_every_call(
    logs: pytest.LogCaptureFixture,
) -> None:
    server = FakeYahoo()
    with yahoo_api(server) as api:
        for symbols in ("AAPL", "MSFT", "NVDA"):
            assert api.get_json(QUOTE, {"symbols": symbols}) is not None
    assert (server.visits("fc.yahoo.com"), server.visits("query1.finance.yahoo.com")) == (1, 1)
    assert [r.url.host for r in server.requests[:2]] == ["fc.yahoo.com", "query1.finance.yahoo.com"]
    assert cookies_of(server.requests[1]) == {"A3": "cookie-secret-1"}  # the crumb asks with it
    for request in server.quotes():
        assert request.headers["cookie"] == "A3=cookie-secret-1"  # once, not twice
        assert request.url.params["crumb"] == "crumbSecret.1"
    assert [r.url.params["symbols"] for r in server.quotes()] == ["AAPL", "MSFT", "NVDA"]
    assert "yahoo: session established" in logs.text
    assert_no_secret(server.secrets(), caplog=logs)
    assert "crumb=***" in logs.text  # httpx's request line, masked


def test_bootstrap_requests_send_the_user_agent_and_the_timeout_not_the_api_headers() -> None:
    server = FakeYahoo()
    clock = FakeClock()
    api = ApiClient(
        unlimited(YAHOO_POLICY),
        transport=httpx.MockTransport(server),
        headers={"Authorization": "Bearer not-for-yahoo"},
        sleep=clock.sleep,
        clock=clock,
        auth=yahoo_session_auth(),
    )
    with api:
        api.get_json(QUOTE, {"symbols": "AAPL"})
    cookie_visit, crumb_visit, quote = server.requests
    for bootstrap in (cookie_visit, crumb_visit):
        assert bootstrap.headers["user-agent"] == quote.headers["user-agent"]
        assert "authorization" not in bootstrap.headers
        assert bootstrap.extensions["timeout"] == quote.extensions["timeout"]


def test_an_invalid_crumb_renews_the_session_once_and_retries(
    logs: pytest.LogCaptureFixture,
) -> None:
    server = FakeYahoo(expire_after=1)
    with yahoo_api(server) as api:
        api.get_json(QUOTE, {"symbols": "AAPL"})
        api.get_json(QUOTE, {"symbols": "MSFT"})  # 401 Invalid Crumb, new session, retry
        api.get_json(QUOTE, {"symbols": "NVDA"})  # the new session, no further bootstrap
    assert server.visits("fc.yahoo.com") == server.visits("query1.finance.yahoo.com") == 2
    quotes = server.quotes()
    assert [r.url.params["symbols"] for r in quotes] == ["AAPL", "MSFT", "MSFT", "NVDA"]
    assert [r.url.params["crumb"] for r in quotes] == [
        "crumbSecret.1",
        "crumbSecret.1",
        "crumbSecret.2",
        "crumbSecret.2",
    ]
    assert [r.headers["cookie"] for r in quotes[2:]] == ["A3=cookie-secret-2"] * 2
    assert list(quotes[2].url.params.keys()) == ["symbols", "crumb"]  # replaced, not repeated
    assert "GET /v7/finance/quote answered HTTP 401; establishing a new session" in logs.text
    assert_no_secret(server.secrets(), caplog=logs)


def test_a_second_401_after_a_new_session_is_an_auth_error(
    logs: pytest.LogCaptureFixture,
) -> None:
    server = FakeYahoo(always_401=True)
    with yahoo_api(server) as api, pytest.raises(SourceAuthError) as caught:
        api.get_json(QUOTE, {"symbols": "AAPL"})
    assert len(server.quotes()) == 2  # the call and exactly one retry
    assert server.visits("fc.yahoo.com") == server.visits("query1.finance.yahoo.com") == 2
    assert str(caught.value) == "yahoo: GET /v7/finance/quote: HTTP 401, web session refused"
    assert_no_secret(server.secrets(), str(caught.value), caplog=logs)


def crumb_endpoint_answering(answer: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    server = FakeYahoo()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/test/getcrumb":
            server.requests.append(request)
            return answer
        return server(request)

    handler.server = server  # type: ignore[attr-defined]
    return handler


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            httpx.Response(
                200,
                text="<!doctype html><html>consent cookie-secret-1</html>",
                headers={"content-type": "text/html"},
            ),
            "answered HTML, not a crumb (HTTP 200)",
        ),
        (httpx.Response(200, text="<html>crumbSecret.1</html>"), "answered HTML, not a crumb"),
        (httpx.Response(200, text=""), "answered an empty crumb"),
        (httpx.Response(200, text="  \n"), "answered an empty crumb"),
        (httpx.Response(200, text="Too Many Requests"), "answered a body that is not a crumb"),
        (httpx.Response(401, text="crumbSecret.1"), "answered HTTP 401"),
        (httpx.Response(429, text="Too Many Requests"), "answered HTTP 429"),
    ],
)
def test_a_failed_crumb_bootstrap_is_an_auth_error_naming_the_path(
    answer: httpx.Response, reason: str, logs: pytest.LogCaptureFixture
) -> None:
    handler = crumb_endpoint_answering(answer)
    with yahoo_api(handler) as api, pytest.raises(SourceAuthError) as caught:
        api.get_json(QUOTE, {"symbols": "AAPL"})
    message = str(caught.value)
    assert message.startswith("yahoo: session bootstrap GET query1.finance.yahoo.com")
    assert "/v1/test/getcrumb" in message and reason in message
    server = handler.server  # type: ignore[attr-defined]
    assert server.quotes() == []  # no data request without a session
    assert_no_secret(["cookie-secret-1", "crumbSecret.1"], message, caplog=logs)


def test_a_failed_bootstrap_is_tried_again_on_the_next_call() -> None:
    server = FakeYahoo()
    empty = [httpx.Response(200, text="")]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/test/getcrumb" and empty:
            return empty.pop()
        return server(request)

    with yahoo_api(handler) as api:
        with pytest.raises(SourceAuthError):
            api.get_json(QUOTE, {"symbols": "AAPL"})
        assert api.get_json(QUOTE, {"symbols": "AAPL"}) is not None
    assert server.visits("fc.yahoo.com") == 2
    assert server.quotes()[0].url.params["crumb"] == "crumbSecret.2"


def test_a_transport_error_in_the_bootstrap_is_retried_by_the_client() -> None:
    server = FakeYahoo()
    failures = [httpx.ConnectTimeout("timed out")]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "fc.yahoo.com" and failures:
            raise failures.pop()
        return server(request)

    clock = FakeClock()
    api = ApiClient(
        unlimited(YAHOO_POLICY),
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
        auth=yahoo_session_auth(),
    )
    with api:
        assert api.get_json(QUOTE, {"symbols": "AAPL"}) is not None
    assert len(clock.sleeps) == 1 and len(server.quotes()) == 1


def test_one_span_covers_the_call_and_its_bootstrap(spans: InMemorySpanExporter) -> None:
    with yahoo_api(FakeYahoo(expire_after=0)) as api:
        api.get_json(QUOTE, {"symbols": "AAPL"})
    (recorded,) = [s for s in spans.get_finished_spans() if s.name == "http.get"]
    attributes = dict(recorded.attributes or {})
    assert attributes["url.path"] == QUOTE
    assert attributes["http.response.status_code"] == 200
    assert all("secret" not in str(value).lower() for value in attributes.values())


# --- Google Trends --------------------------------------------------------------------------

NID = "511=nid-cookie-secret"
WIDGET_REQUEST = {"time": "2024-06-01 2024-06-02", "resolution": "DAY"}


class FakeTrends:
    """Google Trends: ``/`` sets ``NID``; explore and multiline answer 429 without it."""

    def __init__(self, set_cookie: bool = True) -> None:
        self.set_cookie = set_cookie
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/":
            headers = {"content-type": "text/html"}
            if self.set_cookie:
                headers["set-cookie"] = f"NID={NID}; Domain=.google.com; Path=/; Secure; HttpOnly"
            return httpx.Response(200, text="<html>Trends</html>", headers=headers)
        if cookies_of(request).get("NID") != NID:
            return httpx.Response(429, text="Too Many Requests")
        if request.url.path == "/trends/api/explore":
            widget = {"id": "TIMESERIES", "token": "APP6_TOKEN", "request": WIDGET_REQUEST}
            return httpx.Response(200, text=")]}'\n" + json.dumps({"widgets": [widget]}))
        points = [{"time": "1717200000", "value": [57], "hasData": [True]}]
        body = json.dumps({"default": {"timelineData": points, "averages": []}})
        return httpx.Response(200, text=")]}',\n" + body)


def trends_client(server: FakeTrends, clock: FakeClock) -> GoogleTrendsClient:
    apis = google_trends_apis(
        httpx.MockTransport(server),
        auth=google_trends_session_auth(),
        sleep=clock.sleep,
        clock=clock,
    )
    return GoogleTrendsClient(*apis)


def test_google_nid_is_sent_on_explore_and_multiline(logs: pytest.LogCaptureFixture) -> None:
    server = FakeTrends()
    with trends_client(server, FakeClock()) as client:
        for _ in range(2):
            points = client.timeline("Apple", dt.date(2024, 6, 1), dt.date(2024, 6, 2))
            assert points[0]["value"] == [57]
    home, *calls = server.requests
    assert str(home.url) == "https://trends.google.com/?geo=US"
    assert [r.url.path for r in calls] == [
        "/trends/api/explore",
        "/trends/api/widgetdata/multiline",
    ] * 2  # one session for both clients, established once
    assert all(cookies_of(r) == {"NID": NID} for r in calls)
    assert client.explore._client.auth is client.widgets._client.auth
    assert_no_secret([NID, "nid-cookie-secret"], caplog=logs)


def test_a_trends_home_page_without_nid_is_an_auth_error(logs: pytest.LogCaptureFixture) -> None:
    server = FakeTrends(set_cookie=False)
    with trends_client(server, FakeClock()) as client, pytest.raises(SourceAuthError) as caught:
        client.timeline("Apple", dt.date(2024, 6, 1), dt.date(2024, 6, 2))
    assert str(caught.value) == (
        "google_trends: session bootstrap GET trends.google.com/ set no NID cookie (HTTP 200)"
    )
    assert [r.url.path for r in server.requests] == ["/"]


def test_without_the_session_google_answers_429() -> None:
    server = FakeTrends()
    clock = FakeClock()
    explore, widgets = google_trends_apis(
        httpx.MockTransport(server), sleep=clock.sleep, clock=clock
    )
    with (
        GoogleTrendsClient(explore, widgets) as client,
        pytest.raises(SourceRateLimitedError) as caught,
    ):
        client.timeline("Apple", dt.date(2024, 6, 1), dt.date(2024, 6, 2))
    assert "HTTP 429" in str(caught.value)
    assert all(r.url.path != "/" for r in server.requests)


# --- the generic auth -----------------------------------------------------------------------


def test_a_session_needs_a_step_and_expired_statuses_are_configurable() -> None:
    with pytest.raises(ValueError):
        SessionAuth("demo", [])
    auth = SessionAuth("demo", [BootstrapStep("https://example.test/")], expired_statuses=[419])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/":
            return httpx.Response(204, headers={"set-cookie": "S=session-secret; Path=/"})
        return httpx.Response(419 if seen.count("/data") == 1 else 200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as raw:
        assert raw.get("https://example.test/data").status_code == 200
        assert auth.established
    assert seen == ["/", "/data", "/", "/data"]
    auth.reset()
    assert not auth.established
