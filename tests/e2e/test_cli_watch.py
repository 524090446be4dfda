"""`workflow events [--follow]` and `workflow wait` against a real engine: streaming, exit
codes on every kind of ending (terminate included), timeouts."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import yaml


def _start(assay_cli, wf_id, queue, *extra):
    res = assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id, "--queue", queue, *extra)
    assert res.code == 0, res


def _later(delay, action):
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()), daemon=True)
    thread.start()
    return thread


# --- events ---------------------------------------------------------------------------------


def test_events_in_every_format(assay_cli, scripted_worker, unique):
    worker = scripted_worker()
    wf_id = unique("ev")
    _start(assay_cli, wf_id, worker.queue, "--input", '{"x": 1}')
    worker.step([{"type": "CompleteWorkflow", "result": {"done": True}}], workflow_id=wf_id)

    as_json = assay_cli("workflow", "events", wf_id, "-o", "json").json()
    types = [e["event_type"] for e in as_json]
    assert types[0] == "WorkflowStarted" and types[-1] == "WorkflowCompleted"
    assert as_json[0]["payload"] == {"x": 1}
    assert [e["seq"] for e in as_json] == sorted(e["seq"] for e in as_json)
    assert assay_cli("workflow", "events", wf_id, "-o", "jsonl").jsonl() == as_json
    assert yaml.safe_load(assay_cli("workflow", "events", wf_id, "-o", "yaml").stdout) == as_json

    table = assay_cli("workflow", "events", wf_id, "-o", "table").stdout.splitlines()
    assert table[0].split() == ["SEQ", "TYPE", "TIME", "PAYLOAD"]
    assert table[1].split()[:2] == [str(as_json[0]["seq"]), "WorkflowStarted"]
    assert table[-1].split()[1] == "WorkflowCompleted"

    after = assay_cli("workflow", "events", wf_id, "--after-seq", str(as_json[0]["seq"]))
    assert after.json() == as_json[1:]
    missing = assay_cli("workflow", "events", "nope-nope")
    assert missing.code == 1 and "HTTP 404" in missing.stderr


def test_follow_streams_until_completed_exit_0(assay_cli, scripted_worker, unique):
    worker = scripted_worker()
    wf_id = unique("follow")
    _start(assay_cli, wf_id, worker.queue)

    def drive():
        worker.step([{"type": "RecordSideEffect", "seq": 1, "name": "r", "value": 7}],
                    workflow_id=wf_id)
        time.sleep(0.5)
        worker.step([{"type": "CompleteWorkflow", "result": "ok"}], workflow_id=wf_id)

    thread = _later(1.0, drive)
    started = time.monotonic()
    res = assay_cli("workflow", "events", wf_id, "--follow", "-o", "json", timeout=60)
    thread.join()
    assert res.code == 0, res
    events = res.jsonl()  # --follow streams json as one event per line
    types = [e["event_type"] for e in events]
    assert types[0] == "WorkflowStarted" and types[-1] == "WorkflowCompleted"
    assert "SideEffectRecorded" in types
    assert len({e["seq"] for e in events}) == len(events)  # nothing printed twice
    assert time.monotonic() - started < 15  # woken by the long-poll, not a slow timer


def test_follow_ends_on_terminate_with_exit_1(assay_cli, engine, scripted_worker, unique):
    worker = scripted_worker()
    wf_id = unique("followterm")
    _start(assay_cli, wf_id, worker.queue)
    worker.step([{"type": "WaitForSignal", "name": "never"}], workflow_id=wf_id)

    env = assay_cli.env(ASSAY_ENGINE_URL=engine.url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "assay", "workflow", "events", wf_id, "--follow", "-o", "table"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    time.sleep(1.5)
    assert proc.poll() is None  # still following a live run
    assert assay_cli("workflow", "terminate", wf_id, "--reason", "stop").code == 0
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, (out, err)
    lines = out.splitlines()
    assert lines[0].split() == ["SEQ", "TYPE", "TIME", "PAYLOAD"]
    assert lines[-1].split()[1] == "WorkflowTerminated"
    assert f"workflow {wf_id} ended FAILED" in err


def test_follow_on_an_already_finished_run_returns_at_once(assay_cli, unique):
    wf_id = unique("done")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id)
    assay_cli("workflow", "cancel", wf_id)
    res = assay_cli("workflow", "events", wf_id, "--follow", "-o", "yaml", timeout=20)
    assert res.code == 1, res
    docs = list(yaml.safe_load_all(res.stdout))
    assert docs[0]["event_type"] == "WorkflowStarted"
    assert "ended CANCELLED" in res.stderr


# --- wait -------------------------------------------------------------------------------------


def test_wait_completed_exit_0_prints_result(assay_cli, scripted_worker, unique):
    worker = scripted_worker()
    wf_id = unique("wait")
    _start(assay_cli, wf_id, worker.queue)
    thread = _later(1.0, lambda: worker.step(
        [{"type": "CompleteWorkflow", "result": {"answer": 42}}], workflow_id=wf_id))
    started = time.monotonic()
    res = assay_cli("workflow", "wait", wf_id, "--timeout", "30", "-o", "json")
    thread.join()
    assert res.code == 0, res
    body = res.json()
    assert body["status"] == "COMPLETED" and body["result"] == {"answer": 42}
    assert body["workflow_id"] == wf_id
    assert time.monotonic() - started < 10


def test_wait_failed_exit_1(assay_cli, scripted_worker, unique):
    worker = scripted_worker()
    wf_id = unique("waitfail")
    _start(assay_cli, wf_id, worker.queue)
    worker.step([{"type": "FailWorkflow", "error": "boom"}], workflow_id=wf_id)
    res = assay_cli("workflow", "wait", wf_id, "-o", "table")
    assert res.code == 1, res
    assert "status" in res.stdout and "FAILED" in res.stdout
    assert f"workflow {wf_id} ended FAILED: boom" in res.stderr


def test_wait_cancelled_and_terminated_exit_1(assay_cli, unique):
    a, b = unique("wc"), unique("wt")
    for wf_id in (a, b):
        assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id)
    assay_cli("workflow", "cancel", a)
    assay_cli("workflow", "terminate", b)
    assert assay_cli("workflow", "wait", a).code == 1
    res = assay_cli("workflow", "wait", b, "-o", "jsonl")
    assert res.code == 1 and json.loads(res.stdout)["status"] == "FAILED"


def test_wait_timeout_exit_2(assay_cli, unique):
    wf_id = unique("slow")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id)
    started = time.monotonic()
    res = assay_cli("workflow", "wait", wf_id, "--timeout", "1.5")
    assert res.code == 2, res
    assert res.stdout == ""
    assert f"timeout after 1.5s waiting for {wf_id} (last status: PENDING)" in res.stderr
    assert 1.4 < time.monotonic() - started < 10


def test_wait_target_live_status(assay_cli, scripted_worker, unique):
    worker = scripted_worker()
    wf_id = unique("target")
    _start(assay_cli, wf_id, worker.queue)
    assert assay_cli("workflow", "wait", wf_id, "--target", "pending").code == 0
    thread = _later(0.5, lambda: worker.step(
        [{"type": "WaitForSignal", "name": "go"}], workflow_id=wf_id))
    res = assay_cli("workflow", "wait", wf_id, "--target", "RUNNING", "--timeout", "20")
    thread.join()
    assert res.code == 0, res
    assert res.json()["status"] == "RUNNING"


def test_wait_target_sees_a_different_ending(assay_cli, unique):
    wf_id = unique("other")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id)
    assay_cli("workflow", "terminate", wf_id)
    res = assay_cli("workflow", "wait", wf_id, "--target", "COMPLETED", "--timeout", "30")
    assert res.code == 1, res  # not a 30 s timeout: the other terminal status is noticed
    assert "ended FAILED, not COMPLETED" in res.stderr
    ok = assay_cli("workflow", "wait", wf_id, "--target", "failed")
    assert ok.code == 0


def test_wait_unknown_workflow_exit_1(assay_cli):
    res = assay_cli("workflow", "wait", "no-such-run", "--timeout", "5")
    assert res.code == 1 and "HTTP 404" in res.stderr


def test_wait_bad_target_is_usage_error(assay_cli):
    res = assay_cli("workflow", "wait", "x", "--target", "DONE")
    assert res.code == 64 and "--target" in res.stderr


# --- start --wait -------------------------------------------------------------------------------


def test_start_wait_prints_the_outcome_exit_0(assay_cli, scripted_worker, unique):
    worker = scripted_worker()
    wf_id = unique("startwait")
    thread = _later(1.0, lambda: worker.step(
        [{"type": "CompleteWorkflow", "result": {"answer": 42}}], workflow_id=wf_id))
    started = time.monotonic()
    res = assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id, "--queue", worker.queue,
                    "--wait", "30", "-o", "json")
    thread.join()
    assert res.code == 0, res
    body = res.json()
    assert body["workflow_id"] == wf_id and body["run_id"]
    assert body["status"] == "COMPLETED" and body["result"] == {"answer": 42}
    assert time.monotonic() - started < 10


def test_start_wait_failed_exit_1_and_timeout_exit_2(assay_cli, scripted_worker, unique):
    worker = scripted_worker()
    wf_id = unique("startfail")
    thread = _later(1.0, lambda: worker.step([{"type": "FailWorkflow", "error": "boom"}], workflow_id=wf_id))
    res = assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id, "--queue", worker.queue, "--wait", "30")
    thread.join()
    assert res.code == 1, res
    assert f"workflow {wf_id} ended FAILED: boom" in res.stderr

    slow = unique("startslow")
    started = time.monotonic()
    res = assay_cli("workflow", "start", "--type", "e2e", "--id", slow, "--wait", "1.5")
    assert res.code == 2, res
    assert f"timeout after 1.5s waiting for {slow} (last status: PENDING)" in res.stderr
    assert 1.4 < time.monotonic() - started < 10
    assert assay_cli("workflow", "describe", slow, "-o", "json").json()["status"] == "PENDING"
