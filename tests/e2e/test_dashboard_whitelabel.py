"""Whitelabel variables change the served dashboard (title, brand, logo, links, extra CSS)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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

THEME = b":root { --accent: #009999; --accent-hover: #007a7a; }\n"


class _ThemeHandler(BaseHTTPRequestHandler):
    """The "host application" serving an operator stylesheet on another origin."""

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(THEME)))
        self.end_headers()
        self.wfile.write(THEME)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def theme_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ThemeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/static/acme.css?build=7"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def branded_engine(tmp_path_factory: pytest.TempPathFactory, theme_url: str) -> Iterator[DashEngine]:
    env = {
        "ASSAY_WHITELABEL_NAME": "Acme Workflows",
        "ASSAY_WHITELABEL_LOGO_URL": "/workflow/favicon.svg",
        "ASSAY_WHITELABEL_PAGE_TITLE": "Acme Ops",
        "ASSAY_WHITELABEL_PARENT_URL": "/console",
        "ASSAY_WHITELABEL_PARENT_NAME": "Acme Console",
        "ASSAY_WHITELABEL_API_DOCS_URL": "",
        "ASSAY_WHITELABEL_CSS_URL": theme_url,
        "ASSAY_WHITELABEL_SUBTITLE": "Platform team",
        "ASSAY_WHITELABEL_DEFAULT_NAMESPACE": "acme",
    }
    engine = start_engine(Path(tmp_path_factory.mktemp("branded")), env=env)
    try:
        with engine.http() as http:
            assert http.post("/namespaces", json={"name": "acme"}).status_code == 201
        yield engine
    finally:
        stop_engine(engine)


def test_whitelabel_variables_rebrand_the_dashboard(branded_engine, dash_page, shot):
    page = dash_page
    page.goto(f"{branded_engine.url}/workflow/")
    expect(page).to_have_title("Workflows · Acme Ops")
    brand = page.locator(".brand")
    expect(brand.locator(".brand-name")).to_have_text("Acme Workflows")
    expect(brand.locator(".brand-subtitle")).to_have_text("Platform team")
    expect(brand.locator("img.brand-logo")).to_have_attribute("src", "/workflow/favicon.svg")
    expect(brand.locator(".brand-mark")).to_have_count(0)
    expect(page.get_by_role("link", name="Acme Console")).to_have_attribute("href", "/console")
    # API_DOCS_URL set to empty hides the link everywhere (sidebar and Settings).
    expect(page.locator(".docs-link")).to_have_count(0)
    # Customised deployments credit Assay in the footer.
    expect(page.locator(".status-version")).to_contain_text("Powered by Assay")
    # DEFAULT_NAMESPACE decides where the dashboard opens.
    expect(page.locator(".status-ns-name")).to_have_text("acme")
    expect(page.locator("#ns-select")).to_have_value("acme")

    # The extra stylesheet loads last, versioned with &v=, and its :root tokens win.
    css = page.locator("link[data-whitelabel-css]")
    expect(css).to_have_attribute("href", re.compile(r"acme\.css\?build=7&v=\d+$"))
    assert page.evaluate("document.head.lastElementChild.hasAttribute('data-whitelabel-css')")
    accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
    assert accent == "#009999"
    button_bg = page.evaluate("getComputedStyle(document.querySelector('.btn-primary')).backgroundColor")
    assert button_bg == "rgb(0, 153, 153)"
    shot(page, "whitelabel-workflows")

    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_text("OpenAPI spec (JSON)")).to_be_visible()
    expect(page.get_by_role("link", name="API docs")).to_have_count(0)


def test_dark_scheme_keeps_the_operator_override(branded_engine, dash_browser, shot):
    context = dash_browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        page.goto(f"{branded_engine.url}/workflow/")
        expect(page.locator(".brand-name")).to_have_text("Acme Workflows")
        surface = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--surface').trim()")
        assert surface == "#161b22"  # dark tokens apply...
        accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
        assert accent == "#009999"  # ...and a plain :root override still wins in dark mode
        shot(page, "whitelabel-dark")
    finally:
        context.close()
