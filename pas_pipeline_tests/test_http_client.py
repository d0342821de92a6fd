"""The shared HTTP layer: rate limit, retries, error mapping and body checks (no network)."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable

import httpx
import pytest

from pas_pipeline.sources.errors import (
    PayloadError,
    SourceAuthError,
    SourceError,
    SourceRateLimitedError,
    SourceUnavailableError,
)
from pas_pipeline.sources.http import (
    SAMPLE_HANDLERS,
    USER_AGENT,
    ApiClient,
    ApiPolicy,
    register_sample_handler,
    sample_transport,
)
from pas_pipeline.sources.rate_limit import TokenBucket
from pas_pipeline_tests.fake_clock import FakeClock

SECRET = "sk-test-0123456789abcdef"
POLICY = ApiPolicy(
    name="demo", base_url="https://api.example.test", requests_per_second=math.inf, burst=1
)


class HalfRandom(random.Random):
    """Jitter that always draws 0.5, so the expected backoff is exact."""

    def random(self) -> float:
        return 0.5


Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering with ``responses`` in order (raising the exceptions)."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def client_for(
    handler: Handler, clock: FakeClock, policy: ApiPolicy = POLICY, **kwargs: object
) -> ApiClient:
    return ApiClient(
        policy,
        transport=httpx.MockTransport(handler),
        headers={"Authorization": f"Bearer {SECRET}"},
        sleep=clock.sleep,
        clock=clock,
        rng=HalfRandom(),
        **kwargs,  # type: ignore[arg-type]
    )


# --- token bucket ------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_spaces_requests_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=2.0, capacity=3, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        bucket.acquire()
    assert clock.sleeps == [0.5, 0.5]
    assert clock.now == 1.0


def test_token_bucket_refills_while_time_passes() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, capacity=2, clock=clock, sleep=clock.sleep)
    bucket.acquire(2)
    clock.now += 10.0
    bucket.acquire(2)
    assert clock.sleeps == []


def test_token_bucket_with_infinite_rate_never_sleeps() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=math.inf, capacity=1, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        bucket.acquire()
    assert clock.sleeps == []


def test_client_waits_for_the_rate_limit_between_requests() -> None:
    clock = FakeClock()
    handler, _ = scripted(httpx.Response(200, json={}))
    policy = ApiPolicy("demo", "https://api.example.test", requests_per_second=4.0, burst=1)
    with client_for(handler, clock, policy) as client:
        for _ in range(3):
            client.get_json("/x")
    assert clock.sleeps == [0.25, 0.25]


# --- requests ----------------------------------------------------------------------------


def test_every_request_carries_user_agent_accept_and_configured_headers() -> None:
    handler, seen = scripted(httpx.Response(200, json={"ok": True}))
    with client_for(handler, FakeClock()) as client:
        assert client.get_json("/v1/things", params={"page": 2}) == {"ok": True}
    request = seen[0]
    assert str(request.url) == "https://api.example.test/v1/things?page=2"
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == f"Bearer {SECRET}"


def test_user_agent_follows_the_documented_form() -> None:
    assert USER_AGENT.startswith("pas-pipeline/0.1")
    assert "(https://github.com/pas-pipeline; ops@example.org)" in USER_AGENT
    assert USER_AGENT.endswith(f"httpx/{httpx.__version__}")


# --- retries -----------------------------------------------------------------------------


def test_429_is_retried_after_exactly_the_retry_after_seconds() -> None:
    clock = FakeClock()
    throttled = httpx.Response(429, headers={"Retry-After": "7"}, text="Too Many Requests")
    handler, seen = scripted(throttled, throttled, httpx.Response(200, json=[1]))
    with client_for(handler, clock) as client:
        assert client.get_json("/x") == [1]
    assert clock.sleeps == [7.0, 7.0]
    assert len(seen) == 3


def test_retry_after_as_an_http_date_waits_until_that_date() -> None:
    clock = FakeClock()
    when = "Wed, 21 Oct 2015 07:28:00 GMT"  # epoch 1445412480
    handler, _ = scripted(
        httpx.Response(503, headers={"Retry-After": when}), httpx.Response(200, json={})
    )
    with client_for(handler, clock, wall_clock=lambda: 1445412480.0 - 42.0) as client:
        client.get_json("/x")
    assert clock.sleeps == [42.0]


def test_503_backs_off_exponentially_with_jitter_then_succeeds() -> None:
    clock = FakeClock()
    down = httpx.Response(503, text="busy")
    handler, seen = scripted(down, down, down, httpx.Response(200, json={"v": 1}))
    with client_for(handler, clock) as client:
        assert client.get_json("/x") == {"v": 1}
    # min(cap, 0.5 * 2**attempt) * 0.5 for attempts 0, 1, 2
    assert clock.sleeps == [0.25, 0.5, 1.0]
    assert len(seen) == 4


def test_backoff_is_capped() -> None:
    clock = FakeClock()
    handler, _ = scripted(httpx.Response(502))
    policy = ApiPolicy(
        "demo", "https://api.example.test", math.inf, 1, max_retries=4, backoff_cap_seconds=1.5
    )
    with client_for(handler, clock, policy) as client, pytest.raises(SourceUnavailableError):
        client.get_json("/x")
    assert clock.sleeps == [0.25, 0.5, 0.75, 0.75]


def test_400_is_not_retried() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx.Response(400, json={"detail": "bad date"}))
    with client_for(handler, clock) as client, pytest.raises(SourceError, match="HTTP 400"):
        client.get_json("/x")
    assert len(seen) == 1
    assert clock.sleeps == []


def test_persistent_429_raises_rate_limited_after_all_retries() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "1"}))
    with client_for(handler, clock) as client, pytest.raises(SourceRateLimitedError) as caught:
        client.get_json("/beta/live/congresstrading")
    assert len(seen) == POLICY.max_retries + 1
    assert "/beta/live/congresstrading" in str(caught.value)


def test_timeouts_are_retried_then_reported_unavailable() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx.ReadTimeout("slow"))
    with client_for(handler, clock) as client, pytest.raises(SourceUnavailableError) as caught:
        client.get_json("/x")
    assert len(seen) == POLICY.max_retries + 1
    assert len(clock.sleeps) == POLICY.max_retries
    assert "ReadTimeout" in str(caught.value)
    assert caught.value.source == "demo"


def test_a_connection_error_then_success_recovers() -> None:
    clock = FakeClock()
    handler, _ = scripted(httpx.ConnectError("refused"), httpx.Response(200, json={"v": 2}))
    with client_for(handler, clock) as client:
        assert client.get_json("/x") == {"v": 2}


# --- error mapping -----------------------------------------------------------------------


def test_401_is_an_auth_error_that_never_shows_the_key() -> None:
    handler, _ = scripted(httpx.Response(401, json={"detail": "Invalid token."}))
    with client_for(handler, FakeClock()) as client, pytest.raises(SourceAuthError) as caught:
        client.get_json("/beta/bulk/congresstrading", params={"version": "V2"})
    message = str(caught.value)
    assert "missing/invalid key" in message
    assert message.startswith("demo:")
    assert SECRET not in message
    assert "Bearer" not in message


def test_403_says_the_plan_lacks_the_dataset_without_the_key() -> None:
    body = {"detail": f"Upgrade your subscription plan to access this dataset. ({SECRET})"}
    handler, _ = scripted(httpx.Response(403, json=body))
    with client_for(handler, FakeClock()) as client, pytest.raises(SourceAuthError) as caught:
        client.get_json("/beta/live/insiders")
    assert "plan lacks this dataset" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_404_is_empty_when_the_policy_says_so() -> None:
    handler, _ = scripted(httpx.Response(404, json={"title": "Not found."}))
    policy = ApiPolicy("wiki", "https://api.example.test", math.inf, 1, not_found_is_empty=True)
    with client_for(handler, FakeClock(), policy) as client:
        assert client.get_json("/per-article/x") is None


def test_404_is_an_error_naming_the_path_otherwise() -> None:
    handler, _ = scripted(httpx.Response(404, text="<html>Not Found</html>"))
    with client_for(handler, FakeClock()) as client, pytest.raises(SourceError) as caught:
        client.get_json("/beta/wrong/path")
    assert "/beta/wrong/path" in str(caught.value)
    assert "404" in str(caught.value)


# --- body checks -------------------------------------------------------------------------


def test_html_with_status_200_is_a_payload_error() -> None:
    html = "<!DOCTYPE html><html><body>Please enable cookies</body></html>"
    handler, _ = scripted(httpx.Response(200, text=html))
    with client_for(handler, FakeClock()) as client, pytest.raises(PayloadError) as caught:
        client.get_json("/x")
    assert "expected JSON, got HTML" in str(caught.value)


def test_html_content_type_is_a_payload_error_even_if_the_body_looks_harmless() -> None:
    handler, _ = scripted(httpx.Response(200, text="ok", headers={"content-type": "text/html"}))
    with client_for(handler, FakeClock()) as client, pytest.raises(PayloadError, match="HTML"):
        client.get_json("/x")


def test_an_empty_body_is_a_payload_error() -> None:
    handler, _ = scripted(httpx.Response(200, content=b""))
    with client_for(handler, FakeClock()) as client, pytest.raises(PayloadError, match="empty"):
        client.get_json("/x")


def test_truncated_json_is_a_payload_error_naming_the_position() -> None:
    handler, _ = scripted(httpx.Response(200, content=b'[{"a": 1}, {"b": '))
    with client_for(handler, FakeClock()) as client, pytest.raises(PayloadError) as caught:
        client.get_json("/x")
    # the body is 17 characters long: the parser runs out of input at char 17
    assert "invalid JSON at line 1 column 18 (char 17)" in str(caught.value)


def test_the_nan_literal_parses_as_a_float_nan() -> None:
    body = b'[{"Ticker": "AAPL", "Amount": NaN, "Range": "$1,001 - $15,000"}]'
    handler, _ = scripted(httpx.Response(200, content=body))
    with client_for(handler, FakeClock()) as client:
        rows = client.get_json("/x")
    assert math.isnan(rows[0]["Amount"])
    assert rows[0]["Ticker"] == "AAPL"


def test_payload_error_names_source_field_and_row() -> None:
    error = PayloadError("quiver", "expected a number", field="Amount", row=3)
    assert str(error) == "quiver: bad payload (field 'Amount', row 3): expected a number"
    assert (error.source, error.field, error.row) == ("quiver", "Amount", 3)


# --- sample transport --------------------------------------------------------------------


def test_sample_transport_routes_each_request_to_its_hosts_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("pas_pipeline.sources.http.SAMPLE_HANDLERS", dict(SAMPLE_HANDLERS))
    register_sample_handler(
        "api.example.test", lambda request: httpx.Response(200, json={"path": request.url.path})
    )
    client = ApiClient(POLICY, transport=sample_transport(), sleep=FakeClock().sleep)
    with client:
        assert client.get_json("/hello") == {"path": "/hello"}


def test_sample_transport_answers_unknown_hosts_with_a_502_json_error() -> None:
    with httpx.Client(transport=sample_transport()) as raw:
        response = raw.get("https://nobody.example.test/x")
    assert response.status_code == 502
    assert "nobody.example.test" in response.json()["error"]


def test_a_declared_json_prefix_is_stripped_before_decoding() -> None:
    handler, _ = scripted(httpx.Response(200, content=b')]}\'\n{"default": {"rows": [1, 2]}}'))
    policy = dataclasses.replace(POLICY, json_prefix=")]}'")
    with ApiClient(policy, transport=httpx.MockTransport(handler)) as client:
        assert client.get_json("/x") == {"default": {"rows": [1, 2]}}


def test_a_json_prefix_is_a_payload_error_when_not_declared() -> None:
    handler, _ = scripted(httpx.Response(200, content=b')]}\'\n{"default": {}}'))
    with client_for(handler, FakeClock()) as client, pytest.raises(PayloadError):
        client.get_json("/x")
