"""`assay workflow …` against a real engine: every subcommand, flag and output format."""

from __future__ import annotations

import json
import socket

import yaml


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- start ---------------------------------------------------------------------------------


def test_start_with_every_flag_then_describe(assay_cli, unique, tmp_path):
    wf_id, queue = unique("wf"), unique("q")
    started = assay_cli(
        "workflow", "start", "--type", "e2e", "--id", wf_id, "--input", '{"n": 1}',
        "--queue", queue, "--search-attrs", '{"env": "prod"}', "-o", "json",
    )
    assert started.code == 0, started
    body = started.json()
    assert body["workflow_id"] == wf_id and body["status"] == "PENDING" and body["run_id"]

    described = assay_cli("workflow", "describe", wf_id, "-o", "json")
    record = described.json()
    assert record["id"] == wf_id
    assert record["input"] == {"n": 1}
    assert record["task_queue"] == queue
    assert record["search_attributes"]["env"] == "prod"
    assert record["namespace"] == "main"


def test_start_reads_input_from_file_and_stdin(assay_cli, unique, tmp_path):
    payload = tmp_path / "in.json"
    payload.write_text('{"from": "file"}')
    a, b = unique("file"), unique("stdin")
    assert assay_cli("workflow", "start", "--type", "e2e", "--id", a,
                     "--input", f"@{payload}").code == 0
    assert assay_cli("workflow", "start", "--type", "e2e", "--id", b, "--input", "-",
                     "--search-attrs", '{"k": 1}', input='[1, 2]').code == 0
    assert assay_cli("workflow", "describe", a, "-o", "json").json()["input"] == {"from": "file"}
    assert assay_cli("workflow", "describe", b, "-o", "json").json()["input"] == [1, 2]


def test_start_without_id_gets_one_and_default_queue(assay_cli):
    started = assay_cli("workflow", "start", "--type", "e2e")
    assert started.code == 0, started
    wf_id = started.json()["workflow_id"]  # piped stdout: json is the default
    assert wf_id
    assert assay_cli("workflow", "describe", wf_id).json()["task_queue"] == "default"


def test_start_bad_json_is_usage_error_naming_argument(assay_cli, tmp_path):
    bad = assay_cli("workflow", "start", "--type", "e2e", "--input", '{"a": }')
    assert bad.code == 64
    assert "--input: invalid JSON in the value at line 1, column 7" in bad.stderr
    missing = assay_cli("workflow", "start", "--type", "e2e", "--search-attrs", "@nope.json")
    assert missing.code == 64 and "--search-attrs: cannot read nope.json" in missing.stderr
    bad_file = tmp_path / "bad.json"
    bad_file.write_text('{\n  "a": tru\n}')
    bad = assay_cli("workflow", "start", "--type", "e2e", "--input", f"@{bad_file}")
    assert bad.code == 64 and f"@{bad_file} at line 2" in bad.stderr


def test_duplicate_id_is_exit_1_with_engine_message(assay_cli, unique):
    wf_id = unique("dup")
    assert assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id).code == 0
    again = assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id)
    assert again.code == 1
    assert again.stderr.startswith("error: POST http://127.0.0.1:")
    assert "/api/v1/workflows: HTTP 409 workflow_already_exists" in again.stderr
    assert len(again.stderr.splitlines()) == 1 and "Traceback" not in again.stderr


# --- list ----------------------------------------------------------------------------------


def _start_many(assay_cli, unique, count=3):
    wf_type = unique("listtype")
    ids = []
    for i in range(count):
        wf_id = unique(f"l{i}")
        res = assay_cli("workflow", "start", "--type", wf_type, "--id", wf_id,
                        "--search-attrs", json.dumps({"idx": i, "grp": wf_type}))
        assert res.code == 0, res
        ids.append(wf_id)
    return wf_type, ids


def test_list_filters_and_pages(assay_cli, unique):
    wf_type, ids = _start_many(assay_cli, unique)
    listed = assay_cli("workflow", "list", "--type", wf_type, "-o", "json")
    assert listed.code == 0, listed
    assert [r["id"] for r in listed.json()] == ids[::-1]  # newest first

    first = assay_cli("workflow", "list", "--type", wf_type, "--limit", "2", "-o", "json")
    rest = assay_cli("workflow", "list", "--type", wf_type, "--limit", "2", "--offset", "2")
    assert [r["id"] for r in first.json()] == ids[:0:-1]
    assert [r["id"] for r in rest.json()] == ids[:1]

    attrs = json.dumps({"idx": 1, "grp": wf_type})
    by_attr = assay_cli("workflow", "list", "--search-attrs", attrs)
    assert [r["id"] for r in by_attr.json()] == [ids[1]]

    # Any case is accepted and really filters (the original silently listed everything).
    pending = assay_cli("workflow", "list", "--type", wf_type, "--status", "pending")
    assert len(pending.json()) == 3
    running = assay_cli("workflow", "list", "--type", wf_type, "--status", "Running")
    assert running.json() == []


