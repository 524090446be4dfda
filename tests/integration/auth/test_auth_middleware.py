"""The ASGI middleware and the api-keys routes, in process (httpx ASGI transport).

A small FastAPI app stands in for the engine so these tests do not depend on its routes;
the e2e suite runs the same checks against the real ``assay serve``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from tests.integration.auth.oidc_stand_in import AUDIENCE, Issuer, new_key

from assay.api.auth import AuthMiddleware, is_open_path, is_stream_path
from assay.api.errors import install_error_handlers
from assay.api.routes.api_keys import router as api_keys_router
from assay.engine.auth import Authenticator, AuthSettings, generate_api_key
from assay.engine.oidc import OidcVerifier
from assay.engine.settings import EngineSettings

PREFIXES = ("/api/v1", "/api/v1/engine/workflow")


class InMemoryStore:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    async def insert_api_key(self, key_hash: str, prefix: str, label: str | None, created_at: float) -> None:
        self.rows[key_hash] = {"key_hash": key_hash, "prefix": prefix, "label": label, "created_at": created_at}

    async def find_api_key(self, key_hash: str) -> dict[str, Any] | None:
        return self.rows.get(key_hash)

    async def list_api_keys(self) -> list[dict[str, Any]]:
        return sorted(self.rows.values(), key=lambda r: -r["created_at"])

    async def delete_api_keys(self, prefix: str) -> int:
        doomed = [h for h, r in self.rows.items() if r["prefix"] == prefix]
        for h in doomed:
            del self.rows[h]
        return len(doomed)

    async def count_api_keys(self) -> int:
        return len(self.rows)


def make_app(settings: AuthSettings, store: InMemoryStore, issuer: Issuer | None = None) -> FastAPI:
    app = FastAPI()
    verifier = OidcVerifier(settings.issuer, settings.audience) if settings.issuer else None
    ticks = iter(range(1, 10_000))
    # The routes need only the engine's store and clock, and the body-size setting.
    app.state.engine = SimpleNamespace(store=store, clock=lambda: float(next(ticks)))
    app.state.settings = EngineSettings()
    app.add_middleware(AuthMiddleware, authenticator=Authenticator(settings, store, verifier))
    install_error_handlers(app)

    for prefix in PREFIXES:
        app.include_router(api_keys_router, prefix=prefix)

        @app.get(prefix + "/health")
        async def health() -> dict[str, str]:
            return {"status": "ok"}

        @app.get(prefix + "/workflows")
        async def workflows(request: Request) -> dict[str, Any]:
            principal = request.state.principal
            return {"kind": principal.kind.value, "subject": principal.subject}

        @app.get(prefix + "/events/stream")
        async def stream(request: Request) -> StreamingResponse:
            query = request.url.query

            async def frames() -> AsyncIterator[bytes]:
                for i in range(3):
                    yield f"event: tick\ndata: {json.dumps({'i': i, 'query': query})}\n\n".encode()
                    await asyncio.sleep(0)

            return StreamingResponse(frames(), media_type="text/event-stream")

    @app.get("/workflow/{rest:path}")
    async def dashboard(rest: str) -> dict[str, str]:
        return {"page": rest}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://engine")


def test_open_path_table() -> None:
    for path in (
        "/", "/workflow", "/workflow/", "/workflow/app.js", "/favicon.ico",
        "/api/v1/health", "/api/v1/version", "/api/v1/openapi.json", "/api/v1/docs",
        "/api/v1/engine/workflow/health", "/api/v1/engine/workflow/docs",
        "/api/v1/engine/workflow/openapi.json", "/api/v1/engine/workflow/docs-assets/x.js",
    ):
        assert is_open_path(path), path
    for path in (
        "/api/v1/workflows", "/api/v1/health/", "/api/v1/healthz", "/api/v1/events/stream",
        "/api/v1/engine/workflow/api-keys", "/api/v1/engine/workflow", "/api/v1",
        "/api/v1/health/../workflows", "/workflowx", "/docs", "/openapi.json", "/anything",
    ):
        assert not is_open_path(path), path
    assert is_stream_path("/api/v1/events/stream")
    assert is_stream_path("/api/v1/engine/workflow/events/stream")
    assert not is_stream_path("/api/v1/workflows")


async def test_api_key_mode_end_to_end_in_process() -> None:
    store = InMemoryStore()
    app = make_app(AuthSettings(api_key=True), store)
    async with client(app) as c:
        for prefix in PREFIXES:
            assert (await c.get(prefix + "/health")).status_code == 200
            r = await c.get(prefix + "/workflows")
            assert r.status_code == 401
            assert r.json() == {
                "error": "missing Authorization: Bearer <token>; this engine expects an API key",
                "code": "unauthorized",
            }
            assert r.headers["www-authenticate"] == 'Bearer realm="assay"'
        assert (await c.get("/workflow/settings")).status_code == 200
        assert (await c.get("/nowhere")).status_code == 401  # deny by default

        # Bootstrap: the first key can be minted without a token, exactly once.
        r = await c.post("/api/v1/api-keys", json={"label": "first"})
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["plaintext"].startswith("assay_") and first["label"] == "first"
        assert r.headers["cache-control"] == "no-store"
        r = await c.post("/api/v1/api-keys", json={"label": "second"})
        assert r.status_code == 401

        auth = {"Authorization": f"Bearer {first['plaintext']}"}
        r = await c.get("/api/v1/engine/workflow/workflows", headers=auth)
        assert r.json() == {"kind": "api_key", "subject": first["prefix"]}

        bad = {"Authorization": "Bearer " + generate_api_key()[0]}
        r = await c.get("/api/v1/workflows", headers=bad)
        assert r.status_code == 401
        assert r.json()["error"] == "invalid API key; this engine expects an API key"
        assert r.headers["www-authenticate"] == 'Bearer realm="assay", error="invalid_token"'


async def test_api_key_routes() -> None:
    store = InMemoryStore()
    plaintext, key_hash, prefix = generate_api_key()
    await store.insert_api_key(key_hash, prefix, "admin", 0.5)
    app = make_app(AuthSettings(api_key=True), store)
    auth = {"Authorization": f"Bearer {plaintext}"}
    async with client(app) as c:
        for body in (None, {}, [], "null"):
            kwargs: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
            r = await c.post("/api/v1/api-keys", headers=auth, **kwargs)
            assert r.status_code == 201, (body, r.text)
            assert r.json()["label"] is None
        r = await c.post("/api/v1/api-keys", headers=auth, json={"label": "ci", "idempotent": True})
        assert r.status_code == 201
        ci = r.json()
        r = await c.post("/api/v1/api-keys", headers=auth, json={"label": "ci", "idempotent": True})
        assert r.status_code == 200
        assert r.json() == {"prefix": ci["prefix"], "label": "ci", "created_at": ci["created_at"]}
        assert "plaintext" not in r.json()

        for bad in ('{"label": 5}', "[1]", '{"label": "' + "x" * 300 + '"}'):
            r = await c.post("/api/v1/api-keys", headers=auth, content=bad)
            assert r.status_code == 422, (bad, r.text)
        assert (await c.post("/api/v1/api-keys", headers=auth, content="{nope")).status_code == 400

        listing = (await c.get("/api/v1/engine/workflow/api-keys", headers=auth)).json()
        assert [k["label"] for k in listing][:1] == ["ci"]  # newest first
        assert all(set(k) == {"prefix", "label", "created_at"} for k in listing)
        assert plaintext not in json.dumps(listing)

        r = await c.delete(f"/api/v1/api-keys/{ci['prefix']}", headers=auth)
        assert r.status_code == 200 and r.json() == {"deleted": 1}
        r = await c.delete(f"/api/v1/api-keys/{ci['prefix']}", headers=auth)
        assert r.status_code == 404
        # The display ellipsis is optional when revoking.
        r = await c.delete(f"/api/v1/api-keys/{prefix.removesuffix('...')}", headers=auth)
        assert r.status_code == 200
        # The revoked key no longer works.
        assert (await c.get("/api/v1/workflows", headers=auth)).status_code == 401


async def test_sse_stream_accepts_query_token_only_there() -> None:
    store = InMemoryStore()
    plaintext, key_hash, prefix = generate_api_key()
    await store.insert_api_key(key_hash, prefix, None, 1.0)
    app = make_app(AuthSettings(api_key=True), store)
    async with client(app) as c:
        for p in PREFIXES:
            assert (await c.get(p + "/events/stream?namespace=main")).status_code == 401
            r = await c.get(p + f"/events/stream?namespace=main&access_token={plaintext}")
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            frames = [f for f in r.text.split("\n\n") if f]
            assert len(frames) == 3
            # The token was taken out of the query before the route (and the access log) saw it.
            assert '"query": "namespace=main"' in frames[0]
            assert plaintext not in r.text
            r = await c.get(p + "/events/stream", headers={"Authorization": f"Bearer {plaintext}"})
            assert r.status_code == 200
        # Elsewhere a query token is not a credential.
        r = await c.get(f"/api/v1/workflows?access_token={plaintext}")
        assert r.status_code == 401


async def test_jwt_mode_through_the_middleware(issuer: Issuer) -> None:
    key = new_key("ed25519", "k")
    issuer.published = [key]
    store = InMemoryStore()
    app = make_app(AuthSettings(issuer=issuer.url, audience=AUDIENCE), store)
    async with client(app) as c:
        r = await c.get("/api/v1/workflows", headers={"Authorization": f"Bearer {issuer.token(key)}"})
        assert r.json() == {"kind": "jwt", "subject": "user-42"}
        r = await c.get(
            "/api/v1/workflows",
            headers={"Authorization": f"Bearer {issuer.token(key, aud='other')}"},
        )
        assert r.status_code == 401
        assert r.json()["error"] == (
            f"wrong audience; this engine expects an OIDC token from {issuer.url}"
        )
        # No bootstrap window in JWT-only mode.
        assert (await c.post("/api/v1/api-keys")).status_code == 401


async def test_no_auth_passes_everything() -> None:
    app = make_app(AuthSettings(), InMemoryStore())
    async with client(app) as c:
        r = await c.get("/api/v1/workflows")
        assert r.json() == {"kind": "anonymous", "subject": "anonymous"}


async def test_fails_closed_while_authenticator_is_missing() -> None:
    app = FastAPI()

    @app.get("/api/v1/workflows")
    async def workflows() -> list[str]:
        return []

    app.add_middleware(AuthMiddleware, authenticator=lambda: None)
    async with client(app) as c:
        assert (await c.get("/api/v1/workflows")).status_code == 503


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
async def test_malformed_authorization_header(header: str) -> None:
    app = make_app(AuthSettings(api_key=True), InMemoryStore())
    async with client(app) as c:
        r = await c.get("/api/v1/workflows", headers={"Authorization": header})
        assert r.status_code == 401
        assert "must be 'Bearer <token>'" in r.json()["error"]
        # Malformed headers do not open the bootstrap window either.
        assert (await c.post("/api/v1/api-keys", headers={"Authorization": header})).status_code == 401


async def test_behind_a_proxy_prefix() -> None:
    app = make_app(AuthSettings(api_key=True), InMemoryStore())
    transport = httpx.ASGITransport(app=app, root_path="/assay")
    async with httpx.AsyncClient(transport=transport, base_url="http://engine") as c:
        assert (await c.get("/assay/api/v1/health")).status_code == 200
        assert (await c.get("/assay/api/v1/workflows")).status_code == 401


async def test_an_authenticator_failure_is_the_api_500_not_a_crash() -> None:
    class BrokenStoreAuth:
        enabled = True

        async def authenticate(self, header: str | None) -> None:
            raise RuntimeError("api key table unreachable")

    app = FastAPI()

    @app.get("/api/v1/workflows")
    async def workflows() -> list[str]:
        return []

    app.add_middleware(AuthMiddleware, authenticator=lambda: BrokenStoreAuth())
    async with client(app) as c:
        r = await c.get("/api/v1/workflows", headers={"Authorization": "Bearer k"})
        assert r.status_code == 500 and r.json() == {"error": "internal error; see the engine log", "code": "internal"}
