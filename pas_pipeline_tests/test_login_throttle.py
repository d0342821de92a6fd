"""The limit on failed logins: :class:`LoginThrottle` on a fake clock, then the token gate's
``POST /login`` with it (429 with ``Retry-After`` while an address is locked out)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from pas_pipeline.config import Secret
from pas_pipeline.webserver.auth import SESSION_COOKIE, TokenGate, session_cookie_value
from pas_pipeline.webserver.login_throttle import LoginThrottle
from pas_pipeline_tests.fake_clock import FakeClock

TOKEN = "correct-horse-battery-staple"
WINDOW = 300.0
LIMIT = 5


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(clock: FakeClock) -> LoginThrottle:
    return LoginThrottle(max_failures=LIMIT, window_seconds=WINDOW, clock=clock)


def fail(throttle: LoginThrottle, address: str, times: int) -> None:
    for _ in range(times):
        throttle.record_failure(address)


# LoginThrottle


def test_an_address_without_failures_may_try(throttle: LoginThrottle) -> None:
    assert throttle.retry_after("10.0.0.1") is None


def test_an_address_may_try_while_it_has_fewer_failures_than_the_limit(
    throttle: LoginThrottle,
) -> None:
    fail(throttle, "10.0.0.1", LIMIT - 1)

    assert throttle.retry_after("10.0.0.1") is None


def test_an_address_is_locked_out_once_it_reaches_the_limit(throttle: LoginThrottle) -> None:
    fail(throttle, "10.0.0.1", LIMIT)

    assert throttle.retry_after("10.0.0.1") is not None


def test_retry_after_is_the_time_until_the_oldest_failure_in_the_window_expires(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    for _ in range(LIMIT):
        throttle.record_failure("10.0.0.1")
        clock.sleep(10)  # failures at 0, 10, 20, 30, 40; now 50

    assert throttle.retry_after("10.0.0.1") == pytest.approx(WINDOW - 50)


def test_the_lock_holds_until_just_before_the_window_ends(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    fail(throttle, "10.0.0.1", LIMIT)
    clock.sleep(WINDOW - 0.5)

    assert throttle.retry_after("10.0.0.1") == pytest.approx(0.5)


def test_the_lock_ends_when_the_oldest_failure_leaves_the_window(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    fail(throttle, "10.0.0.1", LIMIT)
    clock.sleep(WINDOW)

    assert throttle.retry_after("10.0.0.1") is None


def test_the_window_slides_so_the_next_failure_locks_until_the_next_oldest_expires(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    throttle.record_failure("10.0.0.1")  # t=0
    clock.sleep(100)
    fail(throttle, "10.0.0.1", LIMIT - 1)  # t=100 (x4)
    clock.sleep(WINDOW - 100)  # t=300: the failure at 0 has expired

    throttle.record_failure("10.0.0.1")

    assert throttle.retry_after("10.0.0.1") == pytest.approx(100)


def test_a_success_clears_the_address_failures(throttle: LoginThrottle) -> None:
    fail(throttle, "10.0.0.1", LIMIT)

    throttle.record_success("10.0.0.1")
    fail(throttle, "10.0.0.1", LIMIT - 1)

    assert throttle.retry_after("10.0.0.1") is None


def test_other_addresses_are_unaffected_by_a_lockout(throttle: LoginThrottle) -> None:
    fail(throttle, "10.0.0.1", LIMIT)

    assert throttle.retry_after("10.0.0.2") is None


def test_addresses_whose_failures_all_expired_are_forgotten(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    for number in range(1000):
        throttle.record_failure(f"10.0.{number // 256}.{number % 256}")
    clock.sleep(WINDOW)

    assert throttle.tracked_addresses() == 0


def test_addresses_with_failures_in_the_window_are_kept(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    throttle.record_failure("10.0.0.1")
    clock.sleep(WINDOW - 1)
    throttle.record_failure("10.0.0.2")
    clock.sleep(1)  # the first has expired, the second has not

    assert throttle.tracked_addresses() == 1


def test_the_number_of_tracked_addresses_is_capped(clock: FakeClock) -> None:
    throttle = LoginThrottle(max_addresses=100, clock=clock)

    for number in range(1000):
        throttle.record_failure(f"10.0.{number // 256}.{number % 256}")

    assert throttle.tracked_addresses() == 100


def test_at_the_cap_the_stalest_address_is_dropped(clock: FakeClock) -> None:
    throttle = LoginThrottle(max_failures=1, max_addresses=2, clock=clock)
    throttle.record_failure("stalest")
    clock.sleep(1)
    throttle.record_failure("middle")
    clock.sleep(1)

    throttle.record_failure("newest")

    assert throttle.retry_after("stalest") is None
    assert throttle.retry_after("middle") is not None
    assert throttle.retry_after("newest") is not None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_failures": 0}, "max_failures"),
        ({"window_seconds": 0}, "window_seconds"),
        ({"max_addresses": 0}, "max_addresses"),
    ],
)
def test_nonsensical_limits_are_refused(arguments: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LoginThrottle(**arguments)  # type: ignore[arg-type]


# TokenGate with the throttle


def tiny_app() -> Starlette:
    return Starlette(routes=[Route("/", lambda _: PlainTextResponse("home"))])


@pytest.fixture
def gate(throttle: LoginThrottle) -> TokenGate:
    return TokenGate(tiny_app(), Secret(TOKEN), throttle=throttle)


@pytest.fixture
def client(gate: TokenGate) -> TestClient:
    return TestClient(gate, follow_redirects=False, client=("203.0.113.7", 50000))


def wrong_logins(client: TestClient, times: int) -> list[int]:
    return [client.post("/login", data={"token": "guess"}).status_code for _ in range(times)]


def test_the_gate_limits_logins_by_default() -> None:
    gate = TokenGate(tiny_app(), Secret(TOKEN))

    assert isinstance(gate.throttle, LoginThrottle)
    assert (gate.throttle.max_failures, gate.throttle.window_seconds) == (5, 300.0)


def test_wrong_tokens_up_to_the_limit_get_401(client: TestClient) -> None:
    assert wrong_logins(client, LIMIT) == [401] * LIMIT


def test_the_wrong_token_after_the_limit_gets_429_with_retry_after(client: TestClient) -> None:
    wrong_logins(client, LIMIT)

    response = client.post("/login", data={"token": "guess"})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "300"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Too many failed logins; try again in 300 s." in response.text
    assert '<form method="post" action="/login">' in response.text


def test_retry_after_is_rounded_up_to_whole_seconds(client: TestClient, clock: FakeClock) -> None:
    wrong_logins(client, LIMIT)
    clock.sleep(0.5)

    response = client.post("/login", data={"token": "guess"})

    assert response.headers["retry-after"] == "300"
    assert "try again in 300 s." in response.text


def test_the_right_token_is_refused_while_locked_out(client: TestClient) -> None:
    wrong_logins(client, LIMIT)

    response = client.post("/login", data={"token": TOKEN})

    assert response.status_code == 429
    assert "set-cookie" not in response.headers
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 303


def test_the_token_is_not_compared_while_locked_out(
    client: TestClient, compared_digests: list[tuple[bytes, bytes]]
) -> None:
    wrong_logins(client, LIMIT)
    before = len(compared_digests)

    client.post("/login", data={"token": TOKEN})

    assert len(compared_digests) == before


def test_the_right_token_logs_in_once_the_window_has_passed(
    client: TestClient, clock: FakeClock
) -> None:
    wrong_logins(client, LIMIT)
    clock.sleep(WINDOW)

    response = client.post("/login", data={"token": TOKEN})

    assert response.status_code == 303
    assert response.headers["set-cookie"].startswith(
        f"{SESSION_COOKIE}={session_cookie_value(Secret(TOKEN))};"
    )


def test_a_successful_login_clears_the_failures(client: TestClient) -> None:
    wrong_logins(client, LIMIT - 1)
    client.post("/login", data={"token": TOKEN})

    assert wrong_logins(client, LIMIT) == [401] * LIMIT


def test_the_login_page_is_still_served_while_locked_out(client: TestClient) -> None:
    wrong_logins(client, LIMIT)

    assert client.get("/login").status_code == 200


def test_a_lockout_does_not_affect_other_addresses(gate: TokenGate, client: TestClient) -> None:
    other = TestClient(gate, follow_redirects=False, client=("198.51.100.9", 50000))
    wrong_logins(client, LIMIT)

    assert wrong_logins(other, 1) == [401]
    assert other.post("/login", data={"token": TOKEN}).status_code == 303


def test_bearer_requests_are_not_affected_by_a_lockout(client: TestClient) -> None:
    wrong_logins(client, LIMIT)

    response = client.get("/", headers={"Authorization": f"Bearer {TOKEN}"})

    assert (response.status_code, response.text) == (200, "home")


def test_a_request_without_a_client_address_is_counted_as_unknown(
    gate: TokenGate, throttle: LoginThrottle
) -> None:
    async def post_wrong_token() -> int:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/login",
            "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
            "client": None,
        }
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"token=guess", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await gate(scope, receive, send)
        return sent[0]["status"]

    statuses = [asyncio.run(post_wrong_token()) for _ in range(LIMIT + 1)]

    assert statuses == [401] * LIMIT + [429]
    assert throttle.retry_after("unknown") is not None
