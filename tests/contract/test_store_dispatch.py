"""Store contract: hand-offs at start, lease release, and speculative workflow tasks."""

from __future__ import annotations

import pytest

from assay.core.commands import parse_batch
from assay.core.model import Activity, WorkflowStatus, WorkflowTask
from assay.errors import Conflict
from assay.store.base import EagerActivities, HandBack, Speculation
from tests.contract.conftest import unique
from tests.contract.test_store_tasks import claim
from tests.contract.test_store_workflows import req


def hand(worker: str = "w", sticky: bool = True) -> HandBack:
    return HandBack(worker, "main", "q", sticky, 30)


async def test_start_hands_its_first_task_to_the_parked_worker(store):
    wid = unique()
    wf, changes = await store.start_workflow(req(wid, input=7), hand_back=hand("parked"))
    task = next(t for t in changes.handed_back if isinstance(t, WorkflowTask))
    assert task.workflow_id == wid and task.lease_token and task.input == 7
    assert [e.event_type for e in task.history] == ["WorkflowStarted"]
    # Claimed in the start's own transaction: nobody else is woken for it or can take it.
    assert ("main", "q") not in changes.workflow_queues
    assert wf.status == WorkflowStatus.RUNNING
    assert await claim(store, worker="other") is None
    await store.submit_commands(wid, "parked", task.lease_token, parse_batch([{"type": "CompleteWorkflow", "result": 1}]))
    assert (await store.get_workflow(wid)).result == 1


async def test_released_lease_is_claimable_at_once_with_full_history(store):
    wid = unique()
    _, changes = await store.start_workflow(req(wid), hand_back=hand("gone"))
    task = changes.handed_back[0]
    assert (await store.release_workflow_lease(wid, "not-the-token")).workflow_queues == set()
    assert await claim(store, worker="other") is None  # a wrong token releases nothing
    released = await store.release_workflow_lease(wid, task.lease_token)
    assert ("main", "q") in released.workflow_queues
    again = await claim(store, worker="gone", sticky=True)
    assert again is not None and again.history_after_seq == 0 and again.lease_token != task.lease_token


async def _waiting_on_one_activity(store, worker: str = "w"):
    """A workflow whose sticky worker's last batch scheduled one activity, now claimed."""
    wid = unique()
    await store.start_workflow(req(wid))
    task = await claim(store, worker=worker, sticky=True)
    after = task.history[-1].seq
    await store.submit_commands(wid, worker, task.lease_token, parse_batch([
        {"type": "ScheduleActivity", "seq": 1, "name": "step", "input": 1},
    ]))
    activity, _ = await store.claim_activity("main", "q", worker)
    return wid, after, activity


async def test_speculation_applies_the_batch_in_the_completing_transaction(store):
    wid, after, activity = await _waiting_on_one_activity(store)
    spec = Speculation("w", after, parse_batch([
        {"type": "ScheduleActivity", "seq": 2, "name": "step", "input": 2},
    ]), EagerActivities("main", "q", 5))
    changes = await store.complete_activity(activity.id, 10, None, hand_back=hand(), speculation=spec)
    applied, seq = changes.speculation
    assert applied == 1 and seq == after + 2
    # No workflow task was needed: nothing handed back but the next activity, claimed for us.
    assert not any(isinstance(t, WorkflowTask) for t in changes.handed_back)
    nxt = [a for a in changes.handed_back if isinstance(a, Activity)]
    assert [(a.seq, a.input) for a in nxt] == [(2, 2)]
    assert await claim(store, worker="other") is None
    events = await store.list_events(wid)
    assert [e.event_type for e in events][-3:] == ["ActivityScheduled", "ActivityCompleted", "ActivityScheduled"]
    # The sticky mark moved to the completion: the next task starts after it.
    changes = await store.complete_activity(nxt[0].id, 20, None, hand_back=hand())
    task = changes.handed_back[0]
    assert task.history_after_seq == seq and [e.event_type for e in task.history] == ["ActivityScheduled", "ActivityCompleted"]


