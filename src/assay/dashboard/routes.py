"""HTTP routes of the built-in dashboard (``/workflow/``), as data for the app to mount.

Everything is public: the page and its assets hold no data. The data comes from the REST
API, which the browser calls with the operator's token when auth is on.

Assets are read from package data once, when the routes are built, and kept in memory: a
wheel may be zipped, and the files are small (tens of kilobytes). Each one is served with
``Cache-Control: no-cache`` and an ETag (cheap revalidation), and every URL the page emits
carries ``?v=<process start epoch>`` so a restart defeats caches that ignore the header.
ES modules import each other by plain relative paths; an import map in the page rewrites
each of them to its versioned URL, so module imports are cache-busted as well.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from assay.dashboard.whitelabel import DEFAULT_API_DOCS_URL, Whitelabel

UI_PREFIX = "/workflow"
API_PREFIX = "/api/v1/engine/workflow"
# Client-side views served by the same page (path routing; the JS reads location.pathname).
VIEWS = ("workflows", "schedules", "workers", "queues", "settings")
_NO_CACHE = "no-cache"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str


def dashboard_routes(
    settings_env: Mapping[str, str] | None = None, *, version: str
) -> list[BaseRoute]:
    """Routes to mount at the application root.

    ``settings_env`` supplies the ``ASSAY_WHITELABEL_*`` variables (``os.environ`` when
    None); ``version`` is the engine version shown in the status bar.
    """
    env = os.environ if settings_env is None else settings_env
    site = _Site(Whitelabel.from_env(env), version, str(int(time.time())))
    return [
        Route("/", site.redirect_to_ui, methods=["GET", "HEAD"]),
        Route(UI_PREFIX, site.redirect_to_ui, methods=["GET", "HEAD"]),
        Route("/favicon.ico", site.favicon, methods=["GET", "HEAD"]),
        Route(f"{UI_PREFIX}/", site.index, methods=["GET", "HEAD"]),
        *(Route(f"{UI_PREFIX}/{v}", site.index, methods=["GET", "HEAD"]) for v in VIEWS),
        Route(f"{UI_PREFIX}/workflows/{{workflow_id:path}}", site.index, methods=["GET", "HEAD"]),
        Route(f"{UI_PREFIX}/{{asset:path}}", site.asset, methods=["GET", "HEAD"]),
    ]


class _Site:
    """Holds what the handlers share: branding, asset bytes, the template."""

    def __init__(self, brand: Whitelabel, version: str, asset_version: str) -> None:
        self.brand = brand
        self.version = version
        self.asset_version = asset_version
        self.assets = _load_assets()
        self.template = jinja2.Environment(
            loader=jinja2.PackageLoader("assay.dashboard", "templates"),
            autoescape=True,  # every whitelabel value is operator input: escape it
            trim_blocks=True,
            lstrip_blocks=True,
        ).get_template("index.html")

    async def redirect_to_ui(self, request: Request) -> Response:
        target = _root(request) + UI_PREFIX + "/"
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(target, status_code=308)

    async def favicon(self, request: Request) -> Response:
        if self.brand.favicon_url:
            return RedirectResponse(self.brand.favicon_url, status_code=307)
        return self._serve(request, self.assets["favicon.svg"])

    async def asset(self, request: Request) -> Response:
        found = self.assets.get(request.path_params["asset"])
        if found is None:
            return JSONResponse({"error": "no such dashboard asset", "code": "not_found"}, 404)
        return self._serve(request, found)

    async def index(self, request: Request) -> Response:
        root = _root(request)
        ui = root + UI_PREFIX
        nonce = secrets.token_urlsafe(16)
        v = self.asset_version
        html = self.template.render(
            brand=self.brand,
            version=self.version,
            nonce=nonce,
            ui=ui,
            api_base=root + API_PREFIX,
            api_docs_url=_docs_url(root, self.brand.api_docs_url),
            asset=lambda name: f"{ui}/{name}?v={v}",
            favicon=self.brand.favicon_url or f"{ui}/favicon.svg?v={v}",
            extra_css=self.brand.css_href(v),
            import_map={
                f"{ui}/{name}": f"{ui}/{name}?v={v}"
                for name in sorted(self.assets)
                if name.endswith(".js")
            },
        )
        headers = {
            "Cache-Control": _NO_CACHE,
            "Content-Security-Policy": _csp(nonce, self.brand),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }
        return Response(html, media_type="text/html; charset=utf-8", headers=headers)

    def _serve(self, request: Request, found: _Asset) -> Response:
        headers = {
            "Cache-Control": _NO_CACHE,
            "ETag": found.etag,
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)


def _load_assets() -> dict[str, _Asset]:
    """Every file under ``static/``, keyed by its path relative to it (``components/x.js``)."""
    out: dict[str, _Asset] = {}
    root = resources.files("assay.dashboard") / "static"

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
                continue
            body = child.read_bytes()
            suffix = os.path.splitext(child.name)[1]
            media = _TYPES.get(suffix) or mimetypes.guess_type(child.name)[0]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            out[rel] = _Asset(body, media or "application/octet-stream", etag)

    walk(root, "")
    return out


def _root(request: Request) -> str:
    """The path prefix the app is served under (a reverse proxy's ``root_path``)."""
    return str(request.scope.get("root_path") or "").rstrip("/")


def _docs_url(root: str, url: str | None) -> str | None:
    """Our own default docs link follows our root; an operator's URL is used verbatim."""
    return root + url if url == DEFAULT_API_DOCS_URL else url


def _csp(nonce: str, brand: Whitelabel) -> str:
    """Only our own scripts run; branding may pull styles and images from its own origin."""
    style_src = ["'self'"]
    if brand.css_url:
        origin = _origin(brand.css_url)
        if origin:
            style_src.append(origin)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src " + " ".join(style_src),
            "img-src 'self' data: https: http:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None
