"""Lua <-> JSON-able Python values, with explicit rules.

Lua -> Python (``Converter.to_python``; used by json/yaml/toml encode, HTTP table bodies,
template variables, JWT claims):

=============================  ============================================================
Lua value                      Python / JSON
=============================  ============================================================
nil, ``json.null``             ``None`` (null)
boolean                        ``bool``
integer                        ``int`` (all 64 bits kept exactly)
float                          ``float``; NaN and +-inf raise ``cannot encode ... as JSON``
string                         ``str`` (must be valid UTF-8)
table with keys exactly 1..n   ``list``
empty table                    ``dict`` -> ``{}``. **Choice**: an empty Lua table is an
                               object unless it is marked with ``json.array()``, which
                               encodes as ``[]``. (The original encoded ``[]``; objects are
                               the more common empty value in the engine's payloads.)
table marked ``json.array``    ``list`` of ``t[1] .. t[max integer key]``; holes -> null;
                               non-integer keys raise
any other table                ``dict``; integer keys become decimal strings (so an array
                               with holes becomes an object: ``{"1": .., "3": ..}``), float
                               keys their ``%.14g`` text; other key types raise
function, userdata, thread     raise ``unsupported Lua type for JSON: <type>``
a table reached again while    raise ``cycle detected`` (a table shared by two branches is
being converted                fine; only a table containing itself is refused)
=============================  ============================================================

Python -> Lua (``Converter.to_lua``; used by json/yaml/toml parse and builtin results):
``None`` -> nil (object members vanish, arrays get holes) unless ``null`` is passed (e.g.
``json.null``); ``bool``/``str``/``float`` as is; ``int`` -> integer when it fits in 64 bits,
else float; ``bytes`` -> raw Lua string; ``list``/``tuple`` -> sequence marked as array (so
``[]`` round-trips as ``[]``); ``dict`` -> table; dates/times -> ISO 8601 strings; Lua
objects pass through untouched.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lupa import lua55

from assay.lua.errors import ConversionError

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_DEPTH = 200  # deeper than any sane document; stops runaway recursion cleanly


class Converter:
    """Converts values for one Lua state (needs that state's markers and helpers)."""

    def __init__(self, lua: lua55.LuaRuntime, internals: Any) -> None:
        self._lua = lua
        self._classify: Callable[[Any], tuple[str, str]] = internals.classify
        self._mark_array: Callable[[Any], Any] = internals.mark_array
        self.null = internals.NULL

    # --- Lua -> Python -------------------------------------------------------------

    def to_python(self, value: Any, *, where: str = "json.encode") -> Any:
        """Convert a Lua value to JSON-able Python; errors are prefixed with ``where``."""
        try:
            return self._to_py(value, set(), 0)
        except ConversionError as exc:
            raise ConversionError(f"{where}: {exc.message}") from None

    def _to_py(self, value: Any, active: set[str], depth: int) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                raise ConversionError(f"cannot encode {_lua_float_text(value)} as JSON number")
            return value
        if isinstance(value, bytes):  # only reachable from Python callers
            return value.decode("utf-8")
        kind = lua55.lua_type(value)
        if kind != "table":
            raise ConversionError(f"unsupported Lua type for JSON: {kind or 'userdata'}")
        marker, ident = self._classify(value)
        if marker == "null":
            return None
        if ident in active:
            raise ConversionError("cycle detected (a table contains itself)")
        if depth >= _MAX_DEPTH:
            raise ConversionError(f"nesting deeper than {_MAX_DEPTH} levels")
        active.add(ident)
        try:
            items = list(value.items())
            if marker == "array":
                return self._marked_array(items, active, depth)
            return self._table(items, active, depth)
        finally:
            active.discard(ident)

    def _marked_array(self, items: list[tuple[Any, Any]], active: set[str], depth: int) -> list[Any]:
        by_index: dict[int, Any] = {}
        for key, val in items:
            if not isinstance(key, int) or isinstance(key, bool) or key < 1:
                raise ConversionError(f"json.array table has a non-index key: {key!r}")
            by_index[key] = val
        size = max(by_index, default=0)
        return [self._to_py(by_index.get(i), active, depth + 1) for i in range(1, size + 1)]

    def _table(self, items: list[tuple[Any, Any]], active: set[str], depth: int) -> Any:
        if not items:
            return {}
        keys = [k for k, _ in items]
        if all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
            if min(keys) == 1 and max(keys) == len(keys):
                ordered = sorted(items, key=lambda kv: kv[0])
                return [self._to_py(v, active, depth + 1) for _, v in ordered]
        out: dict[str, Any] = {}
        for key, val in items:
            out[_key_text(key)] = self._to_py(val, active, depth + 1)
        return out

    # --- Python -> Lua -------------------------------------------------------------

    def to_lua(self, value: Any, *, null: Any = None) -> Any:
        """Convert a JSON-able Python value to Lua; ``null`` is what ``None`` becomes."""
        return self._to_lua(value, null)

    def _to_lua(self, value: Any, null: Any) -> Any:
        if value is None:
            return null
        # Exact-type fast paths first: JSON data is made of these, and the generic checks
        # below (isinstance against the Mapping ABC) cost more than the conversion itself.
        kind = type(value)
        if kind is str or kind is float or kind is bool:
            return value
        if kind is int:
            return value if _INT64_MIN <= value <= _INT64_MAX else float(value)
        if kind is dict:
            table = self._lua.table()
            for key, val in value.items():
                converted = val if type(val) is str else self._to_lua(val, null)
                if converted is not None:
                    table[key if type(key) is str else _lua_key(key)] = converted
            return table
        if kind is list:
            table = self._mark_array(self._lua.table())
            for index, val in enumerate(value, start=1):
                converted = val if type(val) is str else self._to_lua(val, null)
                if converted is not None:
                    table[index] = converted
            return table
        if isinstance(value, (bool, str, float, bytes)):
            return value
        if isinstance(value, int):
            return value if _INT64_MIN <= value <= _INT64_MAX else float(value)
        if isinstance(value, Mapping):
            table = self._lua.table()
            for key, val in value.items():
                converted = self._to_lua(val, null)
                if converted is not None:
                    table[_lua_key(key)] = converted
            return table
        if isinstance(value, (list, tuple)):
            table = self._mark_array(self._lua.table())
            for index, val in enumerate(value, start=1):
                converted = self._to_lua(val, null)
                if converted is not None:
                    table[index] = converted
            return table
        if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
            return value.isoformat()
        if lua55.lua_type(value) is not None:
            return value  # already a Lua object (table, function ...)
        raise ConversionError(f"cannot convert Python {type(value).__name__} to Lua")

    def array(self, values: Sequence[Any]) -> Any:
        """A Lua sequence marked as a JSON array (``[]`` when empty)."""
        return self._to_lua(list(values), None)


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        raise ConversionError("unsupported table key type: boolean")
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _lua_float_text(key)
    raise ConversionError(f"unsupported table key type: {lua55.lua_type(key) or 'userdata'}")


def _lua_key(key: Any) -> Any:
    if isinstance(key, (str, int, float)) and not isinstance(key, bool):
        return key
    return str(key)


def _lua_float_text(value: float) -> str:
    """Render a float the way Lua's tostring does (``%.14g``; ``inf``, ``nan``)."""
    if math.isnan(value):
        return "nan" if math.copysign(1, value) > 0 else "-nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.14g}"
    if all(ch in "-0123456789" for ch in text):
        text += ".0"
    return text
