"""Store contract: workflow use cases (runs on every backend)."""

from __future__ import annotations

import pytest

from assay.core.commands import parse_batch
from assay.core.model import WorkflowStatus
from assay.errors import Conflict, InvalidInput, NotFound
from assay.store.base import StartRequest, WorkflowFilter
from tests.contract.conftest import unique


def req(wid: str, *, ns: str = "main", queue: str = "q", attrs: dict | None = None, input=None) -> StartRequest:
    return StartRequest("T", wid, f"run-{wid}", ns, queue, input, attrs)


async def test_start_writes_record_event_and_wakes_queue(store):
    wid = unique()
    wf, changes = await store.start_workflow(req(wid, input={"a": [1, 2]}))
    assert wf.status == WorkflowStatus.PENDING
    assert ("main", "q") in changes.workflow_queues
    got = await store.get_workflow(wid)
    assert got.input == {"a": [1, 2]} and got.run_id == f"run-{wid}"
    events = await store.list_events(wid)
    assert [(e.seq, e.event_type, e.payload) for e in events] == [(1, "WorkflowStarted", {"a": [1, 2]})]


async def test_duplicate_id_conflicts_naming_the_run(store):
    wid = unique()
    await store.start_workflow(req(wid))
    with pytest.raises(Conflict) as err:
        await store.start_workflow(req(wid))
    assert err.value.code == "workflow_already_exists" and f"run-{wid}" in err.value.message


async def test_unknown_namespace_is_not_found(store):
    with pytest.raises(NotFound):
        await store.start_workflow(req(unique(), ns="nope"))


async def test_get_unknown_is_none_and_events_unknown_raise(store):
    assert await store.get_workflow("missing") is None
    with pytest.raises(NotFound):
        await store.list_events("missing")


async def test_list_filters_paging_and_total(store, clock):
    await store.create_namespace("other")
    ids = []
    for i in range(5):
        clock.advance(1)
        wid = unique()
        ids.append(wid)
        await store.start_workflow(req(wid, attrs={"env": "prod" if i % 2 == 0 else "dev", "n": i, "ok": i == 0}))
    await store.start_workflow(req(unique(), ns="other"))
    rows, total = await store.list_workflows(WorkflowFilter("main", limit=2))
    assert total == 5 and [r.id for r in rows] == ids[::-1][:2]
    rows, _ = await store.list_workflows(WorkflowFilter("main", limit=2, offset=4))
    assert [r.id for r in rows] == [ids[0]]
    rows, total = await store.list_workflows(WorkflowFilter("main", search_attrs={"env": "prod"}))
    assert total == 3 and {r.id for r in rows} == {ids[0], ids[2], ids[4]}
    rows, _ = await store.list_workflows(WorkflowFilter("main", search_attrs={"env": "prod", "n": 2}))
    assert [r.id for r in rows] == [ids[2]]
    rows, _ = await store.list_workflows(WorkflowFilter("main", search_attrs={"ok": True}))
    assert [r.id for r in rows] == [ids[0]]
    rows, _ = await store.list_workflows(WorkflowFilter("main", status=WorkflowStatus.COMPLETED))
    assert rows == []
    rows, total = await store.list_workflows(WorkflowFilter("other"))
    assert total == 1


async def test_signal_appends_event_and_terminal_rejects(store):
    wid = unique()
    await store.start_workflow(req(wid))
    seq, changes = await store.signal_workflow(wid, "go", {"x": 1})
    assert seq == 2 and ("main", "q") in changes.workflow_queues
    await store.terminate_workflow(wid, "stop")
    with pytest.raises(Conflict):
        await store.signal_workflow(wid, "go", None)
    with pytest.raises(NotFound):
        await store.signal_workflow("missing", "go", None)


async def test_cancel_pending_is_immediate(store):
    wid = unique()
    await store.start_workflow(req(wid))
    wf, changes = await store.request_cancel(wid, "no longer needed")
    assert wf.status == WorkflowStatus.CANCELLED and wid in changes.finished
    types = [e.event_type for e in await store.list_events(wid)]
    assert types[-2:] == ["WorkflowCancelRequested", "WorkflowCancelled"]
    with pytest.raises(Conflict):
        await store.request_cancel(wid, None)