async def test_speculation_can_complete_the_workflow(store):
    wid, after, activity = await _waiting_on_one_activity(store)
    spec = Speculation("w", after, parse_batch([{"type": "CompleteWorkflow", "result": "done"}]))
    changes = await store.complete_activity(activity.id, 1, None, speculation=spec)
    assert changes.speculation is not None and wid in changes.finished
    wf = await store.get_workflow(wid)
    assert wf.status == WorkflowStatus.COMPLETED and wf.result == "done"


async def test_speculation_refused_when_something_else_happened(store):
    wid, after, activity = await _waiting_on_one_activity(store)
    await store.signal_workflow(wid, "poke", {"x": 1})  # the worker's run has not seen this
    spec = Speculation("w", after, parse_batch([{"type": "CompleteWorkflow", "result": "wrong"}]))
    changes = await store.complete_activity(activity.id, 5, None, hand_back=hand(), speculation=spec)
    assert changes.speculation is None
    assert (await store.get_workflow(wid)).status == WorkflowStatus.RUNNING  # batch not applied
    # The result is recorded and the real task handed back with full history (the worker
    # dropped its run, whose state ran ahead).
    task = next(t for t in changes.handed_back if isinstance(t, WorkflowTask))
    assert task.history_after_seq == 0
    types = [e.event_type for e in task.history]
    assert types[-2:] == ["SignalReceived", "ActivityCompleted"]


async def test_speculation_refused_for_another_worker(store):
    wid, after, activity = await _waiting_on_one_activity(store)
    batch = parse_batch([{"type": "CompleteWorkflow", "result": "x"}])
    changes = await store.complete_activity(activity.id, 5, None, speculation=Speculation("intruder", after, batch))
    assert changes.speculation is None and ("main", "q") in changes.workflow_queues
    assert (await store.get_workflow(wid)).status == WorkflowStatus.RUNNING


async def test_speculation_refused_for_a_stale_view(store):
    wid, after, activity = await _waiting_on_one_activity(store)
    batch = parse_batch([{"type": "CompleteWorkflow", "result": "x"}])
    changes = await store.complete_activity(activity.id, 5, None, speculation=Speculation("w", after - 1, batch))
    assert changes.speculation is None
    assert (await store.get_workflow(wid)).status == WorkflowStatus.RUNNING


async def test_start_hand_off_sets_the_sticky_mark_and_publishes_like_a_claim(store):
    wid = unique()
    _, changes = await store.start_workflow(req(wid, input=1), hand_back=hand("w"))
    task = changes.handed_back[0]
    assert [e.seq for e in task.history] == [1] and task.history_after_seq == 0
    # Observers see what a start followed by a claim shows: the event while PENDING, then running.
    assert [(p.event.event_type, p.status) for p in changes.events] == [("WorkflowStarted", "PENDING")]
    assert changes.running == [(wid, "main")]
    await store.submit_commands(wid, "w", task.lease_token, parse_batch([{"type": "ScheduleTimer", "seq": 1, "duration_secs": 60}]))
    await store.signal_workflow(wid, "go", None)
    again = await claim(store, worker="w", sticky=True)
    # Sticky from the first task on: only what came after the history it was handed.
    assert again.history_after_seq == 1
    assert [e.event_type for e in again.history] == ["TimerScheduled", "SignalReceived"]


async def test_start_hand_off_for_another_queue_leaves_the_run_claimable(store):
    wid = unique()
    other = HandBack("w", "main", "elsewhere", True, 30)
    wf, changes = await store.start_workflow(req(wid), hand_back=other)
    assert changes.handed_back == [] and wf.status == WorkflowStatus.PENDING
    assert ("main", "q") in changes.workflow_queues
    assert (await claim(store, worker="poller")).workflow_id == wid


