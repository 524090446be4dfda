"""One error root for the whole project, one base per layer, stable string codes.

Every error carries a machine-readable ``code`` (stable, documented) and a human message.
The API layer maps engine errors to HTTP statuses in one table (``assay.api.errors``); the
CLI maps them to exit codes. Nothing else inspects message text.
"""

from __future__ import annotations


class AssayError(Exception):
    """Root of every error raised on purpose by assay."""

    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


# --- engine layer -------------------------------------------------------------------


class EngineError(AssayError):
    """A use case refused a request; maps to a 4xx."""

    code = "engine_error"


class NotFound(EngineError):
    code = "not_found"


class Conflict(EngineError):
    """The request contradicts current state (duplicate id, terminal workflow, stale lease)."""

    code = "conflict"


class InvalidInput(EngineError):
    """Well-formed request whose values make no sense (bad cron, unknown status, ...)."""

    code = "invalid_input"


class Unauthorized(EngineError):
    code = "unauthorized"


# --- store layer --------------------------------------------------------------------


class StoreError(AssayError):
    """The database could not do what was asked (not a caller mistake)."""

    code = "store_error"


class EngineLocked(StoreError):
    """Another live engine holds the single-instance SQLite lock."""

    code = "engine_locked"


class UnsupportedBackend(StoreError):
    code = "unsupported_backend"


# --- client side (CLI, Lua client, Python SDK) -----------------------------------------


class ClientError(AssayError):
    code = "client_error"


class EngineUnreachable(ClientError):
    code = "engine_unreachable"


# --- Lua runtime ----------------------------------------------------------------------


class LuaRuntimeError(AssayError):
    code = "lua_error"
