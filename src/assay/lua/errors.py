"""Errors of the Lua runtime layer; all derive from :class:`assay.errors.LuaRuntimeError`."""

from __future__ import annotations

from assay.errors import LuaRuntimeError


class BuiltinError(LuaRuntimeError):
    """A builtin refused its arguments or its operation failed.

    The message is what the script sees (``fs.read: failed to read "x": ...``); the Lua
    wrapper prefixes the caller's ``file:line``.
    """

    code = "lua_builtin_error"


class ConversionError(BuiltinError):
    """A value cannot cross the Lua <-> JSON boundary (function, cycle, NaN, bad key)."""

    code = "lua_conversion_error"


class LuaScriptError(LuaRuntimeError):
    """A script failed: syntax error, runtime error, memory limit.

    ``message`` is the error text (usually starting ``file:line:``); ``traceback`` the Lua
    stack traceback text when one exists (may be empty).
    """

    code = "lua_script_error"

    def __init__(self, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.traceback = traceback

    def format(self) -> str:
        """Message plus traceback, as printed by `assay run`."""
        if self.traceback:
            return f"{self.message}\n{self.traceback}"
        return self.message


class SchedulerError(LuaRuntimeError):
    """Misuse of the concurrency primitives (await outside a task, no running loop...)."""

    code = "lua_scheduler_error"
