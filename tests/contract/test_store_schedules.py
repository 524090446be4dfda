"""Store contract: cron schedules - CRUD, validation, exactly-once fires, overlap, catch-up."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import pytest

from assay.core.model import WorkflowStatus
from assay.errors import Conflict, InvalidInput, NotFound
from assay.store.base import WorkflowFilter
from tests.contract.conftest import unique

EVERY_MINUTE = "0 * * * * *"


def spec(name: str, **over: Any) -> dict[str, Any]:
    return {"name": name, "workflow_type": "report", "cron_expr": EVERY_MINUTE, **over}


async def create(store, name: str, **over: Any) -> dict[str, Any]:
    record, _ = await store.create_schedule(spec(name, **over))
    return record


async def fire_due(store, clock) -> list[dict[str, Any]]:
    """What the scheduler loop does at ``clock.now``."""
    outcomes = []
    for ns, name, due in await store.due_schedules(clock.now):
        outcome, _ = await store.fire_schedule(ns, name, due, clock.now)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


async def runs_of(store, name: str, ns: str = "main") -> list:
    found, _ = await store.list_workflows(WorkflowFilter(ns, search_attrs={"assay_schedule": name}, limit=100))
    return sorted(found, key=lambda w: w.created_at)


# --- CRUD and validation -------------------------------------------------------------------


async def test_create_computes_next_run_and_returns_json_input(store, clock):
    name = unique("s")
    record = await create(store, name, input={"full": True}, timezone="utc")
    assert record["next_run_at"] == clock.now + 60  # the fake clock starts on a minute boundary
    assert record["input"] == {"full": True} and record["timezone"] == "UTC"
    assert record["paused"] is False and record["overlap_policy"] == "skip" and record["task_queue"] == "default"
    assert await store.get_schedule("main", name) == record
    assert [s["name"] for s in await store.list_schedules("main")] == [name]


async def test_create_rejects_bad_input(store):
    name = unique("s")
    await create(store, name)
    with pytest.raises(Conflict):
        await create(store, name)
    with pytest.raises(InvalidInput, match="0 0 2 \\* \\* \\*"):
        await create(store, unique("s"), cron_expr="0 2 * * *")
    with pytest.raises(InvalidInput, match="timezone"):
        await create(store, unique("s"), timezone="Mars/Olympus")
    with pytest.raises(InvalidInput, match="overlap_policy"):
        await create(store, unique("s"), overlap_policy="sometimes")
    with pytest.raises(InvalidInput):
        await create(store, "bad name")
    with pytest.raises(NotFound):
        await create(store, unique("s"), namespace="nowhere")
    assert (await create(store, unique("s"), overlap_policy="queue"))["overlap_policy"] == "buffer_one"


async def test_timezone_and_dst(store, clock):
    # 2026-03-29 is Europe/Berlin's spring-forward day: 02:30 local does not exist.
    clock.now = datetime(2026, 3, 28, 12, tzinfo=timezone.utc).timestamp()
    record = await create(store, unique("s"), cron_expr="0 30 2 * * *", timezone="Europe/Berlin")
    assert record["next_run_at"] == datetime(2026, 3, 30, 0, 30, tzinfo=timezone.utc).timestamp()
    record = await create(store, unique("s"), cron_expr="0 0 9 * * *", timezone="America/New_York")
    assert record["next_run_at"] == datetime(2026, 3, 28, 13, tzinfo=timezone.utc).timestamp()


async def test_patch_recomputes_only_for_cron_or_zone(store, clock):
    name = unique("s")
    before = await create(store, name)
    patched, _ = await store.patch_schedule("main", name, {"input": [1, 2]})
    assert patched["input"] == [1, 2] and patched["next_run_at"] == before["next_run_at"]
    clock.advance(5)
    patched, _ = await store.patch_schedule("main", name, {"cron_expr": "*/10 * * * * *"})
    assert patched["next_run_at"] == clock.now + 5
    patched, _ = await store.patch_schedule("main", name, {"input": None})
    assert patched["input"] is None
    with pytest.raises(InvalidInput):
        await store.patch_schedule("main", name, {"cron_expr": "* * * * *"})
    with pytest.raises(InvalidInput):
        await store.patch_schedule("main", name, {"workflow_type": "x"})
    with pytest.raises(NotFound):
        await store.patch_schedule("main", unique("missing"), {"input": 1})


async def test_pause_resume_without_backfill_and_delete(store, clock):
    name = unique("s")
    await create(store, name)
    assert (await store.pause_schedule("main", name))["paused"] is True
    clock.advance(300)  # five fires missed while paused
    assert await fire_due(store, clock) == []
    resumed, _ = await store.resume_schedule("main", name)
    assert resumed["paused"] is False and resumed["next_run_at"] == clock.now + 60
    assert await fire_due(store, clock) == [] and await runs_of(store, name) == []
    await store.delete_schedule("main", name)
    with pytest.raises(NotFound):
        await store.get_schedule("main", name)
    with pytest.raises(NotFound):
        await store.delete_schedule("main", name)


# --- firing ------------------------------------------------------------------------------


async def test_fire_starts_a_stamped_run_and_advances(store, clock):
    name = unique("s")
    await create(store, name, input={"n": 1}, task_queue="reports")
    clock.advance(60)
    [outcome] = await fire_due(store, clock)
    assert outcome["workflow_id"] == f"{name}-{int(clock.now)}"
    [run] = await runs_of(store, name)
    assert run.input == {"n": 1} and run.task_queue == "reports" and run.status == WorkflowStatus.PENDING
    record = await store.get_schedule("main", name)
    assert record["last_workflow_id"] == run.id and record["next_run_at"] == clock.now + 60
    assert await fire_due(store, clock) == []


async def test_ids_do_not_collide_across_namespaces(store, clock):
    await store.create_namespace("other")
    name = unique("s")
    await create(store, name)
    await create(store, name, namespace="other")
    clock.advance(60)
    ids = sorted(o["workflow_id"] for o in await fire_due(store, clock))
    assert ids == sorted([f"{name}-{int(clock.now)}", f"other:{name}-{int(clock.now)}"])


async def test_a_due_time_fires_once_under_concurrent_firers(store, clock):
    name = unique("s")
    await create(store, name, overlap_policy="allow_all")
    clock.advance(60)
    [(ns, n, due)] = await store.due_schedules(clock.now)
    results = await asyncio.gather(*(store.fire_schedule(ns, n, due, clock.now) for _ in range(8)))
    assert sum(1 for outcome, _ in results if outcome is not None) == 1
    assert len(await runs_of(store, name)) == 1


async def test_catch_up_runs_one_recent_fire_and_drops_old_ones(store, clock):
    name = unique("s")
    await create(store, name, cron_expr="*/10 * * * * *", overlap_policy="allow_all")
    clock.advance(35)  # fires at +10, +20, +30 missed: one catch-up run, for +30
    [outcome] = await fire_due(store, clock)
    assert outcome["fire_at"] == clock.now - 5 and outcome["collapsed"] == 2
    assert (await store.get_schedule("main", name))["next_run_at"] == clock.now + 5
    assert len(await runs_of(store, name)) == 1
    hourly = unique("s")
    await create(store, hourly, cron_expr="0 0 * * * *")
    clock.advance(2 * 3600 + 600)  # down for two hours: the last fire is older than the 60 s window
    outcomes = {o["schedule"]: o for o in await fire_due(store, clock)}
    assert outcomes[hourly]["action"] == "expired" and "workflow_id" not in outcomes[hourly]
    assert await runs_of(store, hourly) == []
    assert (await store.get_schedule("main", hourly))["next_run_at"] > clock.now


# --- overlap policies ------------------------------------------------------------------------


async def _two_fires(store, clock, name: str, policy: str) -> tuple[str, dict[str, Any]]:
    await create(store, name, overlap_policy=policy)
    clock.advance(60)
    [first] = await fire_due(store, clock)
    task, _ = await store.claim_workflow_task("main", "default", "w", sticky=False, lease_secs=300)
    assert task is not None and task.workflow_id == first["workflow_id"]  # now RUNNING
    clock.advance(60)
    [second] = await fire_due(store, clock)
    return first["workflow_id"], second


async def test_skip_drops_the_fire_while_previous_runs(store, clock):
    name = unique("s")
    first, second = await _two_fires(store, clock, name, "skip")
    assert second["action"] == "skip" and [r.id for r in await runs_of(store, name)] == [first]


async def test_allow_all_overlaps(store, clock):
    name = unique("s")
    _, second = await _two_fires(store, clock, name, "allow_all")
    assert second["action"] == "start" and len(await runs_of(store, name)) == 2


async def test_buffer_one_starts_once_after_previous_closes(store, clock):
    name = unique("s")
    first, second = await _two_fires(store, clock, name, "buffer_one")
    assert second["action"] == "buffer"
    clock.advance(60)
    [third] = await fire_due(store, clock)
    assert third["action"] == "skip"  # one buffered fire at most
    assert (await store.start_buffered_schedules(clock.now))[0] == []  # previous still running
    await store.terminate_workflow(first, "done")
    started, _ = await store.start_buffered_schedules(clock.now)
    assert len(started) == 1 and len(await runs_of(store, name)) == 2
    assert (await store.start_buffered_schedules(clock.now))[0] == []


async def test_cancel_other_requests_cancel_then_starts(store, clock):
    name = unique("s")
    first, second = await _two_fires(store, clock, name, "cancel_other")
    assert second["action"] == "cancel_requested"
    events = [e.event_type for e in await store.list_events(first)]
    assert "WorkflowCancelRequested" in events
    await store.terminate_workflow(first, "worker acknowledged")  # the run closes
    started, _ = await store.start_buffered_schedules(clock.now)
    assert len(started) == 1


async def test_cancel_other_of_a_pending_run_starts_at_once(store, clock):
    name = unique("s")
    await create(store, name, overlap_policy="cancel_other")
    clock.advance(60)
    [first] = await fire_due(store, clock)
    clock.advance(60)
    [second] = await fire_due(store, clock)
    assert second["action"] == "cancel_previous_then_start" and second["workflow_id"]
    assert (await store.get_workflow(first["workflow_id"])).status == WorkflowStatus.CANCELLED


async def test_terminate_other_terminates_and_starts(store, clock):
    name = unique("s")
    first, second = await _two_fires(store, clock, name, "terminate_other")
    assert second["action"] == "terminate_previous_then_start" and second["workflow_id"]
    assert (await store.get_workflow(first)).status == WorkflowStatus.FAILED
    assert (await store.get_workflow(second["workflow_id"])).status == WorkflowStatus.PENDING
