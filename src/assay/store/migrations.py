"""Versioned schema migrations, applied at start; ``verify`` checks without changing.

Migrations are a numbered list of functions over a SQLAlchemy connection, on both
backends. Version 1 creates the schema from ``schema.metadata``; later versions append
functions (never edit a released one). A test builds a database by replaying every
migration and compares it with the canonical metadata.

Why not Alembic: the engine migrates itself at start on both SQLite and PostgreSQL, from
one metadata, with no ``alembic.ini`` or env script for operators to carry; this list is
the same idea (ordered, versioned, recorded in a table) in 60 lines.
"""

from __future__ import annotations

import time
from typing import Callable

from sqlalchemy import Connection, inspect, text

from assay.errors import StoreError
from assay.store import schema

Migration = Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    schema.metadata.create_all(conn, checkfirst=True)
    conn.execute(
        text("INSERT INTO namespaces (name, created_at) VALUES ('main', :now) ON CONFLICT DO NOTHING"),
        {"now": time.time()},
    )


# --- PostgreSQL only ------------------------------------------------------------------------
def _v2_postgres_search_jsonb(conn: Connection) -> None:
    """search_attributes as JSONB with a GIN index, so ``search_attrs`` filters (``@>``)
    use the index instead of parsing every row's text. A no-op on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text(
        "ALTER TABLE workflows ALTER COLUMN search_attributes TYPE JSONB USING search_attributes::jsonb"
    ))
    conn.execute(text(
        "CREATE INDEX IF NOT EXISTS ix_workflows_search_attrs ON workflows "
        "USING GIN (search_attributes jsonb_path_ops)"
    ))


def _v3_worker_task_indexes(conn: Connection) -> None:
    """Indexes behind the live ``active_tasks`` count of ``GET /workers`` (also declared in
    ``schema``, so a database built by v1 today already has them: IF NOT EXISTS)."""
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_workflows_lease_owner ON workflows (lease_owner)"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_activities_claimed_by ON workflow_activities (claimed_by)"))


MIGRATIONS: list[tuple[int, Migration]] = [
    (1, _v1_initial),
    (2, _v2_postgres_search_jsonb),
    (3, _v3_worker_task_indexes),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table(schema.schema_version.name):
        return 0
    row = conn.execute(text("SELECT MAX(version) FROM assay_schema_version")).scalar()
    return int(row or 0)


def migrate(conn: Connection) -> list[int]:
    """Apply pending migrations in order, each recorded in ``assay_schema_version``."""
    applied: list[int] = []
    version = current_version(conn)
    if version > LATEST:
        raise StoreError(
            f"database schema version {version} is newer than this assay ({LATEST}); upgrade assay",
            code="schema_too_new",
        )
    for number, migration in MIGRATIONS:
        if number <= version:
            continue
        migration(conn)
        conn.execute(
            text("INSERT INTO assay_schema_version (version, applied_at) VALUES (:v, :t)"),
            {"v": number, "t": time.time()},
        )
        applied.append(number)
    return applied


def verify(conn: Connection) -> None:
    """Raise unless the database is at the latest version with every table present."""
    version = current_version(conn)
    if version != LATEST:
        raise StoreError(f"database schema is at version {version}, expected {LATEST}", code="schema_outdated")
    missing = [t for t in schema.metadata.tables if not inspect(conn).has_table(t)]
    if missing:
        raise StoreError(f"database is missing tables: {', '.join(sorted(missing))}", code="schema_incomplete")
