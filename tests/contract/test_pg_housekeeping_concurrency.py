"""Housekeeping run by three engine instances at once on one PostgreSQL database.

Every instance runs the timer, activity-timeout and lease-recovery loops; each row must
still be acted on exactly once (guarded UPDATEs, ``SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from assay.core.commands import parse_batch
from assay.store.sql import SqlStore, open_store
from tests.contract.conftest import PG_ADMIN_URL, FakeClock
from tests.contract.test_store_workflows import req
from tests.pg import postgres_reachable, temporary_database

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_reachable(PG_ADMIN_URL), reason="PostgreSQL not reachable"),
]
N = 40


async def _event_counts(store: SqlStore, ids: list[str], event_type: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for wid in ids:
        counts[wid] = sum(1 for e in await store.list_events(wid) if e.event_type == event_type)
    return counts


async def test_concurrent_housekeeping_acts_once_per_row() -> None:
    clock = FakeClock()
    async with temporary_database(PG_ADMIN_URL) as url:
        stores = [await open_store(url) for _ in range(3)]
        for s in stores:
            s.clock = clock
        first = stores[0]
        try:
            ids = [f"hk-{i}" for i in range(N)]
            for wid in ids:
                await first.start_workflow(req(wid))
            for _ in ids:
                task, _ = await first.claim_workflow_task("main", "q", "w", sticky=False, lease_secs=30)
                assert task is not None
                await first.submit_commands(task.workflow_id, "w", task.lease_token, parse_batch([
                    {"type": "ScheduleTimer", "seq": 1, "duration_secs": 5},
                    {"type": "ScheduleActivity", "seq": 2, "name": "a", "start_to_close_secs": 5, "max_attempts": 1},
                ]))
            for _ in ids:
                activity, _ = await first.claim_activity("main", "q", "w")
                assert activity is not None
            clock.advance(10)

            async def sweep(store: SqlStore) -> None:
                await store.fire_due_timers(clock.now)
                await store.expire_activities(clock.now)

            await asyncio.gather(*(sweep(s) for s in stores for _ in range(3)))
            assert set((await _event_counts(first, ids, "TimerFired")).values()) == {1}
            assert set((await _event_counts(first, ids, "ActivityFailed")).values()) == {1}

            # Leases: every workflow was re-dispatched by the events above; claim and let expire.
            claimed = 0
            while (await first.claim_workflow_task("main", "q", "w2", sticky=False, lease_secs=30))[0]:
                claimed += 1
            assert claimed == N
            clock.advance(31)
            await asyncio.gather(*(s.recover_expired_leases(clock.now) for s in stores))
            reclaimed = 0
            while (await first.claim_workflow_task("main", "q", "w3", sticky=False, lease_secs=30))[0]:
                reclaimed += 1
            assert reclaimed == N
        finally:
            for s in stores:
                await s.close()
