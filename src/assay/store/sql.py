"""``SqlStore``: every query of the engine, shared by the SQLite and PostgreSQL backends."""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

from assay.store.base import Database
from assay.store.sql_catalog import CatalogQueries
from assay.store.sql_housekeeping import HousekeepingQueries
from assay.store.sql_schedules import ScheduleQueries
from assay.store.sql_tasks import TaskQueries
from assay.store.sql_workflows import WorkflowQueries


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex}"


class SqlStore(WorkflowQueries, TaskQueries, HousekeepingQueries, CatalogQueries, ScheduleQueries):
    """Implements ``assay.store.base.Store`` over a ``Database`` (one per backend)."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], float] = time.time,
        run_ids: Callable[[], str] = new_run_id,
    ) -> None:
        self.db = db
        self.clock = clock
        self.new_run_id = run_ids

    async def open(self) -> None:
        """Backends migrate when their Database is created (see ``open_store``)."""

    async def close(self) -> None:
        await self.db.close()

    @property
    def backend(self) -> str:
        return self.db.dialect.name


async def open_store(url: str, **options: Any) -> SqlStore:
    """Open the store for a backend URL: ``sqlite://...`` or ``postgres://...``."""
    from assay.errors import UnsupportedBackend

    if url.startswith(("postgres://", "postgresql://")):
        try:
            from assay.store.postgres import PostgresDatabase  # type: ignore[import-not-found]
        except ImportError:
            raise UnsupportedBackend(
                "the PostgreSQL backend is not yet supported in this build; use a sqlite:// URL"
            ) from None
        db: Database = await PostgresDatabase.connect(url, **options)
    elif url.startswith("sqlite:") or "://" not in url:
        from assay.store.sqlite import SqliteDatabase

        db = await SqliteDatabase.connect(url, **options)
    else:
        raise UnsupportedBackend(f"unsupported backend URL {url!r}: expected sqlite://PATH or postgres://...")
    store = SqlStore(db)
    await store.open()
    return store
