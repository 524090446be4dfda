"""The store contract suite runs on every backend: SQLite (a file per test) and PostgreSQL
(a fresh database per test on ASSAY_TEST_PG_URL or 127.0.0.1:5432)."""

from __future__ import annotations

import os
import uuid
from typing import AsyncIterator

import pytest

from assay.store.sql import SqlStore, open_store

PG_ADMIN_URL = os.environ.get("ASSAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class FakeClock:
    """Time passed in, so contract tests can move it (lease expiry, timers, backoff)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, secs: float) -> None:
        self.now += secs


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _postgres_available() -> bool:
    try:
        import assay.store.postgres  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path, clock: FakeClock) -> AsyncIterator[SqlStore]:
    if request.param == "sqlite":
        s = await open_store(f"sqlite:///{tmp_path}/contract.db")
    else:
        if not _postgres_available():
            pytest.skip("PostgreSQL backend not built yet")
        from tests.pg import temporary_database  # provided with the PostgreSQL backend

        async with temporary_database(PG_ADMIN_URL) as url:
            s = await open_store(url)
            s.clock = clock
            try:
                yield s
            finally:
                await s.close()
            return
    s.clock = clock
    try:
        yield s
    finally:
        await s.close()


def unique(prefix: str = "wf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
