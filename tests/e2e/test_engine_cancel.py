"""Cancel and terminate: events, propagation to children, notification of parents, grace period."""

from __future__ import annotations

import time

from tests.e2e.engine_process import engine_fixture
from tests.e2e.protocol_worker import ProtocolWorker, activity_cmd, complete_cmd, expect, unique

GRACE_SECS = 1.0


eng = engine_fixture({"ASSAY_CANCEL_GRACE_SECS": str(GRACE_SECS)}, name="engine-cancel")


def test_cancel_of_a_pending_workflow_is_immediate(worker: ProtocolWorker) -> None:
    wid = worker.start()
    answer = expect(worker.http.post(f"/workflows/{wid}/cancel", json={"reason": "not needed"}))
    assert answer == {"workflow_id": wid, "status": "CANCELLED"}
    assert worker.event_types(wid) == ["WorkflowStarted", "WorkflowCancelRequested", "WorkflowCancelled"]
    assert worker.describe(wid)["status"] == "CANCELLED"
    assert worker.poll() is None
    again = worker.http.post(f"/workflows/{wid}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "workflow_terminal"


def test_cancel_of_a_running_workflow_goes_through_the_worker(worker: ProtocolWorker) -> None:
    wid = worker.start()
    worker.step([activity_cmd(1, "long"), activity_cmd(2, "queued", task_queue=unique("nobody"))], wid)
    running = worker.next_activity()
    assert running["seq"] == 1

    answer = expect(worker.http.post(f"/workflows/{wid}/cancel", json={"reason": "stop it"}))
    assert answer["status"] == "RUNNING"
    assert worker.describe(wid)["status"] == "RUNNING"
    # The running activity learns it from its heartbeat; the queued one is cancelled.
    assert expect(worker.heartbeat_activity(running)) == {"ok": True, "cancel_requested": True}
    queued = expect(worker.http.get(f"/activities/{running['id'] + 1}"))  # scheduled right after it
    assert queued["seq"] == 2 and queued["status"] == "CANCELLED"

    task = worker.next_task(wid)
    requested = [h["payload"] for h in task["history"] if h["event_type"] == "WorkflowCancelRequested"]
    assert requested == [{"reason": "stop it"}]
    # A second request while one is pending adds nothing.
    expect(worker.http.post(f"/workflows/{wid}/cancel"))
    worker.submit(task, [{"type": "CancelWorkflow", "reason": "stop it"}])
    wf = worker.describe(wid)
    assert wf["status"] == "CANCELLED"
    types = worker.event_types(wid)
    assert types.count("WorkflowCancelRequested") == 1 and types[-1] == "WorkflowCancelled"

    # The activity's late result is not recorded against the finished workflow.
    worker.complete_activity(running, "late")
    assert "ActivityCompleted" not in worker.event_types(wid)


def test_cancel_with_no_worker_is_finalised_after_the_grace_period(worker: ProtocolWorker) -> None:
    wid = worker.start()
    worker.step([{"type": "WaitForSignal", "name": "never"}], wid)
    requested_at = time.monotonic()
    assert expect(worker.http.post(f"/workflows/{wid}/cancel"))["status"] == "RUNNING"
    # Nobody claims the woken task: the engine finishes it once the grace period is over.
    wf = worker.wait_status(wid, "CANCELLED", timeout=GRACE_SECS + 6)
    assert time.monotonic() - requested_at >= GRACE_SECS * 0.8
    assert wf["completed_at"] is not None
    assert worker.event_types(wid)[-1] == "WorkflowCancelled"


def test_cancel_propagates_to_children(worker: ProtocolWorker) -> None:
    parent = worker.start("parent")
    child = unique("child")
    worker.step([{"type": "StartChildWorkflow", "workflow_type": "kid", "workflow_id": child}], parent)
    worker.step([{"type": "WaitForSignal", "name": "never"}], child)
    expect(worker.http.post(f"/workflows/{parent}/cancel", json={"reason": "tree"}))
    assert "WorkflowCancelRequested" in worker.event_types(child)
    # Both woken; the worker honours each request.
    for _ in range(2):
        worker.step([{"type": "CancelWorkflow", "reason": "tree"}], timeout=5)
    assert worker.describe(child)["status"] == "CANCELLED"
    assert worker.describe(parent)["status"] == "CANCELLED"


def test_terminate_writes_the_event_terminates_children_and_notifies_the_parent(worker: ProtocolWorker) -> None:
    grandparent = worker.start("gp")
    parent, child = unique("parent"), unique("child")
    worker.step([{"type": "StartChildWorkflow", "workflow_type": "p", "workflow_id": parent}], grandparent)
    worker.step([{"type": "StartChildWorkflow", "workflow_type": "c", "workflow_id": child}], parent)
    worker.step([activity_cmd(1, "work"), {"type": "ScheduleTimer", "seq": 2, "duration_secs": 60}], child)
    activity = worker.next_activity()

    answer = expect(worker.http.post(f"/workflows/{parent}/terminate", json={"reason": "operator"}))
    assert answer == {"workflow_id": parent, "status": "FAILED"}
    assert [e["payload"] for e in worker.events(parent) if e["event_type"] == "WorkflowTerminated"] == [{"reason": "operator"}]
    child_wf = worker.describe(child)
    assert child_wf["status"] == "FAILED" and worker.event_types(child)[-1] == "WorkflowTerminated"
    assert expect(worker.heartbeat_activity(activity))["cancel_requested"] is True

    failed = worker.wait_event(grandparent, "ChildWorkflowFailed")["payload"]
    assert failed["child_workflow_id"] == parent and failed["status"] == "FAILED"
    assert "operator" in failed["error"]
    task = worker.next_task(grandparent)
    worker.submit(task, [complete_cmd("survived")])
    assert worker.describe(grandparent)["status"] == "COMPLETED"
    late = worker.http.post(f"/workflows/{child}/terminate")
    assert late.status_code == 409 and late.json()["code"] == "workflow_terminal"


def test_terminate_without_body_and_unknown_ids(worker: ProtocolWorker) -> None:
    wid = worker.start()
    response = worker.http.post(f"/workflows/{wid}/terminate")
    assert expect(response)["status"] == "FAILED"
    assert [e["payload"] for e in worker.events(wid) if e["event_type"] == "WorkflowTerminated"] == [{"reason": None}]
    for action in ("cancel", "terminate"):
        missing = worker.http.post(f"/workflows/{unique('nope')}/{action}")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
