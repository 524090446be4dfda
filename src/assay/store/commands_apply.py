"""Applying a worker's command batch inside one transaction (one function per command)."""

from __future__ import annotations

from typing import Any, Callable

from assay.core import commands as c
from assay.core.events import EventType
from assay.core.model import Workflow, WorkflowStatus
from assay.core.transitions import merge_search_attributes
from assay.store.base import StartRequest, Tx
from assay.store.lifecycle import finish_run, insert_run
from assay.store.rows import append_event, dumps, loads
from assay.store.sql_workflows import continue_run, wait_key_prefix


class CommandContext:
    """The run a batch belongs to, plus the clock and run-id source of the store."""

    def __init__(self, tx: Tx, wf: Workflow, now: float, new_run_id: Callable[[], str]) -> None:
        self.tx = tx
        self.wf = wf
        self.now = now
        self.new_run_id = new_run_id


def _insert_key(tx: Tx, workflow_id: str, key: str) -> bool:
    """Record an idempotency key; False when it was already there (command seen before)."""
    return (
        tx.execute(
            "INSERT INTO workflow_command_keys (workflow_id, key) VALUES (:id, :key) ON CONFLICT DO NOTHING",
            {"id": workflow_id, "key": key},
        )
        > 0
    )


def schedule_activity(tx: Tx, wf: Workflow, cmd: c.ScheduleActivity, now: float) -> int:
    """Insert the activity unless ``(workflow, seq)`` exists; return its id either way."""
    queue = cmd.task_queue or wf.task_queue
    row = tx.one(
        "INSERT INTO workflow_activities (workflow_id, namespace, seq, name, task_queue, input, status, attempt, "
        "max_attempts, initial_interval_secs, backoff_coefficient, start_to_close_secs, heartbeat_timeout_secs, "
        "scheduled_at) VALUES (:wid, :ns, :seq, :name, :queue, :input, 'PENDING', 1, :max, :initial, :coef, "
        ":stc, :hb, :now) ON CONFLICT (workflow_id, seq) DO NOTHING RETURNING id",
        {
            "wid": wf.id, "ns": wf.namespace, "seq": cmd.seq, "name": cmd.name, "queue": queue,
            "input": dumps(cmd.input), "max": cmd.max_attempts, "initial": cmd.initial_interval_secs,
            "coef": cmd.backoff_coefficient, "stc": cmd.start_to_close_secs, "hb": cmd.heartbeat_timeout_secs,
            "now": now,
        },
    )
    if row is None:
        existing = tx.one(
            "SELECT id FROM workflow_activities WHERE workflow_id = :wid AND seq = :seq", {"wid": wf.id, "seq": cmd.seq}
        )
        return int(existing["id"]) if existing else 0
    activity_id = int(row["id"])
    append_event(
        tx, wf.id, EventType.ACTIVITY_SCHEDULED,
        {"activity_id": activity_id, "activity_seq": cmd.seq, "name": cmd.name, "task_queue": queue, "input": cmd.input},
        now,
    )
    tx.changes.activity_queues.add((wf.namespace, queue))
    return activity_id


def _schedule_timer(ctx: CommandContext, cmd: c.ScheduleTimer) -> None:
    fire_at = ctx.now + cmd.duration_secs
    inserted = ctx.tx.execute(
        "INSERT INTO workflow_timers (workflow_id, seq, fire_at, fired) VALUES (:id, :seq, :at, 0) "
        "ON CONFLICT DO NOTHING",
        {"id": ctx.wf.id, "seq": cmd.seq, "at": fire_at},
    )
    if inserted:
        append_event(
            ctx.tx, ctx.wf.id, EventType.TIMER_SCHEDULED,
            {"timer_id": f"{ctx.wf.id}:{cmd.seq}", "timer_seq": cmd.seq, "fire_at": fire_at, "duration_secs": cmd.duration_secs},
            ctx.now,
        )
        ctx.tx.changes.arm(fire_at)


def _wait_for_signal(ctx: CommandContext, cmd: c.WaitForSignal) -> None:
    key = wait_key_prefix(cmd.name) + ("" if cmd.timer_seq is None else str(cmd.timer_seq))
    if _insert_key(ctx.tx, ctx.wf.id, key):
        payload: dict[str, Any] = {"signal": cmd.name}
        if cmd.timer_seq is not None:
            payload["timer_seq"] = cmd.timer_seq
        append_event(ctx.tx, ctx.wf.id, EventType.WORKFLOW_AWAITING_SIGNAL, payload, ctx.now)


def _record_side_effect(ctx: CommandContext, cmd: c.RecordSideEffect) -> None:
    if _insert_key(ctx.tx, ctx.wf.id, f"side_effect:{cmd.seq}"):
        append_event(
            ctx.tx, ctx.wf.id, EventType.SIDE_EFFECT_RECORDED,
            {"side_effect_seq": cmd.seq, "name": cmd.name, "value": cmd.value}, ctx.now,
        )


