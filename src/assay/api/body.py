"""Request bodies: size limit, JSON parsing, optional-body leniency, typed validation.

FastAPI's own body parsing is bypassed on purpose: optional bodies must accept nothing,
``{}``, ``[]`` (what the original Lua client sends) or ``null``; malformed JSON must be a
400 with our error shape; and a size limit must hold before parsing.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from assay.api.errors import BadRequest, PayloadTooLarge, describe_validation
from assay.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


async def read_json(request: Request) -> Any:
    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None


async def parse_body(request: Request, model: type[M], *, optional: bool = False) -> M:
    data = await read_json(request)
    if data is None or (optional and data == []):
        if not optional:
            raise InvalidInput("a JSON object body is required", code="validation_error")
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object", code="validation_error")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(describe_validation(exc.errors()), code="validation_error") from None


def body_schema(model: type[BaseModel], *, optional: bool = False) -> dict[str, Any]:
    """``openapi_extra`` documenting a body parsed by ``parse_body``."""
    return {
        "requestBody": {
            "required": not optional,
            "content": {"application/json": {"schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}},
        }
    }
