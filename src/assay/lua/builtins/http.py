"""``http``: HTTP client (get/post/put/patch/delete and ``http.client`` objects).

All request functions are I/O builtins: inside a managed coroutine they suspend it and the
request runs on the asyncio loop (so ten ``http.get`` in ten tasks overlap); elsewhere they
block. Non-2xx statuses are not errors; transport failures raise ``http.<m> failed: ...``.

Differences from the original, on purpose: a user ``Content-Type`` header replaces the
automatic one instead of being sent twice; ``body`` is the raw response bytes (text for
UTF-8, byte-exact for binary) unless the response declares another charset, which is
decoded. SSE streaming (``opts.on_event``) and ``http.serve`` are not implemented yet.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from assay.lua import jsoncodec
from assay.lua.builtins._api import (
    BuiltinContext,
    field,
    lua_type_name,
    opt_table,
    raw_bytes,
    seconds,
    text,
)
from assay.lua.errors import BuiltinError
from assay.lua.fasthttp import HttpError, NeedsFallback
from assay.lua.fasthttp import Response as FastResponse
from assay.lua.scheduler import IoRequest, Scheduler

DEFAULT_TIMEOUT = 30.0


@dataclass
class _ClientOptions:
    timeout: float = DEFAULT_TIMEOUT
    follow_redirects: bool = True
    ca_pem: str | None = None
    headers: dict[str, str] | None = None


@dataclass
class _Request:
    where: str
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    options: _ClientOptions


def _headers(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not hasattr(value, "items"):
        raise BuiltinError(f"{where}: headers must be a table")
    return {text(k, where, "header name"): text(v, where, "header value") for k, v in value.items()}


def _client_options(opts: Any, where: str) -> _ClientOptions:
    opts = opt_table(opts, where)
    result = _ClientOptions()
    if opts is None:
        return result
    if field(opts, "timeout") is not None:
        result.timeout = seconds(field(opts, "timeout"), where, "timeout")
    if field(opts, "follow_redirects") is not None:
        result.follow_redirects = bool(field(opts, "follow_redirects"))
    if field(opts, "ca_cert_file") is not None:
        path = text(field(opts, "ca_cert_file"), where, "ca_cert_file")
        try:
            with open(path, encoding="utf-8") as fh:
                result.ca_pem = fh.read()
        except OSError as exc:
            raise BuiltinError(f"{where}: failed to read CA cert file {path!r}: {exc}") from None
    if field(opts, "ca_cert") is not None:
        result.ca_pem = text(field(opts, "ca_cert"), where, "ca_cert")
    result.headers = _headers(field(opts, "headers"), where) or None
    return result


async def _send(sched: Scheduler, req: _Request) -> dict[str, Any]:
    fast = None if req.options.ca_pem or not req.url.startswith("http://") else sched.fast_http_client()
    if fast is not None:
        try:
            answer = await fast.request(
                req.method, req.url, req.headers, req.content, req.options.timeout, req.options.follow_redirects
            )
        except NeedsFallback:
            pass  # e.g. redirected to https: the full client below takes it
        except (HttpError, OSError) as exc:
            raise BuiltinError(f"{req.where} failed: {exc or type(exc).__name__}") from None
        except asyncio.TimeoutError:
            raise BuiltinError(f"{req.where} failed: timed out after {req.options.timeout:g}s") from None
        else:
            return {"status": answer.status, "body": _fast_body(answer), "headers": answer.headers}
    timeout = httpx.Timeout(req.options.timeout)
    try:
        shared = None if req.options.ca_pem else sched.http_client()
        if shared is not None:
            response = await shared.request(
                req.method, req.url, headers=req.headers, content=req.content,
                timeout=timeout, follow_redirects=req.options.follow_redirects,
            )
        else:
            verify: Any = True
            if req.options.ca_pem:
                verify = ssl.create_default_context()
                verify.load_verify_locations(cadata=req.options.ca_pem)
            async with httpx.AsyncClient(verify=verify) as client:
                response = await client.request(
                    req.method, req.url, headers=req.headers, content=req.content,
                    timeout=timeout, follow_redirects=req.options.follow_redirects,
                )
    except (httpx.HTTPError, ssl.SSLError, ValueError) as exc:
        detail = str(exc) or type(exc).__name__
        raise BuiltinError(f"{req.where} failed: {detail}") from None
    return {
        "status": response.status_code,
        "body": _body(response),
        "headers": {k.lower(): v for k, v in response.headers.items()},
    }


def _fast_body(response: FastResponse) -> bytes | str:
    """Like `_body`: raw bytes, decoded only when a non-UTF-8 charset is declared."""
    ctype = response.headers.get("content-type", "")
    charset = ""
    for param in ctype.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower().replace("_", "-")
    if charset and charset not in ("utf-8", "utf8", "ascii", "us-ascii"):
        try:
            return response.body.decode(charset, errors="replace")
        except LookupError:
            return response.body
    return response.body


def _body(response: httpx.Response) -> bytes | str:
    charset = response.charset_encoding
    if charset and charset.lower().replace("_", "-") not in ("utf-8", "utf8", "ascii", "us-ascii"):
        return response.text
    return response.content


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("http")
    sched = ctx.scheduler

    def build(method: str, where: str, url: Any, body: Any, opts: Any, defaults: _ClientOptions) -> IoRequest:
        if not isinstance(url, str):
            raise BuiltinError(f"{where}: first argument must be a URL string")
        opts = opt_table(opts, where)
        headers = dict(defaults.headers or {})
        content: bytes | None = None
        if body is None or body == "":
            pass
        elif isinstance(body, str):
            content = raw_bytes(body, where)
        elif lua_type_name(body) == "table":
            data = ctx.to_python(body, where)
            content = jsoncodec.dumps_bytes(data)
            headers["Content-Type"] = "application/json"
        else:
            raise BuiltinError(f"{where}: second argument must be a string, table, or nil")
        user_headers = _headers(field(opts, "headers"), where)
        if any(k.lower() == "content-type" for k in user_headers):
            headers.pop("Content-Type", None)
        headers.update(user_headers)
        options = _ClientOptions(**vars(defaults))
        if field(opts, "timeout") is not None:
            options.timeout = seconds(field(opts, "timeout"), where, "timeout")
        request = _Request(where, method, url, headers, content, options)
        return IoRequest(where, lambda: _send(sched, request))

    module_defaults = _ClientOptions()

    def without_body(method: str) -> Any:
        def prepare(url: Any = None, opts: Any = None) -> IoRequest:
            where = f"http.{method.lower()}"
            return build(method, where, url, None, opts, module_defaults)
        return prepare

    def with_body(method: str) -> Any:
        def prepare(url: Any = None, body: Any = None, opts: Any = None) -> IoRequest:
            where = f"http.{method.lower()}"
            return build(method, where, url, body, opts, module_defaults)
        return prepare

    for method in ("GET", "DELETE"):
        ctx.io_function(table, method.lower(), without_body(method))
    for method in ("POST", "PUT", "PATCH"):
        ctx.io_function(table, method.lower(), with_body(method), binary=(2,))

    # Client objects: a table with hidden options and methods called with `:`.
    clients: dict[int, _ClientOptions] = {}
    methods = ctx.lua.table()

    def client_defaults(self: Any, where: str) -> _ClientOptions:
        handle = field(self, "_ud") if lua_type_name(self) == "table" else None
        if handle not in clients:
            raise BuiltinError(f"{where}: call client methods with ':' (c:{where.split('.')[-1]}(...))")
        return clients[handle]

    def client_method(method: str, has_body: bool) -> Any:
        where = f"http.client:{method.lower()}"
        if has_body:
            def prepare_body(self: Any, url: Any = None, body: Any = None, opts: Any = None) -> IoRequest:
                return build(method, where, url, body, opts, client_defaults(self, where))
            return prepare_body

        def prepare(self: Any, url: Any = None, opts: Any = None) -> IoRequest:
            return build(method, where, url, None, opts, client_defaults(self, where))
        return prepare

    for method in ("GET", "DELETE"):
        ctx.io_function(methods, method.lower(), client_method(method, False))
    for method in ("POST", "PUT", "PATCH"):
        ctx.io_function(methods, method.lower(), client_method(method, True), binary=(3,))

    bound = {name: methods[name] for name in ("get", "post", "put", "patch", "delete")}

    def client(opts: Any = None) -> Any:
        """http.client({timeout, follow_redirects, headers, ca_cert_file, ca_cert}?)."""
        handle = len(clients) + 1
        clients[handle] = _client_options(opts, "http.client")
        obj = ctx.lua.table()
        obj["_ud"] = handle
        for name, fn in bound.items():
            obj[name] = fn
        return obj

    ctx.function(table, "client", client)
