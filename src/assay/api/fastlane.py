"""A fast lane for the hottest routes (worker protocol, start, result).

Every workflow step costs a few HTTP requests, so per-request overhead bounds throughput.
FastAPI's router scans every route with regexes and resolves dependencies per request,
which measured as the largest share of the engine's CPU per request. This ASGI layer
matches the hot routes by an exact dictionary lookup on ``(method, path shape)`` and calls
the *same* endpoint functions FastAPI would; every other request falls through to FastAPI.
The endpoints parse their own bodies and raise the project's errors, so behaviour (and the
OpenAPI document, which FastAPI still builds) is identical.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from assay.api.errors import error_response, status_for
from assay.errors import AssayError

log = logging.getLogger("assay.api")
Endpoint = Callable[..., Awaitable[Any]]


class _Route:
    __slots__ = ("endpoint", "names", "converters", "query")

    def __init__(self, endpoint: Endpoint, names: list[str]) -> None:
        self.endpoint = endpoint
        self.names = names
        signature = inspect.signature(endpoint)
        self.converters = {n: _converter(signature.parameters[n].annotation) for n in names}
        # Query parameters with plain defaults (e.g. wait_secs) are read from the query string.
        self.query = {
            name: (getattr(p.default, "default", p.default), _bounded(_converter(p.annotation), p.default))
            for name, p in signature.parameters.items()
            if name != "request" and name not in names
        }


def _converter(annotation: Any) -> Callable[[str], Any]:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "str")
    return {"int": int, "float": float}.get(text, str)


def _bounded(convert: Callable[[str], Any], declared: Any) -> Callable[[str], Any]:
    """Apply a ``Query(ge=...)`` lower bound too: a value below it raises ValueError, so
    the request goes to FastAPI, which answers the same 422 as on the slow path."""
    floors = [m.ge for m in getattr(declared, "metadata", ()) if getattr(m, "ge", None) is not None]
    if not floors:
        return convert

    def checked(raw: str) -> Any:
        value = convert(raw)
        if value < floors[0]:
            raise ValueError(f"below {floors[0]}")
        return value

    return checked


class FastLane:
    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...], routes: list[tuple[str, str, Endpoint]]) -> None:
        self.app = app
        self.prefixes = prefixes
        # Key: (method, number of segments, literal segments with None for parameters).
        self.table: dict[tuple[str, tuple[str | None, ...]], _Route] = {}
        for method, template, endpoint in routes:
            segments = template.strip("/").split("/")
            shape = tuple(None if s.startswith("{") else s for s in segments)
            names = [s[1:-1] for s in segments if s.startswith("{")]
            self.table[(method, shape)] = _Route(endpoint, names)
        # Candidates per (method, segment count): a request checks only routes of its length.
        self.by_shape_length: dict[tuple[str, int], list[tuple[tuple[str, tuple[str | None, ...]], _Route]]] = {}
        for key, route in self.table.items():
            self.by_shape_length.setdefault((key[0], len(key[1])), []).append((key, route))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        match = self._match(scope["method"], scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        route, params = match
        request = Request(scope, receive, send)
        try:
            kwargs = {n: route.converters[n](v) for n, v in params.items()}
            if route.query:
                query = request.query_params
                for name, (default, convert) in route.query.items():
                    raw = query.get(name)
                    kwargs[name] = default if raw is None else convert(raw)
            response = await route.endpoint(request, **kwargs)
        except ClientDisconnect:
            return  # the client went away mid-request: nobody to answer
        except ValueError:
            # A path or query value of the wrong type: let FastAPI produce its 422.
            await self.app(scope, receive, send)
            return
        except AssayError as exc:
            status = status_for(exc)
            if status >= 500:
                log.error("request failed: %s", exc.message)
            response = error_response(status, exc.message, exc.code)
        except Exception:  # noqa: BLE001 - same contract as the app's handler: a 500 is a bug
            log.exception("unexpected error (this is a bug)")
            response = error_response(500, "internal error; see the engine log", "internal")
        await response(scope, receive, send)

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        for prefix in self.prefixes:
            if path.startswith(prefix + "/"):
                segments = path[len(prefix) + 1:].split("/")
                break
        else:
            return None
        # Try the shapes this path could have: each segment literal or a parameter.
        for (m, shape), route in self._candidates(method, len(segments)):
            params: dict[str, str] = {}
            for literal, segment in zip(shape, segments):
                if literal is None:
                    if not segment:
                        break
                    params[route.names[len(params)]] = segment
                elif literal != segment:
                    break
            else:
                return route, params
        return None

    def _candidates(self, method: str, length: int) -> list[tuple[tuple[str, tuple[str | None, ...]], _Route]]:
        return self.by_shape_length.get((method, length), [])
