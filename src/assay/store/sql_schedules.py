"""Cron schedules: CRUD, and firing due schedules exactly once.

Exactly once per due time, whether one engine or three: a fire starts with a guarded
``UPDATE ... WHERE namespace, name, next_run_at = <the due time we read>``. The instance
whose UPDATE matched owns that fire (the row lock makes any other wait, then match nothing);
the run it starts, the overlap action and the new ``next_run_at`` commit together, in one
transaction per fire.

Cron arithmetic, overlap and catch-up decisions are pure (``assay.core.cron``,
``assay.core.schedule_policy``); this module only reads and writes rows.
"""

from __future__ import annotations

import re
import uuid
from functools import partial
from typing import Any, Mapping

from assay.core.cron import next_fire_after, parse_cron, validate_timezone
from assay.core.model import DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE
from assay.core.schedule_policy import (
    DEFAULT_CATCH_UP_WINDOW_SECS,
    OverlapDecision,
    decide_overlap,
    next_run_on_resume,
    parse_overlap_policy,
    plan_catch_up,
    should_start_buffered,
)
from assay.errors import Conflict, InvalidInput, NotFound
from assay.store.base import Changes, Database, StartRequest, Tx
from assay.store.lifecycle import cancel_tree, ensure_namespace, insert_run, terminate_tree
from assay.store.rows import ACTIVE, dumps, loads

SCHEDULE_COLUMNS = (
    "namespace, name, workflow_type, cron_expr, timezone, input, task_queue, overlap_policy, paused, "
    "last_run_at, next_run_at, last_workflow_id, buffered, created_at, updated_at"
)
SCHEDULE_ATTRIBUTE = "assay_schedule"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_PATCHABLE = ("cron_expr", "timezone", "input", "task_queue", "overlap_policy")


def schedule_from_row(row: Any) -> dict[str, Any]:
    """The REST record: JSON ``input`` as JSON, flags as booleans."""
    return {
        "name": row["name"], "namespace": row["namespace"], "workflow_type": row["workflow_type"],
        "cron_expr": row["cron_expr"], "timezone": row["timezone"], "input": loads(row["input"]),
        "task_queue": row["task_queue"], "overlap_policy": row["overlap_policy"], "paused": bool(row["paused"]),
        "last_run_at": row["last_run_at"], "next_run_at": row["next_run_at"],
        "last_workflow_id": row["last_workflow_id"], "buffered": bool(row["buffered"]),
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    }


def _next_fire(cron_expr: str, timezone: str) -> Any:
    return partial(next_fire_after, cron_expr, timezone)