def _start_child(ctx: CommandContext, cmd: c.StartChildWorkflow) -> None:
    tx, wf = ctx.tx, ctx.wf
    existing = tx.one("SELECT parent_id FROM workflows WHERE id = :id", {"id": cmd.workflow_id})
    if existing is not None:
        if existing["parent_id"] != wf.id:
            # Another workflow owns that id: fail the child call instead of waiting forever.
            append_event(
                tx, wf.id, EventType.CHILD_WORKFLOW_FAILED,
                {"child_workflow_id": cmd.workflow_id, "error": f"workflow id '{cmd.workflow_id}' is already in use", "status": "FAILED"},
                ctx.now, dispatch=True,
            )
        return
    child = StartRequest(
        workflow_type=cmd.workflow_type, workflow_id=cmd.workflow_id, run_id=ctx.new_run_id(),
        namespace=wf.namespace, task_queue=cmd.task_queue or wf.task_queue, input=cmd.input,
    )
    insert_run(tx, child, ctx.now, parent_id=wf.id)
    append_event(
        tx, wf.id, EventType.CHILD_WORKFLOW_STARTED,
        {"child_workflow_id": cmd.workflow_id, "workflow_type": cmd.workflow_type, "run_id": child.run_id}, ctx.now,
    )


def _upsert_search_attributes(ctx: CommandContext, cmd: c.UpsertSearchAttributes) -> None:
    row = ctx.tx.one("SELECT search_attributes FROM workflows WHERE id = :id", {"id": ctx.wf.id})
    merged = merge_search_attributes(loads(row["search_attributes"]) if row else None, cmd.patch)
    ctx.tx.execute("UPDATE workflows SET search_attributes = :attrs WHERE id = :id", {"attrs": dumps(merged), "id": ctx.wf.id})
    append_event(ctx.tx, ctx.wf.id, EventType.SEARCH_ATTRIBUTES_UPSERTED, {"patch": cmd.patch}, ctx.now)


def _record_snapshot(ctx: CommandContext, cmd: c.RecordSnapshot) -> None:
    row = ctx.tx.one("SELECT last_seq FROM workflows WHERE id = :id", {"id": ctx.wf.id})
    ctx.tx.execute(
        "INSERT INTO workflow_snapshots (workflow_id, event_seq, state, created_at) VALUES (:id, :seq, :state, :now) "
        "ON CONFLICT (workflow_id) DO UPDATE SET event_seq = excluded.event_seq, state = excluded.state, "
        "created_at = excluded.created_at",
        {"id": ctx.wf.id, "seq": row["last_seq"] if row else 0, "state": dumps(cmd.state), "now": ctx.now},
    )


def apply_command(ctx: CommandContext, cmd: c.Command) -> None:
    tx, wf, now = ctx.tx, ctx.wf, ctx.now
    if isinstance(cmd, c.ScheduleActivity):
        schedule_activity(tx, wf, cmd, now)
    elif isinstance(cmd, c.ScheduleTimer):
        _schedule_timer(ctx, cmd)
    elif isinstance(cmd, c.WaitForSignal):
        _wait_for_signal(ctx, cmd)
    elif isinstance(cmd, c.RecordSideEffect):
        _record_side_effect(ctx, cmd)
    elif isinstance(cmd, c.StartChildWorkflow):
        _start_child(ctx, cmd)
    elif isinstance(cmd, c.UpsertSearchAttributes):
        _upsert_search_attributes(ctx, cmd)
    elif isinstance(cmd, c.RecordSnapshot):
        _record_snapshot(ctx, cmd)
    elif isinstance(cmd, c.ContinueAsNew):
        continue_run(tx, wf.id, cmd.input, None, now, ctx.new_run_id())
    elif isinstance(cmd, c.CompleteWorkflow):
        finish_run(tx, wf.id, WorkflowStatus.COMPLETED, EventType.WORKFLOW_COMPLETED, cmd.result, now, result=cmd.result)
    elif isinstance(cmd, c.FailWorkflow):
        finish_run(tx, wf.id, WorkflowStatus.FAILED, EventType.WORKFLOW_FAILED, {"error": cmd.error}, now, error=cmd.error)
    elif isinstance(cmd, c.CancelWorkflow):
        finish_run(
            tx, wf.id, WorkflowStatus.CANCELLED, EventType.WORKFLOW_CANCELLED, {"reason": cmd.reason}, now,
            error=cmd.reason,
        )
    else:  # pragma: no cover - parse_command admits only the types above
        raise TypeError(f"unhandled command {cmd!r}")
