"""Schedules end to end: a real ``assay serve`` (SQLite), REST and the ``assay schedule`` CLI.

Cron fires are real time here, so schedules tick every second or two; each test uses its
own queue and schedule name and deletes its schedule at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import AssayCli, EngineProcess, ScriptedWorker

PREFIXES = ("/api/v1", "/api/v1/engine/workflow")


@pytest.fixture
def api(engine: EngineProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{engine.url}/api/v1", timeout=30) as client:
        yield client


@pytest.fixture
def schedule(api: httpx.Client, unique: Callable[[str], str]) -> Iterator[Callable[..., dict[str, Any]]]:
    created: list[str] = []

    def make(cron: str = "* * * * * *", **fields: Any) -> dict[str, Any]:
        name = unique("sched") + f"-{len(created)}"
        response = api.post("/schedules", json={"name": name, "workflow_type": "e2e", "cron_expr": cron, **fields})
        assert response.status_code == 201, response.text
        created.append(name)
        return response.json()

    yield make
    for name in created:
        api.delete(f"/schedules/{name}")


def runs(api: httpx.Client, name: str) -> list[dict[str, Any]]:
    found = api.get("/workflows", params={"limit": 500, "search_attrs": f'{{"assay_schedule": "{name}"}}'}).json()
    return sorted(found, key=lambda w: w["created_at"])


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_fires_within_one_second_of_the_due_second(api: httpx.Client, schedule) -> None:
    record = schedule("* * * * * *", overlap_policy="allow_all", input={"n": 1})
    found = wait_for(lambda: len(runs(api, record["name"])) >= 3 and runs(api, record["name"]), 8)
    for run in found:
        due = int(run["id"].rsplit("-", 1)[1])
        assert 0 <= run["created_at"] - due < 1.0, run
        assert run["input"] == {"n": 1} and run["search_attributes"]["assay_schedule"] == record["name"]
        assert run["search_attributes"]["assay_engine_version"]


def test_validation_and_both_prefixes(engine: EngineProcess, api: httpx.Client, schedule) -> None:
    five = api.post("/schedules", json={"name": "x5", "workflow_type": "e2e", "cron_expr": "0 2 * * *"})
    assert five.status_code == 422 and "0 0 2 * * *" in five.json()["error"]
    bad_tz = api.post("/schedules", json={"name": "xtz", "workflow_type": "e2e", "cron_expr": "0 0 2 * * *",
                                          "timezone": "Europe/Atlantis"})
    assert bad_tz.status_code == 422 and bad_tz.json()["code"] == "invalid_timezone"
    record = schedule("0 0 2 * * *")
    dup = api.post("/schedules", json={"name": record["name"], "workflow_type": "e2e", "cron_expr": "0 0 2 * * *"})
    assert dup.status_code == 409
    for prefix in PREFIXES:
        got = httpx.get(f"{engine.url}{prefix}/schedules/{record['name']}")
        assert got.status_code == 200 and got.json()["name"] == record["name"]
    assert api.get("/schedules/nope").status_code == 404
    assert api.patch(f"/schedules/{record['name']}", json={"cron_expr": "* * * * *"}).status_code == 422


def test_timezone_next_run(api: httpx.Client, schedule) -> None:
    record = schedule("0 0 9 * * *", timezone="America/New_York")
    local = datetime.fromtimestamp(record["next_run_at"], tz=timezone.utc).astimezone(
        __import__("zoneinfo").ZoneInfo("America/New_York"))
    assert (local.hour, local.minute, local.second) == (9, 0, 0)
    assert record["next_run_at"] > time.time()
    patched = api.patch(f"/schedules/{record['name']}", json={"timezone": "Asia/Tokyo"}).json()
    local = datetime.fromtimestamp(patched["next_run_at"], tz=__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert (local.hour, local.minute) == (9, 0) and patched["timezone"] == "Asia/Tokyo"


def test_pause_and_resume_without_backfill(api: httpx.Client, schedule) -> None:
    record = schedule("* * * * * *", overlap_policy="allow_all")
    name = record["name"]
    assert api.post(f"/schedules/{name}/pause").json()["paused"] is True
    count = len(runs(api, name))
    time.sleep(3)
    assert len(runs(api, name)) == count  # nothing fires while paused
    resumed = api.post(f"/schedules/{name}/resume").json()
    assert resumed["paused"] is False and resumed["next_run_at"] > time.time() - 0.1
    time.sleep(0.3)
    assert len(runs(api, name)) <= count + 1  # no catch-up storm: at most the next regular tick


def _first_run_running(api: httpx.Client, worker: ScriptedWorker, name: str) -> str:
    first = wait_for(lambda: runs(api, name), 5)[0]["id"]
    worker.step([], workflow_id=first)  # claimed: the run is RUNNING, and stays so
    return first


def test_overlap_skip(api: httpx.Client, schedule, scripted_worker) -> None:
    worker = scripted_worker()
    name = schedule("*/2 * * * * *", task_queue=worker.queue)["name"]
    first = _first_run_running(api, worker, name)
    time.sleep(4.5)
    assert [r["id"] for r in runs(api, name)] == [first]


def test_overlap_allow_all(api: httpx.Client, schedule, scripted_worker) -> None:
    worker = scripted_worker()
    name = schedule("*/2 * * * * *", task_queue=worker.queue, overlap_policy="allow_all")["name"]
    _first_run_running(api, worker, name)
    wait_for(lambda: len(runs(api, name)) >= 2, 5)


def test_overlap_buffer_one(api: httpx.Client, schedule, scripted_worker) -> None:
    worker = scripted_worker()
    name = schedule("*/2 * * * * *", task_queue=worker.queue, overlap_policy="buffer_one")["name"]
    first = _first_run_running(api, worker, name)
    time.sleep(4.5)  # two fires while it runs: one buffered, one dropped
    assert len(runs(api, name)) == 1 and api.get(f"/schedules/{name}").json()["buffered"] is True
    api.post(f"/schedules/{name}/pause")  # only the buffered start may follow
    api.post(f"/workflows/{first}/terminate", json={"reason": "done"}).raise_for_status()  # the run closes
    api.post(f"/schedules/{name}/resume")
    found = wait_for(lambda: len(runs(api, name)) >= 2 and runs(api, name), 3)
    assert found[0]["id"] == first and found[0]["status"] == "FAILED"
    assert len(found) == 2


def test_overlap_cancel_other(api: httpx.Client, schedule, scripted_worker) -> None:
    worker = scripted_worker()
    name = schedule("*/2 * * * * *", task_queue=worker.queue, overlap_policy="cancel_other")["name"]
    first = _first_run_running(api, worker, name)
    # The next fire asks the running run to cancel; its worker acknowledges; then the new run starts.
    task = worker.step(lambda t: [{"type": "CancelWorkflow", "reason": "schedule"}], workflow_id=first, wait_secs=5)
    assert any(e["event_type"] == "WorkflowCancelRequested" for e in task["history"])
    found = wait_for(lambda: len(runs(api, name)) >= 2 and runs(api, name), 4)
    assert api.get(f"/workflows/{first}").json()["status"] == "CANCELLED"
    assert found[1]["status"] in ("PENDING", "RUNNING")


def test_overlap_terminate_other(api: httpx.Client, schedule, scripted_worker) -> None:
    worker = scripted_worker()
    name = schedule("*/2 * * * * *", task_queue=worker.queue, overlap_policy="terminate_other")["name"]
    first = _first_run_running(api, worker, name)
    wait_for(lambda: len(runs(api, name)) >= 2, 4)
    assert api.get(f"/workflows/{first}").json()["status"] == "FAILED"
    events = api.get(f"/workflows/{first}/events").json()
    assert events[-1]["event_type"] == "WorkflowTerminated" or "WorkflowTerminated" in [e["event_type"] for e in events]


def test_cli_round_trip(assay_cli: AssayCli, unique: Callable[[str], str]) -> None:
    name = unique("cli")
    created = assay_cli("schedule", "create", name, "--type", "e2e", "--cron", "0 0 3 * * *",
                        "--timezone", "Europe/Berlin", "--input", '{"full": true}', "-o", "json")
    assert created.code == 0, created
    assert created.json()["input"] == {"full": True} and created.json()["next_run_at"]
    listed = assay_cli("schedule", "list", "-o", "json")
    assert name in [s["name"] for s in listed.json()]
    patched = assay_cli("schedule", "patch", name, "--cron", "0 30 3 * * *", "-o", "json")
    assert patched.code == 0 and patched.json()["cron_expr"] == "0 30 3 * * *"
    assert assay_cli("schedule", "pause", name).code == 0
    assert assay_cli("schedule", "resume", name).code == 0
    assert assay_cli("schedule", "describe", name, "-o", "json").json()["paused"] is False
    five = assay_cli("schedule", "create", unique("cli5"), "--type", "e2e", "--cron", "*/5 * * * *")
    assert five.code != 0 and "0 */5 * * * *" in five.stderr
    assert assay_cli("schedule", "delete", name).code == 0
    assert assay_cli("schedule", "describe", name).code != 0


LUA_SCRIPT = """
local workflow = require("assay.workflow")
workflow.connect(os.getenv and os.getenv("ASSAY_ENGINE_URL") or "{url}")
local s = workflow.schedules.create({{ name = "{name}", workflow_type = "report", cron_expr = "0 0 2 * * *",
  timezone = "Europe/Berlin", input = {{ full = true }}, overlap_policy = "buffer_one" }})
assert(s.next_run_at and s.overlap_policy == "buffer_one" and s.input.full == true)
assert(workflow.schedules.describe("{name}").timezone == "Europe/Berlin")
assert(workflow.schedules.describe("{name}-missing") == nil)
assert(workflow.schedules.patch("{name}", {{ cron_expr = "0 30 3 * * *" }}).cron_expr == "0 30 3 * * *")
assert(workflow.schedules.pause("{name}").paused == true)
assert(workflow.schedules.resume("{name}").paused == false)
local ok, err = pcall(workflow.schedules.create, {{ name = "{name}-5", workflow_type = "x", cron_expr = "0 2 * * *" }})
assert(not ok and tostring(err):find("0 0 2 %* %* %*"), tostring(err))
assert(workflow.schedules.delete("{name}").deleted == true)
print("lua schedules ok")
"""


def test_lua_schedules_round_trip(engine: EngineProcess, assay_cli: AssayCli, unique: Callable[[str], str],
                                  tmp_path) -> None:
    script = tmp_path / "schedules.lua"
    script.write_text(LUA_SCRIPT.format(url=engine.url, name=unique("lua")))
    result = assay_cli("run", str(script))
    assert result.code == 0 and "lua schedules ok" in result.stdout + result.stderr, result
