"""SQLite only: the WAL is checkpointed in the background, never inside a COMMIT on the loop."""

from __future__ import annotations

import asyncio
import os
import sqlite3

from assay.store import sqlite as sqlite_db
from assay.store.sql import open_store
from tests.contract.conftest import unique
from tests.contract.test_store_workflows import req


async def test_background_checkpoint_copies_the_wal_and_close_leaves_no_wal(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_db, "CHECKPOINT_EVERY", 20)
    path = tmp_path / "ckpt.db"
    store = await open_store(f"sqlite:///{path}")
    db = store.db
    # The writer never checkpoints inside its own COMMIT.
    assert db._writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    size_before = path.stat().st_size
    # Keep writing (one group per awaited write) until two checkpoints have completed: a
    # checkpoint still running when its successor is due only delays it to a later group.
    ids: list[str] = []
    while db.checkpoints < 2 and len(ids) < 2000:
        ids.append(unique())
        await store.start_workflow(req(ids[-1], input={"pad": "x" * 2000}))
        await asyncio.sleep(0)
    assert db.checkpoints >= 2
    assert path.stat().st_size > size_before  # pages reached the database file
    await store.close()
    wal = f"{path}-wal"
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0  # truncated (or removed by SQLite)
    # Everything committed is there, read by a plain connection after the engine closed.
    with sqlite3.connect(path) as conn:
        count = conn.execute("SELECT COUNT(*) FROM workflows").fetchone()[0]
    assert count == len(ids)
