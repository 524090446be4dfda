"""The example workers in examples/ run as documented; the Steps-tab state shape."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.lua_fixtures import EXAMPLES, Engine, engine_fixture, uid, workers  # noqa: F401 - fixture

engine = engine_fixture()

STATUSES = {"waiting", "running", "done", "failed", "cancelled", "skipped"}


def _env(engine: Engine, queue: str, **extra: str) -> dict[str, str]:
    return {"ASSAY_ENGINE_URL": engine.url, "ASSAY_QUEUE": queue, **extra}


def test_hello(engine: Engine, workers) -> None:
    q, wf = uid("hello"), uid("hello")
    workers(engine, str(EXAMPLES / "hello" / "worker.lua"), q, **_env(engine, q))
    engine.start_workflow("Hello", wf, {"name": "Ada"}, queue=q)
    done = engine.wait_result(wf)
    assert done["status"] == "COMPLETED" and done["result"] == {"greeting": "Hello, Ada!"}


def test_approval_pipeline_state_steps(engine: Engine, workers) -> None:
    q, wf = uid("deploys"), uid("deploy")
    workers(engine, str(EXAMPLES / "approval" / "worker.lua"), q, **_env(engine, q))
    engine.start_workflow("ApproveAndDeploy", wf, {"git_sha": "abc123", "target_env": "staging"}, queue=q)
    engine.wait_event(wf, "WorkflowAwaitingSignal")
    waiting = engine.api.get(f"/workflows/{wf}/state/pipeline_state").json()["value"]
    assert waiting["stage"] == "awaiting_approval" and waiting["progress"] == 0.33
    assert [s["name"] for s in waiting["steps"]] == ["Build", "Approval", "Deploy"]
    assert [s["status"] for s in waiting["steps"]] == ["done", "running", "waiting"]
    assert waiting["current_step"] == 2 and waiting["steps"][1]["actions"] == ["approve"]
    assert all(s["status"] in STATUSES for s in waiting["steps"])
    engine.signal(wf, "approve", {"by": "alice"})
    done = engine.wait_result(wf)
    assert done["status"] == "COMPLETED", done
    assert done["result"]["approver"] == "alice" and done["result"]["env"] == "staging"
    assert engine.describe(wf)["search_attributes"]["approver"] == "alice"
    final = engine.api.get(f"/workflows/{wf}/state").json()["state"]["pipeline_state"]
    assert final["status"] == "done" and final["progress"] == 1.0
    assert [s["status"] for s in final["steps"]] == ["done", "done", "done"]
    assert all(s["started_at"] <= s["completed_at"] for s in final["steps"])
    assert [entry["step"] for entry in final["log"]] == [1, 2, 3]


def test_nightly_report(engine: Engine, workers, tmp_path: Path) -> None:
    q, wf = uid("reports"), uid("report")
    workers(engine, str(EXAMPLES / "nightly-report" / "worker.lua"), q,
            **_env(engine, q, REPORT_DIR=str(tmp_path), SKIP_SCHEDULE="1"))
    engine.start_workflow("NightlyReport", wf, {"lookback_hours": 24}, queue=q)
    done = engine.wait_result(wf)
    assert done["status"] == "COMPLETED", done
    report = Path(done["result"]["path"])
    assert report.parent == tmp_path and report.read_text().startswith("# Nightly report ")
    assert set(done["result"]["figures"]) == {"orders", "signups", "errors"}
