"""A minimal worker written against the REST worker protocol (no SDK, no Lua).

Workflow ``one_activity``: schedule activity ``record`` (seq 1) with the workflow id, then
complete with its result. The activity calls ``on_activity(workflow_id)`` (tests and the
chaos bench count executions there) and returns the id.

The worker rotates between engine URLs: when the engine it talks to dies, the next call
goes to another one. Calls that fail in flight are simply retried later by the protocol
(leases expire, unreported activities time out), which is what the tests check.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Callable

import httpx

WORKFLOW_TYPE = "one_activity"
ACTIVITY = "record"


class ProtocolWorker:
    def __init__(
        self,
        urls: list[str],
        queue: str,
        *,
        on_activity: Callable[[str], None] = lambda _wid: None,
        start_to_close_secs: float = 10.0,
        namespace: str = "main",
    ) -> None:
        self.urls = list(urls)
        self.queue = queue
        self.namespace = namespace
        self.on_activity = on_activity
        self.start_to_close_secs = start_to_close_secs
        self.worker_id = f"pw-{uuid.uuid4().hex[:10]}"  # the protocol does not validate ids
        self.claimed_tasks: list[str] = []
        self.claimed_activities: list[int] = []
        self.errors = 0
        self._turn = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._http = httpx.Client(timeout=30.0)

    # --- plumbing --------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any], timeout: float = 10.0) -> Any:
        url = self.urls[self._turn % len(self.urls)]
        try:
            response = self._http.post(f"{url}/api/v1{path}", json=body, timeout=timeout)
        except httpx.HTTPError:
            self.errors += 1
            self._turn += 1  # that engine is gone (or going): use another one
            raise
        if response.status_code >= 400:
            self.errors += 1
            raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text}")
        return response.json()

    def start(self, workflow_threads: int = 2, activity_threads: int = 2) -> None:
        for kind, count in (("wf", workflow_threads), ("act", activity_threads)):
            for i in range(count):
                target = self._workflow_loop if kind == "wf" else self._activity_loop
                thread = threading.Thread(target=target, name=f"{self.worker_id}-{kind}{i}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        self._http.close()

    # --- loops ---------------------------------------------------------------------------------

    def _workflow_loop(self) -> None:
        while not self._stop.is_set():
            try:
                task = self._post(
                    "/workflow-tasks/poll",
                    {"queue": self.queue, "worker_id": self.worker_id, "namespace": self.namespace, "wait_secs": 2},
                    timeout=15,
                )
                if task:
                    self.claimed_tasks.append(task["workflow_id"])
                    self._post(f"/workflow-tasks/{task['workflow_id']}/commands", {
                        "worker_id": self.worker_id, "lease_token": task["lease_token"],
                        "commands": self.decide(task["history"]),
                    })
            except Exception:  # noqa: BLE001 - engine down, lease lost: the protocol recovers
                self._stop.wait(0.2)

    def decide(self, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        types = [e["event_type"] for e in history]
        for event in history:
            if event["event_type"] == "ActivityCompleted":
                return [{"type": "CompleteWorkflow", "result": event["payload"]["result"]}]
        if "ActivityScheduled" in types:
            return []
        return [{
            "type": "ScheduleActivity", "seq": 1, "name": ACTIVITY, "input": history[0]["payload"],
            "task_queue": self.queue, "max_attempts": 10, "initial_interval_secs": 0.2,
            "start_to_close_secs": self.start_to_close_secs,
        }]

    def _activity_loop(self) -> None:
        while not self._stop.is_set():
            try:
                activity = self._post(
                    "/tasks/poll",
                    {"queue": self.queue, "worker_id": self.worker_id, "namespace": self.namespace, "wait_secs": 2},
                    timeout=15,
                )
                if not activity:
                    continue
                self.claimed_activities.append(int(activity["id"]))
                workflow_id = activity["workflow_id"]
                self.on_activity(workflow_id)
                self._complete(activity, workflow_id)
            except Exception:  # noqa: BLE001
                self._stop.wait(0.2)

    def _complete(self, activity: dict[str, Any], result: Any) -> None:
        """Report the result, trying every engine: the one that handed it out may be dead."""
        for _ in range(len(self.urls) * 3):
            try:
                self._post(f"/tasks/{activity['id']}/complete", {"result": result, "attempt": activity["attempt"]})
                return
            except RuntimeError:
                return  # 409: the attempt timed out meanwhile; a retry will run it again
            except httpx.HTTPError:
                self._stop.wait(0.2)