def test_list_every_output_format_parses_back(assay_cli, unique):
    wf_type, ids = _start_many(assay_cli, unique, count=2)
    as_json = assay_cli("workflow", "list", "--type", wf_type, "--output", "json").json()
    as_jsonl = assay_cli("workflow", "list", "--type", wf_type, "--output", "jsonl").jsonl()
    as_yaml = yaml.safe_load(
        assay_cli("workflow", "list", "--type", wf_type, "--output", "yaml").stdout)
    assert as_json == as_jsonl == as_yaml
    assert [r["id"] for r in as_json] == ids[::-1]

    table = assay_cli("workflow", "list", "--type", wf_type, "--output", "table")
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATUS", "QUEUE", "CREATED"]
    assert [line.split()[0] for line in lines[1:]] == ids[::-1]
    for line in lines[1:]:
        assert "PENDING" in line
        assert line.endswith("ago") or line.endswith("just now")


def test_output_env_and_yml_alias(assay_cli, unique):
    wf_type, _ = _start_many(assay_cli, unique, count=1)
    via_env = assay_cli("workflow", "list", "--type", wf_type, env={"ASSAY_OUTPUT": "yml"})
    assert isinstance(yaml.safe_load(via_env.stdout), list)
    bad = assay_cli("workflow", "list", env={"ASSAY_OUTPUT": "xml"})
    assert bad.code == 64 and "ASSAY_OUTPUT: unknown output format 'xml'" in bad.stderr


def test_global_options_before_and_after_the_subcommand(assay_cli, engine, unique):
    wf_type, ids = _start_many(assay_cli, unique, count=1)
    env = assay_cli.env()  # no ASSAY_ENGINE_URL: the flag must carry it
    before = assay_cli.bare(["workflow", "--engine-url", engine.url, "-o", "jsonl",
                        "list", "--type", wf_type], env=env)
    after = assay_cli.bare(["workflow", "list", "--type", wf_type,
                       "--engine-url", engine.url, "--output", "jsonl"], env=env)
    assert before.code == after.code == 0, (before, after)
    assert before.stdout == after.stdout and json.loads(before.stdout)["id"] == ids[0]


def test_namespace_flag_and_env_scope_the_list(assay_cli, unique):
    ns = unique("ns")
    assert assay_cli("namespace", "create", ns).code == 0
    wf_id = unique("inns")
    assert assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id, "-n", ns).code == 0
    assert [r["id"] for r in assay_cli("workflow", "list", "--namespace", ns).json()] == [wf_id]
    via_env = assay_cli("workflow", "list", env={"ASSAY_NAMESPACE": ns})
    assert [r["id"] for r in via_env.json()] == [wf_id]
    assert wf_id not in [r["id"] for r in assay_cli("workflow", "list", "--limit", "1000").json()]


# --- describe, state, children ------------------------------------------------------------


def test_describe_table_is_key_value_and_404_is_exit_1(assay_cli, unique):
    wf_id = unique("desc")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id, "--input", '{"a": 1}')
    table = assay_cli("workflow", "describe", wf_id, "-o", "table")
    rows = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in table.stdout.splitlines()
            if len(line.split(None, 1)) == 2}
    assert rows["id"] == wf_id and rows["status"] == "PENDING" and rows["input"] == '{"a":1}'
    assert "ago" in rows["created_at"] or "just now" in rows["created_at"]
    missing = assay_cli("workflow", "describe", "no-such-workflow")
    assert missing.code == 1
    assert "/api/v1/workflows/no-such-workflow: HTTP 404 not_found" in missing.stderr


def test_describe_yaml_and_jsonl(assay_cli, unique):
    wf_id = unique("fmt")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id)
    as_yaml = yaml.safe_load(assay_cli("workflow", "describe", wf_id, "-o", "yaml").stdout)
    as_jsonl = assay_cli("workflow", "describe", wf_id, "-o", "jsonl")
    assert len(as_jsonl.stdout.splitlines()) == 1
    assert as_yaml == json.loads(as_jsonl.stdout)


def test_state_and_children(assay_cli, scripted_worker, unique):
    worker = scripted_worker()
    parent, child = unique("parent"), unique("child")
    assert assay_cli("workflow", "start", "--type", "e2e", "--id", parent,
                     "--queue", worker.queue).code == 0
    missing = assay_cli("workflow", "state", parent)
    assert missing.code == 1 and "HTTP 404" in missing.stderr

    worker.step([
        {"type": "RecordSnapshot", "state": {"progress": 42, "stage": "copy"}},
        {"type": "StartChildWorkflow", "workflow_type": "e2e-child", "workflow_id": child,
         "task_queue": worker.queue},
    ], workflow_id=parent)

    state = assay_cli("workflow", "state", parent, "-o", "json")
    assert state.code == 0, state
    assert state.json()["state"] == {"progress": 42, "stage": "copy"}
    one = assay_cli("workflow", "state", parent, "progress", "-o", "json")
    assert one.json()["value"] == 42

    kids = assay_cli("workflow", "children", parent, "-o", "json")
    assert [k["id"] for k in kids.json()] == [child]
    table = assay_cli("workflow", "children", parent, "-o", "table")
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "TYPE", "STATUS"]
    assert child in table.stdout


