"""Transaction-level building blocks for a run's life: create, finish, propagate.

Each function runs inside the caller's transaction, so a use case composed of several of
them (a child completing notifies its parent; a terminate walks the tree) is still atomic.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from assay.core.events import EventType
from assay.core.model import Workflow, WorkflowStatus, WorkflowTask
from assay.errors import Conflict, NotFound
from assay.store.base import HandBack, PublishedEvent, StartRequest, Tx
from assay.store.rows import ACTIVE, WORKFLOW_COLUMNS, append_event, dumps, insert_event, workflow_from_row


def ensure_namespace(tx: Tx, namespace: str) -> None:
    if tx.one("SELECT 1 AS x FROM namespaces WHERE name = :n", {"n": namespace}) is None:
        raise NotFound(f"namespace not found: {namespace}")


def insert_run(
    tx: Tx,
    request: StartRequest,
    now: float,
    *,
    parent_id: str | None = None,
    continued_from: str | None = None,
    lease_to: HandBack | None = None,
) -> Workflow:
    """Create a run and its ``WorkflowStarted`` event (seq 1).

    Without ``lease_to`` the run is PENDING and claimable (its queue is announced). With it
    (the start's hand-off to a parked poller of the run's queue) the row is inserted already
    leased to that worker, and the task, whose whole history is the event written here, is
    added to ``handed_back``: what a claim would do, without reading back what was just
    written. Either way the common path is two INSERTs; the existence check runs only
    when the id is taken.
    """
    # (worker, token, expiry) of the lease the row is inserted with, if handed off.
    lease = None
    if lease_to is not None and (lease_to.namespace, lease_to.queue) == (request.namespace, request.task_queue):
        lease = (lease_to.worker_id, secrets.token_hex(16), now + lease_to.lease_secs)
    owner, token, expires = lease or (None, None, None)
    inserted = tx.execute(
        "INSERT INTO workflows (id, namespace, run_id, workflow_type, task_queue, status, input, "
        "parent_id, search_attributes, continued_from, created_at, updated_at, last_seq, needs_dispatch, "
        "lease_owner, lease_token, lease_expires_at, sticky_worker, sticky_seq) "
        "VALUES (:id, :ns, :run_id, :type, :queue, :status, :input, :parent, :attrs, :cfrom, :now, :now, 1, "
        ":dispatch, :owner, :token, :expires, :owner, :sticky_seq) ON CONFLICT (id) DO NOTHING",
        {
            "id": request.workflow_id,
            "ns": request.namespace,
            "run_id": request.run_id,
            "type": request.workflow_type,
            "queue": request.task_queue,
            "status": "RUNNING" if lease else "PENDING",
            "input": dumps(request.input),
            "parent": parent_id,
            "attrs": dumps(request.search_attributes or {}),
            "cfrom": continued_from,
            "now": now,
            "dispatch": 0 if lease else 1,
            "owner": owner,
            "token": token,
            "expires": expires,
            "sticky_seq": 1 if lease else None,
        },
    )
    if not inserted:
        existing = tx.one("SELECT run_id, status, namespace FROM workflows WHERE id = :id", {"id": request.workflow_id})
        raise Conflict(
            f"workflow '{request.workflow_id}' already exists in namespace "
            f"'{existing['namespace'] if existing else request.namespace}'"
            + (f" (run_id {existing['run_id']}, status {existing['status']})" if existing else ""),
            code="workflow_already_exists",
        )
    started = insert_event(tx, request.workflow_id, 1, EventType.WORKFLOW_STARTED, request.input, now)
    # Published as PENDING, then as running when leased: what a start followed by a claim shows.
    tx.changes.events.append(PublishedEvent(event=started, namespace=request.namespace, status="PENDING"))
    workflow = Workflow(
        id=request.workflow_id,
        namespace=request.namespace,
        run_id=request.run_id,
        workflow_type=request.workflow_type,
        task_queue=request.task_queue,
        status=WorkflowStatus.PENDING,
        input=request.input,
        parent_id=parent_id,
        search_attributes=request.search_attributes or {},
        continued_from=continued_from,
        created_at=now,
        updated_at=now,
    )
    if lease is None:
        tx.changes.workflow_queues.add((request.namespace, request.task_queue))
        return workflow
    _, lease_token, lease_expires = lease
    tx.changes.running.append((request.workflow_id, request.namespace))
    tx.changes.arm(lease_expires)
    tx.changes.handed_back.append(WorkflowTask(
        workflow_id=request.workflow_id, run_id=request.run_id, namespace=request.namespace,
        workflow_type=request.workflow_type, task_queue=request.task_queue, input=request.input,
        lease_token=lease_token, lease_expires_at=lease_expires, history=[started], history_after_seq=0,
    ))
    return replace(workflow, status=WorkflowStatus.RUNNING)


def cancel_pending_work(tx: Tx, workflow_id: str, now: float) -> None:
    """Stop what a finished run left behind: queued activities, unfired timers, waits.

    Running activities are flagged so their next heartbeat tells the worker to stop; their
    late results are accepted quietly and change nothing.
    """
    tx.execute(
        "UPDATE workflow_activities SET status = 'CANCELLED', completed_at = :now "
        "WHERE workflow_id = :id AND status = 'PENDING'",
        {"id": workflow_id, "now": now},
    )
    tx.execute(
        "UPDATE workflow_activities SET cancel_requested = 1 WHERE workflow_id = :id AND status = 'RUNNING'",
        {"id": workflow_id},
    )
    tx.execute("UPDATE workflow_timers SET fired = 1 WHERE workflow_id = :id AND fired = 0", {"id": workflow_id})


def finish_run(
    tx: Tx,
    workflow_id: str,
    status: WorkflowStatus,
    event_type: EventType,
    payload: Any,
    now: float,
    *,
    result: Any = None,
    error: str | None = None,
    notify_parent: bool = True,
) -> Workflow:
    """Move an active run to a terminal status with its event, and tell the parent.

    The status guard in the UPDATE makes terminal states final: a second finisher (a stale
    worker, a racing terminate) changes nothing and gets a Conflict.
    """
    row = tx.one(
        "UPDATE workflows SET status = :status, result = :result, error = :error, completed_at = :now, "
        "updated_at = :now, needs_dispatch = 0, lease_owner = NULL, lease_token = NULL, "
        "lease_expires_at = NULL, cancel_requested_at = NULL, last_seq = last_seq + 1 "
        f"WHERE id = :id AND status IN {ACTIVE} RETURNING last_seq, {WORKFLOW_COLUMNS}",
        {"id": workflow_id, "status": str(status), "result": dumps(result), "error": error, "now": now},
    )
    if row is None:
        current = tx.one("SELECT status FROM workflows WHERE id = :id", {"id": workflow_id})
        if current is None:
            raise NotFound(f"workflow not found: {workflow_id}")
        raise Conflict(
            f"workflow '{workflow_id}' is already {current['status']}", code="workflow_terminal"
        )
    # The closing event takes the seq the UPDATE above reserved (as append_event would).
    closing = insert_event(tx, workflow_id, row["last_seq"], event_type, payload, now)
    tx.changes.events.append(PublishedEvent(event=closing, namespace=row["namespace"], status=str(status)))
    cancel_pending_work(tx, workflow_id, now)
    if notify_parent and row["parent_id"]:
        _notify_parent(tx, row["parent_id"], workflow_id, status, result, error, now)
    # The UPDATE returned the finished row (nothing below changes the columns a Workflow
    # shows), so the result waiters get it without another read.
    run = tx.changes.finished[workflow_id] = workflow_from_row(row)
    return run


def _notify_parent(
    tx: Tx, parent_id: str, child_id: str, status: WorkflowStatus, result: Any, error: str | None, now: float
) -> None:
    parent = tx.one("SELECT status FROM workflows WHERE id = :id", {"id": parent_id})
    if parent is None or parent["status"] not in ("PENDING", "RUNNING"):
        return
    if status == WorkflowStatus.COMPLETED:
        append_event(
            tx, parent_id, EventType.CHILD_WORKFLOW_COMPLETED,
            {"child_workflow_id": child_id, "result": result}, now, dispatch=True,
        )
    else:
        append_event(
            tx, parent_id, EventType.CHILD_WORKFLOW_FAILED,
            {"child_workflow_id": child_id, "error": error or str(status).lower(), "status": str(status)},
            now, dispatch=True,
        )


def load_run(tx: Tx, workflow_id: str) -> Workflow:
    row = tx.one(f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = :id", {"id": workflow_id})
    if row is None:
        raise NotFound(f"workflow not found: {workflow_id}")
    return workflow_from_row(row)


def active_children(tx: Tx, workflow_id: str) -> list[str]:
    rows = tx.all(
        "SELECT id FROM workflows WHERE parent_id = :id AND status IN " + ACTIVE, {"id": workflow_id}
    )
    return [r["id"] for r in rows]


def terminate_tree(tx: Tx, workflow_id: str, reason: str | None, now: float, *, notify_parent: bool = True) -> Workflow:
    """Terminate a run and, first, every active descendant (they are not left orphaned)."""
    for child_id in active_children(tx, workflow_id):
        terminate_tree(tx, child_id, f"parent terminated: {reason or 'terminated'}", now, notify_parent=False)
    return finish_run(
        tx, workflow_id, WorkflowStatus.FAILED, EventType.WORKFLOW_TERMINATED, {"reason": reason}, now,
        error=f"terminated: {reason}" if reason else "terminated", notify_parent=notify_parent,
    )


def cancel_tree(tx: Tx, workflow_id: str, reason: str | None, now: float) -> Workflow:
    """Request cancellation of a run and its active descendants.

    A run no worker has touched yet (PENDING) is cancelled at once. A RUNNING run gets
    ``WorkflowCancelRequested`` and a wake-up: its handler sees the request at its next
    frontier and finishes with ``CancelWorkflow``; if no worker does so within the grace
    period, the engine finalises it (see ``finalize_overdue_cancels``).
    """
    for child_id in active_children(tx, workflow_id):
        cancel_tree(tx, child_id, reason, now)
    run = load_run(tx, workflow_id)
    if run.status.is_terminal:
        raise Conflict(f"workflow '{workflow_id}' is already {run.status}", code="workflow_terminal")
    if run.status == WorkflowStatus.PENDING:
        append_event(tx, workflow_id, EventType.WORKFLOW_CANCEL_REQUESTED, {"reason": reason}, now)
        return finish_run(
            tx, workflow_id, WorkflowStatus.CANCELLED, EventType.WORKFLOW_CANCELLED, {"reason": reason}, now,
            error=reason,
        )
    already = tx.one("SELECT cancel_requested_at FROM workflows WHERE id = :id", {"id": workflow_id})
    if already is not None and already["cancel_requested_at"] is not None:
        return run
    tx.execute("UPDATE workflows SET cancel_requested_at = :now WHERE id = :id", {"id": workflow_id, "now": now})
    append_event(tx, workflow_id, EventType.WORKFLOW_CANCEL_REQUESTED, {"reason": reason}, now, dispatch=True)
    # Queued work will never be needed; running activities learn it from their heartbeat.
    tx.execute(
        "UPDATE workflow_activities SET status = 'CANCELLED', completed_at = :now "
        "WHERE workflow_id = :id AND status = 'PENDING'",
        {"id": workflow_id, "now": now},
    )
    tx.execute(
        "UPDATE workflow_activities SET cancel_requested = 1 WHERE workflow_id = :id AND status = 'RUNNING'",
        {"id": workflow_id},
    )
    tx.changes.arm(now)
    return load_run(tx, workflow_id)
