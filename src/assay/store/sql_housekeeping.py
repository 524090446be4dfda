"""Time-driven use cases: fire timers, time out activities, recover leases, finish cancels.

Every method is safe when several engine instances run it at once: each row is claimed by
a guarded UPDATE (``... WHERE fired = 0``, ``... AND status = 'RUNNING'``), so exactly one
instance acts on it.
"""

from __future__ import annotations

from collections.abc import Mapping

from assay.core.events import EventType
from assay.core.model import WorkflowStatus
from assay.errors import Conflict
from assay.store.base import Changes, Database, HandBack, HousekeepingDue, Tx
from assay.store.claims import hand_back_workflow
from assay.store.lifecycle import finish_run
from assay.store.rows import append_event, mark_dispatch
from assay.store.sql_tasks import fail_attempt

BATCH = 500


class HousekeepingQueries:
    db: Database

    async def fire_due_timers(
        self, now: float, *, hand_backs: Mapping[tuple[str, str], HandBack] | None = None
    ) -> Changes:
        skip_locked = self.db.dialect.skip_locked
        offers = dict(hand_backs or {})  # queue -> a parked worker not yet given a task

        def run(tx: Tx) -> None:
            handed: set[tuple[str, str]] = set()  # queues whose parked worker got a task
            left: set[tuple[str, str]] = set()  # queues with a woken task nobody was handed
            due = tx.all(
                "SELECT workflow_id, seq, fire_at FROM workflow_timers WHERE fired = 0 AND fire_at <= :now "
                f"ORDER BY fire_at LIMIT {BATCH}",
                {"now": now},
            )
            for timer in due:
                flipped = tx.execute(
                    "UPDATE workflow_timers SET fired = 1 WHERE workflow_id = :id AND seq = :seq AND fired = 0",
                    {"id": timer["workflow_id"], "seq": timer["seq"]},
                )
                if not flipped:
                    continue
                row = tx.one("SELECT status, namespace, task_queue FROM workflows WHERE id = :id", {"id": timer["workflow_id"]})
                if row is None or row["status"] not in ("PENDING", "RUNNING"):
                    continue
                append_event(
                    tx, timer["workflow_id"], EventType.TIMER_FIRED,
                    {"timer_seq": timer["seq"], "fire_at": timer["fire_at"]}, now, dispatch=True,
                )
                # Hand-off: the woken workflow task goes straight to a worker parked on its
                # queue, claimed here (no wake-up round, no claim transaction of its own).
                queue = (row["namespace"], row["task_queue"])
                offer = offers.get(queue)
                if offer is not None and hand_back_workflow(
                    tx, skip_locked, now, timer["workflow_id"], offer, withdraw=False
                ):
                    del offers[queue]  # one task per parked worker
                    handed.add(queue)
                else:
                    left.add(queue)
            # Pollers are woken only for queues where a woken task is left for them.
            tx.changes.workflow_queues -= handed - left
            if len(due) == BATCH:
                tx.changes.arm(now)

        _, changes = await self.db.write(run)
        return changes

    async def expire_activities(self, now: float) -> Changes:
        # Row locks (PostgreSQL): fail_attempt's UPDATE is not guarded by status, so two
        # instances must never both pick the same timed-out attempt.
        skip_locked = self.db.dialect.skip_locked

        def run(tx: Tx) -> None:
            rows = tx.all(
                "SELECT id, workflow_id, seq, name, status, attempt, max_attempts, initial_interval_secs, "
                "backoff_coefficient, namespace, task_queue, start_to_close_secs, heartbeat_timeout_secs, "
                "started_at, last_heartbeat, cancel_requested FROM workflow_activities "
                f"WHERE status = 'RUNNING' AND deadline_at <= :now LIMIT {BATCH}{skip_locked}",
                {"now": now},
            )
            for row in rows:
                hb = row["heartbeat_timeout_secs"]
                since = row["last_heartbeat"] or row["started_at"]
                reason = (
                    f"heartbeat timeout: no heartbeat for {hb:g}s"
                    if hb and now - since >= hb
                    else f"start_to_close timeout after {row['start_to_close_secs']:g}s"
                )
                fail_attempt(tx, row, f"activity '{row['name']}' timed out ({reason})", now)

        _, changes = await self.db.write(run)
        return changes

    async def recover_expired_leases(self, now: float) -> Changes:
        def run(tx: Tx) -> None:
            rows = tx.all(
                "SELECT id FROM workflows WHERE lease_token IS NOT NULL AND lease_expires_at <= :now "
                f"LIMIT {BATCH}",
                {"now": now},
            )
            for row in rows:
                cleared = tx.execute(
                    "UPDATE workflows SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, "
                    "sticky_worker = NULL WHERE id = :id AND lease_expires_at <= :now",
                    {"id": row["id"], "now": now},
                )
                if cleared:
                    mark_dispatch(tx, row["id"])

        _, changes = await self.db.write(run)
        return changes

    async def finalize_overdue_cancels(self, now: float, grace_secs: float) -> Changes:
        """Cancel requests no worker acted on within the grace period are finalised here."""

        def run(tx: Tx) -> None:
            rows = tx.all(
                "SELECT id FROM workflows WHERE cancel_requested_at IS NOT NULL AND cancel_requested_at <= :cutoff "
                f"AND status IN ('PENDING', 'RUNNING') AND lease_token IS NULL LIMIT {BATCH}",
                {"cutoff": now - grace_secs},
            )
            for row in rows:
                try:
                    finish_run(
                        tx, row["id"], WorkflowStatus.CANCELLED, EventType.WORKFLOW_CANCELLED,
                        {"reason": "cancel request not acknowledged by a worker; finalised by the engine"}, now,
                        error="cancelled",
                    )
                except Conflict:
                    continue

        _, changes = await self.db.write(run)
        return changes

    async def housekeeping_due(self, now: float) -> HousekeepingDue:
        def run(tx: Tx) -> HousekeepingDue:
            def first(sql: str) -> float | None:
                row = tx.one(sql, {"now": now})
                return None if row is None or row["t"] is None else float(row["t"])

            return HousekeepingDue(
                next_timer_at=first("SELECT MIN(fire_at) AS t FROM workflow_timers WHERE fired = 0"),
                next_activity_deadline=first(
                    "SELECT MIN(deadline_at) AS t FROM workflow_activities WHERE status = 'RUNNING'"
                ),
                next_lease_expiry=first(
                    "SELECT MIN(lease_expires_at) AS t FROM workflows WHERE lease_token IS NOT NULL"
                ),
                next_retry_at=first(
                    "SELECT MIN(scheduled_at) AS t FROM workflow_activities WHERE status = 'PENDING' AND scheduled_at > :now"
                ),
                next_cancel_deadline=first(
                    "SELECT MIN(cancel_requested_at) AS t FROM workflows WHERE cancel_requested_at IS NOT NULL "
                    "AND status IN ('PENDING', 'RUNNING')"
                ),
            )

        return await self.db.read(run)

    async def due_retry_queues(self, since: float, now: float) -> set[tuple[str, str]]:
        """Queues whose backed-off activities became claimable in ``(since, now]``."""

        def run(tx: Tx) -> set[tuple[str, str]]:
            rows = tx.all(
                "SELECT DISTINCT namespace, task_queue FROM workflow_activities WHERE status = 'PENDING' "
                "AND scheduled_at > :since AND scheduled_at <= :now",
                {"since": since, "now": now},
            )
            return {(r["namespace"], r["task_queue"]) for r in rows}

        return await self.db.read(run)

    async def prune_workers(self, older_than: float) -> int:
        def run(tx: Tx) -> int:
            return tx.execute("DELETE FROM workflow_workers WHERE last_heartbeat < :t", {"t": older_than})

        result, _ = await self.db.write(run)
        return result

