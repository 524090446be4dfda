"""Group commit, shared by the SQLite and PostgreSQL databases.

Writes queued during one turn of the event loop are handed to the backend together: one
transaction (each write in its own savepoint), one commit, one WAL flush for them all. Each
caller still gets its own outcome (its result and changes, or its own exception).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

Write = tuple[Callable[[Any], Any], "asyncio.Future[Any]"]
Outcome = tuple[bool, Any]  # (True, (result, changes)) or (False, exception)


class WriteQueue:
    """Writes waiting for their group. ``flush(loop)`` is called once per loop turn that
    queued writes, after the turn's callbacks (``call_soon``), and drains with ``take``."""

    def __init__(self, limit: int, flush: Callable[[asyncio.AbstractEventLoop], None]) -> None:
        self.limit = limit
        self._flush = flush
        self.pending: list[Write] = []
        self.scheduled = False  # a flush is due at the end of this loop turn

    async def put(self, fn: Callable[[Any], T]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.pending.append((fn, future))
        if not self.scheduled:
            self.scheduled = True
            loop.call_soon(self._start, loop)
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.scheduled = False
        self._flush(loop)

    def take(self) -> list[Write]:
        """The next group (at most ``limit`` writes), oldest first."""
        batch, self.pending = self.pending[: self.limit], self.pending[self.limit :]
        return batch


def settle(batch: list[Write], outcomes: list[Outcome]) -> None:
    """Answer each write of a group with its outcome (on the loop's thread)."""
    for (ok, value), (_fn, future) in zip(outcomes, batch):
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
