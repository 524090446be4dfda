"""`assay namespace | worker | queue | schedule` against a real engine."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

# --- namespaces ------------------------------------------------------------------------------


def test_namespace_lifecycle(assay_cli, unique):
    ns = unique("team")
    created = assay_cli("namespace", "create", ns, "-o", "table")
    assert (created.code, created.stdout) == (0, f"namespace '{ns}' created\n")
    dup = assay_cli("namespace", "create", ns)
    assert dup.code == 1 and "HTTP 409" in dup.stderr

    listed = assay_cli("namespace", "list", "-o", "json").json()
    assert ns in [n["name"] for n in listed] and "main" in [n["name"] for n in listed]
    table = assay_cli("namespace", "list", "-o", "table").stdout.splitlines()
    assert table[0].split() == ["NAME", "CREATED"]
    assert any(line.split()[0] == ns for line in table[1:])

    described = assay_cli("namespace", "describe", ns, "-o", "json").json()
    assert described["namespace"] == ns and described["total_workflows"] == 0
    kv = assay_cli("namespace", "describe", ns, "-o", "table").stdout
    assert any(line.split() == ["namespace", ns] for line in kv.splitlines())

    deleted = assay_cli("namespace", "delete", ns, "-o", "json")
    assert deleted.code == 0, deleted
    assert deleted.json()["ok"] is True
    assert deleted.json()["message"] == f"namespace '{ns}' deleted"
    gone = assay_cli("namespace", "describe", ns)
    assert gone.code == 1 and "HTTP 404" in gone.stderr


def test_namespace_with_workflows_cannot_be_deleted(assay_cli, unique):
    ns = unique("busy")
    assay_cli("namespace", "create", ns)
    assay_cli("workflow", "start", "--type", "e2e", "-n", ns)
    res = assay_cli("namespace", "delete", ns)
    assert res.code == 1 and "HTTP 409" in res.stderr
    assert assay_cli("namespace", "delete", "main").code == 1


def test_namespace_bad_name_is_engine_error(assay_cli):
    res = assay_cli("namespace", "create", "bad name with spaces/and slash")
    assert res.code == 1 and "HTTP 4" in res.stderr


# --- workers and queues ----------------------------------------------------------------------


def test_worker_list_and_queue_stats(assay_cli, scripted_worker, unique):
    ns = unique("fleet")
    assay_cli("namespace", "create", ns)
    worker = scripted_worker(namespace=ns)
    assay_cli("workflow", "start", "--type", "e2e", "--queue", worker.queue, "-n", ns)

    workers = assay_cli("worker", "list", "-n", ns, "-o", "json")
    assert workers.code == 0, workers
    assert [w["id"] for w in workers.json()] == [worker.worker_id]
    assert workers.json()[0]["task_queue"] == worker.queue
    table = assay_cli("worker", "list", "-n", ns, "-o", "table").stdout.splitlines()
    assert table[0].split() == ["ID", "IDENTITY", "QUEUE", "ACTIVE", "LAST", "HEARTBEAT", "STALE"]
    assert table[1].split()[0] == worker.worker_id
    assert yaml.safe_load(assay_cli("worker", "list", "-n", ns, "-o", "yaml").stdout) == (
        workers.json())

    stats = assay_cli("queue", "stats", "-n", ns, "-o", "json")
    assert stats.code == 0, stats
    row = next(q for q in stats.json() if q["queue"] == worker.queue)
    assert row["pending_workflow_tasks"] == 1 and row["workers"] == 1
    table = assay_cli("queue", "stats", "-n", ns, "-o", "table").stdout.splitlines()
    assert table[0].split() == ["QUEUE", "PENDING", "RUNNING", "WF", "PENDING", "WF", "RUNNING",
                                "WORKERS"]
    assert any(line.split()[0] == worker.queue for line in table[1:])
    assert assay_cli("queue", "stats", "-n", ns, "-o", "jsonl").jsonl() == stats.json()


# --- schedules -------------------------------------------------------------------------------


def _schedules_supported(engine) -> bool:
    answer = httpx.get(f"{engine.url}/api/v1/schedules", timeout=5)
    return answer.status_code == 200


def test_schedule_errors_are_reported_faithfully(assay_cli):
    # Holds whether or not the engine has schedules yet: an unknown name is a 404 either way.
    res = assay_cli("schedule", "describe", "no-such-schedule")
    assert res.code == 1
    assert "/api/v1/schedules/no-such-schedule" in res.stderr and "HTTP 404" in res.stderr
    assert len(res.stderr.splitlines()) == 1


def test_schedule_patch_without_fields_is_usage_error(assay_cli):
    res = assay_cli("schedule", "patch", "x")
    assert res.code == 64 and "at least one of --cron" in res.stderr


def test_schedule_lifecycle(assay_cli, engine, unique, tmp_path):
    if not _schedules_supported(engine):
        pytest.skip("engine has no schedules routes yet (schedules issue)")
    ns, name = unique("sched"), unique("nightly")
    assay_cli("namespace", "create", ns)
    inp = tmp_path / "in.json"
    inp.write_text('{"full": true}')
    created = assay_cli(
        "schedule", "create", name, "--type", "report", "--cron", "0 0 2 * * *",
        "--timezone", "Europe/Berlin", "--input", f"@{inp}", "--queue", "reports",
        "--overlap", "allow_all", "-n", ns, "-o", "json",
    )
    assert created.code == 0, created
    body = created.json()
    assert (body["name"], body["cron_expr"], body["timezone"], body["task_queue"],
            body["overlap_policy"], body["input"]) == (
        name, "0 0 2 * * *", "Europe/Berlin", "reports", "allow_all", {"full": True})

    listed = assay_cli("schedule", "list", "-n", ns, "-o", "json").json()
    assert [s["name"] for s in listed] == [name]
    table = assay_cli("schedule", "list", "-n", ns, "-o", "table").stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "TYPE", "CRON", "TZ"]
    assert table[1].split()[0] == name
    assert assay_cli("schedule", "describe", name, "-n", ns).json()["name"] == name

    patched = assay_cli("schedule", "patch", name, "--cron", "0 30 3 * * *", "--input", "[1]",
                        "--overlap", "skip", "-n", ns, "-o", "yaml")
    assert patched.code == 0, patched
    after = yaml.safe_load(patched.stdout)
    assert (after["cron_expr"], after["input"], after["overlap_policy"], after["timezone"]) == (
        "0 30 3 * * *", [1], "skip", "Europe/Berlin")

    paused = assay_cli("schedule", "pause", name, "-n", ns, "-o", "table")
    assert (paused.code, paused.stdout) == (0, f"{name} paused\n")
    assert assay_cli("schedule", "describe", name, "-n", ns).json()["paused"] is True
    resumed = assay_cli("schedule", "resume", name, "-n", ns, "-o", "json")
    assert resumed.json()["message"] == f"{name} resumed"
    assert assay_cli("schedule", "describe", name, "-n", ns).json()["paused"] is False

    deleted = assay_cli("schedule", "delete", name, "-n", ns, "-o", "jsonl")
    assert deleted.code == 0 and json.loads(deleted.stdout)["message"] == f"{name} deleted"
    assert assay_cli("schedule", "describe", name, "-n", ns).code == 1


def test_schedule_create_defaults_and_bad_input(assay_cli, engine, unique):
    bad = assay_cli("schedule", "create", "x", "--type", "t", "--cron", "* * * * * *",
                    "--input", "{")
    assert bad.code == 64 and "--input: invalid JSON" in bad.stderr
    missing = assay_cli("schedule", "create", "x", "--type", "t")
    assert missing.code == 64 and "--cron" in missing.stderr
    if not _schedules_supported(engine):
        pytest.skip("engine has no schedules routes yet (schedules issue)")
    name = unique("defaults")
    created = assay_cli("schedule", "create", name, "--type", "t", "--cron", "0 0 * * * *")
    assert created.code == 0, created
    assert created.json()["task_queue"] == "default"
    assay_cli("schedule", "delete", name)
