"""Builtin global tables of the Lua runtime: one module per table, installed in order.

Each module has ``install(ctx: BuiltinContext) -> None`` (see ``_api.py``). To add a
builtin (``http.serve``, ``ws``, ``db``, ``markdown`` are expected next), write the module
and add a row here; nothing else needs to change.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from assay.lua.builtins._api import BuiltinContext

# (global name, module). Order matters only where one installer extends another's table.
INSTALLERS: list[tuple[str, str]] = [
    ("http", "assay.lua.builtins.http"),
    ("json", "assay.lua.builtins.json"),
    ("yaml", "assay.lua.builtins.yaml"),
    ("toml", "assay.lua.builtins.toml"),
    ("assert", "assay.lua.builtins.assert_"),
    ("log", "assay.lua.builtins.log"),
    ("env", "assay.lua.builtins.env"),
    ("sleep", "assay.lua.builtins.sleep"),
    ("time", "assay.lua.builtins.time"),
    ("fs", "assay.lua.builtins.fs"),
    ("base64", "assay.lua.builtins.base64"),
    ("crypto", "assay.lua.builtins.crypto"),
    ("regex", "assay.lua.builtins.regex"),
    ("async", "assay.lua.builtins.async_"),
    ("template", "assay.lua.builtins.template"),
    ("shell", "assay.lua.builtins.shell"),
    ("process", "assay.lua.builtins.process"),
    # Extends `process` with wait_for_shutdown/shutdown_requested (workflow worker drain).
    ("shutdown", "assay.lua.builtins.shutdown"),
    ("disk", "assay.lua.builtins.disk"),
    ("os", "assay.lua.builtins.os_info"),
]

NAMES: list[str] = [name for name, _ in INSTALLERS]


def install_all(ctx: BuiltinContext, only: Sequence[str] | None = None) -> None:
    """Install every builtin (or just ``only``) into ``ctx``'s Lua state."""
    wanted = set(NAMES if only is None else only)
    unknown = wanted - set(NAMES)
    if unknown:
        raise ValueError(f"unknown builtins: {sorted(unknown)}")
    for name, module in INSTALLERS:
        if name in wanted:
            importlib.import_module(module).install(ctx)
