"""``json``: parse and encode JSON, plus the ``json.null`` and ``json.array`` markers.

Conversion rules (empty table, holes, nil, large integers) are in ``assay.lua.convert``.
"""

from __future__ import annotations

import json as _json
from typing import Any

from assay.lua import jsoncodec
from assay.lua.builtins._api import BuiltinContext, field, opt_table, text
from assay.lua.errors import BuiltinError


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("json")

    def parse(source: Any, opts: Any = None) -> Any:
        """json.parse(str, {null = json.null}?) -> value; null becomes nil unless asked."""
        raw = text(source, "json.parse")
        opts = opt_table(opts, "json.parse")
        try:
            value = jsoncodec.loads(raw)
        except ValueError as exc:
            raise BuiltinError(f"json.parse: {exc}") from None
        return ctx.convert.to_lua(value, null=field(opts, "null"))

    def encode(value: Any, opts: Any = None) -> str:
        """json.encode(value, {indent = n}?) -> compact JSON text with sorted keys."""
        opts = opt_table(opts, "json.encode")
        data = ctx.to_python(value, "json.encode")
        indent = field(opts, "indent")
        if indent is None:
            return jsoncodec.dumps(data, sort_keys=True)
        return _json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ": "), indent=indent)

    def array(value: Any = None) -> Any:
        """json.array(t?) -> t marked to encode as a JSON array ([] when empty)."""
        if value is not None and opt_table(value, "json.array", "argument") is None:
            raise BuiltinError("json.array: argument must be a table or nil")
        return ctx.internals.mark_array(value)

    ctx.function(table, "parse", parse)
    ctx.function(table, "encode", encode)
    ctx.function(table, "array", array)
    table["null"] = ctx.convert.null
