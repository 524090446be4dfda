"""Token prompt when the engine requires auth (``assay serve --auth-api-key``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.dashboard.fixtures import (  # noqa: F401  (fixtures are used by name)
    DashEngine,
    dash_browser,
    dash_page,
    shot,
    start_engine,
    stop_engine,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api").expect


def _serve_supports_api_keys() -> bool:
    out = subprocess.run([sys.executable, "-m", "assay", "serve", "--help"], capture_output=True, text=True, timeout=60)
    return "--auth-api-key" in out.stdout


@pytest.fixture(scope="module")
def auth_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashEngine]:
    if not _serve_supports_api_keys():
        pytest.skip("assay serve has no --auth-api-key option yet")
    engine = start_engine(Path(tmp_path_factory.mktemp("auth")), "--auth-api-key")
    try:
        # Bootstrap: with no key stored yet, the first key is minted without a token.
        minted = httpx.post(engine.api + "/api-keys", json={"label": "dashboard-e2e"}, timeout=10)
        assert minted.status_code in (200, 201), minted.text
        engine.token = minted.json()["plaintext"]
        yield engine
    finally:
        stop_engine(engine)


def test_token_prompt_retry_session_and_sign_out(auth_engine, dash_page, shot):
    with auth_engine.http() as http:
        assert http.post("/workflows", json={"workflow_type": "Waiter", "workflow_id": "secured-1"}).status_code == 201
    assert httpx.get(auth_engine.api + "/workflows", timeout=10).status_code == 401

    page = dash_page
    page.goto(f"{auth_engine.url}/workflow/")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Sign in to the engine")
    shot(page, "auth-prompt")

    dialog.get_by_label("API key or JWT").fill("not-a-valid-key")
    dialog.get_by_role("button", name="Sign in").click()
    expect(page.locator("dialog[open]")).to_contain_text("rejected the token")

    page.locator("dialog[open]").get_by_label("API key or JWT").fill(auth_engine.token)
    page.locator("dialog[open]").get_by_role("button", name="Sign in").click()
    expect(page.locator('tr[data-id="secured-1"]')).to_be_visible()
    # The event stream authenticates with the same bearer token (fetch streaming).
    expect(page.locator(".conn")).to_have_attribute("data-state", "connected")
    expect(page.locator(".sign-out")).to_be_visible()
    assert auth_engine.token not in page.url

    # Kept for the browser tab session: a reload does not ask again.
    page.reload()
    expect(page.locator('tr[data-id="secured-1"]')).to_be_visible()
    expect(page.locator("dialog[open]")).to_have_count(0)

    # Sign out forgets the token; the next call asks again.
    page.locator(".sign-out").click()
    expect(page.locator("dialog[open]")).to_contain_text("Sign in to the engine")
    page.locator("dialog[open]").get_by_role("button", name="Not now").click()
    expect(page.locator(".error-box")).to_contain_text("Sign-in required")
