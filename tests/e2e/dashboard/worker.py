"""A small but real worker for the dashboard tests, speaking the REST worker protocol.

Two threads: one long-polls workflow tasks and answers with commands computed by replaying
the full history (pure functions below), one long-polls activity tasks and completes them.
Nothing is faked: the engine under test dispatches, records and streams as it would for a
Lua worker.

Workflow types:

``Waiter``
    Waits for the signal ``finish`` and completes with its payload; honours cancellation.
``DemoPipeline``
    Follows the Steps tab convention: exposes ``pipeline_state`` (Approval with actions
    approve/reject, then Build and Deploy activities), waits for the ``step_action``
    signal, and records the action and user it received in its result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.engine_process import ALT_API as API
from tests.e2e.protocol_worker import ProtocolWorker

Commands = list[dict[str, Any]]


def _signals(history: list[dict[str, Any]], name: str) -> list[Any]:
    return [
        (e.get("payload") or {}).get("payload")
        for e in history
        if e["event_type"] == "SignalReceived" and (e.get("payload") or {}).get("signal") == name
    ]


def _cancel_requested(history: list[dict[str, Any]]) -> bool:
    return any(e["event_type"] == "WorkflowCancelRequested" for e in history)


def decide_waiter(history: list[dict[str, Any]]) -> Commands:
    if _cancel_requested(history):
        return [{"type": "CancelWorkflow", "reason": "cancel requested"}]
    finished = _signals(history, "finish")
    if finished:
        return [{"type": "CompleteWorkflow", "result": {"finished_with": finished[0]}}]
    return [{"type": "WaitForSignal", "name": "finish"}]


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def decide_pipeline(history: list[dict[str, Any]]) -> Commands:
    """Replay the history into the pipeline state and the next commands."""
    if _cancel_requested(history):
        return [{"type": "CancelWorkflow", "reason": "cancel requested"}]
    started = history[0]["timestamp"] if history else 0.0
    steps = [
        {"name": "Approval", "status": "running", "actions": ["approve", "reject"]},
        {"name": "Build", "status": "waiting"},
        {"name": "Deploy", "status": "waiting"},
        # Not a canonical status: the dashboard draws it as waiting and shows the text.
        {"name": "Announce", "status": "on-hold"},
    ]
    log: list[dict[str, Any]] = [
        {"time": _clock(started), "msg": "Pipeline started"},
        {"time": _clock(started), "msg": "Waiting for approval", "step": 1},
    ]
    state = {"status": "running", "current_step": 1, "steps": steps, "log": log}

    def snapshot() -> dict[str, Any]:
        return {"type": "RecordSnapshot", "state": {"pipeline_state": state}}

    actions = _signals(history, "step_action")
    if not actions:
        return [snapshot(), {"type": "WaitForSignal", "name": "step_action"}]
    action = actions[0] or {}
    user = action.get("user") or "someone"
    steps[0]["actions"] = []
    if action.get("action") != "approve":
        steps[0]["status"] = "cancelled"
        for s in steps[1:]:
            s["status"] = "skipped"
        log.append({"time": _clock(started), "msg": f"Rejected by {user}", "step": 1})
        state["status"] = "cancelled"
        return [snapshot(), {"type": "CompleteWorkflow", "result": {"rejected_by": user, "action": action}}]

    steps[0]["status"] = "done"
    log.append({"time": _clock(started), "msg": f"Approved by {user}", "step": 1})
    done = {
        (e.get("payload") or {}).get("activity_seq"): e
        for e in history
        if e["event_type"] == "ActivityCompleted"
    }
    for index, (seq, name) in enumerate(((1, "build"), (2, "deploy")), start=1):  # steps 2, 3
        step = steps[index]
        if seq not in done:
            step["status"] = "running"
            state["current_step"] = index + 1
            log.append({"time": _clock(started), "msg": f"{name} running", "step": index + 1})
            return [snapshot(), {"type": "ScheduleActivity", "seq": seq, "name": name, "input": {"step": name}}]
        step["status"] = "done"
        log.append({"time": _clock(done[seq]["timestamp"]), "msg": f"{name} finished", "step": index + 1})
    state["status"] = "done"
    state["current_step"] = 3
    return [snapshot(), {"type": "CompleteWorkflow", "result": {"approved_by": user, "action": action}}]


DECIDERS: dict[str, Callable[[list[dict[str, Any]]], Commands]] = {
    "Waiter": decide_waiter,
    "DemoPipeline": decide_pipeline,
}


class TestWorker:
    """Runs the poll loops in daemon threads until ``stop()``, over one ``ProtocolWorker``."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        base_url: str,
        queue: str = "default",
        namespace: str = "main",
        token: str | None = None,
        activity_secs: float = 1.5,
    ) -> None:
        self.protocol = ProtocolWorker(
            base_url, queue, namespace, identity=f"dashboard-e2e/{queue}", workflows=sorted(DECIDERS),
            activities=["build", "deploy"], prefix=API, token=token,
        )
        self.http = self.protocol.http
        self.queue = queue
        self.namespace = namespace
        self.activity_secs = activity_secs
        self.worker_id = self.protocol.worker_id
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._guard, args=(self._workflow_loop,), daemon=True),
            threading.Thread(target=self._guard, args=(self._activity_loop,), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        self.protocol.close()

    def _guard(self, loop: Callable[[], None]) -> None:
        try:
            loop()
        except BaseException as exc:  # surfaced by the fixture after the test
            if not self._stop.is_set():
                self.errors.append(exc)

    def _workflow_loop(self) -> None:
        last_beat = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_beat > 5:
                self.protocol.heartbeat()
                last_beat = time.monotonic()
            task = self.protocol.poll(wait_secs=1)
            if not task:
                continue
            decide = DECIDERS.get(task["workflow_type"])
            commands = (
                decide(task["history"])
                if decide
                else [{"type": "FailWorkflow", "error": f"unknown workflow type {task['workflow_type']}"}]
            )
            response = self.protocol.submit_raw(task, commands)
            if response.status_code not in (200, 409):  # 409: run ended meanwhile; fine
                response.raise_for_status()

    def _activity_loop(self) -> None:
        while not self._stop.is_set():
            task = self.protocol.poll_activity(wait_secs=1)
            if not task:
                continue
            # Long enough for the Steps tab's 1 s live tail to show the step running.
            self._stop.wait(self.activity_secs)
            self.protocol.complete_activity(task, {"ok": True, "name": task["name"]})