# --- signal, cancel, terminate, continue-as-new --------------------------------------------


def test_signal_payload_forms_and_action_output(assay_cli, unique, tmp_path):
    wf_id = unique("sig")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id)
    sent = assay_cli("workflow", "signal", wf_id, "approve", '{"by": "ada"}', "-o", "table")
    assert (sent.code, sent.stdout) == (0, f"signal 'approve' sent to {wf_id}\n")
    payload = tmp_path / "p.json"
    payload.write_text("[1, 2]")
    as_json = assay_cli("workflow", "signal", wf_id, "approve", f"@{payload}", "-o", "json")
    body = as_json.json()
    assert body["ok"] is True and body["message"] == f"signal 'approve' sent to {wf_id}"
    assert body["result"]["signal"] == "approve"
    assert assay_cli("workflow", "signal", wf_id, "ping", "-", input='"x"').code == 0
    assert assay_cli("workflow", "signal", wf_id, "bare").code == 0

    events = assay_cli("workflow", "events", wf_id, "-o", "json").json()
    received = [e["payload"] for e in events if e["event_type"] == "SignalReceived"]
    assert received == [
        {"signal": "approve", "payload": {"by": "ada"}},
        {"signal": "approve", "payload": [1, 2]},
        {"signal": "ping", "payload": "x"},
        {"signal": "bare", "payload": None},
    ]
    bad = assay_cli("workflow", "signal", wf_id, "approve", "{nope")
    assert bad.code == 64 and "PAYLOAD: invalid JSON" in bad.stderr


def test_cancel_pending_with_reason_then_signal_is_refused(assay_cli, unique):
    wf_id = unique("cancel")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id)
    cancelled = assay_cli("workflow", "cancel", wf_id, "--reason", "no longer needed",
                          "-o", "table")
    assert cancelled.code == 0, cancelled
    assert cancelled.stdout.strip() in (f"{wf_id} cancelled", f"cancel requested for {wf_id}")
    assert assay_cli("workflow", "describe", wf_id).json()["status"] == "CANCELLED"
    refused = assay_cli("workflow", "signal", wf_id, "late")
    assert refused.code == 1 and "HTTP 409" in refused.stderr


def test_cancel_running_requests_cancellation(assay_cli, scripted_worker, unique):
    worker = scripted_worker()
    wf_id = unique("cancelrun")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id, "--queue", worker.queue)
    worker.step([{"type": "WaitForSignal", "name": "never"}], workflow_id=wf_id)
    res = assay_cli("workflow", "cancel", wf_id, "-o", "json")
    assert res.code == 0, res
    assert res.json()["message"] == f"cancel requested for {wf_id}"
    types = [e["event_type"] for e in assay_cli("workflow", "events", wf_id).json()]
    assert "WorkflowCancelRequested" in types


def test_terminate_with_reason(assay_cli, unique):
    wf_id = unique("term")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id)
    res = assay_cli("workflow", "terminate", wf_id, "--reason", "bad deploy", "-o", "yaml")
    assert res.code == 0, res
    body = yaml.safe_load(res.stdout)
    assert body["message"] == f"{wf_id} terminated" and body["result"]["status"] == "FAILED"
    events = assay_cli("workflow", "events", wf_id).json()
    terminated = [e for e in events if e["event_type"] == "WorkflowTerminated"]
    assert terminated and terminated[0]["payload"]["reason"] == "bad deploy"


def test_continue_as_new_with_input_and_id(assay_cli, unique):
    wf_id, new_id = unique("can"), unique("can-next")
    assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id, "--input", "1")
    res = assay_cli("workflow", "continue-as-new", wf_id, "--input", '{"cursor": 2}',
                    "--id", new_id)
    assert res.code == 0, res
    assert res.json()["workflow_id"] == new_id
    new = assay_cli("workflow", "describe", new_id).json()
    assert new["input"] == {"cursor": 2} and new["workflow_type"] == "e2e"
    old = assay_cli("workflow", "describe", wf_id).json()
    assert old["status"] == "COMPLETED"


def test_unreachable_engine_is_one_line_exit_1(assay_cli_offline):
    port = _closed_port()
    res = assay_cli_offline("workflow", "list", "--engine-url", f"http://127.0.0.1:{port}")
    assert res.code == 1
    assert res.stderr.startswith(f"error: engine unreachable at http://127.0.0.1:{port}/api/v1")
    assert len(res.stderr.splitlines()) == 1


def test_api_key_is_sent_as_bearer(assay_cli, tmp_path):
    # The test engine runs without auth, so any key is accepted; what matters is that each
    # source is read and the request still succeeds (a bad key file would exit 64).
    key = tmp_path / "key"
    key.write_text("  k-123\n")
    assert assay_cli("queue", "stats", "--api-key", "k").code == 0
    assert assay_cli("queue", "stats", env={"ASSAY_API_KEY_FILE": str(key)}).code == 0
    missing = assay_cli("queue", "stats", env={"ASSAY_API_KEY_FILE": str(tmp_path / "nope")})
    assert missing.code == 64 and "ASSAY_API_KEY_FILE: cannot read" in missing.stderr
