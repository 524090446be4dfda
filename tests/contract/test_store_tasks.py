"""Store contract: workflow-task leases, commands, activities, housekeeping, workers, keys."""

from __future__ import annotations

import pytest

from assay.core.commands import ScheduleActivity, parse_batch
from assay.core.model import ActivityStatus, Worker, WorkflowStatus
from assay.errors import Conflict, NotFound
from tests.contract.conftest import unique
from tests.contract.test_store_workflows import req


async def claim(store, queue="q", worker="w", ns="main", sticky=False):
    task, _ = await store.claim_workflow_task(ns, queue, worker, sticky=sticky, lease_secs=30)
    return task


async def test_claim_leases_once_and_flips_running(store):
    wid = unique()
    await store.start_workflow(req(wid))
    task = await claim(store)
    assert task.workflow_id == wid and task.lease_token and [e.event_type for e in task.history] == ["WorkflowStarted"]
    assert await claim(store, worker="other") is None
    assert (await store.get_workflow(wid)).status == WorkflowStatus.RUNNING


async def test_namespace_isolation_of_dispatch(store):
    await store.create_namespace("b")
    wid = unique()
    await store.start_workflow(req(wid, ns="b"))
    assert await claim(store, ns="main") is None
    assert (await claim(store, ns="b")).workflow_id == wid


async def test_stale_lease_rejected_and_nothing_applied(store, clock):
    wid = unique()
    await store.start_workflow(req(wid))
    first = await claim(store, worker="slow")
    clock.advance(31)
    await store.recover_expired_leases(clock())
    second = await claim(store, worker="fast")
    assert second is not None and second.lease_token != first.lease_token
    with pytest.raises(Conflict) as err:
        await store.submit_commands(wid, "slow", first.lease_token, parse_batch([{"type": "CompleteWorkflow", "result": 1}]))
    assert err.value.code == "lease_lost"
    assert (await store.get_workflow(wid)).status == WorkflowStatus.RUNNING
    await store.submit_commands(wid, "fast", second.lease_token, parse_batch([{"type": "CompleteWorkflow", "result": 2}]))
    assert (await store.get_workflow(wid)).result == 2


async def test_lease_extension(store, clock):
    wid = unique()
    await store.start_workflow(req(wid))
    task = await claim(store)
    clock.advance(20)
    expires = await store.extend_workflow_lease(wid, "w", task.lease_token, 30)
    assert expires == clock() + 30
    clock.advance(20)
    await store.recover_expired_leases(clock())
    assert await claim(store, worker="other") is None
    with pytest.raises(Conflict):
        await store.extend_workflow_lease(wid, "w", "bogus", 30)


async def test_terminal_state_is_final(store):
    wid = unique()
    await store.start_workflow(req(wid))
    task = await claim(store)
    await store.submit_commands(wid, "w", task.lease_token, parse_batch([{"type": "CompleteWorkflow", "result": "x"}]))
    with pytest.raises(Conflict):
        await store.submit_commands(wid, "w", task.lease_token, parse_batch([{"type": "FailWorkflow", "error": "late"}]))
    wf = await store.get_workflow(wid)
    assert wf.status == WorkflowStatus.COMPLETED and wf.result == "x"


async def test_commands_idempotent_on_seq_and_sticky_history(store):
    wid = unique()
    await store.start_workflow(req(wid))
    task = await claim(store, sticky=True)
    batch = parse_batch([
        {"type": "RecordSideEffect", "seq": 1, "name": "now", "value": None},
        {"type": "ScheduleActivity", "seq": 1, "name": "a", "input": 1},
        {"type": "ScheduleActivity", "seq": 2, "name": "b", "input": 2},
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 60},
        {"type": "WaitForSignal", "name": "go"},
    ])
    await store.submit_commands(wid, "w", task.lease_token, batch)
    await store.signal_workflow(wid, "poke", None)
    task = await claim(store, sticky=True)
    assert task.history_after_seq == 1 and task.history[0].seq == 2
    await store.submit_commands(wid, "w", task.lease_token, batch)  # replayed: nothing new
    types = [e.event_type for e in await store.list_events(wid)]
    assert types.count("ActivityScheduled") == 2 and types.count("SideEffectRecorded") == 1
    assert types.count("TimerScheduled") == 1 and types.count("WorkflowAwaitingSignal") == 1
    other = await store.claim_workflow_task("main", "q", "w2", sticky=True, lease_secs=30)
    assert other[0] is None


async def test_side_effect_batch_redispatches(store):
    wid = unique()
    await store.start_workflow(req(wid))
    task = await claim(store)
    _, changes = await store.submit_commands(wid, "w", task.lease_token, parse_batch([
        {"type": "UpsertSearchAttributes", "patch": {"stage": "deploy"}},
    ]))
    assert ("main", "q") in changes.workflow_queues
    assert (await store.get_workflow(wid)).search_attributes == {"stage": "deploy"}
    assert (await claim(store)) is not None


