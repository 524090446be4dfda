"""Typed errors of the engine client: one per way a call can fail, all ``ClientError``s.

Each carries the HTTP method and URL, so a one-line message says exactly what failed.
"""

from __future__ import annotations

import httpx

from assay.errors import ClientError, EngineUnreachable


class EngineConnectionError(EngineUnreachable):
    """The engine could not be reached at all (refused, DNS, TLS, transport timeout)."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class EngineHTTPError(ClientError):
    """The engine answered with a non-2xx status.

    ``code`` is the engine's stable error code (``not_found``, ``workflow_terminal`` …) or
    ``http_<status>`` when the body was not an ``{"error", "code"}`` object.
    """

    def __init__(self, *, status: int, code: str, message: str, method: str, url: str) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.method = method
        self.url = url

    def __str__(self) -> str:
        return f"{self.method} {self.url}: HTTP {self.status} {self.code}: {self.message}"


class BadRequestError(EngineHTTPError):
    """400, 413 or 422: the engine refused the shape or values of the request."""


class AuthError(EngineHTTPError):
    """401 or 403: missing, wrong or insufficient credentials."""


class NotFoundError(EngineHTTPError):
    """404: unknown workflow, schedule, namespace … (or a route this engine lacks)."""


class ConflictError(EngineHTTPError):
    """409: duplicate id, terminal workflow, stale lease, non-empty namespace."""


class ServerError(EngineHTTPError):
    """5xx: always an engine bug or an overloaded proxy, never the caller's fault."""


class UnexpectedResponse(ClientError):
    """A 2xx answer whose body is not the JSON the contract promises."""

    code = "unexpected_response"

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url

    def __str__(self) -> str:
        return f"{self.method} {self.url}: {self.message}"


def error_class(status: int) -> type[EngineHTTPError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status >= 500:
        return ServerError
    if status in (400, 413, 422):
        return BadRequestError
    return EngineHTTPError


def parse_error_body(response: httpx.Response) -> tuple[str, str]:
    """The engine's ``{"error", "code"}``; anything else (a proxy page, FastAPI's
    ``{"detail"}``) is reduced to one readable line."""
    fallback_code = f"http_{response.status_code}"
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:200]
        return fallback_code, text or response.reason_phrase
    if isinstance(body, dict):
        message = body.get("error") or body.get("detail") or body.get("message")
        code = body.get("code") if isinstance(body.get("code"), str) else fallback_code
        if message is not None:
            return code, message if isinstance(message, str) else str(message)
    return fallback_code, " ".join(response.text.split())[:200]
