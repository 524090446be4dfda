"""What a builtin installer gets: registration helpers over one Lua state.

Every builtin module exposes ``install(ctx: BuiltinContext) -> None``. It registers Python
functions with :meth:`BuiltinContext.function` (plain, may block) or
:meth:`BuiltinContext.io_function` (suspends a managed coroutine, see scheduler.py), and
may define small Lua-written helpers with :meth:`BuiltinContext.lua_chunk`.

Argument helpers (``text``, ``opt_table`` ...) raise :class:`BuiltinError` with the
"<table>.<fn>: ..." prefix scripts see.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lupa import lua55

from assay.lua.convert import Converter
from assay.lua.errors import BuiltinError
from assay.lua.scheduler import IoRequest, Scheduler


@dataclass
class RunInfo:
    """Facts about the current run that builtins may need."""

    started_monotonic: float
    env_overlay: dict[str, str]


class BuiltinContext:
    def __init__(
        self,
        lua: lua55.LuaRuntime,
        internals: Any,
        converter: Converter,
        scheduler: Scheduler,
        info: RunInfo,
    ) -> None:
        self.lua = lua
        self.internals = internals
        self.convert = converter
        self.scheduler = scheduler
        self.info = info
        self._globals = lua.globals()

    # --- registration --------------------------------------------------------------

    def table(self, name: str) -> Any:
        """The global table ``name``, created when missing (``os`` is extended in place)."""
        existing = self._globals[name]
        if existing is not None and lua55.lua_type(existing) == "table":
            return existing
        table = self.lua.table()
        self._globals[name] = table
        return table

    def set_global(self, name: str, value: Any) -> None:
        self._globals[name] = value

    def function(
        self, table: Any, name: str, fn: Callable[..., Any], *, binary: Iterable[int] = ()
    ) -> None:
        """Register a Python function; ``binary`` lists 1-based byte-safe argument slots."""
        table[name] = self._wrap(self.internals.wrap, fn, binary)

    def io_function(
        self,
        table: Any,
        name: str,
        prepare: Callable[..., IoRequest],
        *,
        binary: Iterable[int] = (),
    ) -> None:
        """Register an I/O builtin: ``prepare(*args) -> IoRequest`` runs on the Lua thread."""
        table[name] = self._wrap(self.internals.wrap_io, prepare, binary)

    def _wrap(self, wrapper: Any, fn: Callable[..., Any], binary: Iterable[int]) -> Any:
        slots = list(binary)
        if not slots:
            return wrapper(fn)
        return wrapper(fn, self.lua.table_from({i: True for i in slots}))

    def lua_chunk(self, source: str, name: str, *args: Any) -> Any:
        """Compile a Lua helper chunk (text only), call it with ``args``, return its result."""
        chunk, err = self.internals.compile(source, f"=[assay {name}]")
        if chunk is None:
            raise RuntimeError(f"builtin helper {name} does not compile: {err}")
        return chunk(*args)

    # --- conversion shortcuts ------------------------------------------------------

    def to_lua(self, value: Any) -> Any:
        return self.convert.to_lua(value)

    def to_python(self, value: Any, where: str) -> Any:
        return self.convert.to_python(value, where=where)


# --- argument helpers (shared by every builtin) --------------------------------------


def text(value: Any, where: str, what: str = "argument") -> str:
    """A string argument; numbers are accepted and rendered like Lua's tostring."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return lua_number_text(value)
    raise BuiltinError(f"{where}: {what} must be a string, got {lua_type_name(value)}")


def opt_text(value: Any, where: str, what: str = "argument") -> str | None:
    return None if value is None else text(value, where, what)


def raw_bytes(value: Any, where: str, what: str = "argument") -> bytes:
    """A byte-safe argument (registered in ``binary=`` so prelude.lua escaped it)."""
    if isinstance(value, str):
        return urllib.parse.unquote_to_bytes(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return lua_number_text(value).encode()
    raise BuiltinError(f"{where}: {what} must be a string, got {lua_type_name(value)}")


def number(value: Any, where: str, what: str = "argument") -> float | int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eEn") else int(value)
        except ValueError:
            pass
    raise BuiltinError(f"{where}: {what} must be a number, got {lua_type_name(value)}")


def seconds(value: Any, where: str, what: str = "seconds") -> float:
    """A finite, non-negative duration."""
    secs = float(number(value, where, what))
    if math.isnan(secs) or math.isinf(secs) or secs < 0:
        raise BuiltinError(f"{where}: {what} must be a finite number >= 0")
    return secs


def opt_table(value: Any, where: str, what: str = "options") -> Any:
    if value is None:
        return None
    if lua55.lua_type(value) != "table":
        raise BuiltinError(f"{where}: {what} must be a table or nil, got {lua_type_name(value)}")
    return value


def field(table: Any, key: str) -> Any:
    """``table[key]`` for an options table (None when the table is nil).

    lupa 2.8 returns ``(thread, value)`` for a lookup made while a Lua thread object sits
    on the main state's stack (plain ``coroutine.resume`` on the main thread); take the
    value in that case. Managed tasks never hit this, user code on the main thread might.
    """
    if table is None:
        return None
    value = table[key]
    if isinstance(value, tuple):
        return value[-1]
    return value


def lua_type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return lua55.lua_type(value) or "userdata"


def lua_number_text(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if value == math.floor(value) and not math.isinf(value):
        return f"{value:.1f}" if abs(value) < 1e16 else f"{value:.14g}"
    return f"{value:.14g}"
