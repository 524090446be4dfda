"""Long-poll wake-ups: pollers park on a key; committed changes wake them.

Keys are tuples such as ``("wf", namespace, queue)``, ``("act", namespace, queue)``,
``("result", workflow_id)`` and ``("events", workflow_id)``. A waiter is registered
*before* the claim attempt, so work that appears while the claim query runs still wakes it.
Other engine instances wake this one through the backend's notification channel
(LISTEN/NOTIFY on PostgreSQL), which calls ``notify`` here.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Hashable, TypeVar

T = TypeVar("T")


class WakeUps:
    def __init__(self) -> None:
        self._waiters: dict[Hashable, set[asyncio.Future[None]]] = {}

    def notify(self, key: Hashable) -> None:
        for future in self._waiters.pop(key, ()):
            if not future.done():
                future.set_result(None)

    def _register(self, key: Hashable) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, set()).add(future)
        return future

    def _unregister(self, key: Hashable, future: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiters.discard(future)
            if not waiters:
                del self._waiters[key]

    async def poll(
        self, key: Hashable, attempt: Callable[[], Awaitable[T | None]], wait_secs: float
    ) -> T | None:
        """Run ``attempt`` until it returns something or ``wait_secs`` pass without work."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait_secs)
        while True:
            future = self._register(key)
            try:
                result = await attempt()
                if result is not None:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                try:
                    await asyncio.wait_for(asyncio.shield(future), remaining)
                except asyncio.TimeoutError:
                    return await attempt()
            finally:
                self._unregister(key, future)

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())
