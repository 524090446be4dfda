"""``POST /workflows?wait_secs=``: start a workflow and get its outcome in one request,
against a real ``assay serve`` and a worker speaking the REST protocol."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from tests.e2e.engine_process import engine_fixture
from tests.e2e.protocol_worker import ProtocolWorker, complete_cmd, expect, unique

eng = engine_fixture(name="engine-start-wait")


def _start_and_wait(worker: ProtocolWorker, wait_secs: float, workflow_id: str, out: dict) -> threading.Thread:
    body = {"workflow_type": "wf", "workflow_id": workflow_id, "namespace": worker.namespace,
            "task_queue": worker.queue, "input": {"n": 7}}

    def run() -> None:
        started = time.monotonic()
        with httpx.Client(base_url=str(worker.http.base_url), headers=worker.http.headers, timeout=30) as http:
            out["response"] = http.post("/workflows", params={"wait_secs": wait_secs}, json=body)
        out["secs"] = time.monotonic() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _finish_with(worker: ProtocolWorker, workflow_id: str, commands: list[dict[str, Any]]) -> None:
    task = worker.next_task(workflow_id)
    worker.submit(task, commands)


def test_the_start_answers_with_the_result_once_the_run_completes(worker: ProtocolWorker) -> None:
    wid, got = unique("sw"), {}
    thread = _start_and_wait(worker, 20, wid, got)
    _finish_with(worker, wid, [complete_cmd({"doubled": 14})])
    thread.join(20)
    body = expect(got["response"], 201)
    assert body["workflow_id"] == wid and body["run_id"]
    assert body["status"] == "COMPLETED" and body["result"] == {"doubled": 14} and body["error"] is None
    assert body["completed_at"] == worker.describe(wid)["completed_at"]
    assert got["secs"] < 10  # answered when the run ended, not when the wait ran out


def test_a_failed_run_comes_back_with_its_error(worker: ProtocolWorker) -> None:
    wid, got = unique("sw-fail"), {}
    thread = _start_and_wait(worker, 20, wid, got)
    _finish_with(worker, wid, [{"type": "FailWorkflow", "error": "no luck"}])
    thread.join(20)
    body = expect(got["response"], 201)
    assert body["status"] == "FAILED" and body["error"] == "no luck" and body["result"] is None


def test_when_the_wait_runs_out_the_run_is_started_and_still_live(worker: ProtocolWorker) -> None:
    wid, got = unique("sw-slow"), {}
    thread = _start_and_wait(worker, 1, wid, got)  # nobody works this queue during the wait
    thread.join(20)
    body = expect(got["response"], 201)
    assert body["status"] == "PENDING" and body["result"] is None and body["completed_at"] is None
    assert 0.9 <= got["secs"] < 8
    # The start itself is durable: the run is there and a worker can finish it later.
    _finish_with(worker, wid, [complete_cmd("later")])
    assert worker.wait_status(wid, "COMPLETED")["result"] == "later"


def test_a_duplicate_id_is_refused_at_once_without_waiting(worker: ProtocolWorker) -> None:
    wid = worker.start(workflow_id=unique("sw-dup"))
    started = time.monotonic()
    response = worker.http.post("/workflows", params={"wait_secs": 20},
                                json={"workflow_type": "wf", "workflow_id": wid, "task_queue": worker.queue,
                                      "namespace": worker.namespace})
    assert time.monotonic() - started < 5
    assert response.status_code == 409 and response.json()["code"]


def test_a_bad_wait_is_a_422(worker: ProtocolWorker) -> None:
    response = worker.http.post("/workflows", params={"wait_secs": "-1"},
                                json={"workflow_type": "wf", "task_queue": worker.queue})
    assert response.status_code == 422 and response.json()["code"] == "validation_error"
    response = worker.http.post("/workflows", params={"wait_secs": "soon"},
                                json={"workflow_type": "wf", "task_queue": worker.queue})
    assert response.status_code == 422 and response.json()["code"] == "validation_error"
    response = worker.http.get(f"/workflows/{unique('nope')}/result", params={"wait_secs": "-1"})
    assert response.status_code == 422 and response.json()["code"] == "validation_error"
