"""The HTTP surface: 4xx (never 500) for bad input, optional bodies, namespaces, SSE, meta routes."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import httpx
import pytest

from tests.e2e.engine_process import ALT_API, API, EngineProcess, engine_fixture
from tests.e2e.protocol_worker import ProtocolWorker, activity_cmd, complete_cmd, expect, unique
from tests.e2e.sse_listener import SseListener

eng = engine_fixture(name="engine-http")


def is_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    body = response.json()
    assert set(body) >= {"error", "code"} and isinstance(body["error"], str) and body["error"]
    if code is not None:
        assert body["code"] == code, body
    return body


# --- bad input ---------------------------------------------------------------------------------


def test_malformed_json_is_400(worker: ProtocolWorker) -> None:
    headers = {"content-type": "application/json"}
    for path in ("/workflows", "/workers/register", "/workflow-tasks/poll", "/tasks/poll", "/namespaces"):
        is_error(worker.http.post(path, content=b'{"workflow_type": ', headers=headers), 400, "bad_request")
    wid = worker.start()
    is_error(worker.http.post(f"/workflows/{wid}/signal/x", content=b"{nope", headers=headers), 400, "bad_request")


def test_wrong_types_are_422(worker: ProtocolWorker) -> None:
    is_error(worker.http.post("/workflows", json={"workflow_type": 12}), 422, "validation_error")
    is_error(worker.http.post("/workflows", json={}), 422, "validation_error")
    is_error(worker.http.post("/workflows", json=[1, 2]), 422, "validation_error")
    is_error(worker.http.post("/workflows", json="text"), 422, "validation_error")
    is_error(worker.http.post("/workflows", json={"workflow_type": "x", "search_attributes": [1]}), 422)
    is_error(worker.http.post("/workflow-tasks/poll", json={"queue": "q", "worker_id": "w", "wait_secs": "long"}), 422)
    is_error(worker.http.post("/workflow-tasks/poll", json={"queue": "q", "worker_id": "w", "wait_secs": -1}), 422)
    is_error(worker.http.post("/tasks/1/fail", json={"attempt": "first"}), 422)
    is_error(worker.http.get("/workflows", params={"limit": "many"}), 422)
    is_error(worker.http.get("/activities/not-a-number"), 422)


def test_bad_commands_are_422_and_nothing_is_applied(worker: ProtocolWorker) -> None:
    wid = worker.start()
    task = worker.next_task(wid)
    bad_batches: list[Any] = [
        [{"type": "LaunchRocket"}],
        [{"no_type": True}],
        ["ScheduleActivity"],
        [activity_cmd(1), {"type": "ScheduleActivity", "seq": "one", "name": "x"}],
        [{"type": "ScheduleActivity", "seq": True, "name": "x"}],
        [{"type": "ScheduleActivity", "seq": -1, "name": "x"}],
        [{"type": "ScheduleActivity", "seq": 1}],
        [{"type": "ScheduleTimer", "seq": 1, "duration_secs": -5}],
        [{"type": "ScheduleTimer", "seq": 1, "duration_secs": "soon"}],
        [{"type": "StartChildWorkflow", "workflow_type": "k", "workflow_id": "  "}],
        [{"type": "UpsertSearchAttributes", "patch": "x=1"}],
        [{"type": "WaitForSignal"}],
        [complete_cmd(), complete_cmd()],
    ]
    for batch in bad_batches:
        response = worker.submit_raw(task, batch)
        body = is_error(response, 422, "validation_error")
        if batch == [{"type": "LaunchRocket"}]:
            assert "LaunchRocket" in body["error"]
    is_error(worker.submit_raw(task, "not a list"), 422)
    assert worker.event_types(wid) == ["WorkflowStarted"]
    worker.submit(task, [complete_cmd()])  # the lease survived the bad batches


def test_unknown_ids_are_404(worker: ProtocolWorker) -> None:
    missing = unique("missing")
    for response in (
        worker.http.get(f"/workflows/{missing}"),
        worker.http.get(f"/workflows/{missing}/result"),
        worker.http.get(f"/workflows/{missing}/events"),
        worker.http.get(f"/workflows/{missing}/children"),
        worker.http.get(f"/workflows/{missing}/state"),
        worker.http.get(f"/workflows/{missing}/state/x"),
        worker.http.post(f"/workflows/{missing}/signal/x"),
        worker.http.post(f"/workflows/{missing}/continue-as-new"),
        worker.http.post(f"/workflows/{missing}/activities", json={"name": "a", "seq": 1, "task_queue": "q"}),
        worker.http.post(f"/workflow-tasks/{missing}/commands", json={"worker_id": worker.worker_id, "lease_token": "t", "commands": []}),
        worker.http.post(f"/workflow-tasks/{missing}/heartbeat", json={"worker_id": worker.worker_id, "lease_token": "t"}),
        worker.http.post("/workers/heartbeat", json={"worker_id": missing}),
        worker.http.get(f"/namespaces/{missing}"),
        worker.http.delete(f"/namespaces/{missing}"),
        worker.http.post("/workflows", json={"workflow_type": "x", "namespace": missing}),
    ):
        is_error(response, 404, "not_found")
    is_error(worker.http.get("/no/such/route"), 404)


def test_oversized_body_is_413(worker: ProtocolWorker) -> None:
    big = b'{"workflow_type": "x", "input": "' + b"a" * (4 * 1024 * 1024) + b'"}'
    is_error(worker.http.post("/workflows", content=big, headers={"content-type": "application/json"}), 413, "payload_too_large")
    wid = worker.start()
    is_error(worker.http.post(f"/workflows/{wid}/signal/big", content=big), 413, "payload_too_large")
    # Just under the limit is fine.
    fits = json.dumps({"payload": "b" * (4 * 1024 * 1024 - 100)}).encode()
    expect(worker.http.post(f"/workflows/{wid}/signal/fits", content=fits))


def test_unknown_status_filter_is_422(worker: ProtocolWorker) -> None:
    body = is_error(worker.http.get("/workflows", params={"status": "SLEEPING"}), 422)
    assert "SLEEPING" in body["error"]
    expect(worker.http.get("/workflows", params={"status": "running"}))


def test_starting_an_existing_id_is_409_naming_the_run(worker: ProtocolWorker) -> None:
    wid = worker.start()
    run_id = worker.describe(wid)["run_id"]
    response = worker.http.post("/workflows", json={"workflow_type": "wf", "workflow_id": wid})
    body = is_error(response, 409, "workflow_already_exists")
    assert run_id in body["error"] and wid in body["error"]


@pytest.mark.parametrize("body", [None, b"", b"{}", b"[]", b"null"])
def test_optional_bodies_accept_nothing_empty_object_array_and_null(worker: ProtocolWorker, body: bytes | None) -> None:
    headers = {"content-type": "application/json"}
    wid = worker.start(queue=unique("side"))  # its continued run must not reach this worker's queue
    expect(worker.http.post(f"/workflows/{wid}/signal/s", content=body, headers=headers))
    expect(worker.http.post(f"/workflows/{wid}/continue-as-new", content=body, headers=headers), 201)
    other = worker.start()
    assert expect(worker.http.post(f"/workflows/{other}/cancel", content=body, headers=headers))["status"] == "CANCELLED"
    third = worker.start()
    expect(worker.http.post(f"/workflows/{third}/terminate", content=body, headers=headers))
    fourth = worker.start()
    worker.step([activity_cmd(1)], fourth)
    activity = worker.next_activity()
    expect(worker.http.post(f"/tasks/{activity['id']}/heartbeat", content=body, headers=headers))
    expect(worker.http.post(f"/tasks/{activity['id']}/complete", content=body, headers=headers))


def test_fuzzed_bodies_never_get_a_500(eng: EngineProcess, worker: ProtocolWorker) -> None:
    spec = expect(worker.http.get("/openapi.json"))
    wid = worker.start()
    rng = random.Random(20240601)
    junk: list[bytes] = [
        b"", b"{", b"[]", b"null", b"0", b"-1", b'"s"', b"true", b"{}", b'{"a":', b"\xff\xfe\x00",
        b'{"queue": null, "worker_id": []}', b'{"commands": {"type": "CompleteWorkflow"}}',
        b'{"seq": 1e400, "name": {}}', b'{"workflow_type": "x", "input": ' + b"[" * 300 + b"]" * 300 + b"}",
        json.dumps({"worker_id": "w", "lease_token": 5, "commands": [{"type": None}]}).encode(),
        json.dumps({"name": "\u0000\ud7ff", "seq": 2**70, "task_queue": "q"}).encode(),
        json.dumps({"error": ["x"], "attempt": 0, "non_retryable": "yes"}).encode(),
    ]
    junk += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) for _ in range(6)]
    posts = [path for path, ops in spec["paths"].items() if "post" in ops]
    assert posts
    client = eng.client("")
    failures = []
    for path in posts:
        for params in ({"workflow_id": wid, "name": "sig", "activity_id": "1"},
                       {"workflow_id": "nope", "name": "x" * 300, "activity_id": "99999999999999999999"}):
            url = re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), "x")), path)
            for body in junk:
                response = client.post(url, content=body, headers={"content-type": "application/json"})
                if response.status_code >= 500:
                    failures.append((url, body[:60], response.status_code, response.text[:200]))
    client.close()
    assert not failures, failures


# --- namespaces ------------------------------------------------------------------------------------


def test_namespace_isolation_for_dispatch_and_listing(eng: EngineProcess) -> None:
    ns_a, ns_b, queue = unique("nsa"), unique("nsb"), unique("shared")
    admin = eng.client()
    for ns in (ns_a, ns_b):
        created = expect(admin.post("/namespaces", json={"name": ns}), 201)
        assert created["name"] == ns
    is_error(admin.post("/namespaces", json={"name": ns_a}), 409)
    is_error(admin.post("/namespaces", json={"name": "bad name!"}), 422)
    a, b = ProtocolWorker(eng, queue, ns_a), ProtocolWorker(eng, queue, ns_b)
    try:
        wid_b = b.start()
        assert a.poll(wait_secs=0.3) is None  # same queue name, other namespace
        task = b.next_task(wid_b)
        assert task["namespace"] == ns_b
        b.submit(task, [activity_cmd(1, "nsb-act")])
        assert a.poll_activity(wait_secs=0.3) is None
        assert b.next_activity()["namespace"] == ns_b

        wid_a = a.start()
        assert [w["id"] for w in expect(admin.get("/workflows", params={"namespace": ns_a}))] == [wid_a]
        assert [w["id"] for w in expect(admin.get("/workflows", params={"namespace": ns_b}))] == [wid_b]
        assert wid_a not in [w["id"] for w in expect(admin.get("/workflows"))]
        stats = expect(admin.get(f"/namespaces/{ns_b}"))
        assert stats["namespace"] == ns_b and stats["total_workflows"] == 1 and stats["running"] == 1
        workers = expect(admin.get("/workers", params={"namespace": ns_a}))
        assert [w["id"] for w in workers] == [a.worker_id]
        queues = {q["queue"]: q for q in expect(admin.get("/queues", params={"namespace": ns_a}))}
        assert queues[queue]["pending_workflow_tasks"] == 1
        is_error(admin.delete(f"/namespaces/{ns_a}"), 409)
        is_error(admin.delete("/namespaces/main"), 409)
    finally:
        a.close()
        b.close()
        admin.close()


# --- SSE ---------------------------------------------------------------------------------------------


def test_event_stream_delivers_frames_of_its_namespace_only(eng: EngineProcess, worker: ProtocolWorker) -> None:
    other_ns = unique("sse")
    expect(worker.http.post("/namespaces", json={"name": other_ns}), 201)
    other = ProtocolWorker(eng, worker.queue, other_ns)
    with SseListener(f"{eng.api}/events/stream", {"namespace": "main"}) as stream:
        assert stream.content_type.startswith("text/event-stream")
        hidden = other.start()
        wid = worker.start(input={"hello": "sse"})
        worker.step([complete_cmd(1)], wid)
        stream.wait_for(lambda n, d: n == "workflow_completed" and d["workflow_id"] == wid, timeout=5)
    frames = stream.frames
    mine = [(n, d) for n, d in frames if d["workflow_id"] == wid]
    names = [n for n, _ in mine]
    assert names[0] == "workflow_started" and "workflow_running" in names and names[-1] == "workflow_completed"
    started = mine[0][1]
    assert started["namespace"] == "main" and started["event_type"] == "WorkflowStarted"
    assert started["payload"] == {"hello": "sse"} and started["seq"] == 1 and "status" in started
    assert all(d["namespace"] == "main" for _, d in frames)
    assert hidden not in {d["workflow_id"] for _, d in frames}
    other.close()


# --- meta routes, both prefixes --------------------------------------------------------------------


def test_both_prefixes_serve_the_same_api(eng: EngineProcess, worker: ProtocolWorker) -> None:
    wid = worker.start()
    with eng.client(ALT_API) as alt:
        assert expect(alt.get(f"/workflows/{wid}"))["id"] == wid
        assert expect(alt.get("/health")) == {"status": "ok", "service": "assay-workflow"}
        task = expect(alt.post("/workflow-tasks/poll", json={"queue": worker.queue, "worker_id": worker.worker_id}))
        assert task["workflow_id"] == wid
        expect(alt.post(f"/workflow-tasks/{wid}/commands", json={
            "worker_id": worker.worker_id, "lease_token": task["lease_token"], "commands": [complete_cmd("alt")],
        }))
    assert worker.describe(wid)["result"] == "alt"


def test_version_openapi_and_docs(eng: EngineProcess) -> None:
    from assay import __version__

    with httpx.Client(base_url=eng.url, timeout=10) as client:
        for prefix in (API, ALT_API):
            version = expect(client.get(f"{prefix}/version"))
            assert version["version"] == __version__ and isinstance(version["build_profile"], str)

        spec = expect(client.get(f"{ALT_API}/openapi.json"))
        assert spec["openapi"].startswith("3.")
        assert expect(client.get(f"{API}/openapi.json"))["paths"].keys() == spec["paths"].keys()
        documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
        expected = {
            ("POST", "/workflows"), ("GET", "/workflows"), ("GET", "/workflows/{workflow_id}"),
            ("GET", "/workflows/{workflow_id}/result"), ("GET", "/workflows/{workflow_id}/events"),
            ("POST", "/workflows/{workflow_id}/signal/{name}"), ("POST", "/workflows/{workflow_id}/cancel"),
            ("POST", "/workflows/{workflow_id}/terminate"), ("GET", "/workflows/{workflow_id}/children"),
            ("POST", "/workflows/{workflow_id}/continue-as-new"), ("GET", "/workflows/{workflow_id}/state"),
            ("GET", "/workflows/{workflow_id}/state/{name}"), ("POST", "/workflows/{workflow_id}/activities"),
            ("GET", "/activities/{activity_id}"), ("POST", "/workers/register"), ("POST", "/workers/heartbeat"),
            ("GET", "/workers"), ("POST", "/workflow-tasks/poll"), ("POST", "/workflow-tasks/{workflow_id}/commands"),
            ("POST", "/workflow-tasks/{workflow_id}/heartbeat"), ("POST", "/tasks/poll"),
            ("POST", "/tasks/{activity_id}/complete"), ("POST", "/tasks/{activity_id}/fail"),
            ("POST", "/tasks/{activity_id}/heartbeat"), ("POST", "/namespaces"), ("GET", "/namespaces"),
            ("GET", "/namespaces/{name}"), ("DELETE", "/namespaces/{name}"), ("GET", "/queues"),
            ("GET", "/health"), ("GET", "/version"), ("GET", "/events/stream"),
        }
        missing = {(m, ALT_API + p) for m, p in expected} - documented
        assert not missing, f"routes missing from openapi.json: {sorted(missing)}"
        # Request bodies are documented with schemas.
        start_body = spec["paths"][f"{ALT_API}/workflows"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert "workflow_type" in json.dumps(start_body)

        for prefix in (API, ALT_API):
            page = client.get(f"{prefix}/docs")
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
            assert assets and all(a.startswith(f"{prefix}/docs-assets/") for a in assets), assets
            assert "//" not in "".join(a.split("://")[0] for a in assets)  # no CDN
            assert f"{prefix}/openapi.json" in page.text
            for asset in assets:
                served = client.get(asset)
                assert served.status_code == 200 and len(served.content) > 1000, asset
        bundle = client.get(f"{API}/docs-assets/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and b"SwaggerUIBundle" in bundle.content


def test_deeply_nested_values_are_refused_and_cannot_poison_listings(worker: ProtocolWorker) -> None:
    # A value deeper than the response encoder can write used to be stored, after which every
    # GET /workflows page containing it answered 500.
    deep = "[" * 300 + "]" * 300
    body = f'{{"workflow_type": "deep", "namespace": "main", "input": {deep}}}'.encode()
    is_error(worker.http.post("/workflows", content=body), 422, "validation_error")
    nested: Any = "leaf"
    for _ in range(150):
        nested = [nested]
    wid = worker.start("deep-ok", input=nested)
    assert worker.describe(wid)["input"] == nested
    expect(worker.http.get("/workflows"))
    assert worker.next_task(wid)["input"] == nested


def test_out_of_range_integers_are_4xx(worker: ProtocolWorker) -> None:
    # Beyond SQLite's 64-bit integers: used to be an OverflowError and a 500.
    for response in (
        worker.http.post("/tasks/99999999999999999999/complete", json={}),
        worker.http.post("/tasks/99999999999999999999/heartbeat"),
        worker.http.get("/activities/99999999999999999999"),
    ):
        assert 400 <= response.status_code < 500, response.text
