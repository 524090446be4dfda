"""Row <-> record conversion and the event-append primitive shared by every use case."""

from __future__ import annotations

import json
from typing import Any

from assay.core.events import EventType
from assay.core.model import Activity, ActivityStatus, Event, Worker, Workflow, WorkflowStatus
from assay.errors import NotFound
from assay.store.base import PublishedEvent, Row, Tx

WORKFLOW_COLUMNS = (
    "id, namespace, run_id, workflow_type, task_queue, status, input, result, error, parent_id, "
    "search_attributes, continued_from, continued_to, archived_at, archive_uri, created_at, "
    "updated_at, completed_at"
)
ACTIVITY_COLUMNS = (
    "id, workflow_id, namespace, seq, name, task_queue, input, status, result, error, attempt, "
    "max_attempts, initial_interval_secs, backoff_coefficient, start_to_close_secs, "
    "heartbeat_timeout_secs, claimed_by, scheduled_at, started_at, completed_at, last_heartbeat"
)
ACTIVE = "('PENDING', 'RUNNING')"


def dumps(value: Any) -> str | None:
    """JSON text for a column; ``None`` stays SQL NULL (JSON null and absent are the same here)."""
    if value is None:
        return None
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None) -> Any:
    if text is None:
        return None
    if not isinstance(text, str):  # JSONB on PostgreSQL arrives decoded
        return text
    return json.loads(text)


def workflow_from_row(row: Row) -> Workflow:
    return Workflow(
        id=row["id"],
        namespace=row["namespace"],
        run_id=row["run_id"],
        workflow_type=row["workflow_type"],
        task_queue=row["task_queue"],
        status=WorkflowStatus(row["status"]),
        input=loads(row["input"]),
        result=loads(row["result"]),
        error=row["error"],
        parent_id=row["parent_id"],
        search_attributes=loads(row["search_attributes"]) or {},
        continued_from=row["continued_from"],
        continued_to=row["continued_to"],
        archived_at=row["archived_at"],
        archive_uri=row["archive_uri"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        completed_at=row["completed_at"],
    )


def activity_from_row(row: Row) -> Activity:
    return Activity(
        id=row["id"],
        workflow_id=row["workflow_id"],
        namespace=row["namespace"],
        seq=row["seq"],
        name=row["name"],
        task_queue=row["task_queue"],
        input=loads(row["input"]),
        status=ActivityStatus(row["status"]),
        result=loads(row["result"]),
        error=row["error"],
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        initial_interval_secs=row["initial_interval_secs"],
        backoff_coefficient=row["backoff_coefficient"],
        start_to_close_secs=row["start_to_close_secs"],
        heartbeat_timeout_secs=row["heartbeat_timeout_secs"],
        claimed_by=row["claimed_by"],
        scheduled_at=row["scheduled_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        last_heartbeat=row["last_heartbeat"],
    )


def event_from_row(row: Row) -> Event:
    return Event(
        id=row["id"],
        workflow_id=row["workflow_id"],
        seq=row["seq"],
        event_type=row["event_type"],
        payload=loads(row["payload"]),
        timestamp=row["timestamp"],
    )


def worker_from_row(row: Row) -> Worker:
    return Worker(
        id=row["id"],
        namespace=row["namespace"],
        identity=row["identity"],
        task_queue=row["task_queue"],
        workflows=loads(row["workflows"]),
        activities=loads(row["activities"]),
        max_concurrent_workflows=row["max_concurrent_workflows"],
        max_concurrent_activities=row["max_concurrent_activities"],
        active_tasks=row["active_tasks"],
        last_heartbeat=row["last_heartbeat"],
        registered_at=row["registered_at"],
    )


def load_workflow(tx: Tx, workflow_id: str) -> Workflow:
    row = tx.one(f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = :id", {"id": workflow_id})
    if row is None:
        raise NotFound(f"workflow not found: {workflow_id}")
    return workflow_from_row(row)


def append_event(
    tx: Tx,
    workflow_id: str,
    event_type: EventType,
    payload: Any,
    now: float,
    *,
    dispatch: bool = False,
) -> Event:
    """Append one event with the next seq, in the caller's transaction.

    The seq comes from the workflow row's counter, bumped by the same UPDATE that takes the
    row lock, and ``(workflow_id, seq)`` is unique: concurrent appends can never share a seq.
    ``dispatch`` also marks the workflow task claimable and records the queue to wake.
    """
    row = tx.one(
        "UPDATE workflows SET last_seq = last_seq + 1, updated_at = :now"
        + (", needs_dispatch = 1" if dispatch else "")
        + " WHERE id = :id RETURNING last_seq, namespace, task_queue, status",
        {"id": workflow_id, "now": now},
    )
    if row is None:
        raise NotFound(f"workflow not found: {workflow_id}")
    event = insert_event(tx, workflow_id, row["last_seq"], event_type, payload, now)
    tx.changes.events.append(PublishedEvent(event=event, namespace=row["namespace"], status=row["status"]))
    if dispatch and row["status"] in ("PENDING", "RUNNING"):
        tx.changes.workflow_queues.add((row["namespace"], row["task_queue"]))
    return event


def insert_event(tx: Tx, workflow_id: str, seq: int, event_type: EventType, payload: Any, now: float) -> Event:
    """Write one event row at ``seq``, which the caller took from the workflow's counter."""
    tx.execute(
        "INSERT INTO workflow_events (workflow_id, seq, event_type, payload, timestamp) "
        "VALUES (:wid, :seq, :type, :payload, :ts)",
        {"wid": workflow_id, "seq": seq, "type": str(event_type), "payload": dumps(payload), "ts": now},
    )
    return Event(workflow_id=workflow_id, seq=seq, event_type=str(event_type), payload=payload, timestamp=now)


def mark_dispatch(tx: Tx, workflow_id: str) -> None:
    row = tx.one(
        "UPDATE workflows SET needs_dispatch = 1 WHERE id = :id AND status IN " + ACTIVE
        + " RETURNING namespace, task_queue",
        {"id": workflow_id},
    )
    if row is not None:
        tx.changes.workflow_queues.add((row["namespace"], row["task_queue"]))
