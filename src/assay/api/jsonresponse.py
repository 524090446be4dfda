"""Fast JSON responses (orjson); no response-model validation on the hot path."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def _default(value: Any) -> Any:
    if hasattr(value, "to_wire"):
        return value.to_wire()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)
