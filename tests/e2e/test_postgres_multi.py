"""Three ``assay serve`` processes on one PostgreSQL database (a fresh database per test).

Checks the multi-instance promises: each task claimed once across instances, long-poll
wake-ups across instances (LISTEN/NOTIFY), and one scheduler leader whose death (kill -9)
hands over without losing or doubling a tick.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.engine_process import EngineProcess
from tests.e2e.sse_listener import SseListener
from tests.e2e.one_activity_worker import WORKFLOW_TYPE, OneActivityWorker
from tests.pg import postgres_reachable, temporary_database_sync

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL not reachable"),
]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[EngineProcess]]:
    with temporary_database_sync() as db_url:
        engines: list[EngineProcess] = []
        try:
            for i in range(3):
                engines.append(EngineProcess(tmp_path, backend=db_url, name=f"engine{i}").start())
            yield engines
        finally:
            for engine in engines:
                engine.stop()


def api(engine: EngineProcess, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{engine.url}/api/v1{path}", timeout=30, **kwargs)


def test_tasks_are_claimed_once_across_instances(cluster: list[EngineProcess]) -> None:
    queue = f"q-{uuid.uuid4().hex[:6]}"
    executions: list[str] = []
    lock = threading.Lock()

    def record(workflow_id: str) -> None:
        with lock:
            executions.append(workflow_id)

    # One worker per engine, all on the same queue: they compete for every task.
    workers = [OneActivityWorker([e.url], queue, on_activity=record) for e in cluster]
    ids = [f"multi-{i}-{uuid.uuid4().hex[:6]}" for i in range(90)]
    for i, workflow_id in enumerate(ids):
        response = api(cluster[i % 3], "POST", "/workflows", json={
            "workflow_type": WORKFLOW_TYPE, "workflow_id": workflow_id, "task_queue": queue, "input": workflow_id,
        })
        assert response.status_code == 201, response.text
    for worker in workers:
        worker.start(workflow_threads=3, activity_threads=3)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = api(cluster[0], "GET", "/workflows", params={"status": "COMPLETED", "limit": 200}).json()
            if len([w for w in done if w["id"] in ids]) == len(ids):
                break
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.stop()
    for workflow_id in ids:
        record_ = api(cluster[1], "GET", f"/workflows/{workflow_id}").json()
        assert record_["status"] == "COMPLETED", record_
        events = api(cluster[2], "GET", f"/workflows/{workflow_id}/events").json()
        assert [e["event_type"] for e in events].count("ActivityCompleted") == 1
    assert sorted(executions) == sorted(ids)  # every activity ran exactly once
    claimed = [a for w in workers for a in w.claimed_activities]
    assert len(claimed) == len(set(claimed)) == len(ids)
    assert {len(w.claimed_activities) > 0 for w in workers} == {True}  # all engines served


def test_long_poll_is_woken_by_work_started_on_another_instance(cluster: list[EngineProcess]) -> None:
    queue = f"q-{uuid.uuid4().hex[:6]}"
    outcome: dict[str, float | dict | None] = {}

    def poll() -> None:
        began = time.monotonic()
        response = api(cluster[1], "POST", "/workflow-tasks/poll",
                       json={"queue": queue, "worker_id": "w-poller", "wait_secs": 20})
        outcome["task"] = response.json()
        outcome["returned"] = time.monotonic()
        outcome["began"] = began

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(1.0)  # the poll is parked on engine1
    started = time.monotonic()
    response = api(cluster[0], "POST", "/workflows", json={"workflow_type": "t", "task_queue": queue})
    assert response.status_code == 201
    thread.join(timeout=25)
    assert outcome["task"] and outcome["task"]["workflow_id"] == response.json()["workflow_id"]
    assert outcome["returned"] - started < 0.5  # woken by NOTIFY, not by the 20 s deadline

    # A result long-poll on engine2 is released by a completion submitted to engine0.
    workflow_id = response.json()["workflow_id"]
    result: dict[str, object] = {}
    waiter = threading.Thread(target=lambda: result.update(
        api(cluster[2], "GET", f"/workflows/{workflow_id}/result", params={"wait_secs": 20}).json()
    ))
    waiter.start()
    time.sleep(1.0)
    finished = time.monotonic()
    api(cluster[0], "POST", f"/workflow-tasks/{workflow_id}/commands", json={
        "worker_id": "w-poller", "lease_token": outcome["task"]["lease_token"],
        "commands": [{"type": "CompleteWorkflow", "result": 42}],
    }).raise_for_status()
    waiter.join(timeout=25)
    assert result.get("status") == "COMPLETED" and time.monotonic() - finished < 1.5

    # Start-and-wait on engine1 is answered when engine0 records the outcome.
    answer: dict[str, object] = {}
    starter = threading.Thread(target=lambda: answer.update(api(
        cluster[1], "POST", "/workflows", params={"wait_secs": 20},
        json={"workflow_type": "t", "task_queue": queue, "input": 5},
    ).json()))
    starter.start()
    deadline = time.monotonic() + 10
    task = None
    while task is None and time.monotonic() < deadline:
        task = api(cluster[0], "POST", "/workflow-tasks/poll",
                   json={"queue": queue, "worker_id": "w-poller", "wait_secs": 2}).json()
    assert task is not None and task["input"] == 5
    finished = time.monotonic()
    api(cluster[0], "POST", f"/workflow-tasks/{task['workflow_id']}/commands", json={
        "worker_id": "w-poller", "lease_token": task["lease_token"],
        "commands": [{"type": "CompleteWorkflow", "result": 10}],
    }).raise_for_status()
    starter.join(timeout=25)
    assert answer.get("status") == "COMPLETED" and answer.get("result") == 10
    assert answer.get("workflow_id") == task["workflow_id"] and time.monotonic() - finished < 1.5


def test_event_stream_shows_what_other_instances_commit(cluster: list[EngineProcess]) -> None:
    """A dashboard connected to engine2 sees a workflow started on engine0 and run by a
    worker on engine1, frame by frame and in order, as the engines that committed them do."""
    queue = f"q-{uuid.uuid4().hex[:6]}"
    with SseListener(f"{cluster[2].url}/api/v1/events/stream", {"namespace": "main"}) as stream:
        started = api(cluster[0], "POST", "/workflows", json={"workflow_type": "t", "task_queue": queue, "input": 1})
        workflow_id = started.json()["workflow_id"]
        task = api(cluster[1], "POST", "/workflow-tasks/poll",
                   json={"queue": queue, "worker_id": "w-remote", "wait_secs": 10}).json()
        assert task and task["workflow_id"] == workflow_id
        api(cluster[1], "POST", f"/workflow-tasks/{workflow_id}/commands", json={
            "worker_id": "w-remote", "lease_token": task["lease_token"],
            "commands": [{"type": "CompleteWorkflow", "result": {"ok": True}}],
        }).raise_for_status()
        stream.wait_for(lambda n, d: n == "workflow_completed" and d["workflow_id"] == workflow_id)
    frames = stream.frames
    mine = [(n, d) for n, d in frames if d["workflow_id"] == workflow_id]
    assert [n for n, _ in mine] == ["workflow_started", "workflow_running", "workflow_completed"], mine
    assert [d["seq"] for _, d in mine] == [1, None, 2]
    completed = mine[-1][1]
    assert completed["payload"] == {"ok": True} and completed["status"] == "COMPLETED"
    assert completed["namespace"] == "main"


def fired_ticks(engine_logs: list[str], name: str) -> list[int]:
    return [int(m) for log in engine_logs for m in re.findall(rf"started {re.escape(name)}-(\d+)\b", log)]


def test_each_tick_fires_once_when_the_leader_is_killed(cluster: list[EngineProcess], tmp_path: Path) -> None:
    name = f"tick{uuid.uuid4().hex[:6]}"
    response = api(cluster[0], "POST", "/schedules", json={
        "name": name, "workflow_type": "t", "cron_expr": "*/1 * * * * *", "overlap_policy": "allow_all",
    })
    assert response.status_code == 201, response.text
    time.sleep(4)
    leaders = [e for e in cluster if fired_ticks([e.log()], name)]
    assert len(leaders) == 1, [e.log()[-500:] for e in cluster]
    leader = leaders[0]
    leader.kill9()
    killed_at = time.time()
    time.sleep(5)
    survivors = [e for e in cluster if e is not leader]
    new_leaders = [e for e in survivors if [t for t in fired_ticks([e.log()], name) if t > killed_at]]
    assert len(new_leaders) == 1
    takeover = min(t for t in fired_ticks([new_leaders[0].log()], name) if t > killed_at)
    assert takeover - killed_at < 3  # another instance took over within a few seconds
    api(survivors[0], "POST", f"/schedules/{name}/pause").raise_for_status()
    time.sleep(0.5)

    runs = api(survivors[0], "GET", "/workflows", params={"limit": 500}).json()
    ids = [w["id"] for w in runs if w["id"].startswith(f"{name}-")]
    ticks = sorted(int(i.rsplit("-", 1)[1]) for i in ids)
    assert all(re.fullmatch(rf"{name}-\d+", i) for i in ids), ids  # no suffixed duplicates
    assert max(Counter(ticks).values()) == 1
    assert ticks == list(range(ticks[0], ticks[-1] + 1)), ticks  # no tick lost across the kill
    assert len(ticks) >= 8
    for run in (w for w in runs if w["id"] in ids):
        # Started within 1 s of its due second, except the one fired at the takeover.
        lateness = run["created_at"] - int(run["id"].rsplit("-", 1)[1])
        assert lateness < 1.0 or abs(int(run["id"].rsplit("-", 1)[1]) - killed_at) < 3, (run["id"], lateness)
