"""Long-poll wake-ups: pollers park on a key; committed changes wake them.

Keys are tuples such as ``("wf", namespace, queue)``, ``("act", namespace, queue)``,
``("result", workflow_id)`` and ``("events", workflow_id)``. A waiter is registered
*before* the claim attempt, so work that appears while the claim query runs still wakes it.

Task queues use *baton passing*: new work wakes one parked poller (no thundering herd of
claim queries); a poller that claimed something wakes the next one, which finds the rest of
a batch or goes back to sleep. A woken poller that leaves without claiming (its client went
away) hands the wake-up on. Result and event waiters are all woken (each is a different
client interested in the same workflow).

*Hand-off*: a writer that creates work may instead ``reserve`` a parked poller (one that
registered ``info``, e.g. its worker id), claim the work for it inside its own transaction
and ``deliver`` the claimed task straight into the poll: no wake-up round, no second claim
transaction, and the worker's reply leaves in the same loop turn as the writer's. A
reserved poller whose wait runs out keeps waiting for the writer's outcome (a transaction
in flight, so moments), which is then a task or a plain wake-up (``release``).

*Known-empty queues*: a claim attempt is a write transaction, and most attempts of an idle
worker find nothing (a poll arriving at an idle queue, the piggy-backed ``next`` claim of
every reply). A task-queue key whose last attempt found nothing, and that nothing was
announced on since that attempt began, is skipped without a transaction. Every way work
becomes claimable announces itself through ``notify_*`` (commits, housekeeping, other
instances), and as a safety net (say, a notification lost while PostgreSQL's LISTEN
reconnects) a key counts as empty for at most ``EMPTY_TRUST_SECS``.

Other engine instances wake this one through the backend's notification channel
(LISTEN/NOTIFY on PostgreSQL), which calls ``notify_one`` / ``notify_all`` here.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Hashable, TypeVar

T = TypeVar("T")

_TIMED_OUT = object()  # the result a parked poll's own timer gives its future
_UNUSED = object()  # a reservation given back unused: wait on, without a claim attempt
EMPTY_TRUST_SECS = 1.0  # how long an attempt that found nothing vouches for its queue


class Parked:
    """One parked poll: its future, what a hand-off needs to know of it, its state."""

    __slots__ = ("future", "info", "reserved", "waiting", "announced")

    def __init__(self, future: asyncio.Future[Any], info: Any) -> None:
        self.future = future
        self.info = info
        self.reserved = False
        # True only while the poll awaits its future: a poll still running its claim
        # attempt could return that claim and never see a hand-off, so it is not offered one.
        self.waiting = False
        self.announced = 0  # the key's announcement count when it was reserved

    def deliver(self, result: Any) -> bool:
        """Give a reserved poll its result; False when the poll has gone (cancelled)."""
        if self.future.done():
            return False
        self.future.set_result(result)
        return True

    def release(self) -> None:
        """End a reservation without a result: the poll tries to claim, as if woken."""
        if not self.future.done():
            self.future.set_result(None)


class WakeUps:
    def __init__(self) -> None:
        # Insertion-ordered so notify_one wakes the longest-waiting poller first.
        self._waiters: dict[Hashable, OrderedDict[asyncio.Future[Any], Parked]] = {}
        self.closed = False
        # Known-empty queues: key -> (announcement count when the empty attempt began, when).
        self._announced: dict[Hashable, int] = {}
        self._empty: dict[Hashable, tuple[int, float]] = {}

    def close(self) -> None:
        """Engine shutting down: release every parked poll now (each answers "no work")."""
        self.closed = True
        for key in list(self._waiters):
            self.notify_all(key)

    def _announce(self, key: Hashable) -> None:
        self._announced[key] = self._announced.get(key, 0) + 1
        self._empty.pop(key, None)

    def known_empty(self, key: Hashable) -> bool:
        """Whether the last claim attempt on ``key`` found nothing and nothing was announced
        since it began (for at most ``EMPTY_TRUST_SECS``)."""
        mark = self._empty.get(key)
        if mark is None:
            return False
        count, since = mark
        if count != self._announced.get(key, 0) or asyncio.get_running_loop().time() - since > EMPTY_TRUST_SECS:
            del self._empty[key]
            return False
        return True

    async def _claim(self, key: Hashable, attempt: Callable[[], Awaitable[T | None]]) -> T | None:
        """One claim attempt, skipped on a known-empty queue, remembering an empty result."""
        if self.known_empty(key):
            return None
        count, since = self._announced.get(key, 0), asyncio.get_running_loop().time()
        result = await attempt()
        if result is None and count == self._announced.get(key, 0):
            self._empty[key] = (count, since)
        return result

    def notify_one(self, key: Hashable) -> None:
        self._announce(key)
        self._wake_one(key)

    def _wake_one(self, key: Hashable) -> None:
        waiters = self._waiters.get(key)
        while waiters:
            future, _ = waiters.popitem(last=False)
            if not future.done():
                future.set_result(None)
                break
        if waiters is not None and not waiters:
            self._waiters.pop(key, None)

    def notify_all(self, key: Hashable, value: Any = None) -> None:
        """Wake every poll parked on ``key``; with a ``value`` (say, the run a result waiter
        waits for) each poll returns it as found, without another attempt."""
        self._announce(key)
        for future in self._waiters.pop(key, {}):
            if not future.done():
                future.set_result(value)

    def wake_everyone(self) -> None:
        """Announcements may have been lost (a notification channel reconnected): forget
        every known-empty mark and wake every parked poll, which then claims or re-parks."""
        self._empty.clear()
        for key in list(self._waiters):
            self.notify_all(key)

    def reserve(self, key: Hashable) -> Parked | None:
        """Take the longest-parked poll on ``key`` that accepts hand-offs, if any. The
        caller must then ``deliver``, ``release`` or ``give_back`` it."""
        if self.closed:
            return None
        waiters = self._waiters.get(key)
        if not waiters:
            return None
        for future, parked in waiters.items():
            if parked.info is not None and parked.waiting and not future.done():
                del waiters[future]
                if not waiters:
                    del self._waiters[key]
                parked.reserved = True
                parked.announced = self._announced.get(key, 0)
                return parked
        return None

    def reserve_per_key(self, kind: str) -> dict[tuple[Any, ...], Parked]:
        """``reserve`` one parked poll on every key of this kind (``"wf"``: each workflow
        queue with a poller that accepts hand-offs), for a writer that will learn only inside
        its transaction which queues get work (the timer loop)."""
        found: dict[tuple[Any, ...], Parked] = {}
        for key in list(self._waiters):
            if isinstance(key, tuple) and key and key[0] == kind:
                parked = self.reserve(key)
                if parked is not None:
                    found[key] = parked
        return found

    def give_back(self, key: Hashable, parked: Parked) -> None:
        """End a reservation that got nothing. The poll goes back to waiting without a claim
        attempt, unless work was announced on ``key`` while it was reserved (it was not
        there to be woken), in which case it looks, as after ``release``."""
        if self._announced.get(key, 0) != parked.announced:
            parked.release()
        elif not parked.future.done():
            parked.future.set_result(_UNUSED)

    def _register(self, key: Hashable, info: Any) -> Parked:
        parked = Parked(asyncio.get_running_loop().create_future(), info)
        self._waiters.setdefault(key, OrderedDict())[parked.future] = parked
        return parked

    def _unregister(self, key: Hashable, future: asyncio.Future[Any]) -> None:
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiters.pop(future, None)
            if not waiters:
                del self._waiters[key]

    async def poll(
        self, key: Hashable, attempt: Callable[[], Awaitable[T | None]], wait_secs: float, *,
        baton: bool = True, info: Any = None,
    ) -> T | None:
        """Run ``attempt`` until it returns something or ``wait_secs`` pass without work.
        With ``info``, the poll also accepts hand-offs (see the module docstring)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait_secs)
        if baton:  # task queues: claims are write transactions worth skipping when empty
            claim = attempt
            attempt = lambda: self._claim(key, claim)  # noqa: E731
        look = True  # False after a reservation came back unused: nothing new to look for
        while True:
            parked = self._register(key, info)
            future = parked.future
            claimed = woken_unused = False
            timer: asyncio.TimerHandle | None = None
            try:
                result = await attempt() if look else None
                look = True
                if result is not None:
                    claimed = True
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0 or self.closed:
                    woken_unused = future.done() and not parked.reserved
                    return None
                # A timer rather than asyncio.wait_for: it resolves the future in place (no
                # extra task and loop turns on the way back), and leaves a reserved poll
                # waiting for its hand-off.
                timer = loop.call_later(remaining, _expire, parked)
                parked.waiting = True
                outcome = await future
                if outcome is _TIMED_OUT:
                    result = await attempt()
                    claimed = result is not None
                    return result
                if outcome is _UNUSED:
                    look = False
                    continue
                if outcome is not None:  # handed off (claimed for us) or given with the wake-up
                    claimed = True
                    return outcome
                # Woken (or released): loop round and claim.
            except BaseException:
                # Cancelled (client gone, shutdown): a wake-up we were given goes on.
                woken_unused = future.done() and not future.cancelled() and future.result() is None
                raise
            finally:
                if timer is not None:
                    timer.cancel()
                self._unregister(key, future)
                # Pass the baton on when we took work (there may be more) or when we were
                # woken but leave without using the wake-up. Not an announcement: no new work
                # appeared, so a known-empty mark (set by an attempt that found nothing after
                # this work was announced) stays true; a hand-off, for one, claimed the only
                # work its start created.
                if baton and (claimed or woken_unused):
                    self._wake_one(key)

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())


def _expire(parked: Parked) -> None:
    if not parked.reserved and not parked.future.done():
        parked.future.set_result(_TIMED_OUT)
