"""The engine's use cases: validate, call the store (one transaction), publish the changes.

Publishing happens only after the store committed: pollers parked on a queue are woken,
result / event long-polls are released, SSE subscribers get one message per history event,
and the housekeeping loop is re-armed when a new timer or deadline is earlier than its sleep.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from assay.core.commands import Command, ScheduleActivity
from assay.core.model import (
    DEFAULT_NAMESPACE,
    DEFAULT_TASK_QUEUE,
    Activity,
    Event,
    Snapshot,
    Worker,
    Workflow,
    WorkflowTask,
)
from assay.engine.settings import EngineSettings
from assay.engine.stream import EventHub, event_message, running_message
from assay.engine.wakeups import Parked, WakeUps
from assay.errors import InvalidInput, NotFound
from assay.store.base import Changes, EagerActivities, HandBack, Speculation, StartRequest, Store, WorkflowFilter
from assay.store.sql import new_run_id

ENGINE_VERSION_ATTRIBUTE = "assay_engine_version"


class Engine:
    def __init__(self, store: Store, settings: EngineSettings, *, clock: Any = None) -> None:
        import time

        self.store = store
        self.settings = settings
        self.clock = clock or time.time
        self.wakeups = WakeUps()
        self.hub = EventHub()
        self.on_housekeeping_armed: Any = None  # set by the loops: callable(wake_at)

    def begin_shutdown(self) -> None:
        """Release parked long-polls and close event streams (the server is stopping)."""
        self.wakeups.close()
        self.hub.close()

    # --- publishing ------------------------------------------------------------------------------

    def publish(self, changes: Changes) -> None:
        for namespace, queue in changes.workflow_queues:
            self.wakeups.notify_one(("wf", namespace, queue))
        for namespace, queue in changes.activity_queues:
            self.wakeups.notify_one(("act", namespace, queue))
        for workflow_id, namespace in changes.running:
            self.hub.publish(running_message(workflow_id, namespace))
        for published in changes.events:
            self.wakeups.notify_all(("events", published.event.workflow_id))
            self.hub.publish(event_message(published.event, published.namespace, published.status))
        for workflow_id, run in changes.finished.items():
            self.wakeups.notify_all(("result", workflow_id), run)  # waiters answer without a read
        if changes.wake_at is not None and self.on_housekeeping_armed is not None:
            self.on_housekeeping_armed(changes.wake_at)

    # --- workflows ---------------------------------------------------------------------------------

    async def start_workflow(
        self,
        workflow_type: str,
        *,
        workflow_id: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        input: Any = None,
        task_queue: str | None = None,
        search_attributes: Any = None,
    ) -> Workflow:
        if not workflow_type or not workflow_type.strip():
            raise InvalidInput("workflow_type must not be empty", code="validation_error")
        if search_attributes is not None and not isinstance(search_attributes, dict):
            raise InvalidInput("search_attributes must be a JSON object", code="validation_error")
        attrs = dict(search_attributes or {})
        attrs.setdefault(ENGINE_VERSION_ATTRIBUTE, self.settings.version)
        request = StartRequest(
            workflow_type=workflow_type,
            workflow_id=_workflow_id(workflow_type, workflow_id),
            run_id=new_run_id(),
            namespace=namespace or DEFAULT_NAMESPACE,
            task_queue=task_queue or DEFAULT_TASK_QUEUE,
            input=input,
            search_attributes=attrs,
        )
        # Hand-off: a worker long-polling this queue gets the first task from the start's
        # own transaction (see wakeups.py), saving a wake-up round and a claim transaction.
        parked = self.wakeups.reserve(("wf", request.namespace, request.task_queue))
        hand_back = None
        if parked is not None:
            worker_id, sticky = parked.info
            hand_back = self.hand_back(worker_id, request.namespace, request.task_queue, sticky)
        try:
            workflow, changes = await self.store.start_workflow(request, hand_back=hand_back)
        except BaseException:
            if parked is not None:
                parked.release()
            raise
        self.publish(changes)
        if parked is not None:
            await self._deliver(parked, _handed_back_task(changes))
        return workflow

    async def start_and_wait(self, workflow_type: str, wait_secs: float, **start: Any) -> Workflow:
        """Start a workflow and wait up to ``wait_secs`` for its outcome, in one call: the
        run as it is when it ended or the wait ran out. The result waiter is registered
        before the start commits (a quick run may end before this coroutine resumes), and
        the finishing transaction hands it the run, so the fast path reads nothing."""
        workflow_id = _workflow_id(workflow_type, start.pop("workflow_id", None))
        return await self.wait_for_result(
            workflow_id, wait_secs,
            first_look=lambda: self.start_workflow(workflow_type, workflow_id=workflow_id, **start),
        )

    async def fire_due_timers(self, now: float) -> None:
        """Fire due timers; a woken workflow task goes straight to a worker parked on its
        queue (one per queue), claimed in the firing transaction, as a start's does."""
        parked = self.wakeups.reserve_per_key("wf")
        hand_backs = {}
        for key, poll in parked.items():
            worker_id, sticky = poll.info
            hand_backs[(key[1], key[2])] = self.hand_back(worker_id, key[1], key[2], sticky)
        try:
            changes = await self.store.fire_due_timers(now, hand_backs=hand_backs)
        except BaseException:
            for poll in parked.values():
                poll.release()
            raise
        self.publish(changes)
        tasks = {(t.namespace, t.task_queue): t for t in changes.handed_back if isinstance(t, WorkflowTask)}
        for key, poll in parked.items():
            task = tasks.get((key[1], key[2]))
            if task is None:
                # Most ticks fire nothing: the poll waits on without a claim attempt, unless
                # its queue got work meanwhile (then it looks, as if woken).
                self.wakeups.give_back(key, poll)
            else:
                await self._deliver(poll, task)

    async def _deliver(self, parked: Parked, task: WorkflowTask | None) -> None:
        if task is None:
            parked.release()  # nothing claimed for it: it claims (or waits) as if woken
        elif not parked.deliver(task):
            # The poll went away while the transaction ran: give the lease back now rather
            # than let the task wait for the lease to expire.
            self.publish(await self.store.release_workflow_lease(task.workflow_id, task.lease_token))

    async def get_workflow(self, workflow_id: str) -> Workflow:
        workflow = await self.store.get_workflow(workflow_id)
        if workflow is None:
            raise NotFound(f"workflow not found: {workflow_id}")
        return workflow

    async def wait_for_result(
        self, workflow_id: str, wait_secs: float, *, first_look: Callable[[], Awaitable[Workflow]] | None = None
    ) -> Workflow:
        """The workflow once it is terminal, or as it is when ``wait_secs`` run out.
        ``first_look`` replaces the first read (start-and-wait: the start itself)."""
        look_first = first_look

        async def attempt() -> Workflow | None:
            nonlocal look_first
            look, look_first = look_first or (lambda: self.get_workflow(workflow_id)), None
            workflow = await look()
            return workflow if workflow.status.is_terminal else None

        found = await self.wakeups.poll(("result", workflow_id), attempt, self._bounded_wait(wait_secs), baton=False)
        return found or await self.get_workflow(workflow_id)

    async def list_workflows(self, flt: WorkflowFilter) -> tuple[list[Workflow], int]:
        return await self.store.list_workflows(flt)

    async def list_children(self, workflow_id: str) -> list[Workflow]:
        return await self.store.list_children(workflow_id)

    async def list_events(self, workflow_id: str, after_seq: int = 0, wait_secs: float = 0.0) -> list[Event]:
        wait = self._bounded_wait(wait_secs)

        async def attempt() -> list[Event] | None:
            events = await self.store.list_events(workflow_id, after_seq)
            return events or None

        if wait <= 0:
            return await self.store.list_events(workflow_id, after_seq)
        found = await self.wakeups.poll(("events", workflow_id), attempt, wait, baton=False)
        if found is None:
            # Nothing new: a finished workflow will never produce more, so say so at once.
            return []
        return found

    async def signal(self, workflow_id: str, name: str, payload: Any) -> int:
        seq, changes = await self.store.signal_workflow(workflow_id, name, payload)
        self.publish(changes)
        return seq

    async def cancel(self, workflow_id: str, reason: str | None) -> Workflow:
        workflow, changes = await self.store.request_cancel(workflow_id, reason)
        self.publish(changes)
        return workflow

    async def terminate(self, workflow_id: str, reason: str | None) -> Workflow:
        workflow, changes = await self.store.terminate_workflow(workflow_id, reason)
        self.publish(changes)
        return workflow

    async def continue_as_new(self, workflow_id: str, input: Any, new_id: str | None) -> Workflow:
        workflow, changes = await self.store.continue_as_new(workflow_id, input, new_id)
        self.publish(changes)
        return workflow

    async def get_snapshot(self, workflow_id: str) -> Snapshot:
        snapshot = await self.store.get_snapshot(workflow_id)
        if snapshot is None:
            await self.get_workflow(workflow_id)
            raise NotFound(f"workflow '{workflow_id}' has no query state yet (no register_query snapshot)")
        return snapshot

    # --- activities over REST ------------------------------------------------------------------------

    async def schedule_activity(self, workflow_id: str, command: ScheduleActivity) -> Activity:
        activity, changes = await self.store.schedule_activity(workflow_id, command)
        self.publish(changes)
        return activity

    async def get_activity(self, activity_id: int) -> Activity:
        activity = await self.store.get_activity(activity_id)
        if activity is None:
            raise NotFound(f"activity not found: {activity_id}")
        return activity

    # --- worker protocol ----------------------------------------------------------------------------------

    async def register_worker(
        self, *, identity: str, queue: str, namespace: str, workflows: list[str] | None,
        activities: list[str] | None, max_concurrent_workflows: int, max_concurrent_activities: int,
    ) -> str:
        now = self.clock()
        worker = Worker(
            id=f"w-{uuid.uuid4().hex[:16]}", namespace=namespace or DEFAULT_NAMESPACE, identity=identity,
            task_queue=queue or DEFAULT_TASK_QUEUE, workflows=workflows, activities=activities,
            max_concurrent_workflows=max_concurrent_workflows, max_concurrent_activities=max_concurrent_activities,
            active_tasks=0, last_heartbeat=now, registered_at=now,
        )
        await self.store.register_worker(worker)
        return worker.id

    async def heartbeat_worker(self, worker_id: str) -> None:
        if not await self.store.heartbeat_worker(worker_id):
            raise NotFound(f"worker not registered: {worker_id} (register again)")

    async def list_workers(self, namespace: str) -> list[Worker]:
        return await self.store.list_workers(namespace)

    async def poll_workflow_task(
        self, namespace: str, queue: str, worker_id: str, *, wait_secs: float = 0.0, sticky: bool = False
    ) -> WorkflowTask | None:
        async def attempt() -> WorkflowTask | None:
            task, changes = await self.store.claim_workflow_task(
                namespace, queue, worker_id, sticky=sticky, lease_secs=self.settings.dispatch_timeout_secs
            )
            self.publish(changes)
            return task

        return await self.wakeups.poll(
            ("wf", namespace, queue), attempt, self._bounded_wait(wait_secs), info=(worker_id, sticky)
        )

    async def submit_commands(
        self, workflow_id: str, worker_id: str, lease_token: str | None, commands: Sequence[Command],
        *, eager: EagerActivities | None = None,
    ) -> Submission:
        """Apply a batch; with ``eager``, also return the activities it scheduled on the
        worker's queue, already claimed for it (no poll round trip)."""
        applied, changes = await self.store.submit_commands(workflow_id, worker_id, lease_token, commands, eager=eager)
        self.publish(changes)
        return Submission(applied, _handed_back_activities(changes), bool(changes.finished))

    async def extend_lease(self, workflow_id: str, worker_id: str, lease_token: str | None) -> float:
        return await self.store.extend_workflow_lease(
            workflow_id, worker_id, lease_token, self.settings.dispatch_timeout_secs
        )

    async def poll_activity(self, namespace: str, queue: str, worker_id: str, *, wait_secs: float = 0.0) -> Activity | None:
        async def attempt() -> Activity | None:
            activity, changes = await self.store.claim_activity(namespace, queue, worker_id)
            self.publish(changes)
            return activity

        return await self.wakeups.poll(("act", namespace, queue), attempt, self._bounded_wait(wait_secs))

    def hand_back(self, worker_id: str, namespace: str, queue: str, sticky: bool) -> HandBack:
        return HandBack(worker_id, namespace, queue, sticky, self.settings.dispatch_timeout_secs)

    async def complete_activity(
        self, activity_id: int, result: Any, attempt: int | None, *, hand_back: HandBack | None = None,
        speculation: Speculation | None = None,
    ) -> Completion:
        """Record the result; with ``hand_back``, also lease the workflow task it made
        dispatchable to that worker; with ``speculation``, apply the worker's own next
        batch when it holds (store/speculation.py). No poll round trip either way."""
        changes = await self.store.complete_activity(
            activity_id, result, attempt, hand_back=hand_back, speculation=speculation
        )
        self.publish(changes)
        return Completion(
            workflow_task=_handed_back_task(changes),
            speculation=changes.speculation,
            activities=_handed_back_activities(changes),
            finished=bool(changes.finished),
        )

    async def fail_activity(
        self, activity_id: int, error: str, attempt: int | None, non_retryable: bool,
        *, hand_back: HandBack | None = None,
    ) -> tuple[dict[str, Any], WorkflowTask | None]:
        outcome, changes = await self.store.fail_activity(activity_id, error, attempt, non_retryable, hand_back=hand_back)
        self.publish(changes)
        return outcome, _handed_back_task(changes)

    async def heartbeat_activity(self, activity_id: int, attempt: int | None) -> bool:
        return await self.store.heartbeat_activity(activity_id, attempt)

    # --- namespaces & queues ------------------------------------------------------------------------------

    async def create_namespace(self, name: str) -> dict[str, Any]:
        return await self.store.create_namespace(name)

    async def list_namespaces(self) -> list[dict[str, Any]]:
        return await self.store.list_namespaces()

    async def namespace_stats(self, name: str) -> dict[str, Any]:
        return await self.store.namespace_stats(name)

    async def delete_namespace(self, name: str) -> None:
        await self.store.delete_namespace(name)

    async def queue_stats(self, namespace: str) -> list[dict[str, Any]]:
        return await self.store.queue_stats(namespace)

    def _bounded_wait(self, wait_secs: float | None) -> float:
        if not wait_secs or wait_secs < 0:
            return 0.0
        return min(float(wait_secs), self.settings.max_poll_wait_secs)



@dataclass(frozen=True, slots=True)
class Submission:
    """What applying a workflow task's batch handed back to its worker."""

    applied: int
    activities: list[Activity]
    finished: bool  # a workflow ended (its result waiters were woken)


@dataclass(frozen=True, slots=True)
class Completion:
    """What recording an activity result handed back to its worker."""

    workflow_task: WorkflowTask | None
    speculation: tuple[int, int] | None  # accepted speculative batch: (applied, sticky seq)
    activities: list[Activity]
    finished: bool  # a workflow ended (its result waiters were woken)


def _workflow_id(workflow_type: str, requested: str | None) -> str:
    """The caller's id (trimmed), or a fresh one named after the type."""
    return (requested or "").strip() or f"{workflow_type}-{uuid.uuid4().hex[:12]}"


def _handed_back_activities(changes: Changes) -> list[Activity]:
    return [a for a in changes.handed_back if isinstance(a, Activity)]


def _handed_back_task(changes: Changes) -> WorkflowTask | None:
    return next((t for t in changes.handed_back if isinstance(t, WorkflowTask)), None)
