"""The token gate on a tiny Starlette app: every route and the websocket need the token,
given as a bearer header or as the session cookie the login page sets."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import prometheus_client
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from pas_pipeline.config import Secret
from pas_pipeline.webserver.app import main as serve_main
from pas_pipeline.webserver.auth import SESSION_COOKIE, TokenGate, session_cookie_value

TOKEN = "correct-horse-battery-staple"
SESSION = "3ae1ce84ea57fcea1c047b968dbc44806d24f0fd09daf9a5381a73e5d0d09c3c"
"""HMAC-SHA256(key=TOKEN, msg=b"pas-session"), hex (computed once with Python's hmac)."""

BEARER = {"Authorization": f"Bearer {TOKEN}"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def _echo(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="graphql-transport-ws")
    await websocket.send_text("hello")
    await websocket.close()


def _metrics(_: Request) -> Response:
    body = prometheus_client.generate_latest()
    return Response(body, media_type=prometheus_client.CONTENT_TYPE_LATEST)


def tiny_app(lifespan_events: list[str] | None = None) -> Starlette:
    """``/`` (text), ``/graphql`` (JSON), websocket ``/graphql``, ``/metrics`` (Prometheus)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if lifespan_events is not None:
            lifespan_events.append("startup")
        yield

    return Starlette(
        routes=[
            Route("/", lambda _: PlainTextResponse("home")),
            Route("/graphql", lambda _: JSONResponse({"data": 1}), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", _echo),
            Route("/metrics", _metrics),
        ],
        lifespan=lifespan,
    )


@pytest.fixture
def client() -> TestClient:
    return TestClient(TokenGate(tiny_app(), Secret(TOKEN)), follow_redirects=False)


def test_the_session_cookie_is_the_hmac_of_the_token_not_the_token() -> None:
    assert session_cookie_value(Secret(TOKEN)) == SESSION


def test_the_right_bearer_token_reaches_the_app(client: TestClient) -> None:
    response = client.get("/", headers=BEARER)

    assert (response.status_code, response.text) == (200, "home")


def test_a_wrong_bearer_token_gets_401_json(client: TestClient) -> None:
    response = client.post("/graphql", headers={"Authorization": "Bearer guess"}, json={})

    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_an_api_client_without_credentials_gets_401(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "application/json"})

    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}


def test_a_browser_page_load_without_credentials_is_sent_to_the_login_page(
    client: TestClient,
) -> None:
    response = client.get("/assets", headers=BROWSER)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_the_login_page_is_a_form_with_a_password_field(client: TestClient) -> None:
    response = client.get("/login")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<form method="post" action="/login">' in response.text
    assert 'name="token" type="password"' in response.text


def test_logging_in_sets_an_httponly_strict_cookie_and_redirects_home(
    client: TestClient,
) -> None:
    response = client.post("/login", data={"token": TOKEN})

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert response.headers["set-cookie"] == (
        f"{SESSION_COOKIE}={SESSION}; Path=/; HttpOnly; SameSite=Strict"
    )


def test_the_cookie_is_secure_when_the_request_came_over_https() -> None:
    client = TestClient(
        TokenGate(tiny_app(), Secret(TOKEN)),
        base_url="https://testserver",
        follow_redirects=False,
    )

    response = client.post("/login", data={"token": TOKEN})

    assert response.headers["set-cookie"].endswith("; SameSite=Strict; Secure")


def test_after_logging_in_the_cookie_opens_every_route(client: TestClient) -> None:
    client.post("/login", data={"token": TOKEN})

    assert client.get("/", headers=BROWSER).text == "home"
    assert client.post("/graphql", json={}).json() == {"data": 1}
    assert client.get("/metrics").status_code == 200


def test_a_wrong_token_at_login_gets_a_401_page_and_no_cookie(client: TestClient) -> None:
    response = client.post("/login", data={"token": "guess"})

    assert response.status_code == 401
    assert "Wrong token." in response.text
    assert "set-cookie" not in response.headers
    assert client.get("/", headers=BROWSER).status_code == 303


def test_a_login_form_larger_than_4_kib_is_refused(client: TestClient) -> None:
    response = client.post("/login", data={"token": "x" * 5000})

    assert response.status_code == 413


def test_the_raw_token_as_cookie_is_no_credential(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, TOKEN)

    assert client.get("/graphql").status_code == 401


def test_logging_out_clears_the_cookie(client: TestClient) -> None:
    client.post("/login", data={"token": TOKEN})

    response = client.get("/logout")

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert response.headers["set-cookie"] == (
        f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
    )
    assert client.get("/graphql").status_code == 401


def test_tokens_and_cookies_are_compared_in_constant_time(
    client: TestClient, compared_digests: list[tuple[bytes, bytes]]
) -> None:
    client.get("/", headers=BEARER)
    client.cookies.set(SESSION_COOKIE, SESSION)
    client.get("/")
    client.cookies.clear()
    client.post("/login", data={"token": "guess"})

    assert compared_digests == [
        (TOKEN.encode(), TOKEN.encode()),
        (SESSION.encode(), SESSION.encode()),
        (b"guess", TOKEN.encode()),
    ]


def test_a_websocket_without_credentials_is_refused_before_accept(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]),
    ):
        pass

    assert refused.value.code == 1008


def test_a_websocket_with_the_bearer_header_is_accepted(client: TestClient) -> None:
    with client.websocket_connect(
        "/graphql", subprotocols=["graphql-transport-ws"], headers=BEARER
    ) as websocket:
        assert websocket.receive_text() == "hello"


def test_a_websocket_with_the_session_cookie_is_accepted(client: TestClient) -> None:
    client.post("/login", data={"token": TOKEN})

    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        assert ws.receive_text() == "hello"


def test_a_cookie_websocket_from_another_sites_page_is_refused(client: TestClient) -> None:
    client.post("/login", data={"token": TOKEN})

    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(
            "/graphql",
            subprotocols=["graphql-transport-ws"],
            headers={"origin": "https://evil.example"},
        ),
    ):
        pass

    assert refused.value.code == 1008


def test_a_cookie_websocket_from_the_uis_own_page_is_accepted(client: TestClient) -> None:
    client.post("/login", data={"token": TOKEN})

    with client.websocket_connect(
        "/graphql", subprotocols=["graphql-transport-ws"], headers={"origin": "http://testserver"}
    ) as websocket:
        assert websocket.receive_text() == "hello"


def test_a_cookie_post_from_another_sites_page_is_refused(client: TestClient) -> None:
    client.post("/login", data={"token": TOKEN})

    forged = client.post("/graphql", headers={"origin": "https://evil.example"})
    own = client.post("/graphql", headers={"origin": "http://testserver:443"})

    assert (forged.status_code, forged.json()) == (403, {"error": "cross-origin request refused"})
    assert own.status_code == 200  # ports are not compared (a proxy may drop them)


def test_a_cookie_get_from_another_sites_page_is_served(client: TestClient) -> None:
    client.post("/login", data={"token": TOKEN})

    assert client.get("/graphql", headers={"origin": "https://evil.example"}).status_code == 200


def test_a_bearer_post_is_not_checked_for_its_origin(client: TestClient) -> None:
    response = client.post("/graphql", headers={**BEARER, "origin": "https://elsewhere.example"})

    assert response.status_code == 200


def test_metrics_are_behind_the_gate(client: TestClient) -> None:
    refused = client.get("/metrics")
    served = client.get("/metrics", headers=BEARER)

    assert refused.status_code == 401
    assert served.status_code == 200
    assert "python_info" in served.text


def test_lifespan_events_pass_through_the_gate() -> None:
    events: list[str] = []

    with TestClient(TokenGate(tiny_app(events), Secret(TOKEN))):
        pass

    assert events == ["startup"]


@pytest.mark.parametrize("weak", ["", "short-token-15ch"[:15]])
def test_an_empty_or_short_token_cannot_build_a_gate(weak: str) -> None:
    with pytest.raises(ValueError, match="at least 16 characters") as refused:
        TokenGate(tiny_app(), Secret(weak))
    assert not weak or weak not in str(refused.value)


def test_pas_serve_refuses_a_short_token_before_serving(
    monkeypatch: pytest.MonkeyPatch, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PAS_HOME", str(tmp_path))
    monkeypatch.setenv("API_TOKEN", "guessable")
    assert serve_main(["--port", "1"]) == 2
    assert "at least 16 characters" in caplog.text
    assert "guessable" not in caplog.text


def test_the_token_never_appears_in_responses_or_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses = [
        client.get("/login"),
        client.post("/login", data={"token": "guess"}),
        client.post("/login", data={"token": TOKEN}),
        client.get("/", headers=BROWSER),
        client.get("/graphql", headers={"Authorization": "Bearer guess"}),
        client.get("/logout"),
    ]

    for response in responses:
        assert TOKEN not in response.text
        assert all(TOKEN not in value for value in response.headers.values())
    assert TOKEN not in caplog.text
