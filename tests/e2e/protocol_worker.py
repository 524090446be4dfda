"""The REST worker protocol played synchronously over httpx: the one worker client of the e2e tests.

``ProtocolWorker`` registers on a queue and offers one method per protocol route (workflow
tasks, activity tasks, heartbeats) plus the caller's side (start, describe, events), so a test
decides every command the engine receives. The threaded workers (the dashboard's
``TestWorker``, the multi-engine ``OneActivityWorker``) run their loops on top of it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from tests.e2e.engine_process import API, EngineProcess


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def expect(response: httpx.Response, status: int = 200) -> Any:
    """Assert the status (showing the body when it differs) and return the JSON answer."""
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else None


class ProtocolWorker:
    """A synchronous worker over the REST protocol; the test chooses every command.

    ``engine`` is an ``EngineProcess`` or a server root URL. With an engine it keeps the handle
    (not the URL), so ``rebase`` follows the engine to a new port after a restart. With a
    ``worker_id`` it does not register (the protocol does not validate ids).
    """

    def __init__(
        self,
        engine: EngineProcess | str,
        queue: str,
        namespace: str = "main",
        *,
        identity: str | None = None,
        workflows: Sequence[str] = ("*",),
        activities: Sequence[str] = ("*",),
        worker_id: str | None = None,
        prefix: str = API,
        token: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.engine = engine
        self.queue = queue
        self.namespace = namespace
        self._prefix, self._token, self._timeout = prefix, token, timeout
        self.http = self._connect()
        self.worker_id = worker_id or self.register(identity or unique("pw"), workflows, activities)

    def _connect(self) -> httpx.Client:
        if isinstance(self.engine, EngineProcess):
            return self.engine.client(self._prefix, timeout=self._timeout)
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        return httpx.Client(base_url=self.engine + self._prefix, headers=headers, timeout=self._timeout)

    def rebase(self) -> None:
        """Follow the engine to its new port after a restart."""
        self.http.close()
        self.http = self._connect()

    def close(self) -> None:
        self.http.close()

    def register(self, identity: str, workflows: Sequence[str] = ("*",), activities: Sequence[str] = ("*",)) -> str:
        body = {"identity": identity, "queue": self.queue, "namespace": self.namespace,
                "workflows": list(workflows), "activities": list(activities)}
        return str(expect(self.http.post("/workers/register", json=body))["worker_id"])

    def heartbeat(self) -> Any:
        return expect(self.http.post("/workers/heartbeat", json={"worker_id": self.worker_id}))

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
                 namespace: str | None = None, worker_id: str | None = None,
                 timeout: float | None = None) -> httpx.Response:
        body = {"queue": queue or self.queue, "worker_id": worker_id or self.worker_id,
                "namespace": namespace or self.namespace, "wait_secs": wait_secs, "sticky": sticky}
        return self.http.post("/workflow-tasks/poll", json=body, timeout=timeout or wait_secs + 30)

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

    def poll_activity_raw(self, wait_secs: float = 0.0, *, queue: str | None = None,
                          timeout: float | None = None) -> httpx.Response:
        body = {"queue": queue or self.queue, "worker_id": self.worker_id, "namespace": self.namespace,
                "wait_secs": wait_secs}
        return self.http.post("/tasks/poll", json=body, timeout=timeout or wait_secs + 30)

    def poll_activity(self, wait_secs: float = 0.0, *, queue: str | None = None) -> dict[str, Any] | None:
        return expect(self.poll_activity_raw(wait_secs, queue=queue))

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
