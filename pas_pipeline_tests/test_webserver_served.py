"""The real Dagster webserver of this repository behind the token gate, over real HTTP:
one uvicorn server for the module (see ``served_app.py``)."""

from __future__ import annotations

import importlib
import json
import logging

import httpx
import pytest
import websockets.sync.client
from websockets.exceptions import InvalidStatus

from pas_pipeline.config import Secret
from pas_pipeline.webserver import app as webserver_app
from pas_pipeline_tests.served_app import ServedUI, served_ui  # noqa: F401 (fixture)

ASSET_KEYS_QUERY = "{ assetNodes { assetKey { path } } }"
HTTP_TIMEOUT_SECONDS = 60


def _get(served: ServedUI, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(f"{served.base_url}{path}", timeout=HTTP_TIMEOUT_SECONDS, **kwargs)


def _graphql(served: ServedUI, query: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{served.base_url}/graphql",
        json={"query": query},
        headers=headers,
        timeout=HTTP_TIMEOUT_SECONDS,
    )


def test_every_private_dagster_name_the_app_uses_still_imports() -> None:
    for entry in webserver_app.DAGSTER_INTERNALS:
        module_name, _, name = entry.partition(":")
        module = importlib.import_module(module_name)
        assert hasattr(module, name), f"{entry} moved: update pas_pipeline/webserver/app.py"


def test_without_a_token_the_app_binds_loopback_only_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="pas_pipeline.webserver")

    assert webserver_app.bind_host("0.0.0.0", None) == "127.0.0.1"
    assert "API_TOKEN is not set" in caplog.text
    assert "ignoring --host 0.0.0.0" in caplog.text


def test_with_a_token_the_app_binds_the_host_asked_for() -> None:
    assert webserver_app.bind_host("0.0.0.0", Secret("t")) == "0.0.0.0"


def test_server_info_needs_the_token(served_ui: ServedUI) -> None:  # noqa: F811
    refused = _get(served_ui, "/server_info")
    served = _get(served_ui, "/server_info", headers=served_ui.bearer)

    assert refused.status_code == 401
    assert refused.json() == {"error": "unauthorized"}
    assert served.status_code == 200
    assert "dagster_version" in served.json()


def test_healthz_answers_without_the_token_and_says_nothing_more(
    served_ui: ServedUI,  # noqa: F811
) -> None:
    health = httpx.get(f"{served_ui.base_url}/healthz")
    posted = httpx.post(f"{served_ui.base_url}/healthz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert posted.status_code == 401  # only GET/HEAD are open


def test_graphql_over_http_needs_the_token(served_ui: ServedUI) -> None:  # noqa: F811
    response = _graphql(served_ui, ASSET_KEYS_QUERY, {"Authorization": "Bearer guess"})

    assert response.status_code == 401


def test_graphql_lists_the_projects_assets_with_the_bearer(served_ui: ServedUI) -> None:  # noqa: F811
    response = _graphql(served_ui, ASSET_KEYS_QUERY, served_ui.bearer)

    assert response.status_code == 200
    keys = {"/".join(node["assetKey"]["path"]) for node in response.json()["data"]["assetNodes"]}
    assert {"universe", "prices", "congress_trades", "target_weights"} <= keys


def test_a_ui_page_load_without_the_cookie_goes_to_the_login_page(served_ui: ServedUI) -> None:  # noqa: F811
    response = _get(served_ui, "/assets", headers={"Accept": "text/html"})

    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_static_assets_need_the_token(served_ui: ServedUI) -> None:  # noqa: F811
    refused = _get(served_ui, "/favicon.svg")
    served = _get(served_ui, "/favicon.svg", headers=served_ui.bearer)

    assert refused.status_code == 401
    assert served.status_code == 200


def test_the_graphql_websocket_is_refused_without_the_token(served_ui: ServedUI) -> None:  # noqa: F811
    url = served_ui.base_url.replace("http://", "ws://") + "/graphql"

    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(url, subprotocols=["graphql-ws"])

    assert refused.value.response.status_code == 403


def test_the_graphql_websocket_works_with_the_bearer(served_ui: ServedUI) -> None:  # noqa: F811
    url = served_ui.base_url.replace("http://", "ws://") + "/graphql"

    with websockets.sync.client.connect(
        url,
        subprotocols=["graphql-ws"],
        additional_headers=served_ui.bearer,
        open_timeout=HTTP_TIMEOUT_SECONDS,
    ) as socket:
        socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        reply = json.loads(socket.recv(timeout=HTTP_TIMEOUT_SECONDS))

    assert socket.subprotocol == "graphql-ws"
    assert reply["type"] == "connection_ack"


def test_metrics_are_served_behind_the_token(served_ui: ServedUI) -> None:  # noqa: F811
    served_ui.metrics_dir.mkdir(parents=True, exist_ok=True)
    (served_ui.metrics_dir / "run-1.prom").write_text(
        "# HELP pas_example_total An example counter.\n"
        "# TYPE pas_example_total counter\n"
        "pas_example_total 3.0\n"
    )

    refused = _get(served_ui, "/metrics")
    served = _get(served_ui, "/metrics", headers=served_ui.bearer)

    assert refused.status_code == 401
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/plain; version=")
    assert "pas_example_total 3.0" in served.text
