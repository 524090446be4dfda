"""``toml``: parse (tomllib) and encode (tomli_w). Datetimes come back as ISO 8601 text."""

from __future__ import annotations

import tomllib
from typing import Any

import tomli_w

from assay.lua.builtins._api import BuiltinContext, text
from assay.lua.errors import BuiltinError


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("toml")

    def parse(source: Any) -> Any:
        """toml.parse(str) -> table."""
        raw = text(source, "toml.parse")
        try:
            value = tomllib.loads(raw)
        except tomllib.TOMLDecodeError as exc:
            raise BuiltinError(f"toml.parse: {exc}") from None
        return ctx.to_lua(value)

    def encode(value: Any) -> str:
        """toml.encode(table) -> TOML text; the top level must be a table with keys."""
        data = ctx.to_python(value, "toml.encode")
        if isinstance(data, list) and not data:
            data = {}
        if not isinstance(data, dict):
            raise BuiltinError("toml.encode: top level must be a table with string keys")
        try:
            return tomli_w.dumps(data)
        except (TypeError, ValueError) as exc:
            raise BuiltinError(f"toml.encode: {exc}") from None

    ctx.function(table, "parse", parse)
    ctx.function(table, "encode", encode)
