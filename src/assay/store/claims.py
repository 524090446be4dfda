"""Claiming work inside a transaction: the queue claims of the poll routes, and the eager
hand-backs that give a worker the next task of the same workflow without a poll.

A hand-back claims in the same transaction that created the work, and withdraws the wake-up
that work would have announced, so a parked poller is not woken for a task it can no longer
get (and cannot win the race for it either).
"""

from __future__ import annotations

import secrets
from typing import Any

from assay.core.model import Activity, WorkflowStatus, WorkflowTask
from assay.store.base import EagerActivities, HandBack, Tx
from assay.store.rows import ACTIVITY_COLUMNS, activity_from_row, event_from_row, loads


def activity_deadline(now: float, start_to_close: float, heartbeat_timeout: float | None) -> float:
    deadline = now + start_to_close
    if heartbeat_timeout:
        deadline = min(deadline, now + heartbeat_timeout)
    return deadline


def claim_workflow_tx(
    tx: Tx, skip_locked: str, now: float, namespace: str, queue: str, worker_id: str,
    *, sticky: bool, lease_secs: float, only: str | None = None,
) -> WorkflowTask | None:
    """Lease the oldest dispatchable workflow task of a queue (or of workflow ``only``)."""
    row = tx.one(
        "SELECT id, run_id, namespace, workflow_type, task_queue, input, status, sticky_worker, sticky_seq "
        "FROM workflows WHERE namespace = :ns AND task_queue = :q AND needs_dispatch = 1 "
        "AND lease_token IS NULL AND status IN ('PENDING', 'RUNNING')"
        + (" AND id = :only" if only is not None else "")
        + f" ORDER BY updated_at LIMIT 1{skip_locked}",
        {"ns": namespace, "q": queue, "only": only},
    )
    if row is None:
        return None
    token = secrets.token_hex(16)
    expires = now + lease_secs
    # Sticky: only events newer than what this same worker was sent at its last claim.
    after = row["sticky_seq"] if sticky and row["sticky_worker"] == worker_id and row["sticky_seq"] else 0
    events = tx.all(
        "SELECT id, workflow_id, seq, event_type, payload, timestamp FROM workflow_events "
        "WHERE workflow_id = :id AND seq > :after ORDER BY seq",
        {"id": row["id"], "after": after},
    )
    last_seq = events[-1]["seq"] if events else after
    tx.execute(
        "UPDATE workflows SET needs_dispatch = 0, lease_owner = :w, lease_token = :t, lease_expires_at = :exp, "
        "status = 'RUNNING', sticky_worker = :w, sticky_seq = :last WHERE id = :id",
        {"w": worker_id, "t": token, "exp": expires, "last": last_seq, "id": row["id"]},
    )
    if row["status"] == WorkflowStatus.PENDING:
        tx.changes.running.append((row["id"], row["namespace"]))
    tx.changes.arm(expires)
    return WorkflowTask(
        workflow_id=row["id"], run_id=row["run_id"], namespace=row["namespace"],
        workflow_type=row["workflow_type"], task_queue=row["task_queue"], input=loads(row["input"]),
        lease_token=token, lease_expires_at=expires,
        history=[event_from_row(e) for e in events], history_after_seq=after,
    )


def claim_activity_tx(
    tx: Tx, skip_locked: str, now: float, namespace: str, queue: str, worker_id: str, *, only: str | None = None,
) -> Activity | None:
    """Claim the oldest due PENDING activity of a queue (or of workflow ``only``)."""
    rows = _due_activities(tx, skip_locked, now, namespace, queue, only, 1)
    return _start_attempt(tx, now, rows[0], worker_id) if rows else None


def _due_activities(
    tx: Tx, skip_locked: str, now: float, namespace: str, queue: str, only: str | None, limit: int
) -> list[Any]:
    return tx.all(
        "SELECT id, start_to_close_secs, heartbeat_timeout_secs FROM workflow_activities "
        "WHERE namespace = :ns AND task_queue = :q AND status = 'PENDING' AND scheduled_at <= :now"
        + (" AND workflow_id = :only" if only is not None else "")
        + f" ORDER BY scheduled_at, id LIMIT :limit{skip_locked}",
        {"ns": namespace, "q": queue, "now": now, "only": only, "limit": limit},
    )


def _start_attempt(tx: Tx, now: float, row: Any, worker_id: str) -> Activity:
    """Mark a PENDING activity (locked or chosen in this transaction) RUNNING for ``worker_id``."""
    deadline = activity_deadline(now, row["start_to_close_secs"], row["heartbeat_timeout_secs"])
    claimed = tx.one(
        "UPDATE workflow_activities SET status = 'RUNNING', claimed_by = :w, started_at = :now, "
        f"last_heartbeat = NULL, deadline_at = :deadline WHERE id = :id RETURNING {ACTIVITY_COLUMNS}",
        {"w": worker_id, "now": now, "id": row["id"], "deadline": deadline},
    )
    tx.changes.arm(deadline)
    return activity_from_row(claimed)


def hand_back_activities(tx: Tx, skip_locked: str, now: float, workflow_id: str, worker_id: str, eager: EagerActivities) -> None:
    """Claim up to ``eager.max`` due activities of ``workflow_id`` for the worker that
    scheduled them; withdraw the queue's wake-up when none of them is left for pollers."""
    if eager.max <= 0:
        return
    # One more row than we may take: whether any is left over comes with the same query.
    rows = _due_activities(tx, skip_locked, now, eager.namespace, eager.queue, workflow_id, eager.max + 1)
    for row in rows[: eager.max]:
        tx.changes.handed_back.append(_start_attempt(tx, now, row, worker_id))
    if rows and len(rows) <= eager.max:
        tx.changes.activity_queues.discard((eager.namespace, eager.queue))


def hand_back_workflow(
    tx: Tx, skip_locked: str, now: float, workflow_id: str, hand_back: HandBack, *, withdraw: bool = True
) -> bool:
    """Lease ``workflow_id``'s task to the hand-back's worker; whether it was claimable.
    ``withdraw``: also withdraw the queue's wake-up, right when this task is the only one
    the transaction made claimable there (a caller waking several decides itself)."""
    task = claim_workflow_tx(
        tx, skip_locked, now, hand_back.namespace, hand_back.queue, hand_back.worker_id,
        sticky=hand_back.sticky, lease_secs=hand_back.lease_secs, only=workflow_id,
    )
    if task is None:
        return False
    tx.changes.handed_back.append(task)
    if withdraw:
        tx.changes.workflow_queues.discard((hand_back.namespace, hand_back.queue))
    return True
