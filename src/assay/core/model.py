"""Records and enums of the engine. Pure: no I/O.

Enum values are the exact text stored in the database and sent on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class WorkflowStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_WORKFLOW_STATUSES


TERMINAL_WORKFLOW_STATUSES = frozenset(
    {WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.CANCELLED, WorkflowStatus.TIMED_OUT}
)
ACTIVE_WORKFLOW_STATUSES = frozenset({WorkflowStatus.PENDING, WorkflowStatus.RUNNING})


class ActivityStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


DEFAULT_NAMESPACE = "main"
DEFAULT_TASK_QUEUE = "default"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    initial_interval_secs: float = 1.0
    backoff_coefficient: float = 2.0


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a workflow's history."""

    workflow_id: str
    seq: int
    event_type: str
    payload: Any
    timestamp: float
    id: int | None = None


@dataclass(slots=True)
class Workflow:
    id: str
    namespace: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: WorkflowStatus
    input: Any = None
    result: Any = None
    error: str | None = None
    parent_id: str | None = None
    search_attributes: dict[str, Any] = field(default_factory=dict)
    continued_from: str | None = None
    continued_to: str | None = None
    archived_at: float | None = None
    archive_uri: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    completed_at: float | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "namespace": self.namespace,
            "run_id": self.run_id,
            "workflow_type": self.workflow_type,
            "task_queue": self.task_queue,
            "status": str(self.status),
            "input": self.input,
            "result": self.result,
            "error": self.error,
            "parent_id": self.parent_id,
            "search_attributes": self.search_attributes,
            "continued_from": self.continued_from,
            "continued_to": self.continued_to,
            "archived_at": self.archived_at,
            "archive_uri": self.archive_uri,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "completed_at": self.completed_at,
        }


@dataclass(slots=True)
class Activity:
    id: int
    workflow_id: str
    namespace: str
    seq: int
    name: str
    task_queue: str
    input: Any
    status: ActivityStatus
    result: Any = None
    error: str | None = None
    attempt: int = 1
    max_attempts: int = 3
    initial_interval_secs: float = 1.0
    backoff_coefficient: float = 2.0
    start_to_close_secs: float = 300.0
    heartbeat_timeout_secs: float | None = None
    claimed_by: str | None = None
    scheduled_at: float = 0.0
    started_at: float | None = None
    completed_at: float | None = None
    last_heartbeat: float | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflow_id": self.workflow_id,
            "namespace": self.namespace,
            "seq": self.seq,
            "name": self.name,
            "task_queue": self.task_queue,
            "input": self.input,
            "status": str(self.status),
            "result": self.result,
            "error": self.error,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "initial_interval_secs": self.initial_interval_secs,
            "backoff_coefficient": self.backoff_coefficient,
            "start_to_close_secs": self.start_to_close_secs,
            "heartbeat_timeout_secs": self.heartbeat_timeout_secs,
            "claimed_by": self.claimed_by,
            "scheduled_at": self.scheduled_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "last_heartbeat": self.last_heartbeat,
        }


@dataclass(slots=True)
class WorkflowTask:
    """What a workflow worker receives from a poll: the lease plus the history to replay."""

    workflow_id: str
    run_id: str
    namespace: str
    workflow_type: str
    task_queue: str
    input: Any
    lease_token: str
    lease_expires_at: float
    history: list[Event]
    history_after_seq: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "namespace": self.namespace,
            "workflow_type": self.workflow_type,
            "task_queue": self.task_queue,
            "input": self.input,
            "lease_token": self.lease_token,
            "lease_expires_at": self.lease_expires_at,
            "history": [
                {"seq": e.seq, "event_type": e.event_type, "payload": e.payload, "timestamp": e.timestamp}
                for e in self.history
            ],
            "history_after_seq": self.history_after_seq,
        }


@dataclass(slots=True)
class Worker:
    id: str
    namespace: str
    identity: str
    task_queue: str
    workflows: list[str] | None
    activities: list[str] | None
    max_concurrent_workflows: int
    max_concurrent_activities: int
    active_tasks: int
    last_heartbeat: float
    registered_at: float

    def to_wire(self, *, stale_after_secs: float, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "namespace": self.namespace,
            "identity": self.identity,
            "task_queue": self.task_queue,
            "workflows": self.workflows,
            "activities": self.activities,
            "max_concurrent_workflows": self.max_concurrent_workflows,
            "max_concurrent_activities": self.max_concurrent_activities,
            "active_tasks": self.active_tasks,
            "last_heartbeat": self.last_heartbeat,
            "registered_at": self.registered_at,
            "stale": now - self.last_heartbeat > stale_after_secs,
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    workflow_id: str
    state: Any
    event_seq: int
    created_at: float
