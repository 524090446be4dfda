"""CoalescingTransport: the writes of one loop turn leave as one write."""

from __future__ import annotations

import asyncio

from assay.api.transport import CoalescingTransport


class RecordingTransport:
    """Stands in for the socket's transport: records what would reach the socket."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_head_and_body_of_one_turn_leave_together():
    raw = RecordingTransport()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert raw.writes == [] and transport.get_write_buffer_size() == 40
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"next turn")
    await asyncio.sleep(0)
    assert raw.writes[-1] == b"next turn" and len(raw.writes) == 2


async def test_close_flushes_first_and_other_calls_pass_through():
    raw = RecordingTransport()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"last words")
    transport.close()
    assert raw.writes == [b"last words"] and raw.closed
    assert transport.get_extra_info("peername") == "info:peername"
    transport.write(b"after close")
    await asyncio.sleep(0)
    assert raw.writes == [b"last words"]  # nothing is written to a closing transport
