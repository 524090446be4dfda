"""Activity retries with backoff, start-to-close and heartbeat timeouts, stale attempts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.engine_process import engine_fixture
from tests.e2e.protocol_worker import ProtocolWorker, activity_cmd, complete_cmd, expect

eng = engine_fixture(name="engine-activities")


def schedule(worker: ProtocolWorker, **fields: Any) -> str:
    wid = worker.start()
    worker.step([activity_cmd(1, "flaky", **fields)], wid)
    return wid


def final_failure(worker: ProtocolWorker, wid: str) -> dict[str, Any]:
    task = worker.next_task(wid, timeout=10)
    failed = [h["payload"] for h in task["history"] if h["event_type"] == "ActivityFailed"]
    assert len(failed) == 1, task["history"]
    worker.submit(task, [{"type": "FailWorkflow", "error": failed[0]["error"]}])
    return failed[0]


def test_retry_backoff_is_honoured_and_the_final_failure_wakes_the_workflow(worker: ProtocolWorker) -> None:
    wid = schedule(worker, max_attempts=3, initial_interval_secs=0.4, backoff_coefficient=2)
    first = worker.next_activity()
    assert first["attempt"] == 1
    failed_at = time.time()
    outcome = expect(worker.fail_activity(first, "try again"))
    assert outcome["ok"] is True and outcome["retrying"] is True
    assert outcome["next_attempt_at"] == pytest.approx(failed_at + 0.4, abs=0.2)
    assert worker.poll_activity() is None  # backing off: not claimable yet

    second = worker.next_activity()
    assert second["id"] == first["id"] and second["attempt"] == 2
    assert time.time() >= outcome["next_attempt_at"] - 0.01
    assert worker.poll() is None  # retries are invisible to the workflow
    outcome = expect(worker.fail_activity(second, "again"))
    assert outcome["retrying"] is True
    assert outcome["next_attempt_at"] - time.time() == pytest.approx(0.8, abs=0.25)  # 0.4 * 2
    assert worker.poll_activity(wait_secs=0.4) is None

    third = worker.next_activity()
    assert third["attempt"] == 3
    outcome = expect(worker.fail_activity(third, "last words"))
    assert outcome == {"ok": True, "retrying": False, "next_attempt_at": None}
    failed = final_failure(worker, wid)
    assert failed["activity_seq"] == 1 and failed["name"] == "flaky" and failed["final_attempt"] == 3
    assert failed["error"] == "last words" and failed["activity_id"] == first["id"]
    record = expect(worker.http.get(f"/activities/{first['id']}"))
    assert record["status"] == "FAILED" and record["attempt"] == 3 and record["error"] == "last words"


def test_non_retryable_failure_is_final_at_once(worker: ProtocolWorker) -> None:
    wid = schedule(worker, max_attempts=5, initial_interval_secs=0)
    activity = worker.next_activity()
    assert expect(worker.fail_activity(activity, "fatal", non_retryable=True))["retrying"] is False
    assert final_failure(worker, wid)["final_attempt"] == 1


def test_start_to_close_timeout_retries_then_fails(worker: ProtocolWorker) -> None:
    wid = schedule(worker, max_attempts=2, initial_interval_secs=0, start_to_close_secs=0.4)
    first = worker.next_activity()
    claimed_at = time.monotonic()
    second = worker.next_activity(timeout=5)  # the first attempt timed out; retried at once
    assert second["attempt"] == 2 and time.monotonic() - claimed_at >= 0.35
    # The timed-out attempt's late report is refused.
    late = worker.complete_activity(first, "too late")
    assert late.status_code == 409 and late.json()["code"] == "activity_not_running"
    failed = final_failure(worker, wid)
    assert failed["final_attempt"] == 2 and "start_to_close" in failed["error"]
    late = worker.complete_activity(second, "later still")
    assert late.status_code == 409 and late.json()["code"] == "activity_not_running"


def test_heartbeat_timeout_is_enforced_and_heartbeats_keep_it_alive(worker: ProtocolWorker) -> None:
    wid = schedule(worker, max_attempts=1, start_to_close_secs=30, heartbeat_timeout_secs=0.5)
    activity = worker.next_activity()
    # Heartbeating every 0.2 s keeps it running well past the heartbeat timeout.
    for _ in range(6):
        time.sleep(0.2)
        answer = expect(worker.heartbeat_activity(activity, {"progress": 1}))
        assert answer == {"ok": True, "cancel_requested": False}
    assert expect(worker.http.get(f"/activities/{activity['id']}"))["status"] == "RUNNING"
    # Then silence: it times out.
    failed = final_failure(worker, wid)
    assert failed["final_attempt"] == 1 and "heartbeat" in failed["error"]
    gone = worker.heartbeat_activity(activity)
    assert gone.status_code == 409 and gone.json()["code"] == "activity_not_running"


def test_complete_with_a_stale_attempt_is_refused(worker: ProtocolWorker) -> None:
    wid = schedule(worker, max_attempts=3, initial_interval_secs=0)
    first = worker.next_activity()
    expect(worker.fail_activity(first, "x"))
    second = worker.next_activity()
    stale = worker.complete_activity(second, "from attempt 1", attempt=1)
    assert stale.status_code == 409 and stale.json()["code"] == "activity_not_running"
    stale_hb = worker.heartbeat_activity(second, attempt=1)
    assert stale_hb.status_code == 409
    expect(worker.complete_activity(second, {"v": 2}))  # attempt 2 (current)
    twice = worker.complete_activity(second, {"v": 3})
    assert twice.status_code == 409 and twice.json()["code"] == "activity_not_running"
    fail_after = worker.fail_activity(second, "nope")
    assert fail_after.status_code == 409
    task = worker.next_task(wid)
    done = [h["payload"] for h in task["history"] if h["event_type"] == "ActivityCompleted"]
    assert [d["result"] for d in done] == [{"v": 2}]
    worker.submit(task, [complete_cmd()])


def test_unknown_activity_ids_are_404(worker: ProtocolWorker) -> None:
    for response in (
        worker.complete_activity(987654321, 1),
        worker.fail_activity(987654321),
        worker.heartbeat_activity(987654321),
        worker.http.get("/activities/987654321"),
    ):
        assert response.status_code == 404 and response.json()["code"] == "not_found"
