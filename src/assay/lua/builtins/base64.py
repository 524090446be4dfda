"""``base64``: standard alphabet with padding; byte-safe in both directions.

(The original rejected decoded bytes that were not UTF-8; here any bytes come back as a
Lua string, which is what Lua strings are.)
"""

from __future__ import annotations

import base64 as _b64
import binascii
from typing import Any

from assay.lua.builtins._api import BuiltinContext, raw_bytes, text
from assay.lua.errors import BuiltinError


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("base64")

    def encode(data: Any, url: Any = None) -> str:
        """base64.encode(str, urlsafe?) -> text."""
        raw = raw_bytes(data, "base64.encode")
        encoded = _b64.urlsafe_b64encode(raw) if url else _b64.b64encode(raw)
        return encoded.decode("ascii")

    def decode(data: Any, url: Any = None) -> bytes:
        """base64.decode(text, urlsafe?) -> bytes (strict: padding required)."""
        raw = text(data, "base64.decode")
        try:
            if url:
                return _b64.urlsafe_b64decode(raw.encode("ascii"))
            return _b64.b64decode(raw.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise BuiltinError(f"base64.decode: {exc}") from None

    ctx.function(table, "encode", encode, binary=(1,))
    ctx.function(table, "decode", decode)
