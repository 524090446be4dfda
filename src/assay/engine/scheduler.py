"""The cron scheduler loop: fire due schedules on time, on one leader.

Timing: the loop sleeps until the earliest ``next_run_at`` (re-armed when a schedule is
created, patched or resumed, here or - through the backend's notifications - on another
instance), so a fire starts within milliseconds of its due second; a 1 s safety cap bounds
the delay for anything missed (a buffered start whose previous run just closed).

Leadership: on PostgreSQL only the instance holding an advisory lock on a dedicated
connection fires (``Database.leader_election``); the others retry every quarter second, so when the
leader dies (its session ends, the lock is freed) another takes over well within a second.
Leadership is an optimisation, not the guarantee: each fire is claimed by a guarded UPDATE
(see ``assay.store.sql_schedules``), so even two instances that both believe they lead
cannot fire a due time twice. SQLite serves one instance, which always leads.

Downtime: fires missed while no engine ran are caught up once, if they are younger than
the catch-up window (``ASSAY_SCHEDULE_CATCH_UP_SECS``, default 60 s); older ones are
dropped (``assay.core.schedule_policy.plan_catch_up``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from assay.core.schedule_policy import DEFAULT_CATCH_UP_WINDOW_SECS
from assay.engine.loops import BackgroundLoop
from assay.engine.service import ENGINE_VERSION_ATTRIBUTE, Engine

log = logging.getLogger("assay.engine.scheduler")
MAX_SLEEP_SECS = 1.0
FOLLOWER_RETRY_SECS = 0.25  # a dead leader's lock is free at once: keep the gap under one tick


class Scheduler(BackgroundLoop):
    task_name = "assay-scheduler"

    def __init__(self, engine: Engine, database: Any = None) -> None:
        self.engine = engine
        env = engine.settings.env or {}
        self.window_secs = float(env.get("ASSAY_SCHEDULE_CATCH_UP_SECS") or DEFAULT_CATCH_UP_WINDOW_SECS)
        election = getattr(database, "leader_election", None)
        self.election = election() if election is not None else None
        self._wake = asyncio.Event()
        self._sleep_until = 0.0
        self.fired: list[dict[str, Any]] = []  # recent outcomes, for logs and tests

    @property
    def is_leader(self) -> bool:
        return self.election is None or self.election.is_leader

    def arm(self, at: float | None = None) -> None:
        """Something schedule-related changed: re-read the earliest due time now.

        ``at`` (a newly armed instant) wakes the loop only if it is earlier than the planned
        wake-up: most armed instants are lease expiries far ahead, not schedules.
        """
        if at is None or at < self._sleep_until:
            self._wake.set()

    async def stop(self) -> None:
        await super().stop()
        if self.election is not None:
            await self.election.release()

    async def _run(self) -> None:
        while True:
            try:
                if self.election is not None and not await self.election.acquire():
                    sleep_for = FOLLOWER_RETRY_SECS
                else:
                    sleep_for = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop must survive a failing tick
                log.exception("scheduler tick failed; retrying in 1s")
                sleep_for = 1.0
            self._wake.clear()
            self._sleep_until = self.engine.clock() + max(0.0, sleep_for)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, sleep_for))
            except asyncio.TimeoutError:
                pass

    async def tick(self) -> float:
        """Fire what is due now (one transaction per fire); return the sleep until the next."""
        engine, store = self.engine, self.engine.store
        attrs = {ENGINE_VERSION_ATTRIBUTE: engine.settings.version}
        now = engine.clock()
        next_due, buffered = await store.next_schedule_due()  # type: ignore[attr-defined]
        if next_due is not None and next_due <= now:
            for namespace, name, due_at in await store.due_schedules(now):  # type: ignore[attr-defined]
                try:
                    outcome, changes = await store.fire_schedule(  # type: ignore[attr-defined]
                        namespace, name, due_at, now, window_secs=self.window_secs, search_attributes=attrs,
                    )
                except Exception:  # noqa: BLE001 - one broken schedule must not stop the others
                    log.exception("schedule %s/%s failed to fire", namespace, name)
                    continue
                engine.publish(changes)
                if outcome is not None:
                    self._record(outcome)
            next_due, buffered = await store.next_schedule_due()  # type: ignore[attr-defined]
        if buffered:
            started, changes = await store.start_buffered_schedules(now, search_attributes=attrs)  # type: ignore[attr-defined]
            engine.publish(changes)
            for workflow_id in started:
                log.info("schedule: started buffered run %s", workflow_id)
        sleep_for = MAX_SLEEP_SECS if not buffered else 0.25
        if next_due is not None:
            sleep_for = min(sleep_for, next_due - engine.clock())
        return sleep_for

    def _record(self, outcome: dict[str, Any]) -> None:
        self.fired = (self.fired + [outcome])[-100:]
        if outcome.get("workflow_id"):
            log.info("schedule %s/%s fired: started %s (due %.0f)", outcome["namespace"], outcome["schedule"],
                     outcome["workflow_id"], outcome["due_at"])
        else:
            log.info("schedule %s/%s due %.0f: %s", outcome["namespace"], outcome["schedule"], outcome["due_at"],
                     outcome["action"])
