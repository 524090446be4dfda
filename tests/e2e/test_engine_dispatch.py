"""Hand-offs and speculative workflow tasks over HTTP, against a real ``assay serve``."""

from __future__ import annotations

import threading
import time

from tests.e2e.engine_process import engine_fixture
from tests.e2e.protocol_worker import ProtocolWorker, activity_cmd, complete_cmd, expect

eng = engine_fixture(name="engine-dispatch")


def _parked_poll(worker: ProtocolWorker, out: dict) -> threading.Thread:
    def run() -> None:
        started = time.monotonic()
        out["task"] = worker.poll(wait_secs=10, sticky=True)
        out["secs"] = time.monotonic() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_start_hands_the_task_to_a_parked_poll(worker: ProtocolWorker) -> None:
    got: dict = {}
    thread = _parked_poll(worker, got)
    time.sleep(0.5)  # the poll is parked
    wid = worker.start(input={"n": 1})
    thread.join(15)
    task = got["task"]
    assert task is not None and task["workflow_id"] == wid and task["lease_token"]
    assert [h["event_type"] for h in task["history"]] == ["WorkflowStarted"]
    assert got["secs"] < 5  # answered at the start, not when the wait ran out
    assert worker.describe(wid)["status"] == "RUNNING"
    assert worker.poll() is None  # leased to the parked poll only
    worker.submit(task, [complete_cmd("ok")])
    assert worker.wait_status(wid, "COMPLETED")["result"] == "ok"


def _waiting_on_one_activity(worker: ProtocolWorker) -> tuple[str, int, dict]:
    wid = worker.start()
    task = worker.next_task(wid, sticky=True)
    after = task["history"][-1]["seq"]
    worker.submit(task, [activity_cmd(1, "step", input=1)])
    return wid, after, worker.next_activity()


def _complete_with(worker: ProtocolWorker, activity: dict, after: int, commands: list, **extra) -> dict:
    body = {"result": "r1", "attempt": activity["attempt"],
            "workflow_commands": {"worker_id": worker.worker_id, "after_seq": after, "commands": commands, **extra},
            "workflow_task": {"queue": worker.queue, "worker_id": worker.worker_id, "sticky": True}}
    return expect(worker.http.post(f"/tasks/{activity['id']}/complete", json=body))


def test_result_with_speculative_commands_is_one_step(worker: ProtocolWorker) -> None:
    wid, after, activity = _waiting_on_one_activity(worker)
    reply = _complete_with(worker, activity, after, [activity_cmd(2, "step", input=2)],
                           eager_activities={"queue": worker.queue, "max": 5})
    spec = reply["workflow_commands"]
    assert spec["accepted"] is True and spec["applied"] == 1 and spec["seq"] == after + 2
    assert [a["seq"] for a in spec["activity_tasks"]] == [2]  # claimed for us in the same step
    assert reply["workflow_task"] is None  # no workflow task was needed
    reply = _complete_with(worker, spec["activity_tasks"][0], spec["seq"], [complete_cmd("done")])
    assert reply["workflow_commands"]["accepted"] is True
    done = worker.wait_status(wid, "COMPLETED")
    assert done["result"] == "done"
    assert worker.event_types(wid)[-3:] == ["ActivityScheduled", "ActivityCompleted", "WorkflowCompleted"]


def test_refused_speculation_records_the_result_and_hands_back_the_real_task(worker: ProtocolWorker) -> None:
    wid, after, activity = _waiting_on_one_activity(worker)
    expect(worker.http.post(f"/workflows/{wid}/signal/go", json={"payload": 1}))
    reply = _complete_with(worker, activity, after, [complete_cmd("too early")])
    assert reply["workflow_commands"] == {"accepted": False}
    task = reply["workflow_task"]
    assert task["history_after_seq"] == 0  # full history: the worker's run ran ahead
    assert [h["event_type"] for h in task["history"]][-2:] == ["SignalReceived", "ActivityCompleted"]
    assert worker.describe(wid)["status"] == "RUNNING"
    worker.submit(task, [complete_cmd("after signal")])
    assert worker.wait_status(wid, "COMPLETED")["result"] == "after signal"


def test_malformed_speculative_commands_are_refused_whole(worker: ProtocolWorker) -> None:
    wid, after, activity = _waiting_on_one_activity(worker)
    body = {"result": 1, "workflow_commands": {"worker_id": worker.worker_id, "after_seq": after,
                                               "commands": [{"type": "NoSuchCommand"}]}}
    response = worker.http.post(f"/tasks/{activity['id']}/complete", json=body)
    assert response.status_code in (400, 422) and response.json()["code"]
    missing = worker.http.post(f"/tasks/{activity['id']}/complete", json={"workflow_commands": {"commands": []}})
    assert missing.status_code == 422
    # Nothing was recorded: the plain result still goes through.
    expect(worker.complete_activity(activity, "plain"))
    assert worker.event_types(wid)[-1] == "ActivityCompleted"
