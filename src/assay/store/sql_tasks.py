"""Worker-facing use cases: claim and lease workflow tasks, apply commands, run activities."""

from __future__ import annotations

from typing import Any, Sequence

from assay.core.commands import Command, ScheduleActivity
from assay.core.events import EventType
from assay.core.model import Activity, WorkflowTask
from assay.core.retry import decide_retry
from assay.core.transitions import batch_needs_redispatch
from assay.errors import Conflict, NotFound
from assay.store.base import Changes, Database, EagerActivities, HandBack, Speculation, Tx
from assay.store.claims import claim_activity_tx, claim_workflow_tx, hand_back_activities, hand_back_workflow
from assay.store.commands_apply import CommandContext, apply_command, schedule_activity
from assay.store.lifecycle import load_run
from assay.store.rows import (
    ACTIVITY_COLUMNS, WORKFLOW_COLUMNS, activity_from_row, append_event, dumps, mark_dispatch, workflow_from_row,
)
from assay.store.speculation import SPECULATION_COLUMNS, apply_speculation, refuse_speculation, speculation_holds


class TaskQueries:
    db: Database
    clock: Any

    # --- workflow tasks ---------------------------------------------------------------------

    async def claim_workflow_task(
        self, namespace: str, queue: str, worker_id: str, *, sticky: bool, lease_secs: float,
        workflow_id: str | None = None,
    ) -> tuple[WorkflowTask | None, Changes]:
        skip_locked = self.db.dialect.skip_locked
        return await self.db.write(lambda tx: claim_workflow_tx(
            tx, skip_locked, self.clock(), namespace, queue, worker_id,
            sticky=sticky, lease_secs=lease_secs, only=workflow_id,
        ))

    async def extend_workflow_lease(self, workflow_id: str, worker_id: str, token: str | None, lease_secs: float) -> float:
        def run(tx: Tx) -> float:
            self._check_lease(tx, workflow_id, worker_id, token)
            expires = self.clock() + lease_secs
            tx.execute("UPDATE workflows SET lease_expires_at = :exp WHERE id = :id", {"exp": expires, "id": workflow_id})
            return expires

        result, _ = await self.db.write(run)
        return result

    async def release_workflow_lease(self, workflow_id: str, token: str) -> Changes:
        def run(tx: Tx) -> None:
            released = tx.execute(
                "UPDATE workflows SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, "
                "sticky_worker = NULL WHERE id = :id AND lease_token = :t",
                {"id": workflow_id, "t": token},
            )
            if released:
                mark_dispatch(tx, workflow_id)

        _, changes = await self.db.write(run)
        return changes

    def _check_lease(self, tx: Tx, workflow_id: str, worker_id: str, token: str | None) -> Any:
        """The workflow's row (every column a Workflow shows, plus the lease), when the lease
        is held by ``worker_id`` / ``token``."""
        # FOR UPDATE on PostgreSQL: two submissions with one token cannot both pass the check
        # (SQLite serialises writers already).
        row = tx.one(
            f"SELECT {WORKFLOW_COLUMNS}, lease_owner, lease_token FROM workflows WHERE id = :id"
            + self.db.dialect.row_lock,
            {"id": workflow_id},
        )
        if row is None:
            raise NotFound(f"workflow not found: {workflow_id}")
        holder_ok = row["lease_token"] == token if token else (row["lease_token"] and row["lease_owner"] == worker_id)
        if not holder_ok:
            if row["status"] not in ("PENDING", "RUNNING"):
                raise Conflict(f"workflow '{workflow_id}' is already {row['status']}", code="workflow_terminal")
            raise Conflict(
                f"the lease on workflow task '{workflow_id}' is no longer held by worker '{worker_id}' "
                "(it expired and was handed to another worker, or was already used)",
                code="lease_lost",
            )
        return row

    async def submit_commands(
        self, workflow_id: str, worker_id: str, token: str | None, commands: Sequence[Command],
        *, eager: EagerActivities | None = None,
    ) -> tuple[int, Changes]:
        skip_locked = self.db.dialect.skip_locked

        def run(tx: Tx) -> int:
            wf = workflow_from_row(self._check_lease(tx, workflow_id, worker_id, token))
            ctx = CommandContext(tx, wf, self.clock(), self.new_run_id)  # type: ignore[attr-defined]
            for command in commands:
                apply_command(ctx, command)
            redispatch = batch_needs_redispatch(commands)
            row = tx.one(
                "UPDATE workflows SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL"
                + (", needs_dispatch = 1" if redispatch else "")
                + " WHERE id = :id RETURNING needs_dispatch, status, namespace, task_queue",
                {"id": workflow_id},
            )
            # Events that arrived while the worker held the lease left needs_dispatch set:
            # the task is claimable again at once, so no wake-up is ever lost.
            if row is not None and row["needs_dispatch"] and row["status"] in ("PENDING", "RUNNING"):
                tx.changes.workflow_queues.add((row["namespace"], row["task_queue"]))
            if eager is not None:
                hand_back_activities(tx, skip_locked, ctx.now, workflow_id, worker_id, eager)
            return len(commands)

        return await self.db.write(run)

    # --- activities -----------------------------------------------------------------------------

    async def schedule_activity(self, workflow_id: str, command: ScheduleActivity) -> tuple[Activity, Changes]:
        def run(tx: Tx) -> Activity:
            wf = load_run(tx, workflow_id)
            if wf.status.is_terminal:
                raise Conflict(f"workflow '{workflow_id}' is already {wf.status}", code="workflow_terminal")
            activity_id = schedule_activity(tx, wf, command, self.clock())
            tx.execute(
                "UPDATE workflows SET status = 'RUNNING' WHERE id = :id AND status = 'PENDING'", {"id": workflow_id}
            )
            return self._load_activity(tx, activity_id)

        return await self.db.write(run)

    @staticmethod
    def _load_activity(tx: Tx, activity_id: int) -> Activity:
        row = tx.one(f"SELECT {ACTIVITY_COLUMNS} FROM workflow_activities WHERE id = :id", {"id": activity_id})
        if row is None:
            raise NotFound(f"activity not found: {activity_id}")
        return activity_from_row(row)

    async def get_activity(self, activity_id: int) -> Activity | None:
        def run(tx: Tx) -> Activity | None:
            row = tx.one(f"SELECT {ACTIVITY_COLUMNS} FROM workflow_activities WHERE id = :id", {"id": activity_id})
            return activity_from_row(row) if row else None

        return await self.db.read(run)

    async def claim_activity(
        self, namespace: str, queue: str, worker_id: str, *, workflow_id: str | None = None
    ) -> tuple[Activity | None, Changes]:
        skip_locked = self.db.dialect.skip_locked
        return await self.db.write(lambda tx: claim_activity_tx(
            tx, skip_locked, self.clock(), namespace, queue, worker_id, only=workflow_id,
        ))

    @staticmethod
    def _running_attempt(tx: Tx, activity_id: int, attempt: int | None) -> Any:
        row = tx.one(
            "SELECT id, workflow_id, seq, name, status, attempt, max_attempts, initial_interval_secs, "
            "backoff_coefficient, namespace, task_queue, start_to_close_secs, heartbeat_timeout_secs, started_at, "
            "cancel_requested FROM workflow_activities WHERE id = :id",
            {"id": activity_id},
        )
        if row is None:
            raise NotFound(f"activity not found: {activity_id}")
        if row["status"] != "RUNNING" or (attempt is not None and attempt != row["attempt"]):
            raise Conflict(
                f"activity {activity_id} is not running attempt {attempt if attempt is not None else row['attempt']} "
                f"(status {row['status']}, attempt {row['attempt']}); the result was not recorded",
                code="activity_not_running",
            )
        return row

    async def complete_activity(
        self, activity_id: int, result: Any, attempt: int | None, *, hand_back: HandBack | None = None,
        speculation: Speculation | None = None,
    ) -> Changes:
        skip_locked, row_lock = self.db.dialect.skip_locked, self.db.dialect.row_lock

        def run(tx: Tx) -> None:
            row = self._running_attempt(tx, activity_id, attempt)
            now = self.clock()
            tx.execute(
                "UPDATE workflow_activities SET status = 'COMPLETED', result = :result, completed_at = :now, "
                "deadline_at = NULL WHERE id = :id",
                {"result": dumps(result), "now": now, "id": activity_id},
            )
            workflow_id = row["workflow_id"]
            # One read of the workflow serves the liveness check, the speculation check
            # and the run a speculative batch is applied to.
            wf = tx.one(
                f"SELECT {WORKFLOW_COLUMNS}, {SPECULATION_COLUMNS} FROM workflows WHERE id = :id" + row_lock,
                {"id": workflow_id},
            )
            if wf is None or wf["status"] not in ("PENDING", "RUNNING"):
                return  # a late result of a finished run: recorded on the activity only
            accepted = speculation is not None and speculation_holds(tx, wf, row["seq"], speculation)
            event = append_event(
                tx, workflow_id, EventType.ACTIVITY_COMPLETED,
                {"activity_id": activity_id, "activity_seq": row["seq"], "name": row["name"], "result": result},
                now, dispatch=not accepted,
            )
            if accepted:
                assert speculation is not None
                apply_speculation(
                    tx, skip_locked, now, workflow_from_row(wf), event.seq, speculation, self.new_run_id,  # type: ignore[attr-defined]
                )
                return
            if speculation is not None:
                refuse_speculation(tx, workflow_id)
            if hand_back is not None:
                hand_back_workflow(tx, skip_locked, now, workflow_id, hand_back)

        _, changes = await self.db.write(run)
        return changes

    async def fail_activity(
        self, activity_id: int, error: str, attempt: int | None, non_retryable: bool,
        *, hand_back: HandBack | None = None,
    ) -> tuple[dict[str, Any], Changes]:
        skip_locked = self.db.dialect.skip_locked

        def run(tx: Tx) -> dict[str, Any]:
            row = self._running_attempt(tx, activity_id, attempt)
            now = self.clock()
            outcome = fail_attempt(tx, row, error, now, non_retryable=non_retryable)
            if hand_back is not None and not outcome["retrying"]:
                hand_back_workflow(tx, skip_locked, now, row["workflow_id"], hand_back)
            return outcome

        return await self.db.write(run)

    async def heartbeat_activity(self, activity_id: int, attempt: int | None) -> bool:
        def run(tx: Tx) -> bool:
            row = self._running_attempt(tx, activity_id, attempt)
            now = self.clock()
            deadline = row["started_at"] + row["start_to_close_secs"]
            if row["heartbeat_timeout_secs"]:
                deadline = min(deadline, now + row["heartbeat_timeout_secs"])
            tx.execute(
                "UPDATE workflow_activities SET last_heartbeat = :now, deadline_at = :deadline WHERE id = :id",
                {"now": now, "deadline": deadline, "id": activity_id},
            )
            return bool(row["cancel_requested"])

        result, _ = await self.db.write(run)
        return result


