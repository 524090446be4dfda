"""Determinism guard, sticky execution and lease extension of the Lua worker."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.lua_fixtures import Engine, engine_fixture, uid, workers  # noqa: F401 - fixture

engine = engine_fixture({"ASSAY_WF_DISPATCH_TIMEOUT_SECS": "2"})


def test_changed_code_is_refused_without_touching_the_workflow(engine: Engine, workers, tmp_path: Path) -> None:
    q, wf, counter = uid("q"), uid("evolve"), str(tmp_path / "c.txt")
    v1 = workers(engine, "evolving_worker.lua", q, VERSION="1", COUNTER_FILE=counter)
    engine.start_workflow("Evolving", wf, {}, queue=q)
    engine.wait_event(wf, "WorkflowAwaitingSignal")
    assert v1.stop() == 0
    v2 = workers(engine, "evolving_worker.lua", q, VERSION="2", COUNTER_FILE=counter)
    engine.signal(wf, "go")
    v2.wait_log("NONDETERMINISM")
    line = next(l for l in v2.log().splitlines() if "NONDETERMINISM" in l)
    assert f"workflow '{wf}'" in line and "activity seq 1" in line
    assert 'ScheduleActivity{name="step_b"}' in line and 'ActivityScheduled{name="step_a"}' in line
    before = engine.events(wf)
    assert engine.describe(wf)["status"] == "RUNNING"
    assert before[-1]["event_type"] == "SignalReceived"  # nothing submitted
    # The fixed code (version 1) takes over once the refused task's lease lapses.
    v2.stop()
    workers(engine, "evolving_worker.lua", q, VERSION="1", COUNTER_FILE=counter)
    done = engine.wait_result(wf, timeout=20)
    assert done["status"] == "COMPLETED" and done["result"] == "v1"


def test_sticky_worker_resumes_instead_of_replaying(engine: Engine, workers, tmp_path: Path) -> None:
    q, wf, counter = uid("q"), uid("sticky"), tmp_path / "c.txt"
    worker = workers(engine, "evolving_worker.lua", q, COUNTER_FILE=str(counter), SPECULATE="0")
    engine.start_workflow("Counting", wf, {"steps": 8}, queue=q)
    assert engine.wait_result(wf)["status"] == "COMPLETED"
    assert counter.read_text().splitlines() == ["start"]  # 9 workflow tasks, one replay
    assert worker.stop() == 0
    assert "sticky_hits=8" in worker.log() and "replays=1" in worker.log()


def test_speculative_steps_send_commands_with_each_result(engine: Engine, workers, tmp_path: Path) -> None:
    q, wf, counter = uid("q"), uid("spec"), tmp_path / "c.txt"
    worker = workers(engine, "evolving_worker.lua", q, COUNTER_FILE=str(counter))
    engine.start_workflow("Counting", wf, {"steps": 8}, queue=q)
    done = engine.wait_result(wf)
    assert done["status"] == "COMPLETED" and done["result"] == 8
    assert counter.read_text().splitlines() == ["start"]  # one replay, then resumed in memory
    assert worker.stop() == 0
    log = worker.log()
    # Each of the 8 results carried the next command: no workflow task after the first one.
    assert "speculations=8" in log and "speculations_refused=0" in log and "sticky_hits=0" in log
    types = [e["event_type"] for e in engine.events(wf)]
    assert types.count("ActivityCompleted") == 8 and types.count("ActivityScheduled") == 8
    assert types[-2:] == ["ActivityCompleted", "WorkflowCompleted"]


def test_signal_during_an_activity_is_not_lost_to_speculation(engine: Engine, workers, tmp_path: Path) -> None:
    q, wf, counter = uid("q"), uid("refused"), tmp_path / "c.txt"
    worker = workers(engine, "evolving_worker.lua", q, COUNTER_FILE=str(counter))
    engine.start_workflow("SignalDuringActivity", wf, {}, queue=q)
    engine.wait_event(wf, "ActivityScheduled")
    deadline = time.monotonic() + 10
    while not counter.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    engine.signal(wf, "go", {"from": "test"})  # arrives while the activity runs
    done = engine.wait_result(wf)
    assert done["status"] == "COMPLETED" and done["result"] == {"from": "test"}
    assert worker.stop() == 0
    # Whichever came first here (the signal's workflow task, or the result with a
    # speculative batch, which the engine then refuses), the run saw the signal.
    assert counter.read_text().splitlines() == ["slow_step"]  # the activity ran once


def test_long_side_effect_keeps_its_lease(engine: Engine, workers, tmp_path: Path) -> None:
    q, wf, counter = uid("q"), uid("slow"), tmp_path / "c.txt"
    workers(engine, "evolving_worker.lua", q, COUNTER_FILE=str(counter))
    started = time.monotonic()
    engine.start_workflow("SlowSideEffect", wf, {"secs": 5}, queue=q)  # lease is 2 s
    done = engine.wait_result(wf, timeout=20)
    assert done["status"] == "COMPLETED" and done["result"] == "slept"
    assert counter.read_text().splitlines() == ["slow"]  # never handed to a second replay
    assert time.monotonic() - started < 9
