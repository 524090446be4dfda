"""REST management of API keys: mint, list, revoke.

Included by the app under both prefixes. Authentication is the middleware's job
(``assay.api.auth``); the one subtlety here is the bootstrap window: when API-key auth is
on and no key exists, ``POST /api-keys`` arrives without a token, and this route re-checks
under a lock that the table is still empty, so two racing first requests cannot both mint.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from assay.api.auth import BOOTSTRAP_STATE_KEY
from assay.api.body import body_schema, parse_body
from assay.api.routes.common import engine_of
from assay.engine.auth import ApiKeyRow, ApiKeyStore, generate_api_key
from assay.errors import NotFound, Unauthorized

__all__ = ["ApiKeyCreate", "ApiKeyCreated", "ApiKeyInfo", "router"]

router = APIRouter(tags=["api-keys"])

_MAX_LABEL = 200


class ApiKeyCreate(BaseModel):
    label: str | None = Field(default=None, max_length=_MAX_LABEL)
    idempotent: bool = Field(
        default=False,
        description="When true and a key with this label exists, answer 200 with that key's "
        "prefix instead of minting another (no plaintext is returned).",
    )


class ApiKeyInfo(BaseModel):
    prefix: str
    label: str | None
    created_at: float


class ApiKeyCreated(ApiKeyInfo):
    plaintext: str = Field(description="The key itself. Shown once; only its hash is stored.")


class ApiKeysDeleted(BaseModel):
    deleted: int


def _store(request: Request) -> ApiKeyStore:
    # The engine's store implements assay.engine.auth.ApiKeyStore (see its docstrings).
    return engine_of(request).store  # type: ignore[return-value]


def _bootstrap_lock(request: Request) -> asyncio.Lock:
    # One lock per app (not per process), created on first use inside the running loop.
    lock = getattr(request.app.state, "api_key_bootstrap_lock", None)
    if lock is None:
        lock = asyncio.Lock()
        request.app.state.api_key_bootstrap_lock = lock
    return lock


def _info(row: ApiKeyRow) -> dict[str, Any]:
    return {"prefix": row["prefix"], "label": row["label"], "created_at": row["created_at"]}


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    responses={200: {"model": ApiKeyInfo, "description": "Idempotent hit: existing key"}},
    openapi_extra=body_schema(ApiKeyCreate, optional=True),
    summary="Mint an API key (plaintext returned once)",
)
async def create_api_key(request: Request) -> JSONResponse:
    # Optional body: nothing, {}, [] (Lua's empty table) and null all mean "no options".
    body = await parse_body(request, ApiKeyCreate, optional=True)
    store = _store(request)
    if body.idempotent and body.label is not None:
        for row in await store.list_api_keys():
            if row["label"] == body.label:
                return JSONResponse(_info(row), status_code=200)
    if getattr(request.state, BOOTSTRAP_STATE_KEY, False):
        async with _bootstrap_lock(request):
            if await store.count_api_keys() != 0:
                raise Unauthorized("an API key already exists; authenticate to create more")
            return await _mint(request, store, body.label)
    return await _mint(request, store, body.label)


async def _mint(request: Request, store: ApiKeyStore, label: str | None) -> JSONResponse:
    plaintext, key_hash, prefix = generate_api_key()
    created_at = float(engine_of(request).clock())
    await store.insert_api_key(key_hash, prefix, label, created_at)
    payload = {"plaintext": plaintext, "prefix": prefix, "label": label, "created_at": created_at}
    # no-store: the only copy of the plaintext must not land in a proxy or browser cache.
    return JSONResponse(payload, status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/api-keys", response_model=list[ApiKeyInfo], summary="List API keys (never keys)")
async def list_api_keys(request: Request) -> list[dict[str, Any]]:
    return [_info(row) for row in await _store(request).list_api_keys()]


@router.delete(
    "/api-keys/{prefix}",
    response_model=ApiKeysDeleted,
    summary="Revoke every API key with this display prefix",
)
async def delete_api_keys(prefix: str, request: Request) -> dict[str, int]:
    store = _store(request)
    deleted = await store.delete_api_keys(prefix)
    if deleted == 0 and not prefix.endswith("..."):
        # Accept the prefix without its display ellipsis ("assay_1a2b3c4d"), as typed.
        deleted = await store.delete_api_keys(prefix + "...")
    if deleted == 0:
        raise NotFound(f"not found: api key {prefix}")
    return {"deleted": deleted}