async def test_duplicate_start_with_a_hand_off_conflicts_and_leases_nothing(store):
    wid = unique()
    await store.start_workflow(req(wid))
    with pytest.raises(Conflict) as err:
        await store.start_workflow(req(wid), hand_back=hand("w"))
    assert err.value.code == "workflow_already_exists"
    task = await claim(store, worker="poller")
    assert task is not None and task.workflow_id == wid  # still claimable: the failed start leased nothing


async def _batch_of_three(store, eager_max: int):
    wid = unique()
    _, changes = await store.start_workflow(req(wid), hand_back=hand("w"))
    task = changes.handed_back[0]
    _, changes = await store.submit_commands(wid, "w", task.lease_token, parse_batch([
        {"type": "ScheduleActivity", "seq": i, "name": "step", "input": i} for i in (1, 2, 3)
    ]), eager=EagerActivities("main", "q", eager_max))
    return wid, changes


async def test_eager_activities_take_at_most_max_and_leave_the_rest_announced(store):
    wid, changes = await _batch_of_three(store, 2)
    taken = [a for a in changes.handed_back if isinstance(a, Activity)]
    assert [(a.seq, a.status.value, a.claimed_by) for a in taken] == [(1, "RUNNING", "w"), (2, "RUNNING", "w")]
    assert ("main", "q") in changes.activity_queues  # one is left for the pollers: they are woken
    left, _ = await store.claim_activity("main", "q", "poller")
    assert left is not None and (left.workflow_id, left.seq) == (wid, 3)


async def test_eager_activities_that_take_everything_wake_no_poller(store):
    _, changes = await _batch_of_three(store, 3)
    assert len([a for a in changes.handed_back if isinstance(a, Activity)]) == 3
    assert ("main", "q") not in changes.activity_queues
    none_left, _ = await store.claim_activity("main", "q", "poller")
    assert none_left is None


async def _sleeping(store, clock, worker: str = "w") -> str:
    """A workflow whose (sticky) worker's last batch started a 2 s timer."""
    wid = unique()
    _, changes = await store.start_workflow(req(wid), hand_back=hand(worker))
    task = changes.handed_back[0]
    await store.submit_commands(wid, worker, task.lease_token,
                                parse_batch([{"type": "ScheduleTimer", "seq": 1, "duration_secs": 2}]))
    return wid


async def test_fired_timer_hands_its_task_to_the_parked_worker(store, clock):
    wid = await _sleeping(store, clock)
    clock.advance(2)
    changes = await store.fire_due_timers(clock(), hand_backs={("main", "q"): hand("w")})
    task = next(t for t in changes.handed_back if isinstance(t, WorkflowTask))
    assert task.workflow_id == wid
    # Sticky: only what the worker has not seen (its timer's scheduling and firing).
    assert [e.event_type for e in task.history] == ["TimerScheduled", "TimerFired"] and task.history_after_seq == 1
    assert ("main", "q") not in changes.workflow_queues  # nobody else is woken for it
    assert await claim(store, worker="other") is None


async def test_one_hand_off_per_queue_and_the_rest_still_wakes_pollers(store, clock):
    first, second = await _sleeping(store, clock), await _sleeping(store, clock)
    clock.advance(2)
    changes = await store.fire_due_timers(clock(), hand_backs={("main", "q"): hand("w")})
    handed = [t.workflow_id for t in changes.handed_back if isinstance(t, WorkflowTask)]
    assert len(handed) == 1 and handed[0] in (first, second)
    assert ("main", "q") in changes.workflow_queues  # the other woken task is announced
    other = await claim(store, worker="poller")
    assert other is not None and {other.workflow_id, handed[0]} == {first, second}


async def test_a_hand_off_offered_for_another_queue_takes_nothing(store, clock):
    await _sleeping(store, clock)
    clock.advance(2)
    changes = await store.fire_due_timers(clock(), hand_backs={("main", "elsewhere"): hand("w")})
    assert changes.handed_back == [] and ("main", "q") in changes.workflow_queues
