"""The store seam: a protocol with one method per use case, each one transaction.

Layers: ``Database`` (connections, transactions, dialect quirks: ``sqlite.py`` /
``postgres.py``) sits under ``SqlStore`` (all queries, shared by both backends, in the
``sql_*.py`` modules). The engine talks only to the ``Store`` protocol below.

Every write use case records what it changed in a ``Changes`` object (events appended,
queues that gained work, timers armed, workflows that finished). The engine publishes those
*after* the commit: wake-ups and the SSE stream never announce something that rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Mapping, Protocol, Sequence, TypeVar

from assay.core.commands import Command, ScheduleActivity
from assay.core.model import Activity, Event, Snapshot, Worker, Workflow, WorkflowStatus, WorkflowTask

T = TypeVar("T")


class Row(Protocol):
    def __getitem__(self, key: str | int) -> Any: ...


class Tx(Protocol):
    """One open transaction. SQL uses ``:name`` parameters on every backend."""

    changes: "Changes"

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement; return the affected row count."""

    def one(self, sql: str, params: Mapping[str, Any] | None = None) -> Row | None: ...

    def all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...


class Dialect(Protocol):
    name: str
    skip_locked: str  # appended to claim sub-selects (" FOR UPDATE SKIP LOCKED" on PostgreSQL)
    row_lock: str  # appended to a read that must lock its row (" FOR UPDATE" on PostgreSQL)

    def search_attribute_clause(self, index: int, key: str, value: Any) -> tuple[str, dict[str, Any]]:
        """SQL condition (and its parameters) for ``search_attributes[key] == value``."""

    def is_unique_violation(self, exc: BaseException) -> bool: ...


