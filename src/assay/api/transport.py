"""One TCP write per HTTP response.

uvicorn's httptools protocol writes a response's status line and headers with one
``transport.write`` and its body with another. With TCP_NODELAY (set by the event loop)
those leave as two segments, and the client, woken by the first, parses the headers and
sleeps again until the body arrives: two wake-ups of the peer per response. On a quiet
machine (the idle-latency workload, a worker waiting in a long poll) a wake-up costs far
more than the write itself, and every workflow step is a handful of responses.

``CoalescingTransport`` buffers the writes made during one turn of the event loop and
sends them with a single write at the end of that turn (``call_soon``), so headers and
body leave together. Nothing waits longer than the current callback; streaming responses
(SSE) still flush every chunk in the turn it was written.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport proxy whose ``write`` joins all writes of one loop turn."""

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()  # a response written just before closing must still go out
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        # Everything else (get_extra_info, pause_reading, set_protocol, is_closing, ...).
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, asyncio.get_running_loop()))  # type: ignore[arg-type]
