"""Helpers for the engine's protocol and crash tests: a real ``assay serve`` and a worker played over HTTP.

``EngineProcess`` runs ``python -m assay serve`` on a free loopback port with a SQLite file of
its own; it can be killed with SIGKILL (a crash), stopped with SIGTERM (must exit 0) and
restarted on the same database. ``ProtocolWorker`` is a tiny synchronous worker speaking the
REST worker protocol with httpx, so a test decides every command the engine receives.

Not a conftest: tests import these explicitly (``from tests.e2e.engine_fixtures import ...``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

STARTUP_TIMEOUT_SECS = 30.0
API = "/api/v1"
ALT_API = "/api/v1/engine/workflow"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class EngineProcess:
    """One ``assay serve`` subprocess on ``workdir/engine.db``; ``url`` is the server root."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None, *, db_path: Path | None = None) -> None:
        self.workdir = workdir
        self.db_path = db_path or workdir / "engine.db"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
        self.env.update(env or {})
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return self.url + API

    @property
    def log_path(self) -> Path:
        return self.workdir / f"engine-{self._starts}.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it to be healthy."""
        self._starts += 1
        self.port = free_port()
        args = [
            sys.executable, "-m", "assay", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--backend", f"sqlite:///{self.db_path}",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                args, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        return self.process

    def start(self) -> "EngineProcess":
        process = self.spawn()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"assay serve exited with {process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.api}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill9()
        raise RuntimeError(f"assay serve did not become healthy in time:\n{self.log()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """A crash: SIGKILL, no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, *, timeout: float = 15.0) -> int:
        """SIGTERM and wait; a clean shutdown exits 0."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        assert code == 0, f"assay serve exited with {code} on SIGTERM:\n{self.log()}"
        return code

    def restart(self) -> "EngineProcess":
        """Start again on the same database (after kill9 or terminate)."""
        if self.running:
            self.terminate()
        return self.start()

    def stop(self) -> None:
        """Teardown: SIGTERM, falling back to SIGKILL; never asserts."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def client(self, prefix: str = API, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url + prefix, timeout=kwargs.pop("timeout", 30.0), **kwargs)


@contextmanager
def running_engine(workdir: Path, env: dict[str, str] | None = None) -> Iterator[EngineProcess]:
    engine = EngineProcess(workdir, env).start()
    try:
        yield engine
    finally:
        engine.stop()


def expect(response: httpx.Response, status: int = 200) -> Any:
    """Assert the status (showing the body when it differs) and return the JSON answer."""
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else None


class ProtocolWorker:
    """A synchronous worker over the REST protocol; the test chooses every command.

    It keeps the base URL (not a live engine handle) so it survives an engine restart when
    ``rebase`` points it at the new port.
    """

    def __init__(self, engine: EngineProcess, queue: str, namespace: str = "main", *, identity: str | None = None) -> None:
        self.engine = engine
        self.queue = queue
        self.namespace = namespace
        self.http = engine.client()
        self.worker_id = self.register(identity or unique("pw"))

    def rebase(self) -> None:
        """Follow the engine to its new port after a restart."""
        self.http.close()
        self.http = self.engine.client()

    def close(self) -> None:
        self.http.close()

    def register(self, identity: str) -> str:
        body = {"identity": identity, "queue": self.queue, "namespace": self.namespace,
                "workflows": ["*"], "activities": ["*"]}
        return str(expect(self.http.post("/workers/register", json=body))["worker_id"])

    # --- client side (what a caller of the engine does) --------------------------------------

    def start(self, workflow_type: str = "wf", *, workflow_id: str | None = None, input: Any = None,
              search_attributes: dict[str, Any] | None = None, queue: str | None = None) -> str:
        body: dict[str, Any] = {
            "workflow_type": workflow_type, "workflow_id": workflow_id or unique(workflow_type),
            "namespace": self.namespace, "task_queue": queue or self.queue, "input": input,
        }
        if search_attributes is not None:
            body["search_attributes"] = search_attributes
        return str(expect(self.http.post("/workflows", json=body), 201)["workflow_id"])

    def describe(self, workflow_id: str) -> dict[str, Any]:
        return expect(self.http.get(f"/workflows/{workflow_id}"))

    def events(self, workflow_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
        return expect(self.http.get(f"/workflows/{workflow_id}/events", params={"after_seq": after_seq}))

    def event_types(self, workflow_id: str) -> list[str]:
        return [e["event_type"] for e in self.events(workflow_id)]

    def wait_status(self, workflow_id: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            wf = self.describe(workflow_id)
            if wf["status"] in statuses or time.monotonic() > deadline:
                assert wf["status"] in statuses, f"{workflow_id} is {wf['status']}, wanted {statuses}"
                return wf
            time.sleep(0.05)

    def wait_event(self, workflow_id: str, event_type: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events(workflow_id):
                if event["event_type"] == event_type:
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event_type} on {workflow_id}: {self.event_types(workflow_id)}")
            time.sleep(0.05)

    # --- workflow tasks ----------------------------------------------------------------------

    def poll_raw(self, wait_secs: float = 0.0, *, sticky: bool = False, queue: str | None = None,
                 namespace: str | None = None, worker_id: str | None = None) -> httpx.Response:
        body = {"queue": queue or self.queue, "worker_id": worker_id or self.worker_id,
                "namespace": namespace or self.namespace, "wait_secs": wait_secs, "sticky": sticky}
        return self.http.post("/workflow-tasks/poll", json=body, timeout=wait_secs + 30)

    def poll(self, wait_secs: float = 0.0, **kwargs: Any) -> dict[str, Any] | None:
        return expect(self.poll_raw(wait_secs, **kwargs))

    def next_task(self, workflow_id: str | None = None, *, timeout: float = 10.0, sticky: bool = False) -> dict[str, Any]:
        """Long-poll until a task (of ``workflow_id`` when given) is claimed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.poll(wait_secs=min(2.0, max(0.1, deadline - time.monotonic())), sticky=sticky)
            if task is None:
                continue
            if workflow_id is not None and task["workflow_id"] != workflow_id:
                raise AssertionError(f"expected a task of {workflow_id}, got {task['workflow_id']}")
            return task
        raise AssertionError(f"no workflow task on {self.queue} within {timeout}s")

    def submit_raw(self, task_or_id: dict[str, Any] | str, commands: Any, *, lease_token: str | None = None,
                   worker_id: str | None = None) -> httpx.Response:
        if isinstance(task_or_id, dict):
            workflow_id, token = task_or_id["workflow_id"], task_or_id["lease_token"]
        else:
            workflow_id, token = task_or_id, None
        body = {"worker_id": worker_id or self.worker_id, "lease_token": lease_token or token, "commands": commands}
        return self.http.post(f"/workflow-tasks/{workflow_id}/commands", json=body)

    def submit(self, task: dict[str, Any], commands: list[dict[str, Any]]) -> dict[str, Any]:
        return expect(self.submit_raw(task, commands))

    def step(self, commands: list[dict[str, Any]] | Callable[[dict[str, Any]], list[dict[str, Any]]],
             workflow_id: str | None = None, *, timeout: float = 10.0) -> dict[str, Any]:
        """Claim the next task and answer it; returns the task."""
        task = self.next_task(workflow_id, timeout=timeout)
        self.submit(task, commands(task) if callable(commands) else commands)
        return task

    def extend_lease(self, task: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"/workflow-tasks/{task['workflow_id']}/heartbeat",
                              json={"worker_id": self.worker_id, "lease_token": task["lease_token"]})

    # --- activity tasks ----------------------------------------------------------------------

    def poll_activity(self, wait_secs: float = 0.0, *, queue: str | None = None) -> dict[str, Any] | None:
        body = {"queue": queue or self.queue, "worker_id": self.worker_id, "namespace": self.namespace,
                "wait_secs": wait_secs}
        return expect(self.http.post("/tasks/poll", json=body, timeout=wait_secs + 30))

    def next_activity(self, *, timeout: float = 10.0, queue: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            activity = self.poll_activity(wait_secs=min(2.0, max(0.1, deadline - time.monotonic())), queue=queue)
            if activity is not None:
                return activity
        raise AssertionError(f"no activity task on {queue or self.queue} within {timeout}s")

    def complete_activity(self, activity: dict[str, Any] | int, result: Any = None, *, attempt: int | None = None) -> httpx.Response:
        activity_id, attempt = _activity_ref(activity, attempt)
        return self.http.post(f"/tasks/{activity_id}/complete", json={"result": result, "attempt": attempt})

    def fail_activity(self, activity: dict[str, Any] | int, error: str = "boom", *, attempt: int | None = None,
                      non_retryable: bool = False) -> httpx.Response:
        activity_id, attempt = _activity_ref(activity, attempt)
        return self.http.post(f"/tasks/{activity_id}/fail",
                              json={"error": error, "attempt": attempt, "non_retryable": non_retryable})

    def heartbeat_activity(self, activity: dict[str, Any] | int, details: Any = None, *, attempt: int | None = None) -> httpx.Response:
        activity_id, attempt = _activity_ref(activity, attempt)
        return self.http.post(f"/tasks/{activity_id}/heartbeat", json={"details": details, "attempt": attempt})


def _activity_ref(activity: dict[str, Any] | int, attempt: int | None) -> tuple[int, int | None]:
    if isinstance(activity, dict):
        return int(activity["id"]), attempt if attempt is not None else activity.get("attempt")
    return int(activity), attempt


def activity_cmd(seq: int, name: str = "act", **fields: Any) -> dict[str, Any]:
    return {"type": "ScheduleActivity", "seq": seq, "name": name, **fields}


def complete_cmd(result: Any = None) -> dict[str, Any]:
    return {"type": "CompleteWorkflow", "result": result}
