"""``yaml``: parse (single document) and encode (block style, sorted keys)."""

from __future__ import annotations

from typing import Any

import yaml as _yaml

from assay.lua.builtins._api import BuiltinContext, field, opt_table, text
from assay.lua.errors import BuiltinError


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("yaml")

    def parse(source: Any, opts: Any = None) -> Any:
        """yaml.parse(str, {null = json.null}?) -> value."""
        raw = text(source, "yaml.parse")
        opts = opt_table(opts, "yaml.parse")
        try:
            value = _yaml.safe_load(raw)
        except _yaml.YAMLError as exc:
            raise BuiltinError(f"yaml.parse: {exc}") from None
        return ctx.convert.to_lua(value, null=field(opts, "null"))

    def encode(value: Any) -> str:
        """yaml.encode(value) -> YAML text."""
        data = ctx.to_python(value, "yaml.encode")
        return _yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)

    ctx.function(table, "parse", parse)
    ctx.function(table, "encode", encode)
