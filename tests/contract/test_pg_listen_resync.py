"""PostgreSQL wake-ups: a LISTEN connection that drops and comes back asks for a resync,
since announcements made while it was down were lost."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from assay.store.sql import open_store
from tests.contract.conftest import PG_ADMIN_URL
from tests.contract.test_store_workflows import req
from tests.pg import postgres_reachable, temporary_database

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_reachable(PG_ADMIN_URL), reason="PostgreSQL not reachable"),
]


async def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_reconnected_listener_delivers_a_resync() -> None:
    async with temporary_database(PG_ADMIN_URL) as url:
        listening, announcing = await open_store(url), await open_store(url)
        received: list[tuple] = []
        try:
            await listening.db.listen(received.extend)
            await announcing.start_workflow(req("before"))  # delivered while connected
            await _wait_for(lambda: ("wf", "main", "q") in received)
            assert ("resync",) not in received
            # Drop the LISTEN session from the server side, as a restart or network cut would.
            with psycopg.connect(url, autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
                ).fetchall()
            assert killed, "no LISTEN session found"
            await _wait_for(lambda: ("resync",) in received)
        finally:
            await listening.close()
            await announcing.close()

