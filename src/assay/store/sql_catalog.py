"""Namespaces, workers, queue statistics and API keys."""

from __future__ import annotations

import re
from typing import Any

from assay.core.model import DEFAULT_NAMESPACE, Worker
from assay.errors import Conflict, InvalidInput, NotFound
from assay.store.base import Database, Tx
from assay.store.rows import dumps, worker_from_row

_NAMESPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class CatalogQueries:
    db: Database
    clock: Any

    # --- namespaces ----------------------------------------------------------------------------
    async def create_namespace(self, name: str) -> dict[str, Any]:
        if not _NAMESPACE_NAME.match(name or ""):
            raise InvalidInput(
                f"invalid namespace name {name!r}: use letters, digits, '.', '_' or '-' (max 200, not starting with a symbol)"
            )

        def run(tx: Tx) -> dict[str, Any]:
            now = self.clock()
            if not tx.execute(
                "INSERT INTO namespaces (name, created_at) VALUES (:n, :now) ON CONFLICT DO NOTHING",
                {"n": name, "now": now},
            ):
                raise Conflict(f"namespace '{name}' already exists", code="namespace_exists")
            return {"name": name, "created_at": now}

        result, _ = await self.db.write(run)
        return result

    async def list_namespaces(self) -> list[dict[str, Any]]:
        def run(tx: Tx) -> list[dict[str, Any]]:
            return [
                {"name": r["name"], "created_at": r["created_at"]}
                for r in tx.all("SELECT name, created_at FROM namespaces ORDER BY name")
            ]

        return await self.db.read(run)

    async def namespace_stats(self, name: str) -> dict[str, Any]:
        def run(tx: Tx) -> dict[str, Any]:
            if tx.one("SELECT 1 AS x FROM namespaces WHERE name = :n", {"n": name}) is None:
                raise NotFound(f"namespace not found: {name}")
            counts = {r["status"]: int(r["n"]) for r in tx.all(
                "SELECT status, COUNT(*) AS n FROM workflows WHERE namespace = :n GROUP BY status", {"n": name}
            )}
            schedules = tx.one("SELECT COUNT(*) AS n FROM workflow_schedules WHERE namespace = :n", {"n": name})
            workers = tx.one("SELECT COUNT(*) AS n FROM workflow_workers WHERE namespace = :n", {"n": name})
            return {
                "namespace": name,
                "total_workflows": sum(counts.values()),
                "pending": counts.get("PENDING", 0),
                "running": counts.get("RUNNING", 0),
                "completed": counts.get("COMPLETED", 0),
                "failed": counts.get("FAILED", 0),
                "cancelled": counts.get("CANCELLED", 0),
                "timed_out": counts.get("TIMED_OUT", 0),
                "schedules": int(schedules["n"]) if schedules else 0,
                "workers": int(workers["n"]) if workers else 0,
            }

        return await self.db.read(run)

    async def delete_namespace(self, name: str) -> None:
        def run(tx: Tx) -> None:
            if name == DEFAULT_NAMESPACE:
                raise Conflict("the 'main' namespace cannot be deleted", code="conflict")
            if tx.one("SELECT 1 AS x FROM namespaces WHERE name = :n", {"n": name}) is None:
                raise NotFound(f"namespace not found: {name}")
            in_use = tx.one(
                "SELECT (SELECT COUNT(*) FROM workflows WHERE namespace = :n) AS w, "
                "(SELECT COUNT(*) FROM workflow_schedules WHERE namespace = :n) AS s",
                {"n": name},
            )
            if in_use and (in_use["w"] or in_use["s"]):
                raise Conflict(
                    f"namespace '{name}' still holds {in_use['w']} workflow(s) and {in_use['s']} schedule(s); "
                    "delete or archive them first",
                    code="namespace_not_empty",
                )
            tx.execute("DELETE FROM workflow_workers WHERE namespace = :n", {"n": name})
            tx.execute("DELETE FROM namespaces WHERE name = :n", {"n": name})

        await self.db.write(run)

    # --- workers -------------------------------------------------------------------------------
    async def register_worker(self, worker: Worker) -> None:
        def run(tx: Tx) -> None:
            if tx.one("SELECT 1 AS x FROM namespaces WHERE name = :n", {"n": worker.namespace}) is None:
                raise NotFound(f"namespace not found: {worker.namespace}")
            tx.execute(
                "INSERT INTO workflow_workers (id, namespace, identity, task_queue, workflows, activities, "
                "max_concurrent_workflows, max_concurrent_activities, active_tasks, last_heartbeat, registered_at) "
                "VALUES (:id, :ns, :identity, :queue, :wfs, :acts, :mcw, :mca, 0, :now, :now)",
                {
                    "id": worker.id, "ns": worker.namespace, "identity": worker.identity, "queue": worker.task_queue,
                    "wfs": dumps(worker.workflows), "acts": dumps(worker.activities),
                    "mcw": worker.max_concurrent_workflows, "mca": worker.max_concurrent_activities,
                    "now": worker.registered_at,
                },
            )

        await self.db.write(run)

    async def heartbeat_worker(self, worker_id: str) -> bool:
        def run(tx: Tx) -> bool:
            return tx.execute(
                "UPDATE workflow_workers SET last_heartbeat = :now WHERE id = :id", {"now": self.clock(), "id": worker_id}
            ) > 0

        result, _ = await self.db.write(run)
        return result

    async def list_workers(self, namespace: str) -> list[Worker]:
        def run(tx: Tx) -> list[Worker]:
            # active_tasks is live: running activity attempts plus leased workflow tasks held by
            # the worker (the original stored a column nobody updated).
            rows = tx.all(
                "SELECT w.id, w.namespace, w.identity, w.task_queue, w.workflows, w.activities, "
                "w.max_concurrent_workflows, w.max_concurrent_activities, "
                "(SELECT COUNT(*) FROM workflow_activities a WHERE a.claimed_by = w.id AND a.status = 'RUNNING') "
                "+ (SELECT COUNT(*) FROM workflows f WHERE f.lease_owner = w.id AND f.lease_token IS NOT NULL) "
                "AS active_tasks, w.last_heartbeat, w.registered_at FROM workflow_workers w "
                "WHERE w.namespace = :ns ORDER BY w.registered_at, w.id",
                {"ns": namespace},
            )
            return [worker_from_row(r) for r in rows]

        return await self.db.read(run)

    async def queue_stats(self, namespace: str) -> list[dict[str, Any]]:
        def run(tx: Tx) -> list[dict[str, Any]]:
            stats: dict[str, dict[str, Any]] = {}

            def entry(queue: str) -> dict[str, Any]:
                return stats.setdefault(queue, {
                    "queue": queue, "pending_activities": 0, "running_activities": 0,
                    "pending_workflow_tasks": 0, "running_workflow_tasks": 0, "workers": 0,
                })

            for r in tx.all(
                "SELECT task_queue, status, COUNT(*) AS n FROM workflow_activities WHERE namespace = :ns "
                "AND status IN ('PENDING', 'RUNNING') GROUP BY task_queue, status", {"ns": namespace},
            ):
                entry(r["task_queue"])["pending_activities" if r["status"] == "PENDING" else "running_activities"] = int(r["n"])
            for r in tx.all(
                "SELECT task_queue, SUM(CASE WHEN lease_token IS NULL AND needs_dispatch = 1 THEN 1 ELSE 0 END) AS p, "
                "SUM(CASE WHEN lease_token IS NOT NULL THEN 1 ELSE 0 END) AS r FROM workflows WHERE namespace = :ns "
                "AND status IN ('PENDING', 'RUNNING') GROUP BY task_queue", {"ns": namespace},
            ):
                e = entry(r["task_queue"])
                e["pending_workflow_tasks"], e["running_workflow_tasks"] = int(r["p"] or 0), int(r["r"] or 0)
            for r in tx.all(
                "SELECT task_queue, COUNT(*) AS n FROM workflow_workers WHERE namespace = :ns GROUP BY task_queue",
                {"ns": namespace},
            ):
                entry(r["task_queue"])["workers"] = int(r["n"])
            return [stats[q] for q in sorted(stats)]

        return await self.db.read(run)

    # --- api keys ---------------------------------------------------------------------------------
    async def insert_api_key(self, key_hash: str, prefix: str, label: str | None, created_at: float) -> None:
        await self.db.write(lambda tx: tx.execute(
            "INSERT INTO api_keys (key_hash, prefix, label, created_at) VALUES (:h, :p, :l, :t)",
            {"h": key_hash, "p": prefix, "l": label, "t": created_at},
        ))

    async def find_api_key(self, key_hash: str) -> dict[str, Any] | None:
        def run(tx: Tx) -> dict[str, Any] | None:
            row = tx.one("SELECT key_hash, prefix, label, created_at FROM api_keys WHERE key_hash = :h", {"h": key_hash})
            return dict(key_hash=row["key_hash"], prefix=row["prefix"], label=row["label"], created_at=row["created_at"]) if row else None

        return await self.db.read(run)

    async def list_api_keys(self) -> list[dict[str, Any]]:
        def run(tx: Tx) -> list[dict[str, Any]]:
            return [
                {"prefix": r["prefix"], "label": r["label"], "created_at": r["created_at"]}
                for r in tx.all("SELECT prefix, label, created_at FROM api_keys ORDER BY created_at DESC")
            ]

        return await self.db.read(run)

    async def delete_api_keys(self, prefix: str) -> int:
        result, _ = await self.db.write(lambda tx: tx.execute("DELETE FROM api_keys WHERE prefix = :p", {"p": prefix}))
        return result

    async def count_api_keys(self) -> int:
        def run(tx: Tx) -> int:
            row = tx.one("SELECT COUNT(*) AS n FROM api_keys")
            return int(row["n"]) if row else 0

        return await self.db.read(run)
