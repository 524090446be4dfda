"""Create a sandboxed Lua 5.5 state with the builtins, and run chunks in it.

Typical use::

    rt = Runtime(RuntimeOptions(max_memory=256 * MiB))
    results = rt.run_file("deploy.lua", ["prod"])          # blocking: owns an asyncio loop
    # or, on an already running loop (the workflow worker):
    fn = rt.compile(source, "@worker.lua")
    task = rt.scheduler.spawn(fn)                          # a managed coroutine
    values = await task.result()

Sandbox: no ``python`` global (and Python objects handed to Lua expose no attributes),
``load``/``loadfile``/``dofile``/``string.dump``/``package.loadlib`` and every ``debug.*``
but ``debug.traceback`` raise "<name> is disabled in the assay sandbox"; binary (precompiled) chunks are never
loaded; C modules cannot be loaded; memory is capped (``RuntimeOptions.max_memory``).
``io``, ``os`` (extended, not replaced: ``os.time``/``os.clock``/``os.date`` keep their
standard meaning), ``print``, ``require``, ``pcall``, ``coroutine`` stay.

``require`` order: ``package.preload``; ``package.path`` (Lua default, relative to the working
directory); then for names ``assay.X.Y``: ``./modules/X/Y.lua`` (or ``X/Y/init.lua``), the
global dir (``RuntimeOptions.modules_path``, else ``$ASSAY_MODULES_PATH``, else
``~/.assay/modules``), then the embedded stdlib (package data ``assay/lua/stdlib/X/Y.lua``,
chunk name ``@assay/X/Y.lua``). All loaders compile text only.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lupa import lua55

from assay.lua import builtins as builtin_registry
from assay.lua.builtins._api import BuiltinContext, RunInfo
from assay.lua.convert import Converter
from assay.lua.errors import LuaScriptError
from assay.lua.scheduler import Scheduler, error_text

MiB = 1024 * 1024
DEFAULT_MAX_MEMORY = 512 * MiB


@dataclass
class RuntimeOptions:
    max_memory: int | None = DEFAULT_MAX_MEMORY
    """Bytes the Lua state may allocate; None = unlimited."""
    modules_path: Path | None = None
    """Global module dir; default ``$ASSAY_MODULES_PATH`` or ``~/.assay/modules``."""
    project_modules: Path = Path("modules")
    """Project module dir, relative to the working directory."""
    stdlib: Traversable | None = None
    """Embedded stdlib root; default the package data ``assay/lua/stdlib``."""
    env_overlay: dict[str, str] = field(default_factory=dict)
    """Values ``env.get`` sees before the process environment (YAML script checks)."""
    builtins: Sequence[str] | None = None
    """Builtin tables to install; default all (see ``assay.lua.builtins.INSTALLERS``)."""


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    # Python objects travel through Lua only as opaque handles; attribute access would
    # reach `__class__`, `__globals__` ... and out of the sandbox.
    raise AttributeError("Python attributes are not accessible from Lua")


class Runtime:
    """One sandboxed Lua state, its converter and its scheduler."""

    def __init__(self, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        self.lua = lua55.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_deny_attributes,
            max_memory=self.options.max_memory,
        )
        self._started = time.monotonic()
        callbacks = self.lua.table_from(
            {"errmsg": _exception_text, "blocking": lambda req: self.scheduler.blocking(req)}
        )
        prelude = (resources.files("assay.lua") / "prelude.lua").read_text("utf-8")
        loader = self.lua.execute(
            "local src = ...; return load(src, '=[assay prelude]', 't')", prelude
        )
        # Resolved once into a Python namespace: looking items up in a Lua table from a
        # Python callback can misbehave in lupa while a coroutine runs (see _api.field).
        self.internals: Any = SimpleNamespace(**dict(loader(callbacks).items()))
        self.convert = Converter(self.lua, self.internals)
        self.scheduler = Scheduler(self.internals, self.convert)
        self._sandbox()
        self._install_require()
        info = RunInfo(self._started, dict(self.options.env_overlay))
        ctx = BuiltinContext(self.lua, self.internals, self.convert, self.scheduler, info)
        builtin_registry.install_all(ctx, self.options.builtins)

    @property
    def globals(self) -> Any:
        return self.lua.globals()

    # --- running -------------------------------------------------------------------

    def compile(self, source: str, chunkname: str) -> Any:
        """Compile Lua text into a function; ``chunkname`` like ``@path`` or ``=name``."""
        fn, err = self.internals.compile(strip_shebang(source), chunkname)
        if fn is None:
            raise LuaScriptError(str(err))
        return fn

    async def execute(self, source: str, chunkname: str, args: Sequence[Any] = ()) -> list[Any]:
        """Run a chunk as a managed task on the running loop; return its results."""
        return await self.scheduler.run(self.compile(source, chunkname), *args)

    async def main(self, source: str, chunkname: str, args: Sequence[Any] = ()) -> list[Any]:
        """Run a main chunk; when it ends, remaining spawned tasks are cancelled."""
        try:
            return await self.execute(source, chunkname, args)
        finally:
            await self.scheduler.aclose()

    def run(self, source: str, chunkname: str = "@<eval>", args: Sequence[Any] = ()) -> list[Any]:
        """Blocking: run a main chunk on a fresh asyncio loop."""
        return asyncio.run(self.main(source, chunkname, args))

    def run_file(self, path: str | Path, args: Sequence[str] = ()) -> list[Any]:
        """Blocking: run a script file; ``arg[0]`` is the path, ``arg[1..]`` the args."""
        source = Path(path).read_text("utf-8")
        self.set_args(str(path), args)
        return self.run(source, f"@{path}", list(args))

    def set_args(self, script: str, args: Sequence[str]) -> None:
        table = self.lua.table_from(list(args))
        table[0] = script
        self.globals["arg"] = table

    # --- construction --------------------------------------------------------------

    def _sandbox(self) -> None:
        g = self.globals
        disabled = self.internals.disabled
        g["python"] = None
        for name in ("load", "loadfile", "dofile"):
            g[name] = disabled(name)
        g["string"]["dump"] = disabled("string.dump")
        g["package"]["loadlib"] = disabled("package.loadlib")
        g["package"]["cpath"] = ""
        # Only debug.traceback survives: it is read-only, and lupa's own error handler
        # looks it up through the global table.
        g["debug"] = self.lua.execute(
            "local msg, tb = ...; return setmetatable({traceback = tb}, {__index ="
            " function(_, k) error('debug.' .. tostring(k) .. msg, 2) end,"
            " __newindex = function() error('debug is read-only in the assay sandbox', 2) end,"
            " __metatable = false})",
            " is disabled in the assay sandbox",
            self.internals.traceback,
        )
        flush = self.lua.table_from({"flush": _flush_python_streams})
        self.lua.execute(
            "local py = ...; local raw_exit = os.exit;"
            " os.exit = function(...) py.flush(); return raw_exit(...) end",
            flush,
        )

    def _install_require(self) -> None:
        global_dir = self.options.modules_path or _default_global_modules()
        stdlib = self.options.stdlib or resources.files("assay.lua") / "stdlib"
        dirs = [str(self.options.project_modules), str(global_dir)]
        source = (resources.files("assay.lua") / "require.lua").read_text("utf-8")
        setup, err = self.internals.compile(source, "=[assay require]")
        assert setup is not None, err
        setup(
            self.internals.compile,
            self.lua.table_from(dirs),
            lambda base: _read_stdlib(stdlib, base),
        )


def strip_shebang(source: str) -> str:
    """Blank a leading ``#!`` line; keeping its newline keeps line numbers right."""
    if source.startswith("#!"):
        newline = source.find("\n")
        return "" if newline < 0 else source[newline:]
    return source


def _default_global_modules() -> Path:
    env = os.environ.get("ASSAY_MODULES_PATH")
    if env:
        return Path(env)
    return Path.home() / ".assay" / "modules"


def _read_stdlib(root: Traversable, base: str) -> tuple[str, str] | tuple[None, str]:
    """Find ``<base>.lua`` or ``<base>/init.lua`` in the embedded stdlib."""
    for rel in (f"{base}.lua", f"{base}/init.lua"):
        node = root
        for part in rel.split("/"):
            node = node / part
        if node.is_file():
            return node.read_text("utf-8"), f"@assay/{rel}"
    return None, f"no embedded stdlib file: {base}.lua"


def _exception_text(exc: Any) -> str:
    if isinstance(exc, BaseException):
        # The exception lives on in Lua as an error value until Lua collects it; its frames
        # may hold Lua values tied to a coroutine that is gone by then (see task_create in
        # prelude.lua), so drop them now: only the message is used.
        exc.__traceback__ = None
        return error_text("builtin", exc)
    return str(exc)


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
