"""SQLite backend: group commit on the event loop, single-instance lock.

Why on the event loop: SQLite transactions here are small indexed statements (tens of
microseconds), while handing each one to a thread costs far more: a GIL hand-over that can
wait up to the interpreter's switch interval while the loop is busy. So write transactions
queued during one loop iteration are run together at the end of it in one SQLite
transaction, each use case in its own SAVEPOINT (a failing use case rolls back alone), and
every caller is answered only after the COMMIT that holds its change (group commit).

Durability: WAL with ``synchronous=NORMAL`` by default, which survives a killed engine
(kill -9) without losing a committed transaction. ``ASSAY_SQLITE_SYNCHRONOUS=FULL`` also
survives power loss; then each group's COMMIT (an fsync) runs in a worker thread so the loop
is not blocked while the disk syncs.

Checkpoints run off the loop: SQLite's automatic checkpoint would copy the WAL into the
database file (and fsync it) inside whichever COMMIT crossed the 1000-page mark, stalling
every request on the loop for milliseconds and costing ~15% of the store's time per write.
The writer turns it off; every ``CHECKPOINT_EVERY`` groups a PASSIVE checkpoint runs in a
thread on a connection of its own (it never blocks writers or readers; SQLite releases the
GIL while it does I/O), and ``close`` truncates the WAL. Committed data is in the WAL either
way: checkpoints change where it lives, not whether it survives a crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from typing import Any, Callable, Mapping, TypeVar

from sqlalchemy import create_engine

from assay.errors import EngineLocked, InvalidInput, StoreError
from assay.store import migrations
from assay.store.base import Changes
from assay.store.group_commit import WriteQueue, settle

log = logging.getLogger("assay.store")
T = TypeVar("T")
GROUP_LIMIT = 128
CHECKPOINT_EVERY = 256  # write groups between background checkpoints


def sqlite_path(url: str) -> str:
    """``sqlite://a.db?mode=rwc`` -> ``a.db``; ``sqlite:///var/x.db`` -> ``/var/x.db``."""
    rest = url[len("sqlite:"):] if url.startswith("sqlite:") else url
    if rest.startswith("//"):
        rest = rest[2:]
    path = rest.split("?", 1)[0]
    if not path:
        raise StoreError(f"no database path in {url!r}", code="bad_backend_url")
    return path


class SqliteDialect:
    name = "sqlite"
    skip_locked = ""
    row_lock = ""

    def search_attribute_clause(self, index: int, key: str, value: Any) -> tuple[str, dict[str, Any]]:
        path = "$." + json.dumps(key)  # quoted: keys with dots or spaces stay one key
        p, v = f"sa_path_{index}", f"sa_val_{index}"
        if value is None:
            return f"json_type(search_attributes, :{p}) = 'null'", {p: path}
        if isinstance(value, bool):
            return f"(json_type(search_attributes, :{p}) = '{'true' if value else 'false'}')", {p: path}
        if isinstance(value, (dict, list)):
            return f"json_extract(search_attributes, :{p}) = json(:{v})", {p: path, v: json.dumps(value)}
        return f"json_extract(search_attributes, :{p}) = :{v}", {p: path, v: value}

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


