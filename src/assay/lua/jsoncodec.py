"""JSON text <-> Python values for the Lua builtins: orjson first, the standard library when
orjson declines.

Why: a Lua workflow worker parses and encodes JSON on every request it makes, and orjson
does it several times faster. Why the fallback: orjson refuses a few documents the standard
library accepts (integers beyond 64 bits, which the Lua conversion turns into floats), so
whatever orjson declines goes through the standard library, whose answer (a value or its
error message) is then the answer. The accepted documents and the results are therefore
the standard library's; only the speed differs (and the spelling of some numbers in encoded
text, e.g. ``1e-7`` instead of ``1e-07``: the same number, both valid JSON).
"""

from __future__ import annotations

import json as _json
from typing import Any

import orjson


def _no_constants(name: str) -> Any:
    raise ValueError(f"invalid JSON literal {name}")


# One decoder for every call: json.loads with an argument builds a new one each time.
_DECODER = _json.JSONDecoder(parse_constant=_no_constants)


def loads(text: str) -> Any:
    """Parse JSON text; NaN/Infinity literals are refused; raises ValueError."""
    if not text.startswith("\ufeff"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # the standard library decides (and words the error)
    value = _json.loads(text) if text.startswith("\ufeff") else _DECODER.decode(text)
    try:  # the standard library lets escaped lone surrogates through; Lua strings are UTF-8
        _json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ValueError("the text escapes a lone UTF-16 surrogate (\\ud800-\\udfff), which is not a character") from None
    return value


def dumps(data: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON text (non-ASCII kept as is)."""
    return dumps_bytes(data, sort_keys=sort_keys).decode()


def dumps_bytes(data: Any, *, sort_keys: bool = False) -> bytes:
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:  # e.g. an integer beyond 64 bits
        return _json.dumps(data, sort_keys=sort_keys, ensure_ascii=False, separators=(",", ":")).encode()
