"""Background loops of one engine instance: housekeeping (timers, activity timeouts, lease
recovery, overdue cancels, retry wake-ups) and instance upkeep (lock heartbeat, worker pruning).

The housekeeping loop sleeps until the earliest due instant the store reports, and is
re-armed by the engine when a committed change needs it earlier (a 1 s timer armed while the
loop sleeps for a 30 s lease). So a durable timer fires within milliseconds of its due time
without any polling interval.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from assay.engine.service import Engine

log = logging.getLogger("assay.engine.loops")
MAX_SLEEP_SECS = 5.0  # safety net: re-read due times at least this often


class BackgroundLoop:
    """A named task running ``_run`` from ``start()`` until ``stop()`` cancels it."""

    task_name = "assay-loop"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        raise NotImplementedError


class Housekeeper(BackgroundLoop):
    task_name = "assay-housekeeping"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._wake = asyncio.Event()
        self._next_wake: float | None = None
        self._last_retry_scan = 0.0
        engine.on_housekeeping_armed = self.arm

    def arm(self, wake_at: float) -> None:
        if self._next_wake is None or wake_at < self._next_wake:
            self._next_wake = wake_at
            self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                sleep_for = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop must survive a failing tick
                log.exception("housekeeping tick failed; retrying in 1s")
                sleep_for = 1.0
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, sleep_for))
            except asyncio.TimeoutError:
                pass

    async def tick(self) -> float:
        """Do what is due now; return how long to sleep until the next due instant."""
        engine, store, settings = self.engine, self.engine.store, self.engine.settings
        now = engine.clock()
        planned, self._next_wake = self._next_wake, None
        # Woken at the instant it planned for (most often a durable timer's): fire first, then
        # read what else is due, so a timer is not late by the read (a round trip per query
        # on PostgreSQL). Firing when no timer is due is a write that finds nothing.
        fire_first = planned is not None and planned <= now
        if fire_first:
            await engine.fire_due_timers(now)
        due = await store.housekeeping_due(now)
        if not fire_first and due.next_timer_at is not None and due.next_timer_at <= now:
            await engine.fire_due_timers(now)
        if due.next_activity_deadline is not None and due.next_activity_deadline <= now:
            engine.publish(await store.expire_activities(now))
        if due.next_lease_expiry is not None and due.next_lease_expiry <= now:
            engine.publish(await store.recover_expired_leases(now))
        cancel_due = None if due.next_cancel_deadline is None else due.next_cancel_deadline + settings.cancel_grace_secs
        if cancel_due is not None and cancel_due <= now:
            engine.publish(await store.finalize_overdue_cancels(now, settings.cancel_grace_secs))
        # Activities whose retry backoff just ended: wake pollers of their queues.
        for namespace, queue in await store.due_retry_queues(self._last_retry_scan, now):
            engine.wakeups.notify_one(("act", namespace, queue))
        self._last_retry_scan = now

        candidates = [
            t for t in (
                due.next_timer_at, due.next_activity_deadline, due.next_lease_expiry, due.next_retry_at, cancel_due,
            ) if t is not None and t > now
        ]
        if self._next_wake is not None:
            candidates.append(self._next_wake)
        next_at = min(candidates + [now + MAX_SLEEP_SECS])
        # Remember when we wake, so arming a later instant (every claim arms its lease expiry)
        # does not wake the loop for nothing.
        self._next_wake = next_at
        return next_at - engine.clock()


class InstanceUpkeep(BackgroundLoop):
    """Heartbeat of the single-instance lock (SQLite) and pruning of long-silent workers."""

    task_name = "assay-upkeep"

    def __init__(self, engine: Engine, instance_id: str, database: Any) -> None:
        self.engine = engine
        self.instance_id = instance_id
        self.database = database

    async def _run(self) -> None:
        interval = max(1.0, self.engine.settings.lock_stale_secs / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                now = self.engine.clock()
                refresh = getattr(self.database, "refresh_instance", None)
                if refresh is not None:
                    await refresh(self.instance_id, now)
                await self.engine.store.prune_workers(now - self.engine.settings.worker_prune_secs)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("instance upkeep failed")