async def test_activity_lifecycle_retry_backoff_and_final_failure(store, clock):
    wid = unique()
    await store.start_workflow(req(wid))
    task = await claim(store)
    await store.submit_commands(wid, "w", task.lease_token, parse_batch([
        {"type": "ScheduleActivity", "seq": 1, "name": "flaky", "max_attempts": 2, "initial_interval_secs": 10},
    ]))
    act, _ = await store.claim_activity("main", "q", "w")
    assert act.status == ActivityStatus.RUNNING and act.attempt == 1
    outcome, _ = await store.fail_activity(act.id, "boom", 1, False)
    assert outcome["retrying"] and outcome["next_attempt_at"] == clock() + 10
    assert (await store.claim_activity("main", "q", "w"))[0] is None  # backoff honoured
    clock.advance(10)
    again, _ = await store.claim_activity("main", "q", "w")
    assert again.attempt == 2
    with pytest.raises(Conflict):
        await store.complete_activity(act.id, "late", 1)  # stale attempt
    outcome, changes = await store.fail_activity(again.id, "boom again", 2, False)
    assert not outcome["retrying"] and ("main", "q") in changes.workflow_queues
    last = (await store.list_events(wid))[-1]
    assert last.event_type == "ActivityFailed" and last.payload["final_attempt"] == 2
    assert (await store.get_activity(act.id)).status == ActivityStatus.FAILED


async def test_activity_complete_once(store):
    wid = unique()
    await store.start_workflow(req(wid))
    act, _ = await store.schedule_activity(wid, ScheduleActivity(seq=1, name="a", input=[1], task_queue="acts"))
    same, _ = await store.schedule_activity(wid, ScheduleActivity(seq=1, name="a", input=[1], task_queue="acts"))
    assert same.id == act.id
    claimed, _ = await store.claim_activity("main", "acts", "w")
    await store.complete_activity(claimed.id, {"ok": True}, None)
    with pytest.raises(Conflict):
        await store.complete_activity(claimed.id, {"ok": True}, None)
    with pytest.raises(NotFound):
        await store.complete_activity(999999, None, None)
    events = [e for e in await store.list_events(wid) if e.event_type == "ActivityCompleted"]
    assert len(events) == 1 and events[0].payload["result"] == {"ok": True}


async def test_timeouts_and_heartbeats(store, clock):
    wid = unique()
    await store.start_workflow(req(wid))
    await store.schedule_activity(wid, ScheduleActivity(seq=1, name="hb", task_queue="q", max_attempts=1, heartbeat_timeout_secs=5))
    act, _ = await store.claim_activity("main", "q", "w")
    clock.advance(4)
    assert await store.heartbeat_activity(act.id, 1) is False
    clock.advance(4)
    await store.expire_activities(clock())
    assert (await store.get_activity(act.id)).status == ActivityStatus.RUNNING
    clock.advance(6)
    changes = await store.expire_activities(clock())
    assert (await store.get_activity(act.id)).status == ActivityStatus.FAILED
    assert "heartbeat" in (await store.list_events(wid))[-1].payload["error"]
    assert changes.workflow_queues


async def test_timers_fire_once(store, clock):
    wid = unique()
    await store.start_workflow(req(wid))
    task = await claim(store)
    await store.submit_commands(wid, "w", task.lease_token, parse_batch([{"type": "ScheduleTimer", "seq": 1, "duration_secs": 2}]))
    due = await store.housekeeping_due(clock())
    assert due.next_timer_at == clock() + 2
    assert not (await store.fire_due_timers(clock())).events
    clock.advance(2)
    fired = await store.fire_due_timers(clock())
    assert [p.event.event_type for p in fired.events] == ["TimerFired"]
    assert not (await store.fire_due_timers(clock())).events


async def test_workers_and_queue_stats(store, clock):
    worker = Worker("w-1", "main", "host-1", "q", ["T"], ["a"], 5, 5, 0, clock(), clock())
    await store.register_worker(worker)
    assert await store.heartbeat_worker("w-1") is True
    assert await store.heartbeat_worker("nope") is False
    listed = await store.list_workers("main")
    assert [w.identity for w in listed] == ["host-1"] and listed[0].workflows == ["T"]
    wid = unique()
    await store.start_workflow(req(wid))
    await store.schedule_activity(wid, ScheduleActivity(seq=1, name="a", task_queue="q"))
    stats = {s["queue"]: s for s in await store.queue_stats("main")}
    assert stats["q"]["pending_activities"] == 1 and stats["q"]["pending_workflow_tasks"] == 1 and stats["q"]["workers"] == 1
    clock.advance(7200)
    assert await store.prune_workers(clock() - 3600) == 1


async def test_api_keys(store, clock):
    await store.insert_api_key("h1", "assay_1234abcd...", "ci", clock())
    assert await store.count_api_keys() == 1
    assert (await store.find_api_key("h1"))["label"] == "ci"
    assert await store.find_api_key("nope") is None
    assert [k["prefix"] for k in await store.list_api_keys()] == ["assay_1234abcd..."]
    assert await store.delete_api_keys("assay_1234abcd...") == 1
    assert await store.count_api_keys() == 0


async def test_worker_active_tasks_is_live(store, clock):
    worker = Worker("w-live", "main", "host", "q", None, None, 5, 5, 0, clock(), clock())
    await store.register_worker(worker)
    wid = unique()
    await store.start_workflow(req(wid))
    await store.claim_workflow_task("main", "q", "w-live", sticky=False, lease_secs=30)
    await store.schedule_activity(wid, ScheduleActivity(seq=1, name="a", task_queue="q"))
    await store.claim_activity("main", "q", "w-live")
    [listed] = [w for w in await store.list_workers("main") if w.id == "w-live"]
    assert listed.active_tasks == 2
