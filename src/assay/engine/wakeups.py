"""Long-poll wake-ups: pollers park on a key; committed changes wake them.

Keys are tuples such as ``("wf", namespace, queue)``, ``("act", namespace, queue)``,
``("result", workflow_id)`` and ``("events", workflow_id)``. A waiter is registered
*before* the claim attempt, so work that appears while the claim query runs still wakes it.

Task queues use *baton passing*: new work wakes one parked poller (no thundering herd of
claim queries); a poller that claimed something wakes the next one, which finds the rest of
a batch or goes back to sleep. A woken poller that leaves without claiming (its client went
away) hands the wake-up on. Result and event waiters are all woken (each is a different
client interested in the same workflow).

Other engine instances wake this one through the backend's notification channel
(LISTEN/NOTIFY on PostgreSQL), which calls ``notify_one`` / ``notify_all`` here.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Awaitable, Callable, Hashable, TypeVar

T = TypeVar("T")


class WakeUps:
    def __init__(self) -> None:
        # Insertion-ordered so notify_one wakes the longest-waiting poller first.
        self._waiters: dict[Hashable, OrderedDict[asyncio.Future[None], None]] = {}
        self.closed = False

    def close(self) -> None:
        """Engine shutting down: release every parked poll now (each answers "no work")."""
        self.closed = True
        for key in list(self._waiters):
            self.notify_all(key)

    def notify_one(self, key: Hashable) -> None:
        waiters = self._waiters.get(key)
        while waiters:
            future, _ = waiters.popitem(last=False)
            if not future.done():
                future.set_result(None)
                break
        if waiters is not None and not waiters:
            self._waiters.pop(key, None)

    def notify_all(self, key: Hashable) -> None:
        for future in self._waiters.pop(key, {}):
            if not future.done():
                future.set_result(None)

    def _register(self, key: Hashable) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, OrderedDict())[future] = None
        return future

    def _unregister(self, key: Hashable, future: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiters.pop(future, None)
            if not waiters:
                del self._waiters[key]

    async def poll(
        self, key: Hashable, attempt: Callable[[], Awaitable[T | None]], wait_secs: float, *, baton: bool = True
    ) -> T | None:
        """Run ``attempt`` until it returns something or ``wait_secs`` pass without work."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait_secs)
        while True:
            future = self._register(key)
            claimed = leaving = False
            try:
                result = await attempt()
                if result is not None:
                    claimed = True
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0 or self.closed:
                    leaving = True
                    return None
                try:
                    # The future is ours alone, so a timeout may cancel it outright.
                    await asyncio.wait_for(future, remaining)
                except asyncio.TimeoutError:
                    leaving = True
                    result = await attempt()
                    claimed = result is not None
                    return result
            except BaseException:
                leaving = True
                raise
            finally:
                self._unregister(key, future)
                # Pass the baton on when we took work (there may be more) or when we were
                # woken but leave without using the wake-up (timeout, client gone).
                if baton and (claimed or (leaving and future.done() and not future.cancelled())):
                    self.notify_one(key)

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())