class Database(Protocol):
    dialect: Dialect

    async def write(self, fn: Callable[[Tx], T]) -> tuple[T, "Changes"]:
        """Run ``fn`` in one write transaction; commit; return its result and changes."""

    async def read(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` against a consistent read view."""

    async def close(self) -> None: ...


@dataclass(slots=True)
class PublishedEvent:
    event: Event
    namespace: str
    status: str


@dataclass(slots=True)
class Changes:
    events: list[PublishedEvent] = field(default_factory=list)
    # (namespace, task_queue) pairs that gained claimable work.
    workflow_queues: set[tuple[str, str]] = field(default_factory=set)
    activity_queues: set[tuple[str, str]] = field(default_factory=set)
    # Earliest instant at which a housekeeping loop has new work (timer, deadline, retry,
    # lease expiry, cancel grace); None when this change armed nothing.
    wake_at: float | None = None
    # Runs that reached a terminal status, as committed (result waiters get them as is).
    finished: dict[str, Any] = field(default_factory=dict)
    running: list[tuple[str, str]] = field(default_factory=list)  # (workflow_id, namespace) PENDING->RUNNING
    # Tasks claimed inside the transaction for the caller (eager dispatch), not announced.
    handed_back: list[Any] = field(default_factory=list)
    # An accepted speculative batch: (commands applied, seq of the completing event).
    speculation: tuple[int, int] | None = None

    def merge(self, other: "Changes") -> None:
        self.events.extend(other.events)
        self.workflow_queues |= other.workflow_queues
        self.activity_queues |= other.activity_queues
        if other.wake_at is not None:
            self.arm(other.wake_at)
        self.finished.update(other.finished)
        self.running.extend(other.running)
        self.handed_back.extend(other.handed_back)

    def arm(self, at: float) -> None:
        if self.wake_at is None or at < self.wake_at:
            self.wake_at = at


@dataclass(frozen=True, slots=True)
class EagerActivities:
    """Claim, in the submitting transaction, the activities the batch left pending on
    ``queue`` for the submitting worker (eager activity dispatch)."""

    namespace: str
    queue: str
    max: int = 10


@dataclass(frozen=True, slots=True)
class Speculation:
    """A speculative workflow task sent with an activity result (see store/speculation.py):
    the commands the worker's run issued once it was fed this result, having seen history
    up to ``after_seq``."""

    worker_id: str
    after_seq: int
    commands: Sequence[Any]
    eager: EagerActivities | None = None


@dataclass(frozen=True, slots=True)
class HandBack:
    """Lease the workflow task a write made dispatchable (an activity result, a start) to
    ``worker_id`` in the same transaction (eager workflow dispatch)."""

    worker_id: str
    namespace: str
    queue: str
    sticky: bool
    lease_secs: float


@dataclass(frozen=True, slots=True)
class StartRequest:
    workflow_type: str
    workflow_id: str
    run_id: str
    namespace: str
    task_queue: str
    input: Any = None
    search_attributes: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WorkflowFilter:
    namespace: str
    status: WorkflowStatus | None = None
    workflow_type: str | None = None
    search_attrs: Mapping[str, Any] | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class HousekeepingDue:
    """Earliest instants at which a housekeeping loop has work (None: nothing pending)."""

    next_timer_at: float | None
    next_activity_deadline: float | None
    next_lease_expiry: float | None
    next_retry_at: float | None
    next_cancel_deadline: float | None


class Store(Protocol):
    """Everything the engine asks of persistent state. Each method is one transaction."""

    # lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect, apply migrations, seed the ``main`` namespace."""

    async def close(self) -> None: ...

    # namespaces --------------------------------------------------------------------------
    async def create_namespace(self, name: str) -> dict[str, Any]: ...
    async def list_namespaces(self) -> list[dict[str, Any]]: ...
    async def namespace_stats(self, name: str) -> dict[str, Any]: ...
    async def delete_namespace(self, name: str) -> None: ...

    # workflows ---------------------------------------------------------------------------
    async def start_workflow(
        self, request: StartRequest, *, hand_back: HandBack | None = None
    ) -> tuple[Workflow, Changes]:
        """Create the run; with ``hand_back``, also lease its first workflow task to that
        worker in the same transaction (``Changes.handed_back``)."""
    async def get_workflow(self, workflow_id: str) -> Workflow | None: ...
    async def list_workflows(self, flt: WorkflowFilter) -> tuple[list[Workflow], int]: ...
    async def list_children(self, workflow_id: str) -> list[Workflow]: ...
    async def list_events(self, workflow_id: str, after_seq: int = 0) -> list[Event]: ...
    async def events_in_ranges(self, ranges: Sequence[tuple[str, int, int]]) -> list[list[tuple[Event, str, str]]]:
        """Per ``(workflow_id, first_seq, last_seq)``: its events with the workflow's namespace
        and current status (relaying another instance's events to this one's SSE stream)."""
    async def signal_workflow(self, workflow_id: str, name: str, payload: Any) -> tuple[int, Changes]: ...
    async def request_cancel(self, workflow_id: str, reason: str | None) -> tuple[Workflow, Changes]: ...
    async def terminate_workflow(self, workflow_id: str, reason: str | None) -> tuple[Workflow, Changes]: ...
    async def continue_as_new(self, workflow_id: str, input: Any, new_id: str | None) -> tuple[Workflow, Changes]: ...
    async def get_snapshot(self, workflow_id: str) -> Snapshot | None: ...

    # workflow tasks ----------------------------------------------------------------------
    async def claim_workflow_task(
        self, namespace: str, queue: str, worker_id: str, *, sticky: bool, lease_secs: float,
        workflow_id: str | None = None,
    ) -> tuple[WorkflowTask | None, Changes]:
        """Lease the oldest dispatchable workflow task of the queue (or of ``workflow_id`` only)."""
    async def extend_workflow_lease(self, workflow_id: str, worker_id: str, token: str | None, lease_secs: float) -> float: ...
    async def release_workflow_lease(self, workflow_id: str, token: str) -> Changes:
        """Give back a lease whose task never reached its worker: the task is dispatchable
        again at once, with full history (no-op when ``token`` no longer holds the lease)."""
    async def submit_commands(
        self, workflow_id: str, worker_id: str, token: str | None, commands: Sequence[Command],
        *, eager: EagerActivities | None = None,
    ) -> tuple[int, Changes]:
        """Apply a leased task's batch, release the lease; eager-claimed activities land in
        ``Changes.handed_back``."""

    # activities --------------------------------------------------------------------------
    async def schedule_activity(self, workflow_id: str, command: ScheduleActivity) -> tuple[Activity, Changes]: ...
    async def get_activity(self, activity_id: int) -> Activity | None: ...
    async def claim_activity(
        self, namespace: str, queue: str, worker_id: str, *, workflow_id: str | None = None
    ) -> tuple[Activity | None, Changes]:
        """Claim the oldest due PENDING activity of the queue (or of ``workflow_id`` only)."""
    async def complete_activity(
        self, activity_id: int, result: Any, attempt: int | None, *, hand_back: HandBack | None = None,
        speculation: Speculation | None = None,
    ) -> Changes:
        """Record the result. ``hand_back``: lease the workflow task it wakes to that worker;
        ``speculation``: apply the worker's batch too when it holds (``Changes.speculation``)."""
    async def fail_activity(
        self, activity_id: int, error: str, attempt: int | None, non_retryable: bool,
        *, hand_back: HandBack | None = None,
    ) -> tuple[dict[str, Any], Changes]: ...
    async def heartbeat_activity(self, activity_id: int, attempt: int | None) -> bool: ...

    # housekeeping (run by every engine instance; each is safe to run concurrently) --------
    async def fire_due_timers(
        self, now: float, *, hand_backs: Mapping[tuple[str, str], HandBack] | None = None
    ) -> Changes:
        """Fire due timers (``TimerFired``, workflow task dispatchable). ``hand_backs``: per
        ``(namespace, queue)``, a parked worker to lease one woken task to in the same
        transaction (``Changes.handed_back``), as the start's hand-off does."""
    async def expire_activities(self, now: float) -> Changes: ...
    async def recover_expired_leases(self, now: float) -> Changes: ...
    async def finalize_overdue_cancels(self, now: float, grace_secs: float) -> Changes: ...
    async def housekeeping_due(self, now: float) -> HousekeepingDue: ...
    async def due_retry_queues(self, since: float, now: float) -> set[tuple[str, str]]:
        """Queues whose backed-off activities became claimable in ``(since, now]``."""
    async def prune_workers(self, older_than: float) -> int: ...

    # workers & queues ----------------------------------------------------------------------
    async def register_worker(self, worker: Worker) -> None: ...
    async def heartbeat_worker(self, worker_id: str) -> bool: ...
    async def list_workers(self, namespace: str) -> list[Worker]: ...
    async def queue_stats(self, namespace: str) -> list[dict[str, Any]]: ...

    # api keys (see assay.engine.auth.ApiKeyStore) -----------------------------------------
    async def insert_api_key(self, key_hash: str, prefix: str, label: str | None, created_at: float) -> None: ...
    async def find_api_key(self, key_hash: str) -> dict[str, Any] | None: ...
    async def list_api_keys(self) -> list[dict[str, Any]]: ...
    async def delete_api_keys(self, prefix: str) -> int: ...
    async def count_api_keys(self) -> int: ...


def placeholders(names: Iterable[str]) -> str:
    return ", ".join(f":{n}" for n in names)


Clock = Callable[[], float]
AsyncFn = Callable[[], Awaitable[T]]
