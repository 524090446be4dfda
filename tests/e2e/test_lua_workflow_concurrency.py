"""One Lua worker process runs activities and workflow tasks concurrently."""

from __future__ import annotations

import time

from tests.e2e.lua_fixtures import Engine, engine_fixture, uid, workers  # noqa: F401 - fixture

engine = engine_fixture()


def test_twenty_one_second_activities_finish_in_about_a_second(engine: Engine, workers) -> None:
    q, wf = uid("q"), uid("fan")
    workers(engine, "concurrency_worker.lua", q)
    started = time.monotonic()
    engine.start_workflow("FanOut", wf, {"n": 20}, queue=q)
    done = engine.wait_result(wf, timeout=20)
    elapsed = time.monotonic() - started
    assert done["status"] == "COMPLETED" and done["result"] == list(range(1, 21))
    activities = [engine.api.get(f"/activities/{e['payload']['activity_id']}").json()
                  for e in engine.events(wf) if e["event_type"] == "ActivityCompleted"]
    span = max(a["completed_at"] for a in activities) - min(a["started_at"] for a in activities)
    assert span < 2.0, span  # sequential would be 20 s
    assert elapsed < 4.0, elapsed


def test_workflow_tasks_run_concurrently(engine: Engine, workers) -> None:
    q = uid("q")
    workers(engine, "concurrency_worker.lua", q)
    ids = [uid("slow") for _ in range(10)]
    started = time.monotonic()
    for i, wf in enumerate(ids):
        engine.start_workflow("SlowTask", wf, {"i": i}, queue=q)
    results = [engine.wait_result(wf, timeout=20) for wf in ids]
    assert [r["result"] for r in results] == list(range(10))
    assert time.monotonic() - started < 4.0  # sequential would be 10 s
