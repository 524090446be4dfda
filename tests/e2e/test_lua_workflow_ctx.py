"""Every `ctx` method of `require("assay.workflow")`, run by a real `assay run` Lua worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.lua_fixtures import WORKERS, Engine, Worker, engine_fixture, uid

engine = engine_fixture()


@pytest.fixture(scope="module", params=["eager", "poll"])
def mode(request: pytest.FixtureRequest) -> str:
    """Every test runs against a worker with eager dispatch (the default) and one without."""
    return str(request.param)


@pytest.fixture(scope="module")
def counter(mode: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"counter-{mode}") / "count.txt"


@pytest.fixture(scope="module")
def worker(engine: Engine, mode: str, counter: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    w = Worker(engine, WORKERS / "ctx_worker.lua", f"ctx-q-{mode}", tmp_path_factory.mktemp("w"),
               COUNTER_FILE=str(counter), EAGER="0" if mode == "poll" else "1")
    yield w
    assert w.stop() == 0, w.log()


def test_activity_side_effect_sleep_upsert_parallel_query(engine: Engine, worker: Worker, counter: Path) -> None:
    wf = uid("feat")
    engine.start_workflow("Features", wf, {"name": "ada"}, queue=worker.queue)
    done = engine.wait_result(wf)
    assert done["status"] == "COMPLETED", (done, worker.log())
    result = done["result"]
    assert result["greeting"] == "hello ada"
    assert result["nothing_is_nil"] is True
    assert result["token"].startswith("tok-")
    assert result["par"] == ["hello a", "hello b", "hello c"]
    record = engine.describe(wf)
    assert record["search_attributes"]["stage"] == "late" and record["search_attributes"]["n"] == 1
    events = engine.events(wf)
    kinds = [e["event_type"] for e in events]
    assert kinds.count("SearchAttributesUpserted") == 2  # each upsert once, never re-sent
    side = [e["payload"] for e in events if e["event_type"] == "SideEffectRecorded"]
    assert side[0] == {"side_effect_seq": 1, "name": "nil-value", "value": None}
    assert side[1]["value"] == result["token"]
    assert kinds.count("ActivityScheduled") == 4
    state = engine.api.get(f"/workflows/{wf}/state").json()
    assert state["state"]["progress"]["stage"] == "done"
    # Sticky execution: the handler started once; the side effects ran once each.
    lines = counter.read_text().splitlines()
    assert lines.count("handler-start") == 1, (lines, [l for l in worker.log().splitlines() if "sticky" in l or "WARN" in l or "ERROR" in l])
    assert lines.count("side-effect-nil") == 1 and lines.count("side-effect-token") == 1


def test_signals_buffered_empty_ordered_and_timed(engine: Engine, worker: Worker) -> None:
    wf = uid("sig")
    engine.start_workflow("Signals", wf, {}, queue=worker.queue)
    engine.signal(wf, "step", {"n": 1})
    engine.signal(wf, "step", {"n": 2})
    engine.signal(wf, "empty")  # no payload at all
    engine.wait_event(wf, "TimerFired")  # the 0.5 s timed wait expired
    engine.signal(wf, "step", {"n": 3})
    done = engine.wait_result(wf)
    assert done["status"] == "COMPLETED", (done, worker.log())
    assert done["result"] == {
        "first": {"n": 1}, "second": {"n": 2}, "third": {"n": 3},
        "empty_received": True, "empty_is_nil": True, "timed_out": True,
    }


def test_child_workflows_complete_and_fail(engine: Engine, worker: Worker) -> None:
    wf = uid("parent")
    engine.start_workflow("Parent", wf, {}, queue=worker.queue)
    done = engine.wait_result(wf)
    assert done["status"] == "COMPLETED", (done, worker.log())
    assert done["result"]["child"] == {"doubled": 42, "child": f"{wf}-ok"}
    assert done["result"]["failed"] is True and "child says no" in done["result"]["error"]
    children = engine.api.get(f"/workflows/{wf}/children").json()
    assert sorted(c["id"] for c in children) == [f"{wf}-bad", f"{wf}-ok"]
    assert all(c["task_queue"] == worker.queue for c in children)  # the parent's queue by default


def test_continue_as_new_chain(engine: Engine, worker: Worker) -> None:
    wf = uid("loop")
    engine.start_workflow("Looper", wf, {"n": 0}, queue=worker.queue)
    first = engine.wait_result(wf)
    assert first["status"] == "COMPLETED"
    record = engine.describe(wf)
    nxt = record["continued_to"]
    assert nxt
    second = engine.wait_result(nxt)
    third_id = engine.describe(nxt)["continued_to"]
    third = engine.wait_result(third_id)
    assert second["status"] == "COMPLETED" and third["result"] == {"final": 2}


def test_ctx_cancel_and_external_cancel(engine: Engine, worker: Worker) -> None:
    wf = uid("selfcancel")
    engine.start_workflow("SelfCancel", wf, {}, queue=worker.queue)
    assert engine.wait_result(wf)["status"] == "CANCELLED"
    last = engine.events(wf)[-1]
    assert last["event_type"] == "WorkflowCancelled"
    assert "handler decided to stop" in str(last["payload"])

    wf2 = uid("waitcancel")
    engine.start_workflow("WaitForever", wf2, {}, queue=worker.queue)
    engine.wait_event(wf2, "WorkflowAwaitingSignal")
    assert engine.api.post(f"/workflows/{wf2}/cancel", json={"reason": "operator"}).status_code == 200
    assert engine.wait_result(wf2)["status"] == "CANCELLED", worker.log()


def test_activity_retries_with_max_attempts(engine: Engine, worker: Worker) -> None:
    wf = uid("retry")
    engine.start_workflow("Retries", wf, {}, queue=worker.queue)
    done = engine.wait_result(wf)
    assert done["status"] == "COMPLETED", (done, worker.log())
    assert done["result"]["flaky"] == {"attempt": 3}
    assert done["result"]["failed"] is True
    assert "activity 'always_fails' failed" in done["result"]["error"]
    assert "nope on attempt 2" in done["result"]["error"]
    failed = [e["payload"] for e in engine.events(wf) if e["event_type"] == "ActivityFailed"]
    assert len(failed) == 1 and failed[0]["final_attempt"] == 2


def test_unknown_workflow_type_fails_with_reason(engine: Engine, worker: Worker) -> None:
    wf = uid("unknown")
    engine.start_workflow("NoSuchType", wf, {}, queue=worker.queue)
    done = engine.wait_result(wf)
    assert done["status"] == "FAILED"
    assert "no workflow handler registered for type: NoSuchType" in done["error"]
