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

# Deepest nesting a request body may have. Stored values are sent back inside a few levels of
# envelope (``[{"history": [{"payload": ...}]}]``) and orjson refuses to encode more than 254
# levels, so a deeper value accepted here would make every later answer that contains it (a
# whole workflow list) fail with a 500.
MAX_JSON_DEPTH = 200


def _too_deep(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return False


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
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    # Cheap pre-check: without that many brackets the body cannot be that deep.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _too_deep(data, MAX_JSON_DEPTH):
        raise InvalidInput(f"request body is nested deeper than {MAX_JSON_DEPTH} levels", code="validation_error")
    return data


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
