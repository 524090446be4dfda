"""A fresh PostgreSQL database per test, on the machine's server (or ASSAY_TEST_PG_URL).

Each test gets ``assay_test_<uuid>``: created before, dropped after (``WITH (FORCE)`` ends
sessions an engine under test left behind, e.g. one killed with -9).
"""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager, contextmanager
from typing import AsyncIterator, Iterator

import psycopg

ADMIN_URL = os.environ.get("ASSAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(admin_url: str, name: str) -> str:
    """``admin_url`` with its database name replaced by ``name``."""
    base, _, query = admin_url.partition("?")
    root = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{root}/{name}" + (f"?{query}" if query else "")


def create_database(admin_url: str) -> str:
    name = f"assay_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temporary_database_sync(admin_url: str = ADMIN_URL) -> Iterator[str]:
    name = create_database(admin_url)
    try:
        yield database_url(admin_url, name)
    finally:
        drop_database(admin_url, name)


@asynccontextmanager
async def temporary_database(admin_url: str = ADMIN_URL) -> AsyncIterator[str]:
    """Yield the URL of a new empty database; drop it afterwards."""
    import asyncio

    name = await asyncio.to_thread(create_database, admin_url)
    try:
        yield database_url(admin_url, name)
    finally:
        await asyncio.to_thread(drop_database, admin_url, name)


def postgres_reachable(admin_url: str = ADMIN_URL) -> bool:
    try:
        with psycopg.connect(admin_url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False