class _SqliteTx:
    __slots__ = ("conn", "changes")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.changes = Changes()

    def _run(self, sql: str, params: Mapping[str, Any] | None) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params or {})
        except OverflowError:
            # A client-supplied integer (an id in the path, a seq) beyond SQLite's 64-bit range:
            # bad input, not an engine failure (it was a 500).
            raise InvalidInput("an integer value is out of range (must fit in 64 bits)", code="validation_error") from None

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        return self._run(sql, params).rowcount

    def one(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        rows = self._run(sql, params).fetchall()
        return rows[0] if rows else None

    def all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        return self._run(sql, params).fetchall()


def _connect(path: str, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteDatabase:
    dialect = SqliteDialect()

    def __init__(self, path: str, synchronous: str) -> None:
        self.path = path
        self._synchronous = synchronous
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._writes = WriteQueue(GROUP_LIMIT, self._flush)
        self._flushing = asyncio.Lock()
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_task: asyncio.Future[None] | None = None
        self._groups_since_checkpoint = 0
        self.checkpoints = 0  # completed background checkpoints (observability, tests)
        # FULL durability: COMMIT is an fsync, done off the loop (one thread, one connection).
        self._sync_commit = synchronous in ("FULL", "EXTRA")
        self._closed = False

    @classmethod
    async def connect(cls, url: str, *, synchronous: str | None = None, **_: Any) -> "SqliteDatabase":
        path = sqlite_path(url)
        sync = (synchronous or os.environ.get("ASSAY_SQLITE_SYNCHRONOUS", "NORMAL")).upper()
        if sync not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise StoreError(f"ASSAY_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, not {sync!r}")
        db = cls(path, sync)
        await asyncio.to_thread(db._migrate)
        db._writer = _connect(path, sync)
        db._writer.execute("PRAGMA wal_autocheckpoint=0")  # see the module docstring
        db._reader = _connect(path, sync)
        db._checkpointer = _connect(path, sync)
        return db

    def _migrate(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        conn = _connect(self.path, self._synchronous)  # sets WAL before SQLAlchemy touches the file
        conn.close()
        engine = create_engine(f"sqlite:///{self.path}")
        try:
            with engine.begin() as sa_conn:
                migrations.migrate(sa_conn)
        finally:
            engine.dispose()

    # --- transactions ------------------------------------------------------------------------

    async def write(self, fn: Callable[[Any], T]) -> tuple[T, Changes]:
        if self._closed:
            raise StoreError("store is closed", code="store_closed")
        return await self._writes.put(fn)  # type: ignore[no-any-return]

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sync_commit:
            loop.create_task(self._flush_off_loop())
        else:
            self._flush_now()

    def _flush_now(self) -> None:
        """NORMAL durability: run the group right here on the loop (tens of microseconds)."""
        while self._writes.pending:
            batch = self._writes.take()
            settle(batch, self._run_group(batch))
            self._group_done()

    async def _flush_off_loop(self) -> None:
        """FULL durability: the COMMIT is an fsync; run groups in a thread, one at a time."""
        async with self._flushing:
            while self._writes.pending:
                batch = self._writes.take()
                settle(batch, await asyncio.to_thread(self._run_group, batch))
                self._group_done()

    # --- checkpoints ---------------------------------------------------------------------------

    def _group_done(self) -> None:
        self._groups_since_checkpoint += 1
        if self._groups_since_checkpoint >= CHECKPOINT_EVERY and self._checkpoint_task is None and not self._closed:
            self._groups_since_checkpoint = 0
            self._checkpoint_task = asyncio.ensure_future(self._checkpoint_in_background())

    async def _checkpoint_in_background(self) -> None:
        try:
            await asyncio.to_thread(self._checkpoint, "PASSIVE")
            self.checkpoints += 1
        except sqlite3.Error as exc:  # the next round tries again; the WAL keeps the data
            log.warning("SQLite background checkpoint failed: %s", exc)
        finally:
            self._checkpoint_task = None

    def _checkpoint(self, mode: str) -> None:
        conn = self._checkpointer
        if conn is not None:
            conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()

    def _run_group(self, batch: list[tuple[Callable[[Any], Any], Any]]) -> list[tuple[bool, Any]]:
        conn = self._writer
        assert conn is not None
        outcomes: list[tuple[bool, Any]] = []
        if len(batch) == 1:
            return [self._run_alone(conn, batch[0][0])]
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _future in batch:
                tx = _SqliteTx(conn)
                conn.execute("SAVEPOINT uc")
                try:
                    result = fn(tx)
                    conn.execute("RELEASE uc")
                    outcomes.append((True, (result, tx.changes)))
                except Exception as exc:  # noqa: BLE001 - handed to the caller's coroutine
                    conn.execute("ROLLBACK TO uc")
                    conn.execute("RELEASE uc")
                    outcomes.append((False, exc))
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - commit failed: nothing of the group holds
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return [(False, StoreError(f"SQLite commit failed: {exc}"))] * len(batch)
        return outcomes

    @staticmethod
    def _run_alone(conn: sqlite3.Connection, fn: Callable[[Any], Any]) -> tuple[bool, Any]:
        """A group of one (the common case on a quiet engine): its own transaction, no
        SAVEPOINT pair, a failure rolls the transaction back."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            tx = _SqliteTx(conn)
            try:
                result = fn(tx)
            except Exception as exc:  # noqa: BLE001 - handed to the caller's coroutine
                conn.execute("ROLLBACK")
                return False, exc
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - commit failed: nothing of it holds
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return False, StoreError(f"SQLite commit failed: {exc}")
        return True, (result, tx.changes)

    async def read(self, fn: Callable[[Any], T]) -> T:
        if self._closed:
            raise StoreError("store is closed", code="store_closed")
        conn = self._reader
        assert conn is not None
        conn.execute("BEGIN")
        try:
            return fn(_SqliteTx(conn))
        finally:
            conn.execute("COMMIT")

    async def close(self) -> None:
        if self._closed:
            return
        if self._writes.pending:
            if self._sync_commit:
                await self._flush_off_loop()
            else:
                self._flush_now()
        async with self._flushing:
            self._closed = True
            if self._checkpoint_task is not None:
                await self._checkpoint_task
            try:
                self._checkpoint("TRUNCATE")  # leave a small WAL behind
            except sqlite3.Error as exc:
                log.warning("SQLite checkpoint at close failed: %s", exc)
            for conn in (self._writer, self._reader, self._checkpointer):
                if conn is not None:
                    conn.close()

    # --- single-instance lock ------------------------------------------------------------------

    async def acquire_instance(self, instance_id: str, now: float, stale_after_secs: float) -> None:
        """Take the engine lock row, or take over one whose holder stopped heartbeating."""

        def run(tx: Any) -> None:
            row = tx.one("SELECT instance_id, last_heartbeat FROM engine_lock WHERE id = 1")
            if row is not None and now - row["last_heartbeat"] < stale_after_secs:
                raise EngineLocked(
                    f"another assay engine ({row['instance_id']}) is using {self.path} "
                    f"(heartbeat {now - row['last_heartbeat']:.0f}s ago). SQLite serves one engine; "
                    "stop it, or use PostgreSQL (--backend postgres://...) for several instances"
                )
            tx.execute("DELETE FROM engine_lock WHERE id = 1")
            tx.execute(
                "INSERT INTO engine_lock (id, instance_id, started_at, last_heartbeat) VALUES (1, :i, :now, :now)",
                {"i": instance_id, "now": now},
            )

        await self.write(run)

    async def refresh_instance(self, instance_id: str, now: float) -> None:
        await self.write(lambda tx: tx.execute(
            "UPDATE engine_lock SET last_heartbeat = :now WHERE id = 1 AND instance_id = :i", {"now": now, "i": instance_id}
        ))

    async def release_instance(self, instance_id: str) -> None:
        await self.write(lambda tx: tx.execute("DELETE FROM engine_lock WHERE id = 1 AND instance_id = :i", {"i": instance_id}))

