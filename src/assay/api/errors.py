"""Errors -> HTTP: one table, one JSON shape ``{"error", "code"}``. A 500 is always a bug."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from starlette.requests import ClientDisconnect
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from assay.api.jsonresponse import json_response
from assay.errors import (
    AssayError,
    Conflict,
    EngineLocked,
    InvalidInput,
    NotFound,
    StoreError,
    Unauthorized,
)

log = logging.getLogger("assay.api")

STATUS_BY_ERROR: list[tuple[type[AssayError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (Unauthorized, 401),
    (EngineLocked, 503),
    (StoreError, 503),
]


class BadRequest(InvalidInput):
    """The request itself is malformed (not JSON, wrong content); maps to 400."""

    code = "bad_request"


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"


def error_response(status: int, message: str, code: str, **extra: object) -> Response:
    return json_response({"error": message, "code": code, **extra}, status)


def status_for(exc: AssayError) -> int:
    if isinstance(exc, BadRequest):
        return 400
    if isinstance(exc, PayloadTooLarge):
        return 413
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AssayError)
    async def _assay_error(_: Request, exc: AssayError) -> Response:
        status = status_for(exc)
        if status >= 500:
            log.error("request failed: %s", exc.message)
        return error_response(status, exc.message, exc.code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        return error_response(422, describe_validation(exc.errors()), "validation_error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, str(exc.detail), code)

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, exc: ClientDisconnect) -> Response:
        # The client hung up while sending its body; the answer goes nowhere (499, as nginx).
        return error_response(499, "client closed the request", "client_closed")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error (this is a bug)")
        return error_response(500, "internal error; see the engine log", "internal")


def describe_validation(errors: list[dict]) -> str:  # type: ignore[type-arg]
    parts = []
    for err in errors[:5]:
        location = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        parts.append(f"{location or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