def _workflow_active(tx: Tx, workflow_id: str) -> bool:
    row = tx.one("SELECT status FROM workflows WHERE id = :id", {"id": workflow_id})
    return row is not None and row["status"] in ("PENDING", "RUNNING")


def fail_attempt(tx: Tx, row: Any, error: str, now: float, *, non_retryable: bool = False) -> dict[str, Any]:
    """A RUNNING attempt failed (worker report or timeout): retry with backoff or fail for good.

    Retries are invisible to the workflow; the final failure writes ``ActivityFailed`` and
    wakes the workflow, whose code decides what happens next.
    """
    decision = decide_retry(
        row["attempt"], row["max_attempts"], row["initial_interval_secs"], row["backoff_coefficient"],
        non_retryable=non_retryable or bool(row["cancel_requested"]),
    )
    if decision.retry:
        next_at = now + decision.delay_secs
        tx.execute(
            "UPDATE workflow_activities SET status = 'PENDING', attempt = attempt + 1, scheduled_at = :at, "
            "claimed_by = NULL, started_at = NULL, last_heartbeat = NULL, deadline_at = NULL, error = :error "
            "WHERE id = :id",
            {"at": next_at, "error": error, "id": row["id"]},
        )
        tx.changes.arm(next_at)
        if decision.delay_secs <= 0:
            tx.changes.activity_queues.add((row["namespace"], row["task_queue"]))
        return {"ok": True, "retrying": True, "next_attempt_at": next_at}
    tx.execute(
        "UPDATE workflow_activities SET status = 'FAILED', error = :error, completed_at = :now, deadline_at = NULL "
        "WHERE id = :id",
        {"error": error, "now": now, "id": row["id"]},
    )
    if _workflow_active(tx, row["workflow_id"]):
        append_event(
            tx, row["workflow_id"], EventType.ACTIVITY_FAILED,
            {"activity_id": row["id"], "activity_seq": row["seq"], "name": row["name"], "error": error,
             "final_attempt": row["attempt"]},
            now, dispatch=True,
        )
    return {"ok": True, "retrying": False, "next_attempt_at": None}
