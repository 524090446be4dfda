"""``env``: read and change the process environment.

``env.get(name)`` looks at the run's overlay (YAML script checks) first, then the process.
"""

from __future__ import annotations

import os
from typing import Any

from assay.lua.builtins._api import BuiltinContext, text


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("env")
    overlay = ctx.info.env_overlay

    def get(name: Any) -> str | None:
        """env.get(name) -> string or nil."""
        key = text(name, "env.get", "name")
        if key in overlay:
            return overlay[key]
        return os.environ.get(key)

    def set_(name: Any, value: Any = None) -> None:
        """env.set(name, value) sets the process environment; nil unsets."""
        key = text(name, "env.set", "name")
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = text(value, "env.set", "value")

    def list_() -> Any:
        """env.list() -> array of {key, value}."""
        return ctx.convert.array([{"key": k, "value": v} for k, v in sorted(os.environ.items())])

    ctx.function(table, "get", get)
    ctx.function(table, "set", set_)
    ctx.function(table, "list", list_)
