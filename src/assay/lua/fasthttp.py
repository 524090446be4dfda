"""A lean keep-alive HTTP/1.1 client for plain ``http://`` requests of the Lua runtime.

Why: a Lua workflow worker makes one small request per workflow step, and with httpx the
client side of each one cost ~1 ms of CPU (connection-pool bookkeeping, anyio stream
wrappers, h11 events, a failed ``import sniffio`` per request), which made the worker, not
the engine, the bottleneck. This client speaks HTTP/1.1 on an ``asyncio.Protocol``: one
write per request, the response parsed from the bytes as they arrive, idle connections
kept per (host, port) and reused.

Scope: ``http://`` only (TLS requests and custom CA certificates stay on httpx), responses
with ``Content-Length``, chunked encoding or read-until-close; redirects are followed
like httpx does (303, and 301/302 of a non-GET, become a body-less GET; 307/308 resend);
a redirect to ``https://`` is reported to the caller (:class:`NeedsFallback`), which then
uses httpx. A request on a reused idle connection that the server had closed (no response
byte received) is sent once more on a new connection, as httpx's pool does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 20
MAX_IDLE_PER_HOST = 64


class HttpError(Exception):
    """Transport failure (connection refused/reset, malformed response)."""


class NeedsFallback(Exception):
    """The request needs the full client (e.g. a redirect to https)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names, repeated headers joined with ", "
    body: bytes


class _Conn(asyncio.Protocol):
    """One HTTP/1.1 connection carrying one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.eof = False

    # protocol callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.eof = True
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def _more(self) -> None:
        """Wait for more bytes (or the end of the stream)."""
        if self.eof:
            raise HttpError("connection closed by the server before the response ended")
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, head_only: bool) -> tuple[Response, bool]:
        """Send `request`; return the response and whether the connection can be reused."""
        assert self.transport is not None
        self.buf.clear()
        self.transport.write(request)
        while True:
            response, keep = await self._response(head_only)
            if response is not None:
                return response, keep

    async def _response(self, head_only: bool) -> tuple[Response | None, bool]:
        buf = self.buf
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if self.eof:
                raise _NoResponse() if not buf else HttpError("connection closed in the response head")
            await self._more()
        head = bytes(buf[:end]).decode("latin-1").split("\r\n")
        del buf[: end + 4]
        try:
            _version, code, *_ = head[0].split(" ", 2)
            status = int(code)
        except (ValueError, IndexError):
            raise HttpError(f"malformed status line: {head[0][:80]!r}") from None
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if status < 200:  # 1xx interim answer: the real one follows
            return None, True
        keep = headers.get("connection", "").lower() != "close" and head[0].startswith("HTTP/1.1")
        if head_only or status in (204, 304):
            return Response(status, headers, b""), keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._chunked()
        elif "content-length" in headers:
            try:
                size = int(headers["content-length"])
            except ValueError:
                raise HttpError("malformed Content-Length") from None
            while len(buf) < size:
                await self._more()
            body = bytes(buf[:size])
            del buf[:size]
        else:  # read until the server closes
            while not self.eof:
                await self._more_or_eof()
            body, keep = bytes(buf), False
            buf.clear()
        return Response(status, headers, body), keep

    async def _more_or_eof(self) -> None:
        if self.eof:
            return
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    async def _chunked(self) -> bytes:
        buf, out = self.buf, bytearray()
        while True:
            while (eol := buf.find(b"\r\n")) < 0:
                await self._more()
            try:
                size = int(bytes(buf[:eol]).split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpError("malformed chunk size") from None
            del buf[: eol + 2]
            if size == 0:
                while (end := buf.find(b"\r\n")) != 0:  # trailers, then the empty line
                    if end < 0:
                        await self._more()
                    else:
                        del buf[: end + 2]
                del buf[:2]
                return bytes(out)
            while len(buf) < size + 2:
                await self._more()
            out += buf[:size]
            del buf[: size + 2]


class _NoResponse(HttpError):
    """The server closed the connection without answering (a stale idle connection)."""


class Client:
    """Keep-alive connections of one event loop, per (host, port)."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Conn]] = {}

    async def request(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None,
        timeout: float, follow_redirects: bool,
    ) -> Response:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for runs the request in a task
        # of its own, which costs two extra loop iterations per request (one to start it,
        # one to wake the caller), i.e. latency on every workflow step.
        async with asyncio.timeout(timeout):
            return await self._follow(method, url, headers, content, follow_redirects)

    async def _follow(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None, follow: bool
    ) -> Response:
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._once(method, url, headers, content)
            location = response.headers.get("location")
            if not follow or response.status not in (301, 302, 303, 307, 308) or not location:
                return response
            url = urljoin(url, location)
            if not url.startswith("http://"):
                raise NeedsFallback(url)
            if response.status == 303 or (response.status in (301, 302) and method != "GET"):
                if method != "HEAD":
                    method = "GET"
                content = None
                headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
        raise HttpError(f"exceeded {MAX_REDIRECTS} redirects")

    async def _once(self, method: str, url: str, headers: dict[str, str], content: bytes | None) -> Response:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise NeedsFallback(url)
        host, port = parts.hostname, parts.port or 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rpartition("@")[2]
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
        names = {k.lower() for k in headers}
        if "accept" not in names:
            lines.append("Accept: */*")
        if "user-agent" not in names:
            lines.append("User-Agent: assay-lua")
        for k, v in headers.items():
            if "\r" in k or "\n" in k or "\r" in v or "\n" in v:
                raise HttpError("header names and values must not contain line breaks")
            lines.append(f"{k}: {v}")
        if content is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(content or b'')}")
        try:
            request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (content or b"")
        except UnicodeEncodeError:
            raise NeedsFallback(url) from None  # non-Latin-1 header values: let httpx encode them
        key = (host, port)
        idle = self._idle.setdefault(key, [])
        while idle:
            conn = idle.pop()
            if conn.closed or conn.eof:
                conn.close()
                continue
            try:
                response, keep = await conn.exchange(request, method == "HEAD")
            except _NoResponse:
                conn.close()
                continue  # stale: the server closed it while idle; try the next one
            except BaseException:
                conn.close()
                raise
            self._release(key, conn, keep)
            return response
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(_Conn, host, port)
        except OSError as exc:
            raise HttpError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        try:
            response, keep = await conn.exchange(request, method == "HEAD")
        except BaseException:
            conn.close()
            raise
        self._release(key, conn, keep)
        return response

    def _release(self, key: tuple[str, int], conn: _Conn, keep: bool) -> None:
        idle = self._idle.setdefault(key, [])
        if keep and not conn.closed and not conn.eof and len(idle) < MAX_IDLE_PER_HOST:
            idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
