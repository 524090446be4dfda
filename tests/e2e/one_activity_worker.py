"""A minimal threaded worker on the REST protocol (no SDK, no Lua), rotating between engines.

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

from tests.e2e.protocol_worker import ProtocolWorker

WORKFLOW_TYPE = "one_activity"
ACTIVITY = "record"
POLL_SECS = 2
POLL_TIMEOUT_SECS = 15.0


class OneActivityWorker:
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
        # One connection per engine, all as the same (unregistered) worker.
        self._engines = [
            ProtocolWorker(url, queue, namespace, worker_id=self.worker_id, timeout=10.0) for url in self.urls
        ]

    # --- plumbing --------------------------------------------------------------------------

    def _call(self, send: Callable[[ProtocolWorker], httpx.Response]) -> Any:
        try:
            response = send(self._engines[self._turn % len(self._engines)])
        except httpx.HTTPError:
            self.errors += 1
            self._turn += 1  # that engine is gone (or going): use another one
            raise
        if response.status_code >= 400:
            self.errors += 1
            raise RuntimeError(f"{response.request.url.path}: HTTP {response.status_code} {response.text}")
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
        for engine in self._engines:
            engine.close()

    # --- loops ---------------------------------------------------------------------------------

    def _workflow_loop(self) -> None:
        while not self._stop.is_set():
            try:
                task = self._call(lambda e: e.poll_raw(POLL_SECS, timeout=POLL_TIMEOUT_SECS))
                if task:
                    self.claimed_tasks.append(task["workflow_id"])
                    commands = self.decide(task["history"])
                    self._call(lambda e: e.submit_raw(task, commands))
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
                activity = self._call(lambda e: e.poll_activity_raw(POLL_SECS, timeout=POLL_TIMEOUT_SECS))
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
                self._call(lambda e: e.complete_activity(activity, result))
                return
            except RuntimeError:
                return  # 409: the attempt timed out meanwhile; a retry will run it again
            except httpx.HTTPError:
                self._stop.wait(0.2)
