"""A person with a real headless Chromium: sent to the login page, logs in with the token,
sees this project's assets in the Dagster UI. Skipped without ``/usr/bin/chromium`` unless
``CI`` is set (then it fails)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pas_pipeline_tests.served_app import ServedUI, served_ui  # noqa: F401 (fixture)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 90_000
"""The Dagster UI is a large single-page app; on a busy 2-core machine it can take a while."""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_a_person_logs_in_and_sees_the_projects_assets(
    browser,
    served_ui: ServedUI,  # noqa: F811
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)

    page.goto(f"{served_ui.base_url}/assets")
    assert page.url == f"{served_ui.base_url}/login"

    page.fill("input[name=token]", served_ui.token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served_ui.base_url}/**")
    assert not page.url.endswith("/login")
    [cookie] = context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert served_ui.token not in cookie["value"]

    refused: list[str] = []
    page.on("response", lambda r: refused.append(r.url) if r.status in {401, 403} else None)
    with page.expect_websocket() as opened:
        page.goto(f"{served_ui.base_url}/assets")
    websocket = opened.value
    frames: list[object] = []
    websocket.on("framereceived", lambda payload: frames.append(payload))
    # The catalog lists each key twice (one copy hidden); the list is virtualised, so look
    # for a key near its top.
    page.get_by_text("congress_trades", exact=True).filter(visible=True).first.wait_for()
    if not frames:
        websocket.wait_for_event("framereceived")
    assert refused == []  # the cookie alone opened every HTTP request of the UI ...
    assert websocket.url == f"{served_ui.base_url.replace('http', 'ws', 1)}/graphql"
    assert not websocket.is_closed()  # ... and its GraphQL websocket, which answers
    context.close()


def test_a_wrong_token_keeps_the_person_on_the_login_page(
    browser,
    served_ui: ServedUI,  # noqa: F811
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{served_ui.base_url}/login")

    page.fill("input[name=token]", "guess")
    page.click("button[type=submit]")

    page.get_by_text("Wrong token.").wait_for()
    assert context.cookies() == []
    context.close()
