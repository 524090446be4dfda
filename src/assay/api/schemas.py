"""Request and response models: the only place the wire's JSON shapes live.

Request models are validated from raw JSON by ``assay.api.body``; response models document
the answers in the OpenAPI spec (the handlers send pre-built JSON for speed).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Json = Any
NAME = Field(min_length=1, max_length=400)


class _Body(BaseModel):
    # Unknown fields are ignored: newer clients may send more than this engine knows.
    model_config = ConfigDict(extra="ignore")


class StartWorkflowBody(_Body):
    workflow_type: str = NAME
    workflow_id: str | None = Field(default=None, max_length=400)
    namespace: str = Field(default="main", min_length=1, max_length=200)
    input: Json = None
    task_queue: str | None = Field(default=None, max_length=400)
    search_attributes: dict[str, Json] | None = None


class SignalBody(_Body):
    payload: Json = None


class ReasonBody(_Body):
    reason: str | None = None


class ContinueAsNewBody(_Body):
    input: Json = None
    workflow_id: str | None = None


class ScheduleActivityBody(_Body):
    name: str = NAME
    seq: int = Field(ge=0)
    task_queue: str = NAME
    input: Json = None
    max_attempts: int = Field(default=3, ge=1)
    initial_interval_secs: float = Field(default=1.0, ge=0)
    backoff_coefficient: float = Field(default=2.0, ge=1)
    start_to_close_secs: float = Field(default=300.0, gt=0)
    heartbeat_timeout_secs: float | None = Field(default=None, gt=0)


class RegisterWorkerBody(_Body):
    identity: str = NAME
    queue: str = NAME
    namespace: str = Field(default="main", min_length=1, max_length=200)
    workflows: list[str] | None = None
    activities: list[str] | None = None
    max_concurrent_workflows: int = Field(default=10, ge=1)
    max_concurrent_activities: int = Field(default=10, ge=1)


class WorkerIdBody(_Body):
    worker_id: str = NAME


class PollBody(_Body):
    queue: str = NAME
    worker_id: str = NAME
    namespace: str = Field(default="main", min_length=1, max_length=200)
    wait_secs: float = Field(default=0.0, ge=0, description="Long-poll: wait up to this long (capped at 60 s) for work.")
    sticky: bool = Field(default=False, description="Send only events newer than this worker saw last time.")


class NextTaskBody(_Body):
    """Piggy-backed poll: answer the next claimable task of this queue with the reply
    (never waits), saving the worker a round trip while there is work."""

    queue: str = NAME
    namespace: str = Field(default="main", min_length=1, max_length=200)
    worker_id: str | None = Field(default=None, max_length=400, description="Claimant (activity replies)")
    sticky: bool = False


class EagerActivitiesBody(_Body):
    """Eager activity dispatch: hand the activities this batch scheduled on ``queue`` straight
    back to the submitting worker (``activity_tasks`` in the reply), up to ``max``."""

    queue: str = NAME
    namespace: str = Field(default="main", min_length=1, max_length=200)
    max: int = Field(default=10, ge=1, le=100)


class EagerWorkflowBody(_Body):
    """Eager hand-back: if the result made its workflow dispatchable, lease that workflow task
    to this worker in the reply (``workflow_task``)."""

    queue: str = NAME
    namespace: str = Field(default="main", min_length=1, max_length=200)
    worker_id: str = NAME
    sticky: bool = True


class CommandModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal[
        "ScheduleActivity", "ScheduleTimer", "WaitForSignal", "RecordSideEffect", "StartChildWorkflow",
        "UpsertSearchAttributes", "RecordSnapshot", "ContinueAsNew", "CompleteWorkflow", "FailWorkflow",
        "CancelWorkflow",
    ]


class CommandsBody(_Body):
    worker_id: str = NAME
    lease_token: str | None = None
    commands: list[dict[str, Json]] = Field(
        default_factory=list,
        description="Worker commands; each an object with `type` (see docs/reference/rest-api.md).",
    )
    next: NextTaskBody | None = Field(default=None, description="Also claim the next workflow task (`next_task`).")
    eager_activities: EagerActivitiesBody | None = None


class LeaseBody(_Body):
    worker_id: str = NAME
    lease_token: str | None = None


class SpeculativeCommandsBody(_Body):
    """A speculative workflow task: the commands the sticky worker's run issued once fed this
    result, having seen the workflow's history up to ``after_seq``. Applied in the same
    transaction only when no other event came in between (reply ``workflow_commands``)."""

    worker_id: str = NAME
    after_seq: int = Field(ge=0)
    commands: list[dict[str, Json]] = Field(default_factory=list)
    eager_activities: EagerActivitiesBody | None = None


class CompleteTaskBody(_Body):
    result: Json = None
    attempt: int | None = Field(default=None, ge=1)
    next: NextTaskBody | None = Field(default=None, description="Also claim the next activity task (`next_task`).")
    workflow_task: EagerWorkflowBody | None = None
    workflow_commands: SpeculativeCommandsBody | None = Field(
        default=None, description="Speculative workflow task (see docs/reference/rest-api.md)."
    )


class FailTaskBody(_Body):
    error: str = Field(default="activity failed")
    attempt: int | None = Field(default=None, ge=1)
    non_retryable: bool = False
    next: NextTaskBody | None = Field(default=None, description="Also claim the next activity task (`next_task`).")
    workflow_task: EagerWorkflowBody | None = None


class HeartbeatTaskBody(_Body):
    details: Json = None
    attempt: int | None = Field(default=None, ge=1)


class NamespaceBody(_Body):
    name: str = Field(min_length=1, max_length=200)


# --- responses (documentation) -------------------------------------------------------------------


class ErrorOut(BaseModel):
    error: str
    code: str


class WorkflowOut(BaseModel):
    id: str
    namespace: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: Literal["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"]
    input: Json = None
    result: Json = None
    error: str | None = None
    parent_id: str | None = None
    search_attributes: dict[str, Json] = {}
    continued_from: str | None = None
    continued_to: str | None = None
    archived_at: float | None = None
    archive_uri: str | None = None
    created_at: float
    updated_at: float
    completed_at: float | None = None


class StartedOut(BaseModel):
    """The started run. With ``?wait_secs=`` the answer comes once the run ended or the wait
    ran out, and also carries ``result``, ``error`` and ``completed_at`` (``status`` says
    which: still PENDING/RUNNING means the wait ran out; ask ``/result`` again)."""

    workflow_id: str
    run_id: str
    status: str
    result: Json = None
    error: str | None = None
    completed_at: float | None = None


class EventOut(BaseModel):
    id: int | None = None
    workflow_id: str
    seq: int
    event_type: str
    payload: Json = None
    timestamp: float


class ResultOut(BaseModel):
    workflow_id: str
    status: str
    result: Json = None
    error: str | None = None
    completed_at: float | None = None


class StateOut(BaseModel):
    state: Json = None
    event_seq: int
    created_at: float


class StateValueOut(BaseModel):
    value: Json = None
    event_seq: int
    created_at: float


class ActivityOut(BaseModel):
    id: int
    workflow_id: str
    namespace: str
    seq: int
    name: str
    task_queue: str
    input: Json = None
    status: str
    result: Json = None
    error: str | None = None
    attempt: int
    max_attempts: int
    initial_interval_secs: float
    backoff_coefficient: float
    start_to_close_secs: float
    heartbeat_timeout_secs: float | None = None
    claimed_by: str | None = None
    scheduled_at: float
    started_at: float | None = None
    completed_at: float | None = None
    last_heartbeat: float | None = None


class HistoryEventOut(BaseModel):
    seq: int
    event_type: str
    payload: Json = None
    timestamp: float


class WorkflowTaskOut(BaseModel):
    workflow_id: str
    run_id: str
    namespace: str
    workflow_type: str
    task_queue: str
    input: Json = None
    lease_token: str
    lease_expires_at: float
    history: list[HistoryEventOut]
    history_after_seq: int


class WorkerOut(BaseModel):
    id: str
    namespace: str
    identity: str
    task_queue: str
    workflows: list[str] | None = None
    activities: list[str] | None = None
    max_concurrent_workflows: int
    max_concurrent_activities: int
    active_tasks: int
    last_heartbeat: float
    registered_at: float
    stale: bool


class NamespaceOut(BaseModel):
    name: str
    created_at: float


class NamespaceStatsOut(BaseModel):
    namespace: str
    total_workflows: int
    pending: int
    running: int
    completed: int
    failed: int
    cancelled: int
    timed_out: int
    schedules: int
    workers: int


class QueueStatsOut(BaseModel):
    queue: str
    pending_activities: int
    running_activities: int
    pending_workflow_tasks: int
    running_workflow_tasks: int
    workers: int


class HealthOut(BaseModel):
    status: str
    service: str


class VersionOut(BaseModel):
    version: str
    build_profile: str
