"""ASGI middleware that enforces authentication on every route outside the open set.

Pure ASGI (not ``BaseHTTPMiddleware``) so that streaming responses, the SSE stream above
all, pass through untouched. The decision itself is :class:`assay.engine.auth.Authenticator`;
this layer only finds the token in the request, knows which paths are open, and writes the
401 answer.

Deny by default: a path is open only if :func:`is_open_path` says so, so a route added
later is protected without anyone remembering to protect it. Unknown paths answer 401 too
(rather than 404) when auth is on, which also keeps the route table from being probed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from assay.engine.auth import ANONYMOUS, Authenticator, Principal
from assay.errors import Unauthorized

__all__ = [
    "API_PREFIXES",
    "AuthMiddleware",
    "BOOTSTRAP_STATE_KEY",
    "PRINCIPAL_STATE_KEY",
    "is_open_path",
    "is_stream_path",
]

log = logging.getLogger(__name__)

# Longest first: "/api/v1/engine/workflow/health" must not be read as "/api/v1" + "/engine…".
API_PREFIXES: tuple[str, ...] = ("/api/v1/engine/workflow", "/api/v1")
# Public tier of the original (health, version) plus the always-public docs.
_OPEN_API_PATHS = frozenset({"/health", "/version", "/openapi.json", "/docs"})
# Static assets of the docs page (Swagger UI, served from package data by the app).
_OPEN_API_TREES = ("/docs-assets/",)
_STREAM_PATH = "/events/stream"
_API_KEYS_PATH = "/api-keys"

PRINCIPAL_STATE_KEY = "principal"
# Set on the request state when POST /api-keys was let through by the bootstrap window; the
# route re-checks under a lock that no key exists (two racing first requests mint one key).
BOOTSTRAP_STATE_KEY = "assay_auth_bootstrap"


def _api_suffix(path: str) -> str | None:
    """The part of ``path`` after one of the API prefixes, or None for non-API paths."""
    for prefix in API_PREFIXES:
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return None


def is_open_path(path: str) -> bool:
    """Paths served without a token even when auth is on: health, version, OpenAPI, docs
    and the dashboard shell with its static assets (which hold no data; the data comes
    from the API, which is gated)."""
    if path in ("/", "/workflow", "/favicon.ico") or path.startswith("/workflow/"):
        return True
    suffix = _api_suffix(path)
    if suffix is None:
        return False
    return suffix in _OPEN_API_PATHS or suffix.startswith(_OPEN_API_TREES)


def is_stream_path(path: str) -> bool:
    return _api_suffix(path) == _STREAM_PATH


def _route_path(scope: Scope) -> str:
    """The path the router will match: behind a proxy prefix (``--root-path``) the server
    puts the prefix in front of ``path`` too, and routing strips it; so must we."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "") or ""
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def _is_bootstrap_request(scope: Scope) -> bool:
    return scope.get("method") == "POST" and _api_suffix(_route_path(scope)) == _API_KEYS_PATH


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _take_query_token(scope: Scope) -> str | None:
    """Pop ``access_token`` from the query string (EventSource cannot send headers).

    The scope is edited in place so that neither the route nor the server's access log
    (uvicorn logs the scope's query string) ever sees the token.
    """
    raw = scope.get("query_string", b"")
    if b"access_token" not in raw:
        return None
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    tokens = [v for k, v in pairs if k == "access_token"]
    scope["query_string"] = urlencode([(k, v) for k, v in pairs if k != "access_token"]).encode(
        "latin-1"
    )
    return tokens[-1] if tokens and tokens[-1] else None


AuthenticatorSource = Authenticator | Callable[[], Authenticator | None]


class AuthMiddleware:
    """Gate an ASGI app with an :class:`Authenticator`.

    ``authenticator`` may be the object itself or a zero-argument callable returning it,
    for apps that build their store (and so the authenticator) in the lifespan. While the
    callable returns None the gated routes answer 503: failing closed, never open.
    """

    def __init__(self, app: ASGIApp, authenticator: AuthenticatorSource) -> None:
        self.app = app
        self._source = authenticator

    def _authenticator(self) -> Authenticator | None:
        if isinstance(self._source, Authenticator):
            return self._source
        return self._source()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        stream = is_stream_path(path)
        query_token = _take_query_token(scope) if stream else None
        if is_open_path(path):
            await self.app(scope, receive, send)
            return

        auth = self._authenticator()
        if auth is None:
            await _reject(scope, send, 503, "engine is starting", "unavailable")
            return
        if not auth.enabled:
            scope.setdefault("state", {})[PRINCIPAL_STATE_KEY] = ANONYMOUS
            await self.app(scope, receive, send)
            return

        header = _header(scope, b"authorization")
        try:
            if header is None and query_token is not None:
                principal: Principal = await auth.authenticate_token(query_token)
            elif header is None and _is_bootstrap_request(scope) and await auth.bootstrap_open():
                scope.setdefault("state", {})[BOOTSTRAP_STATE_KEY] = True
                await self.app(scope, receive, send)
                return
            else:
                principal = await auth.authenticate(header)
        except Unauthorized as exc:
            # The reason is ours (never the token), so it is safe to log and to return.
            log.info("401 %s %s: %s", scope.get("method", "WS"), path, exc.message)
            await _reject(scope, send, 401, exc.message, exc.code)
            return
        except Exception:  # noqa: BLE001 - e.g. the key store failed: the API's 500, not uvicorn's
            log.exception("authentication failed unexpectedly (this is a bug or a store outage)")
            await _reject(scope, send, 500, "internal error; see the engine log", "internal")
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE_KEY] = principal
        await self.app(scope, receive, send)


async def _reject(scope: Scope, send: Send, status: int, message: str, code: str) -> None:
    if scope["type"] == "websocket":
        # Closing before accept makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps({"error": message, "code": code}).encode("utf-8")
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"cache-control", b"no-store"),
    ]
    if status == 401:
        challenge = 'Bearer realm="assay"'
        if _header(scope, b"authorization") is not None:
            challenge += ', error="invalid_token"'  # RFC 6750 §3.1
        headers.append((b"www-authenticate", challenge.encode("ascii")))
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
