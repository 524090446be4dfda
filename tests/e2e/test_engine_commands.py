"""Every worker command against a real ``assay serve``, and the events each one writes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.engine_process import engine_fixture
from tests.e2e.protocol_worker import ProtocolWorker, activity_cmd, complete_cmd, expect, unique

eng = engine_fixture(name="engine-commands")


def payloads(worker: ProtocolWorker, workflow_id: str, event_type: str) -> list[object]:
    return [e["payload"] for e in worker.events(workflow_id) if e["event_type"] == event_type]


# --- activities ----------------------------------------------------------------------------------


def test_schedule_activity_batch_writes_one_event_each_and_results_wake_the_workflow(worker: ProtocolWorker) -> None:
    wid = worker.start(input={"n": 3})
    task = worker.next_task(wid)
    assert task["input"] == {"n": 3}
    assert [h["event_type"] for h in task["history"]] == ["WorkflowStarted"]
    assert task["history_after_seq"] == 0
    batch = [activity_cmd(i, f"step{i}", input={"i": i}) for i in (1, 2, 3)]
    assert worker.submit(task, batch) == {"ok": True, "applied": 3}

    scheduled = payloads(worker, wid, "ActivityScheduled")
    assert [(p["activity_seq"], p["name"], p["input"]) for p in scheduled] == [
        (1, "step1", {"i": 1}), (2, "step2", {"i": 2}), (3, "step3", {"i": 3}),
    ]
    assert worker.describe(wid)["status"] == "RUNNING"

    claimed = [worker.next_activity() for _ in range(3)]
    assert sorted(a["seq"] for a in claimed) == [1, 2, 3]
    first = claimed[0]
    assert first["status"] == "RUNNING" and first["attempt"] == 1 and first["claimed_by"] == worker.worker_id
    # Defaults of the contract.
    assert (first["max_attempts"], first["initial_interval_secs"], first["backoff_coefficient"],
            first["start_to_close_secs"]) == (3, 1.0, 2.0, 300.0)
    assert worker.poll_activity() is None
    for activity in claimed:
        expect(worker.complete_activity(activity, {"done": activity["seq"]}))
    assert expect(worker.http.get(f"/activities/{first['id']}"))["status"] == "COMPLETED"

    task = worker.next_task(wid)
    completed = [h["payload"] for h in task["history"] if h["event_type"] == "ActivityCompleted"]
    assert sorted((p["activity_seq"], p["result"]["done"]) for p in completed) == [(1, 1), (2, 2), (3, 3)]
    assert all(p["name"] == f"step{p['activity_seq']}" and p["activity_id"] for p in completed)
    worker.submit(task, [complete_cmd("ok")])
    assert worker.describe(wid)["status"] == "COMPLETED"


def test_schedule_activity_is_idempotent_on_seq_and_honours_task_queue(worker: ProtocolWorker) -> None:
    other_queue = unique("acts")
    wid = worker.start()
    task = worker.next_task(wid)
    worker.submit(task, [activity_cmd(1, "a", task_queue=other_queue), {"type": "ScheduleTimer", "seq": 2, "duration_secs": 0.05}])
    task = worker.next_task(wid)  # woken by the timer
    # The same seq again (a replaying worker) changes nothing.
    worker.submit(task, [activity_cmd(1, "a", task_queue=other_queue)])
    assert worker.event_types(wid).count("ActivityScheduled") == 1
    assert worker.poll_activity() is None  # not on the workflow's queue
    activity = worker.next_activity(queue=other_queue)
    assert activity["task_queue"] == other_queue and activity["seq"] == 1
    assert worker.poll_activity(queue=other_queue) is None


def test_rest_scheduled_activity_is_idempotent_on_seq(worker: ProtocolWorker) -> None:
    wid = worker.start()
    body = {"name": "rest-act", "seq": 7, "task_queue": worker.queue, "input": [1, 2]}
    first = expect(worker.http.post(f"/workflows/{wid}/activities", json=body), 201)
    second = expect(worker.http.post(f"/workflows/{wid}/activities", json=body), 201)
    assert first["id"] == second["id"] and first["input"] == [1, 2] and first["status"] == "PENDING"
    assert worker.event_types(wid).count("ActivityScheduled") == 1


# --- timers and signals -----------------------------------------------------------------------------


def test_schedule_timer_fires_once_on_time(worker: ProtocolWorker) -> None:
    wid = worker.start()
    task = worker.next_task(wid)
    worker.submit(task, [{"type": "ScheduleTimer", "seq": 1, "duration_secs": 0.3}])
    (scheduled,) = payloads(worker, wid, "TimerScheduled")
    assert scheduled["timer_seq"] == 1 and scheduled["duration_secs"] == 0.3
    task = worker.next_task(wid, timeout=5)
    fired = [h for h in task["history"] if h["event_type"] == "TimerFired"]
    assert len(fired) == 1 and fired[0]["payload"]["timer_seq"] == 1
    assert fired[0]["payload"]["fire_at"] == pytest.approx(scheduled["fire_at"])
    lateness = fired[0]["timestamp"] - scheduled["fire_at"]
    assert 0 <= lateness < 0.5
    # Re-scheduling the same seq (replay) does not arm a second timer.
    worker.submit(task, [{"type": "ScheduleTimer", "seq": 1, "duration_secs": 0.3}])
    time.sleep(0.5)
    assert worker.event_types(wid).count("TimerScheduled") == 1
    assert worker.event_types(wid).count("TimerFired") == 1
    assert worker.poll() is None


def test_wait_for_signal_then_signal_wakes_the_workflow(worker: ProtocolWorker) -> None:
    wid = worker.start()
    task = worker.next_task(wid)
    worker.submit(task, [{"type": "WaitForSignal", "name": "go"}])
    assert payloads(worker, wid, "WorkflowAwaitingSignal") == [{"signal": "go"}]
    assert worker.poll() is None

    answer = expect(worker.http.post(f"/workflows/{wid}/signal/go", json={"payload": {"v": 1}}))
    assert answer["workflow_id"] == wid and answer["signal"] == "go" and isinstance(answer["seq"], int)
    task = worker.next_task(wid)
    received = [h["payload"] for h in task["history"] if h["event_type"] == "SignalReceived"]
    assert received == [{"signal": "go", "payload": {"v": 1}}]
    # Waiting again for the same name after it arrived is a new wait (a second event).
    worker.submit(task, [{"type": "WaitForSignal", "name": "go"}])
    task_types = worker.event_types(wid)
    assert task_types.count("WorkflowAwaitingSignal") == 2
    # ...but repeating the same wait (replay) does not add a third.
    expect(worker.http.post(f"/workflows/{wid}/signal/other"))
    task = worker.next_task(wid)
    worker.submit(task, [{"type": "WaitForSignal", "name": "go"}])
    assert worker.event_types(wid).count("WorkflowAwaitingSignal") == 2


def test_wait_for_signal_with_timeout_timer(worker: ProtocolWorker) -> None:
    wid = worker.start()
    task = worker.next_task(wid)
    worker.submit(task, [
        {"type": "ScheduleTimer", "seq": 1, "duration_secs": 0.2},
        {"type": "WaitForSignal", "name": "approve", "timer_seq": 1},
    ])
    assert payloads(worker, wid, "WorkflowAwaitingSignal") == [{"signal": "approve", "timer_seq": 1}]
    task = worker.next_task(wid, timeout=5)
    assert [h["payload"]["timer_seq"] for h in task["history"] if h["event_type"] == "TimerFired"] == [1]
    worker.submit(task, [complete_cmd({"approved": False})])
    assert worker.describe(wid)["result"] == {"approved": False}


# --- side effects, search attributes, snapshots -----------------------------------------------------


def test_record_side_effect_is_idempotent_and_redispatches_at_once(worker: ProtocolWorker) -> None:
    wid = worker.start()
    task = worker.next_task(wid)
    worker.submit(task, [
        {"type": "RecordSideEffect", "seq": 1, "name": "uuid", "value": "abc"},
        {"type": "RecordSideEffect", "seq": 2, "name": "nothing", "value": None},
        {"type": "RecordSideEffect", "seq": 3, "name": "absent"},
    ])
    # Non-blocking batch: the task is claimable again at once.
    task = worker.next_task(wid, timeout=2)
    recorded = [h["payload"] for h in task["history"] if h["event_type"] == "SideEffectRecorded"]
    assert recorded == [
        {"side_effect_seq": 1, "name": "uuid", "value": "abc"},
        {"side_effect_seq": 2, "name": "nothing", "value": None},
        {"side_effect_seq": 3, "name": "absent", "value": None},
    ]
    # Replay sends seq 1 again with a different value: the recorded one stands.
    worker.submit(task, [{"type": "RecordSideEffect", "seq": 1, "name": "uuid", "value": "xyz"},
                         complete_cmd()])
    assert payloads(worker, wid, "SideEffectRecorded")[0]["value"] == "abc"
    assert worker.event_types(wid).count("SideEffectRecorded") == 3


def test_upsert_search_attributes_redispatches_and_is_searchable(worker: ProtocolWorker) -> None:
    tag = unique("tag")
    wid = worker.start(search_attributes={"keep": 1, "stage": "new"})
    task = worker.next_task(wid)
    worker.submit(task, [{"type": "UpsertSearchAttributes", "patch": {"stage": "billing", "tag": tag}}])
    t0 = time.monotonic()
    task = worker.next_task(wid, timeout=2)  # not stalled: dispatched again at once
    assert time.monotonic() - t0 < 1.0
    assert [h["payload"] for h in task["history"] if h["event_type"] == "SearchAttributesUpserted"] == [
        {"patch": {"stage": "billing", "tag": tag}}
    ]
    attrs = worker.describe(wid)["search_attributes"]
    assert attrs["keep"] == 1 and attrs["stage"] == "billing" and attrs["tag"] == tag

    found = worker.http.get("/workflows", params={"search_attrs": json.dumps({"tag": tag, "stage": "billing"})})
    assert [w["id"] for w in expect(found)] == [wid] and found.headers["X-Total-Count"] == "1"
    none = worker.http.get("/workflows", params={"search_attrs": json.dumps({"tag": tag, "stage": "new"})})
    assert expect(none) == []
    assert worker.http.get("/workflows", params={"search_attrs": "[1]"}).status_code == 422
    assert worker.http.get("/workflows", params={"search_attrs": "{nope"}).status_code == 422
    worker.submit(task, [complete_cmd()])


def test_record_snapshot_serves_state_queries(worker: ProtocolWorker) -> None:
    wid = worker.start()
    assert worker.http.get(f"/workflows/{wid}/state").status_code == 404
    task = worker.next_task(wid)
    worker.submit(task, [{"type": "RecordSnapshot", "state": {"progress": 0.5, "items": [1, 2]}},
                         {"type": "ScheduleTimer", "seq": 1, "duration_secs": 60}])
    state = expect(worker.http.get(f"/workflows/{wid}/state"))
    assert state["state"] == {"progress": 0.5, "items": [1, 2]}
    assert isinstance(state["event_seq"], int) and state["event_seq"] >= 1 and state["created_at"] > 0
    value = expect(worker.http.get(f"/workflows/{wid}/state/items"))
    assert value["value"] == [1, 2] and value["event_seq"] == state["event_seq"]
    missing = worker.http.get(f"/workflows/{wid}/state/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert worker.http.get("/workflows/no-such-wf/state").status_code == 404
    # A snapshot-only batch does not block the workflow.
    expect(worker.http.post(f"/workflows/{wid}/signal/poke"))
    task = worker.next_task(wid)
    worker.submit(task, [{"type": "RecordSnapshot", "state": {"progress": 1.0}}])
    assert expect(worker.http.get(f"/workflows/{wid}/state/progress"))["value"] == 1.0


# --- children ---------------------------------------------------------------------------------------


def test_child_workflow_completed_and_failed_reach_the_parent(worker: ProtocolWorker) -> None:
    parent = worker.start("parent")
    ok_child, bad_child = unique("child-ok"), unique("child-bad")
    task = worker.next_task(parent)
    worker.submit(task, [
        {"type": "StartChildWorkflow", "workflow_type": "kid", "workflow_id": ok_child, "input": {"k": 1}},
        {"type": "StartChildWorkflow", "workflow_type": "kid", "workflow_id": bad_child},
    ])
    started = payloads(worker, parent, "ChildWorkflowStarted")
    assert [p["child_workflow_id"] for p in started] == [ok_child, bad_child]
    assert all(p["workflow_type"] == "kid" and p["run_id"] for p in started)
    children = expect(worker.http.get(f"/workflows/{parent}/children"))
    # Both started in one transaction (same created_at): order among them is not specified.
    assert sorted(c["id"] for c in children) == sorted([ok_child, bad_child])
    assert all(c["parent_id"] == parent and c["namespace"] == "main" and c["task_queue"] == worker.queue for c in children)

    for _ in range(2):
        task = worker.next_task()
        if task["workflow_id"] == ok_child:
            assert task["input"] == {"k": 1}
            worker.submit(task, [complete_cmd({"kid": "done"})])
        else:
            assert task["workflow_id"] == bad_child
            worker.submit(task, [{"type": "FailWorkflow", "error": "kid broke"}])

    task = worker.next_task(parent)
    outcomes = {h["event_type"]: h["payload"] for h in task["history"] if h["event_type"].startswith("ChildWorkflow") and h["event_type"] != "ChildWorkflowStarted"}
    assert outcomes["ChildWorkflowCompleted"] == {"child_workflow_id": ok_child, "result": {"kid": "done"}}
    failed = outcomes["ChildWorkflowFailed"]
    assert failed["child_workflow_id"] == bad_child and failed["status"] == "FAILED" and "kid broke" in failed["error"]


def test_start_child_with_an_id_owned_by_another_workflow_fails_the_call(worker: ProtocolWorker) -> None:
    taken = worker.start("other")
    parent = worker.start("parent")
    for _ in range(2):
        task = worker.next_task()
        if task["workflow_id"] == parent:
            worker.submit(task, [{"type": "StartChildWorkflow", "workflow_type": "kid", "workflow_id": taken}])
        else:
            worker.submit(task, [{"type": "WaitForSignal", "name": "never"}])
    failed = worker.wait_event(parent, "ChildWorkflowFailed")["payload"]
    assert failed["child_workflow_id"] == taken and "already in use" in failed["error"]


# --- continue-as-new ----------------------------------------------------------------------------


def test_continue_as_new_links_runs_and_moves_the_parent_link(worker: ProtocolWorker) -> None:
    parent = worker.start("parent")
    child = unique("looping")
    worker.step([{"type": "StartChildWorkflow", "workflow_type": "loop", "workflow_id": child, "input": 1}], parent)
    task = worker.next_task(child)
    worker.submit(task, [{"type": "ContinueAsNew", "input": 2}])

    old = worker.describe(child)
    assert old["status"] == "COMPLETED"
    (continued,) = payloads(worker, child, "WorkflowContinuedAsNew")
    new_id = continued["new_workflow_id"]
    assert old["continued_to"] == new_id and continued["new_run_id"]
    new = worker.describe(new_id)
    assert new["continued_from"] == child and new["parent_id"] == parent and new["input"] == 2
    assert new["run_id"] == continued["new_run_id"] and new["workflow_type"] == "loop"
    # The parent is not told the chain ended: it has not.
    assert "ChildWorkflowCompleted" not in worker.event_types(parent)

    task = worker.next_task(new_id)
    assert task["input"] == 2 and [h["event_type"] for h in task["history"]] == ["WorkflowStarted"]
    worker.submit(task, [complete_cmd("chain done")])
    done = worker.wait_event(parent, "ChildWorkflowCompleted")["payload"]
    assert done == {"child_workflow_id": new_id, "result": "chain done"}


def test_continue_as_new_over_rest(worker: ProtocolWorker) -> None:
    wid = worker.start("loop")
    started = expect(worker.http.post(f"/workflows/{wid}/continue-as-new", json={"input": {"round": 2}}), 201)
    assert started["workflow_id"] != wid and started["status"] == "PENDING" and started["run_id"]
    assert worker.describe(wid)["continued_to"] == started["workflow_id"]
    assert worker.describe(started["workflow_id"])["input"] == {"round": 2}
    # Chain ids count up.
    again = expect(worker.http.post(f"/workflows/{started['workflow_id']}/continue-as-new"), 201)
    assert again["workflow_id"].endswith("-continued-2")


# --- run-ending commands; terminal states are final -----------------------------------------------


@pytest.mark.parametrize(
    ("command", "status", "event", "check"),
    [
        (complete_cmd({"a": [1, None, "x"]}), "COMPLETED", "WorkflowCompleted", {"a": [1, None, "x"]}),
        ({"type": "FailWorkflow", "error": "bad input"}, "FAILED", "WorkflowFailed", {"error": "bad input"}),
        ({"type": "CancelWorkflow", "reason": "user asked"}, "CANCELLED", "WorkflowCancelled", {"reason": "user asked"}),
    ],
)
def test_run_ending_commands_are_final(worker: ProtocolWorker, command: dict, status: str, event: str, check: object) -> None:
    wid = worker.start()
    task = worker.next_task(wid)
    worker.submit(task, [{"type": "ScheduleTimer", "seq": 1, "duration_secs": 30}, command])
    wf = worker.describe(wid)
    assert wf["status"] == status and wf["completed_at"] is not None
    assert payloads(worker, wid, event) == [check]
    result = expect(worker.http.get(f"/workflows/{wid}/result"))
    assert result["status"] == status
    if status == "COMPLETED":
        assert wf["result"] == check and result["result"] == check
    elif status == "FAILED":
        assert wf["error"] == "bad input" and result["error"] == "bad input"

    before = worker.events(wid)
    # Late commands with the spent lease are refused, and change nothing.
    late = worker.submit_raw(task, [complete_cmd("again")])
    assert late.status_code == 409 and late.json()["code"] == "workflow_terminal"
    signal = worker.http.post(f"/workflows/{wid}/signal/late", json={"payload": 1})
    assert signal.status_code == 409 and signal.json()["code"] == "workflow_terminal"
    for action in ("cancel", "terminate"):
        response = worker.http.post(f"/workflows/{wid}/{action}")
        assert response.status_code == 409 and response.json()["code"] == "workflow_terminal"
    assert worker.events(wid) == before
    assert worker.describe(wid)["status"] == status
    assert worker.poll() is None


def test_result_long_poll_returns_when_the_run_ends(worker: ProtocolWorker) -> None:
    import threading

    wid = worker.start()
    answers: list[dict] = []
    def wait_for_result() -> None:
        with worker.engine.client() as client:
            answers.append(expect(client.get(f"/workflows/{wid}/result", params={"wait_secs": 10})))

    waiter = threading.Thread(target=wait_for_result)
    waiter.start()
    time.sleep(0.2)
    worker.step([complete_cmd(42)], wid)
    t0 = time.monotonic()
    waiter.join(10)
    assert time.monotonic() - t0 < 1.0
    assert answers[0]["status"] == "COMPLETED" and answers[0]["result"] == 42


def test_a_terminal_command_must_end_its_batch(worker: ProtocolWorker) -> None:
    wid = worker.start()
    task = worker.next_task(wid)
    bad = worker.submit_raw(task, [complete_cmd(), activity_cmd(1)])
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    # Nothing applied, the lease is still held: a valid batch goes through.
    worker.submit(task, [complete_cmd()])
    assert worker.event_types(wid) == ["WorkflowStarted", "WorkflowCompleted"]


def test_workflow_list_filters(worker: ProtocolWorker) -> None:
    wtype = unique("listed")
    ids = [worker.start(wtype) for _ in range(3)]
    listed = worker.http.get("/workflows", params={"type": wtype})
    assert [w["id"] for w in expect(listed)] == ids[::-1]  # newest first
    assert listed.headers["X-Total-Count"] == "3"
    page = expect(worker.http.get("/workflows", params={"type": wtype, "limit": 1, "offset": 1}))
    assert [w["id"] for w in page] == [ids[1]]
    worker.step([complete_cmd()], ids[0])
    done = expect(worker.http.get("/workflows", params={"type": wtype, "status": "COMPLETED"}))
    assert [w["id"] for w in done] == [ids[0]]
    assert len(expect(worker.http.get("/workflows", params={"type": wtype, "status": "pending"}))) == 2


def test_events_long_poll_after_seq(worker: ProtocolWorker) -> None:
    wid = worker.start()
    assert [e["seq"] for e in worker.events(wid)] == [1]
    t0 = time.monotonic()
    assert expect(worker.http.get(f"/workflows/{wid}/events", params={"after_seq": 1, "wait_secs": 0.3})) == []
    assert time.monotonic() - t0 >= 0.25
    assert worker.http.get("/workflows/nope-nope/events").status_code == 404
