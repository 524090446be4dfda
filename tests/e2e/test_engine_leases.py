"""Workflow-task leases, idempotent command batches, long-poll latency and sticky polls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.engine_process import EngineProcess, engine_fixture
from tests.e2e.protocol_worker import ProtocolWorker, activity_cmd, complete_cmd, expect, unique

LEASE_SECS = 1.0


eng = engine_fixture({"ASSAY_WF_DISPATCH_TIMEOUT_SECS": str(LEASE_SECS)}, name="engine-leases")


@pytest.fixture
def pair(eng: EngineProcess) -> Iterator[tuple[ProtocolWorker, ProtocolWorker]]:
    queue = unique("q")
    a, b = ProtocolWorker(eng, queue, identity="a"), ProtocolWorker(eng, queue, identity="b")
    yield a, b
    a.close()
    b.close()


def test_expired_lease_goes_to_another_worker_and_stale_commands_change_nothing(pair: tuple[ProtocolWorker, ProtocolWorker]) -> None:
    a, b = pair
    wid = a.start()
    stale = a.next_task(wid)
    assert stale["lease_expires_at"] - time.time() == pytest.approx(LEASE_SECS, abs=0.5)
    assert b.poll() is None  # leased: nobody else gets it

    task = b.next_task(wid, timeout=LEASE_SECS + 3)  # recovered after the lease ran out
    assert task["lease_token"] != stale["lease_token"]
    assert [h["event_type"] for h in task["history"]] == ["WorkflowStarted"] and task["history_after_seq"] == 0
    before = a.events(wid)

    late = a.submit_raw(stale, [activity_cmd(1), complete_cmd("stale")])
    assert late.status_code == 409 and late.json()["code"] == "lease_lost"
    assert "lease" in late.json()["error"]
    heartbeat = a.extend_lease(stale)
    assert heartbeat.status_code == 409 and heartbeat.json()["code"] == "lease_lost"
    assert a.events(wid) == before and a.describe(wid)["status"] == "RUNNING"

    b.submit(task, [complete_cmd("fresh")])
    assert b.describe(wid)["result"] == "fresh"
    # A lease token is good for one batch only.
    again = b.submit_raw(task, [complete_cmd("twice")])
    assert again.status_code == 409 and again.json()["code"] in ("workflow_terminal", "lease_lost")


def test_a_used_lease_is_spent(pair: tuple[ProtocolWorker, ProtocolWorker]) -> None:
    a, _ = pair
    wid = a.start()
    task = a.next_task(wid)
    a.submit(task, [{"type": "WaitForSignal", "name": "x"}])
    spent = a.submit_raw(task, [activity_cmd(1)])
    assert spent.status_code == 409 and spent.json()["code"] == "lease_lost"
    assert "ActivityScheduled" not in a.event_types(wid)
    wrong = a.submit_raw(wid, [activity_cmd(1)], lease_token="not-a-token")
    assert wrong.status_code == 409 and wrong.json()["code"] == "lease_lost"


def test_lease_extension_keeps_the_task(pair: tuple[ProtocolWorker, ProtocolWorker]) -> None:
    a, b = pair
    wid = a.start()
    task = a.next_task(wid)
    deadline = time.monotonic() + LEASE_SECS * 2.5
    while time.monotonic() < deadline:
        answer = expect(a.extend_lease(task))
        assert answer["lease_expires_at"] > time.time()
        assert b.poll(wait_secs=LEASE_SECS / 3) is None
    a.submit(task, [complete_cmd("kept")])
    assert a.describe(wid)["status"] == "COMPLETED"


def test_commands_are_idempotent_on_seq_across_tasks(pair: tuple[ProtocolWorker, ProtocolWorker]) -> None:
    a, b = pair
    wid = a.start()
    batch = [activity_cmd(1, "x"), {"type": "ScheduleTimer", "seq": 2, "duration_secs": 0.1},
             {"type": "RecordSideEffect", "seq": 3, "name": "r", "value": 7}]
    a.step(batch, wid)
    # The timer wakes the workflow; a second worker replays and sends the same batch.
    task = b.next_task(wid, timeout=5)
    b.submit(task, batch)
    types = a.event_types(wid)
    assert types.count("ActivityScheduled") == 1
    assert types.count("TimerScheduled") == 1
    assert types.count("SideEffectRecorded") == 1
    seqs = [e["seq"] for e in a.events(wid)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_long_poll_returns_promptly_when_work_appears_and_null_when_idle(pair: tuple[ProtocolWorker, ProtocolWorker]) -> None:
    a, b = pair
    t0 = time.monotonic()
    assert a.poll(wait_secs=0.4) is None
    assert 0.35 <= time.monotonic() - t0 < 2.0
    t0 = time.monotonic()
    assert a.poll_activity(wait_secs=0.4) is None
    assert 0.35 <= time.monotonic() - t0 < 2.0
    t0 = time.monotonic()
    assert a.poll() is None  # no wait_secs: answers at once
    assert time.monotonic() - t0 < 0.3

    got: list[Any] = []
    returned_at: list[float] = []

    def long_poll() -> None:
        got.append(b.poll(wait_secs=10))
        returned_at.append(time.monotonic())

    poller = threading.Thread(target=long_poll)
    poller.start()
    time.sleep(0.3)  # parked
    started = time.monotonic()
    wid = a.start()
    poller.join(10)
    assert got and got[0] is not None and got[0]["workflow_id"] == wid
    assert returned_at[0] - started < 0.5

    # Activity long-poll: b holds the workflow task it just got and schedules an activity.
    task = got[0]
    got.clear()
    returned_at.clear()

    def long_poll_activity() -> None:
        got.append(a.poll_activity(wait_secs=10))
        returned_at.append(time.monotonic())

    poller = threading.Thread(target=long_poll_activity)
    poller.start()
    time.sleep(0.3)
    started = time.monotonic()
    b.submit(task, [activity_cmd(1, "fast")])
    poller.join(10)
    assert got and got[0] is not None and got[0]["name"] == "fast"
    assert returned_at[0] - started < 0.5


def test_sticky_poll_sends_only_new_events(pair: tuple[ProtocolWorker, ProtocolWorker]) -> None:
    a, b = pair
    wid = a.start()
    first = a.next_task(wid, sticky=True)
    assert first["history_after_seq"] == 0 and len(first["history"]) == 1
    a.submit(first, [{"type": "RecordSideEffect", "seq": 1, "name": "n", "value": 1},
                     {"type": "ScheduleTimer", "seq": 2, "duration_secs": 0.1}])
    held = len(a.events(wid))  # WorkflowStarted, SideEffectRecorded, TimerScheduled
    assert held == 3

    second = a.next_task(wid, sticky=True, timeout=5)
    assert second["history_after_seq"] == 1  # what this worker saw when it last claimed
    assert [h["seq"] for h in second["history"]] == list(range(2, len(a.events(wid)) + 1))
    assert second["history"][-1]["event_type"] == "TimerFired"
    a.submit(second, [{"type": "WaitForSignal", "name": "more"}])
    expect(a.http.post(f"/workflows/{wid}/signal/more", json={"payload": 3}))

    # Another worker (even asking sticky) gets the full history.
    full = b.next_task(wid, sticky=True)
    assert full["history_after_seq"] == 0
    assert [h["seq"] for h in full["history"]] == [e["seq"] for e in a.events(wid)]
    b.submit(full, [complete_cmd()])
