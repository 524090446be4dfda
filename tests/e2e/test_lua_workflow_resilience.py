"""Crashes, restarts and shutdown under real Lua workers: nothing completed runs twice."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.lua_fixtures import Engine, engine_fixture, uid, workers  # noqa: F401 - fixture

# Short workflow-task leases so a dead worker's task moves on within seconds.
engine = engine_fixture({"ASSAY_WF_DISPATCH_TIMEOUT_SECS": "3"})


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_line(path: Path, line: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if line in _lines(path):
            return
        time.sleep(0.05)
    raise AssertionError(f"{line!r} never written: {_lines(path)}")


def test_worker_killed_mid_replay_does_not_rerun_completed_work(engine: Engine, workers, tmp_path: Path) -> None:
    counter, q, wf = tmp_path / "count.txt", uid("q"), uid("durable")
    first = workers(engine, "resilience_worker.lua", q, COUNTER_FILE=str(counter), SLOW_SECS="60")
    engine.start_workflow("Durable", wf, {}, queue=q)
    engine.wait_event(wf, "WorkflowAwaitingSignal")
    engine.signal(wf, "go")
    _wait_line(counter, "slow")  # inside the slow side effect, holding the lease
    first.kill()
    workers(engine, "resilience_worker.lua", q, COUNTER_FILE=str(counter), SLOW_SECS="0.1")
    done = engine.wait_result(wf, timeout=30)
    assert done["status"] == "COMPLETED", (done, engine.log())
    lines = _lines(counter)
    # a1 and se1 were recorded before the crash: the second worker replayed them from
    # history. The unrecorded slow side effect ran again; a2 ran once.
    assert lines.count("a1") == 1 and lines.count("se1") == 1, lines
    assert lines.count("slow") == 2 and lines.count("a2") == 1, lines
    assert lines.count("handler-start") == 2, lines  # one replay per worker
    side = [e["payload"]["name"] for e in engine.events(wf) if e["event_type"] == "SideEffectRecorded"]
    assert side == ["se1", "slow"]


def test_heartbeat_timeout_moves_activity_to_another_worker(engine: Engine, workers, tmp_path: Path) -> None:
    counter, q, wf = tmp_path / "count.txt", uid("q"), uid("beat")
    first = workers(engine, "resilience_worker.lua", q, COUNTER_FILE=str(counter))
    engine.start_workflow("Beating", wf, {}, queue=q)
    _wait_line(counter, "beating-1")
    time.sleep(0.5)  # a few heartbeats reach the engine
    first.kill()
    workers(engine, "resilience_worker.lua", q, COUNTER_FILE=str(counter))
    done = engine.wait_result(wf, timeout=30)
    assert done["status"] == "COMPLETED", (done, engine.log())
    assert done["result"]["attempt"] >= 2
    assert _lines(counter).count("beating-1") == 1


def test_engine_restart_under_running_worker(engine: Engine, workers, tmp_path: Path) -> None:
    counter, q, wf = tmp_path / "count.txt", uid("q"), uid("restart")
    worker = workers(engine, "resilience_worker.lua", q, COUNTER_FILE=str(counter))
    engine.start_workflow("GoThenDone", wf, {}, queue=q)
    engine.wait_event(wf, "WorkflowAwaitingSignal")
    engine.stop()
    worker.wait_log("engine unreachable")
    engine.start()
    worker.wait_log("reconnected to the engine", timeout=20)
    engine.signal(wf, "go")
    assert engine.wait_result(wf)["status"] == "COMPLETED", worker.log()
    wf2 = uid("after-restart")
    engine.start_workflow("GoThenDone", wf2, {}, queue=q)
    engine.wait_event(wf2, "WorkflowAwaitingSignal")
    engine.signal(wf2, "go")
    assert engine.wait_result(wf2)["status"] == "COMPLETED"
    assert _lines(counter).count(f"before-{wf}") == 1


def test_sigterm_finishes_running_activity_then_exits_zero(engine: Engine, workers, tmp_path: Path) -> None:
    counter, q, wf = tmp_path / "count.txt", uid("q"), uid("drain")
    worker = workers(engine, "resilience_worker.lua", q, COUNTER_FILE=str(counter))
    engine.start_workflow("SlowActivity", wf, {}, queue=q)
    _wait_line(counter, "slow-activity-start")
    started = time.monotonic()
    assert worker.stop(timeout=15) == 0, worker.log()
    assert time.monotonic() - started < 6  # no waiting out a long poll
    assert "slow-activity-end" in _lines(counter)
    completed = engine.wait_event(wf, "ActivityCompleted")
    assert completed["payload"]["result"] == "finished"
    assert "SIGTERM received" in worker.log()