def validate_schedule_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise the user-settable fields present in ``fields``.

    A 5-field cron, an unknown zone or overlap policy is an ``InvalidInput`` (422) here,
    at create/patch time, never a warning logged by the scheduler forever after.
    """
    out = dict(fields)
    if "cron_expr" in out:
        if not isinstance(out["cron_expr"], str) or not out["cron_expr"].strip():
            raise InvalidInput("cron_expr must be a non-empty string", code="invalid_cron")
        out["cron_expr"] = out["cron_expr"].strip()
        parse_cron(out["cron_expr"])
    if "timezone" in out:
        zone = (out["timezone"] or "UTC").strip()
        validate_timezone(zone)
        out["timezone"] = "UTC" if zone.upper() == "UTC" else zone
    if "overlap_policy" in out:
        out["overlap_policy"] = parse_overlap_policy(out["overlap_policy"]).value
    for key in ("workflow_type", "task_queue"):
        if key in out and (not isinstance(out[key], str) or not out[key].strip()):
            raise InvalidInput(f"{key} must be a non-empty string", code="validation_error")
    return out


def scheduled_run_id(namespace: str, name: str, fire_epoch: float) -> str:
    """``<name>-<fire epoch>``; outside ``main`` prefixed ``<namespace>:`` (``:`` appears in
    neither name, so ids of two namespaces never collide)."""
    base = f"{name}-{int(fire_epoch)}"
    return base if namespace == DEFAULT_NAMESPACE else f"{namespace}:{base}"


class ScheduleQueries:
    db: Database
    clock: Any

    # --- CRUD ----------------------------------------------------------------------------------

    async def create_schedule(self, spec: Mapping[str, Any]) -> tuple[dict[str, Any], Changes]:
        fields = validate_schedule_fields({
            "timezone": "UTC", "task_queue": DEFAULT_TASK_QUEUE, "overlap_policy": None,
            **{k: v for k, v in spec.items() if v is not None or k == "input"},
        })
        name = fields.get("name") or ""
        if not _NAME.match(name):
            raise InvalidInput(
                f"invalid schedule name {name!r}: use letters, digits, '.', '_' or '-' (max 200)",
                code="validation_error",
            )
        for key in ("workflow_type", "cron_expr"):
            if not fields.get(key):
                raise InvalidInput(f"{key} is required", code="validation_error")
        namespace = fields.get("namespace") or DEFAULT_NAMESPACE

        def run(tx: Tx) -> dict[str, Any]:
            ensure_namespace(tx, namespace)
            now = self.clock()
            next_run = _next_fire(fields["cron_expr"], fields["timezone"])(now)
            inserted = tx.execute(
                "INSERT INTO workflow_schedules (namespace, name, workflow_type, cron_expr, timezone, input, "
                "task_queue, overlap_policy, paused, next_run_at, buffered, created_at, updated_at) "
                "VALUES (:ns, :name, :type, :cron, :tz, :input, :queue, :policy, 0, :next, 0, :now, :now) "
                "ON CONFLICT DO NOTHING",
                {
                    "ns": namespace, "name": name, "type": fields["workflow_type"], "cron": fields["cron_expr"],
                    "tz": fields["timezone"], "input": dumps(fields.get("input")), "queue": fields["task_queue"],
                    "policy": fields["overlap_policy"], "next": next_run, "now": now,
                },
            )
            if not inserted:
                raise Conflict(f"schedule '{name}' already exists in namespace '{namespace}'", code="schedule_exists")
            if next_run is not None:
                tx.changes.arm(next_run)
            return _load(tx, namespace, name)

        return await self.db.write(run)

    async def list_schedules(self, namespace: str) -> list[dict[str, Any]]:
        def run(tx: Tx) -> list[dict[str, Any]]:
            rows = tx.all(
                f"SELECT {SCHEDULE_COLUMNS} FROM workflow_schedules WHERE namespace = :ns ORDER BY name",
                {"ns": namespace},
            )
            return [schedule_from_row(r) for r in rows]

        return await self.db.read(run)

    async def get_schedule(self, namespace: str, name: str) -> dict[str, Any]:
        return await self.db.read(lambda tx: _load(tx, namespace, name))

    async def patch_schedule(
        self, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> tuple[dict[str, Any], Changes]:
        """Change the given fields. A new cron or zone recomputes ``next_run_at`` from now."""
        unknown = sorted(set(patch) - set(_PATCHABLE))
        if unknown:
            raise InvalidInput(f"cannot patch {', '.join(unknown)}; patchable: {', '.join(_PATCHABLE)}",
                               code="validation_error")
        fields = validate_schedule_fields({k: v for k, v in patch.items() if v is not None or k == "input"})

        def run(tx: Tx) -> dict[str, Any]:
            current = _load(tx, namespace, name)
            if not fields:
                return current
            now = self.clock()
            merged = {**current, **fields}
            next_run = current["next_run_at"]
            if "cron_expr" in fields or "timezone" in fields:
                next_run = next_run_on_resume(now, _next_fire(merged["cron_expr"], merged["timezone"]))
            tx.execute(
                "UPDATE workflow_schedules SET cron_expr = :cron, timezone = :tz, input = :input, task_queue = :queue, "
                "overlap_policy = :policy, next_run_at = :next, updated_at = :now WHERE namespace = :ns AND name = :name",
                {
                    "cron": merged["cron_expr"], "tz": merged["timezone"], "input": dumps(merged["input"]),
                    "queue": merged["task_queue"], "policy": merged["overlap_policy"], "next": next_run,
                    "now": now, "ns": namespace, "name": name,
                },
            )
            if next_run is not None:
                tx.changes.arm(next_run)
            return _load(tx, namespace, name)

        return await self.db.write(run)

    async def pause_schedule(self, namespace: str, name: str) -> dict[str, Any]:
        def run(tx: Tx) -> dict[str, Any]:
            _load(tx, namespace, name)
            tx.execute(
                "UPDATE workflow_schedules SET paused = 1, updated_at = :now WHERE namespace = :ns AND name = :name",
                {"now": self.clock(), "ns": namespace, "name": name},
            )
            return _load(tx, namespace, name)

        result, _ = await self.db.write(run)
        return result

    async def resume_schedule(self, namespace: str, name: str) -> tuple[dict[str, Any], Changes]:
        """Unpause; ``next_run_at`` restarts from now: fires missed while paused never run."""

        def run(tx: Tx) -> dict[str, Any]:
            current = _load(tx, namespace, name)
            now = self.clock()
            next_run = current["next_run_at"]
            if current["paused"]:
                next_run = next_run_on_resume(now, _next_fire(current["cron_expr"], current["timezone"]))
            tx.execute(
                "UPDATE workflow_schedules SET paused = 0, next_run_at = :next, updated_at = :now "
                "WHERE namespace = :ns AND name = :name",
                {"next": next_run, "now": now, "ns": namespace, "name": name},
            )
            if next_run is not None:
                tx.changes.arm(next_run)
            return _load(tx, namespace, name)

        return await self.db.write(run)

    async def delete_schedule(self, namespace: str, name: str) -> None:
        def run(tx: Tx) -> None:
            if not tx.execute("DELETE FROM workflow_schedules WHERE namespace = :ns AND name = :name",
                              {"ns": namespace, "name": name}):
                raise NotFound(f"schedule not found: {name} (namespace {namespace})")

        await self.db.write(run)

    # --- firing --------------------------------------------------------------------------------

    async def due_schedules(self, now: float, limit: int = 200) -> list[tuple[str, str, float]]:
        """``(namespace, name, next_run_at)`` of unpaused schedules due at ``now``."""

        def run(tx: Tx) -> list[tuple[str, str, float]]:
            rows = tx.all(
                "SELECT namespace, name, next_run_at FROM workflow_schedules WHERE paused = 0 "
                "AND next_run_at <= :now ORDER BY next_run_at LIMIT :limit",
                {"now": now, "limit": limit},
            )
            return [(r["namespace"], r["name"], r["next_run_at"]) for r in rows]

        return await self.db.read(run)

    async def next_schedule_due(self) -> tuple[float | None, bool]:
        """Earliest ``next_run_at`` of an unpaused schedule, and whether a start is buffered."""

        def run(tx: Tx) -> tuple[float | None, bool]:
            row = tx.one("SELECT MIN(next_run_at) AS t FROM workflow_schedules WHERE paused = 0")
            buffered = tx.one("SELECT COUNT(*) AS n FROM workflow_schedules WHERE paused = 0 AND buffered = 1")
            t = None if row is None or row["t"] is None else float(row["t"])
            return t, bool(buffered and buffered["n"])

        return await self.db.read(run)

    async def fire_schedule(
        self, namespace: str, name: str, due_at: float, now: float, *,
        window_secs: float = DEFAULT_CATCH_UP_WINDOW_SECS, search_attributes: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any] | None, Changes]:
        """Fire the due time ``due_at`` of one schedule, once. None: another instance did, or
        the schedule changed since it was read (paused, patched, deleted)."""

        def run(tx: Tx) -> dict[str, Any] | None:
            row = tx.one(
                f"SELECT {SCHEDULE_COLUMNS} FROM workflow_schedules WHERE namespace = :ns AND name = :name",
                {"ns": namespace, "name": name},
            )
            if row is None or row["paused"] or row["next_run_at"] != due_at:
                return None
            plan = plan_catch_up(due_at, now, _next_fire(row["cron_expr"], row["timezone"]), window_secs)
            claimed = tx.execute(
                "UPDATE workflow_schedules SET next_run_at = :next, updated_at = :now "
                "WHERE namespace = :ns AND name = :name AND paused = 0 AND next_run_at = :due",
                {"next": plan.next_run_at, "now": now, "ns": namespace, "name": name, "due": due_at},
            )
            if not claimed:
                return None  # the guard: someone else owns this due time
            if plan.next_run_at is not None:
                tx.changes.arm(plan.next_run_at)
            outcome: dict[str, Any] = {"schedule": name, "namespace": namespace, "due_at": due_at,
                                       "fire_at": plan.fire_at, "collapsed": plan.collapsed, "expired": plan.expired}
            if plan.fire_at is None:
                outcome["action"] = "expired"
                return outcome
            previous = _active(tx, row["last_workflow_id"])
            decision = decide_overlap(row["overlap_policy"], previous, bool(row["buffered"]))
            outcome["action"] = decision.value
            if decision is OverlapDecision.SKIP:
                return outcome
            if decision is OverlapDecision.BUFFER:
                _set_buffered(tx, namespace, name, 1)
                return outcome
            if decision is OverlapDecision.TERMINATE_PREVIOUS_THEN_START:
                terminate_tree(tx, row["last_workflow_id"], f"schedule '{name}': terminate_other", now)
            elif decision is OverlapDecision.CANCEL_PREVIOUS_THEN_START:
                cancel_tree(tx, row["last_workflow_id"], f"schedule '{name}': cancel_other", now)
                if _active(tx, row["last_workflow_id"]):
                    # Temporal's meaning: the new run starts once the cancelled one has closed.
                    _set_buffered(tx, namespace, name, 1)
                    outcome["action"] = "cancel_requested"
                    return outcome
            outcome["workflow_id"] = _start(tx, row, plan.fire_at, now, search_attributes, self.new_run_id())  # type: ignore[attr-defined]
            return outcome

        return await self.db.write(run)

    async def start_buffered_schedules(
        self, now: float, *, search_attributes: Mapping[str, Any] | None = None
    ) -> tuple[list[str], Changes]:
        """Start the buffered fire of each schedule whose previous run has closed."""

        def run(tx: Tx) -> list[str]:
            rows = tx.all(
                f"SELECT {SCHEDULE_COLUMNS} FROM workflow_schedules WHERE paused = 0 AND buffered = 1 "
                "ORDER BY namespace, name LIMIT 200"
            )
            started: list[str] = []
            for row in rows:
                if not should_start_buffered(_active(tx, row["last_workflow_id"]), True):
                    continue
                if not tx.execute(
                    "UPDATE workflow_schedules SET buffered = 0 WHERE namespace = :ns AND name = :name AND buffered = 1",
                    {"ns": row["namespace"], "name": row["name"]},
                ):
                    continue  # another instance started it
                started.append(_start(tx, row, now, now, search_attributes, self.new_run_id()))  # type: ignore[attr-defined]
            return started

        return await self.db.write(run)


def _load(tx: Tx, namespace: str, name: str) -> dict[str, Any]:
    row = tx.one(
        f"SELECT {SCHEDULE_COLUMNS} FROM workflow_schedules WHERE namespace = :ns AND name = :name",
        {"ns": namespace, "name": name},
    )
    if row is None:
        raise NotFound(f"schedule not found: {name} (namespace {namespace})")
    return schedule_from_row(row)


def _active(tx: Tx, workflow_id: str | None) -> bool:
    if not workflow_id:
        return False
    row = tx.one(f"SELECT 1 AS x FROM workflows WHERE id = :id AND status IN {ACTIVE}", {"id": workflow_id})
    return row is not None


def _set_buffered(tx: Tx, namespace: str, name: str, value: int) -> None:
    tx.execute("UPDATE workflow_schedules SET buffered = :v WHERE namespace = :ns AND name = :name",
               {"v": value, "ns": namespace, "name": name})


def _start(
    tx: Tx, row: Any, fire_at: float, now: float, attrs: Mapping[str, Any] | None, run_id: str
) -> str:
    """Start the schedule's run for ``fire_at`` and record it as the schedule's last run."""
    base = scheduled_run_id(row["namespace"], row["name"], fire_at)
    workflow_id = base
    # A buffered start can land on the same second as a regular fire: keep ids unique.
    while tx.one("SELECT 1 AS x FROM workflows WHERE id = :id", {"id": workflow_id}) is not None:
        workflow_id = f"{base}-{uuid.uuid4().hex[:6]}"
    insert_run(tx, StartRequest(
        workflow_type=row["workflow_type"], workflow_id=workflow_id, run_id=run_id, namespace=row["namespace"],
        task_queue=row["task_queue"], input=loads(row["input"]),
        search_attributes={**(attrs or {}), SCHEDULE_ATTRIBUTE: row["name"]},
    ), now)
    tx.execute(
        "UPDATE workflow_schedules SET last_run_at = :now, last_workflow_id = :wid, updated_at = :now "
        "WHERE namespace = :ns AND name = :name",
        {"now": now, "wid": workflow_id, "ns": row["namespace"], "name": row["name"]},
    )
    return workflow_id


__all__ = ["ScheduleQueries", "schedule_from_row", "scheduled_run_id", "validate_schedule_fields"]
