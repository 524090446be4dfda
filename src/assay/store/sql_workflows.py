"""Workflow use cases: start, read, signal, cancel, terminate, continue-as-new."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from assay.core.events import EventType
from assay.core.model import Event, Snapshot, Workflow, WorkflowStatus
from assay.core.transitions import continued_workflow_id
from assay.errors import Conflict, NotFound
from assay.store.base import Changes, Database, HandBack, StartRequest, Tx, WorkflowFilter
from assay.store.lifecycle import cancel_tree, ensure_namespace, finish_run, insert_run, load_run, terminate_tree
from assay.store.rows import WORKFLOW_COLUMNS, append_event, event_from_row, loads, workflow_from_row


def wait_key_prefix(signal_name: str) -> str:
    """Idempotency key prefix of a ``WaitForSignal`` (cleared when that signal arrives)."""
    return f"wait:{signal_name}\x1f"


class WorkflowQueries:
    db: Database
    clock: Any
    new_run_id: Any

    async def start_workflow(
        self, request: StartRequest, *, hand_back: HandBack | None = None
    ) -> tuple[Workflow, Changes]:
        def run(tx: Tx) -> Workflow:
            ensure_namespace(tx, request.namespace)
            return insert_run(tx, request, self.clock(), lease_to=hand_back)

        return await self.db.write(run)

    async def get_workflow(self, workflow_id: str) -> Workflow | None:
        def run(tx: Tx) -> Workflow | None:
            row = tx.one(f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = :id", {"id": workflow_id})
            return workflow_from_row(row) if row is not None else None

        return await self.db.read(run)

    async def list_workflows(self, flt: WorkflowFilter) -> tuple[list[Workflow], int]:
        where = ["namespace = :ns"]
        params: dict[str, Any] = {"ns": flt.namespace, "limit": flt.limit, "offset": flt.offset}
        if flt.status is not None:
            where.append("status = :status")
            params["status"] = str(flt.status)
        if flt.workflow_type:
            where.append("workflow_type = :type")
            params["type"] = flt.workflow_type
        for i, (key, value) in enumerate((flt.search_attrs or {}).items()):
            clause, extra = self.db.dialect.search_attribute_clause(i, key, value)
            where.append(clause)
            params.update(extra)
        condition = " AND ".join(where)

        def run(tx: Tx) -> tuple[list[Workflow], int]:
            rows = tx.all(
                f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE {condition} "
                "ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset",
                params,
            )
            total = tx.one(f"SELECT COUNT(*) AS n FROM workflows WHERE {condition}", params)
            return [workflow_from_row(r) for r in rows], int(total["n"]) if total else 0

        return await self.db.read(run)

    async def list_children(self, workflow_id: str) -> list[Workflow]:
        def run(tx: Tx) -> list[Workflow]:
            load_run(tx, workflow_id)
            rows = tx.all(
                f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE parent_id = :id ORDER BY created_at, id",
                {"id": workflow_id},
            )
            return [workflow_from_row(r) for r in rows]

        return await self.db.read(run)

    async def events_in_ranges(self, ranges: Sequence[tuple[str, int, int]]) -> list[list[tuple[Event, str, str]]]:
        """For each ``(workflow_id, first_seq, last_seq)``, its events in seq order, each with
        the workflow's namespace and current status (what another instance committed)."""
        def run(tx: Tx) -> list[list[tuple[Event, str, str]]]:
            out: list[list[tuple[Event, str, str]]] = []
            for workflow_id, first, last in ranges:
                rows = tx.all(
                    "SELECT e.id, e.workflow_id, e.seq, e.event_type, e.payload, e.timestamp, w.namespace, w.status "
                    "FROM workflow_events e JOIN workflows w ON w.id = e.workflow_id "
                    "WHERE e.workflow_id = :id AND e.seq BETWEEN :first AND :last ORDER BY e.seq",
                    {"id": workflow_id, "first": first, "last": last},
                )
                out.append([(event_from_row(r), r["namespace"], r["status"]) for r in rows])
            return out

        return await self.db.read(run)

    async def list_events(self, workflow_id: str, after_seq: int = 0) -> list[Event]:
        def run(tx: Tx) -> list[Event]:
            rows = tx.all(
                "SELECT id, workflow_id, seq, event_type, payload, timestamp FROM workflow_events "
                "WHERE workflow_id = :id AND seq > :after ORDER BY seq",
                {"id": workflow_id, "after": after_seq},
            )
            if not rows and tx.one("SELECT 1 AS x FROM workflows WHERE id = :id", {"id": workflow_id}) is None:
                raise NotFound(f"workflow not found: {workflow_id}")
            return [event_from_row(r) for r in rows]

        return await self.db.read(run)

    async def signal_workflow(self, workflow_id: str, name: str, payload: Any) -> tuple[int, Changes]:
        def run(tx: Tx) -> int:
            wf = load_run(tx, workflow_id)
            if wf.status.is_terminal:
                raise Conflict(
                    f"workflow '{workflow_id}' is {wf.status}; signal '{name}' not delivered",
                    code="workflow_terminal",
                )
            prefix = wait_key_prefix(name)
            tx.execute(
                "DELETE FROM workflow_command_keys WHERE workflow_id = :id AND key >= :lo AND key < :hi",
                {"id": workflow_id, "lo": prefix, "hi": prefix + "\U0010ffff"},
            )
            event = append_event(
                tx, workflow_id, EventType.SIGNAL_RECEIVED, {"signal": name, "payload": payload},
                self.clock(), dispatch=True,
            )
            return event.seq

        return await self.db.write(run)

    async def request_cancel(self, workflow_id: str, reason: str | None) -> tuple[Workflow, Changes]:
        return await self.db.write(lambda tx: cancel_tree(tx, workflow_id, reason, self.clock()))

    async def terminate_workflow(self, workflow_id: str, reason: str | None) -> tuple[Workflow, Changes]:
        def run(tx: Tx) -> Workflow:
            wf = load_run(tx, workflow_id)
            if wf.status.is_terminal:
                raise Conflict(f"workflow '{workflow_id}' is already {wf.status}", code="workflow_terminal")
            return terminate_tree(tx, workflow_id, reason, self.clock())

        return await self.db.write(run)

    async def continue_as_new(self, workflow_id: str, input: Any, new_id: str | None) -> tuple[Workflow, Changes]:
        return await self.db.write(lambda tx: continue_run(tx, workflow_id, input, new_id, self.clock(), self.new_run_id()))

    async def get_snapshot(self, workflow_id: str) -> Snapshot | None:
        def run(tx: Tx) -> Snapshot | None:
            row = tx.one(
                "SELECT workflow_id, event_seq, state, created_at FROM workflow_snapshots WHERE workflow_id = :id",
                {"id": workflow_id},
            )
            if row is None:
                return None
            return Snapshot(row["workflow_id"], loads(row["state"]), row["event_seq"], row["created_at"])

        return await self.db.read(run)


