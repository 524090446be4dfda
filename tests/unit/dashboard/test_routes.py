"""Dashboard routes served in-process: redirects, index rendering, assets, caching."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from assay.dashboard.routes import dashboard_routes


class Client:
    """Sync facade over httpx's in-process ASGI transport (no sockets)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.get(path, **kwargs)

        return asyncio.run(go())


def client(env: dict[str, str] | None = None) -> Client:
    return Client(Starlette(routes=dashboard_routes(env or {}, version="9.9.9")))


@pytest.mark.parametrize("path", ["/", "/workflow"])
def test_root_paths_redirect_permanently(path):
    r = client().get(path)
    assert r.status_code == 308
    assert r.headers["location"] == "/workflow/"


def test_redirect_keeps_the_query():
    r = client().get("/workflow?ns=prod")
    assert r.headers["location"] == "/workflow/?ns=prod"


@pytest.mark.parametrize(
    "path",
    ["/workflow/", "/workflow/schedules", "/workflow/workers", "/workflow/queues", "/workflow/settings",
     "/workflow/workflows", "/workflow/workflows/order-42"],
)
def test_views_and_deep_links_serve_the_index(path):
    r = client().get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    assert "<title>Assay Workflow Dashboard</title>" in r.text


def test_index_has_versioned_assets_and_an_import_map():
    r = client().get("/workflow/")
    versions = set(re.findall(r'\?v=(\d+)', r.text))
    assert len(versions) == 1  # one asset version per process start
    v = versions.pop()
    assert f'href="/workflow/theme.css?v={v}"' in r.text
    assert f'src="/workflow/app.js?v={v}"' in r.text
    assert f'"/workflow/components/steps.js": "/workflow/components/steps.js?v={v}"' in r.text


def test_index_carries_settings_for_the_script():
    r = client({"ASSAY_WHITELABEL_DEFAULT_NAMESPACE": "ops"}).get("/workflow/")
    assert 'data-default-namespace="ops"' in r.text
    assert 'data-api-base="/api/v1/engine/workflow"' in r.text
    assert 'data-version="9.9.9"' in r.text
    assert "Assay Workflow Engine v9.9.9" in r.text


def test_whitelabel_values_are_html_escaped():
    r = client({"ASSAY_WHITELABEL_NAME": '<script>alert("x")</script>', "ASSAY_WHITELABEL_PAGE_TITLE": "A & B"}).get("/workflow/")
    assert "<script>alert" not in r.text
    assert "&lt;script&gt;" in r.text
    assert "<title>A &amp; B</title>" in r.text


def test_whitelabel_links_and_css():
    r = client({
        "ASSAY_WHITELABEL_PARENT_URL": "/console",
        "ASSAY_WHITELABEL_PARENT_NAME": "Console",
        "ASSAY_WHITELABEL_API_DOCS_URL": "",
        "ASSAY_WHITELABEL_CSS_URL": "https://cdn.example/acme.css?b=1",
        "ASSAY_WHITELABEL_LOGO_URL": "/static/logo.svg",
        "ASSAY_WHITELABEL_FAVICON_URL": "/static/fav.ico",
    }).get("/workflow/")
    html = r.text
    assert 'href="/console"' in html and "Console</a>" in html
    assert "docs-link" not in html
    assert re.search(r'href="https://cdn.example/acme.css\?b=1&amp;v=\d+" data-whitelabel-css', html)
    assert html.index("data-whitelabel-css") > html.index("style.css")  # loaded last
    assert 'src="/static/logo.svg"' in html and "brand-mark" not in html
    assert '<link rel="icon" href="/static/fav.ico">' in html
    assert "Powered by" in html
    assert "https://cdn.example" in r.headers["content-security-policy"]


def test_content_security_policy_allows_only_our_scripts():
    r = client().get("/workflow/")
    csp = r.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'nonce="{nonce}"' in r.text
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp


@pytest.mark.parametrize(
    ("path", "ctype"),
    [("/workflow/app.js", "text/javascript"), ("/workflow/components/steps.js", "text/javascript"),
     ("/workflow/theme.css", "text/css"), ("/workflow/style.css", "text/css"),
     ("/workflow/favicon.svg", "image/svg+xml"), ("/favicon.ico", "image/svg+xml")],
)
def test_assets_are_served_uncached_with_etags(path, ctype):
    c = client()
    r = c.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(ctype)
    assert r.headers["cache-control"] == "no-cache"
    again = c.get(path, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_favicon_follows_the_whitelabel_url():
    r = client({"ASSAY_WHITELABEL_FAVICON_URL": "/static/fav.ico"}).get("/favicon.ico")
    assert r.status_code == 307
    assert r.headers["location"] == "/static/fav.ico"


def test_unknown_asset_is_a_json_404():
    r = client().get("/workflow/nope.js")
    assert r.status_code == 404
    assert r.json() == {"error": "no such dashboard asset", "code": "not_found"}


def test_theme_declares_the_seed_tokens_in_both_schemes():
    css = client().get("/workflow/theme.css").text
    tokens = ["--bg", "--surface", "--surface-hover", "--border", "--text", "--text-muted", "--accent",
              "--accent-hover", "--green", "--red", "--yellow", "--orange", "--shadow", "--code-bg"]
    light, dark = css.split("@media (prefers-color-scheme: dark) {", 1)
    for token in tokens:
        assert f"{token}:" in light, token
        assert f"{token}:" in dark, token


def test_stylesheet_uses_no_literal_colours():
    css = client().get("/workflow/style.css").text
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgb\(|hsl\(", css)


def test_default_env_is_os_environ(monkeypatch):
    monkeypatch.setenv("ASSAY_WHITELABEL_PAGE_TITLE", "From the environment")
    r = Client(Starlette(routes=dashboard_routes(version="1"))).get("/workflow/")
    assert "<title>From the environment</title>" in r.text