async def test_cancel_running_requests_and_grace_finalises(store, clock):
    wid = unique()
    await store.start_workflow(req(wid))
    task, _ = await store.claim_workflow_task("main", "q", "w1", sticky=False, lease_secs=30)
    await store.submit_commands(wid, "w1", task.lease_token, parse_batch([{"type": "ScheduleActivity", "seq": 1, "name": "a"}]))
    wf, changes = await store.request_cancel(wid, "stop")
    assert wf.status == WorkflowStatus.RUNNING and ("main", "q") in changes.workflow_queues
    activity, _ = await store.claim_activity("main", "q", "w1")
    assert activity is None  # the queued activity was cancelled
    clock.advance(61)
    changes = await store.finalize_overdue_cancels(clock(), 60)
    assert wid in changes.finished
    assert (await store.get_workflow(wid)).status == WorkflowStatus.CANCELLED


async def test_terminate_propagates_to_children_and_notifies_nothing_twice(store):
    parent = unique("parent")
    await store.start_workflow(req(parent))
    task, _ = await store.claim_workflow_task("main", "q", "w", sticky=False, lease_secs=30)
    child = unique("child")
    await store.submit_commands(parent, "w", task.lease_token, parse_batch([
        {"type": "StartChildWorkflow", "workflow_type": "C", "workflow_id": child},
    ]))
    assert (await store.get_workflow(child)).parent_id == parent
    assert [c.id for c in await store.list_children(parent)] == [child]
    wf, changes = await store.terminate_workflow(parent, "halt")
    assert wf.status == WorkflowStatus.FAILED and {parent, child} <= changes.finished.keys()
    assert (await store.get_workflow(child)).status == WorkflowStatus.FAILED
    assert (await store.list_events(parent))[-1].event_type == "WorkflowTerminated"
    with pytest.raises(Conflict):
        await store.terminate_workflow(parent, None)


async def test_continue_as_new_links_runs(store):
    wid = unique()
    await store.start_workflow(req(wid, attrs={"k": "v"}))
    new, _ = await store.continue_as_new(wid, {"n": 2}, None)
    assert new.id == f"{wid}-continued-1" and new.continued_from == wid and new.input == {"n": 2}
    assert new.search_attributes == {"k": "v"}
    old = await store.get_workflow(wid)
    assert old.status == WorkflowStatus.COMPLETED and old.continued_to == new.id
    newer, _ = await store.continue_as_new(new.id, None, None)
    assert newer.id == f"{wid}-continued-2"


async def test_snapshot_roundtrip(store):
    wid = unique()
    await store.start_workflow(req(wid))
    assert await store.get_snapshot(wid) is None
    task, _ = await store.claim_workflow_task("main", "q", "w", sticky=False, lease_secs=30)
    await store.submit_commands(wid, "w", task.lease_token, parse_batch([
        {"type": "RecordSnapshot", "state": {"pipeline_state": {"steps": []}}},
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 5},
    ]))
    snap = await store.get_snapshot(wid)
    assert snap.state == {"pipeline_state": {"steps": []}} and snap.event_seq >= 1


async def test_namespaces(store):
    created = await store.create_namespace("team-a")
    assert created["name"] == "team-a"
    with pytest.raises(Conflict):
        await store.create_namespace("team-a")
    with pytest.raises(InvalidInput):
        await store.create_namespace("bad name!")
    assert {n["name"] for n in await store.list_namespaces()} >= {"main", "team-a"}
    await store.start_workflow(req(unique(), ns="team-a"))
    stats = await store.namespace_stats("team-a")
    assert stats["total_workflows"] == 1 and stats["pending"] == 1
    with pytest.raises(Conflict):
        await store.delete_namespace("team-a")  # not empty
    with pytest.raises(Conflict):
        await store.delete_namespace("main")
    await store.create_namespace("empty")
    await store.delete_namespace("empty")
    with pytest.raises(NotFound):
        await store.namespace_stats("empty")


async def test_events_in_ranges_returns_each_range_with_namespace_and_status(store):
    a, b = unique(), unique()
    await store.start_workflow(req(a, input=1))
    await store.start_workflow(req(b, input=2))
    await store.signal_workflow(a, "go", {"n": 1})
    await store.signal_workflow(a, "go", {"n": 2})
    found = await store.events_in_ranges([(a, 2, 3), (b, 1, 1), (a, 9, 12), ("missing", 1, 5)])
    assert [[(e.workflow_id, e.seq, e.event_type) for e, _, _ in group] for group in found] == [
        [(a, 2, "SignalReceived"), (a, 3, "SignalReceived")], [(b, 1, "WorkflowStarted")], [], [],
    ]
    event, namespace, status = found[0][1]
    assert event.payload == {"signal": "go", "payload": {"n": 2}}
    assert (namespace, status) == ("main", "PENDING")