def continue_run(tx: Tx, workflow_id: str, input: Any, new_id: str | None, now: float, run_id: str) -> Workflow:
    """Close ``workflow_id`` (COMPLETED, linked forward) and start the next run of the chain.

    The parent link moves to the new run, so a parent waiting on a child that continues
    as new is told when the chain really ends.
    """
    source = load_run(tx, workflow_id)
    target_id = (new_id or "").strip() or continued_workflow_id(workflow_id)
    parent_id = source.parent_id
    if not source.status.is_terminal:
        finish_run(
            tx, workflow_id, WorkflowStatus.COMPLETED, EventType.WORKFLOW_CONTINUED_AS_NEW,
            {"new_workflow_id": target_id, "new_run_id": run_id}, now, notify_parent=False,
        )
    tx.execute("UPDATE workflows SET continued_to = :to WHERE id = :id", {"to": target_id, "id": workflow_id})
    if workflow_id in tx.changes.finished:  # result waiters are handed the run as committed
        tx.changes.finished[workflow_id] = replace(tx.changes.finished[workflow_id], continued_to=target_id)
    request = StartRequest(
        workflow_type=source.workflow_type,
        workflow_id=target_id,
        run_id=run_id,
        namespace=source.namespace,
        task_queue=source.task_queue,
        input=input,
        search_attributes=source.search_attributes,
    )
    return insert_run(tx, request, now, parent_id=parent_id, continued_from=workflow_id)

