"""PostgreSQL backend: pooled connections, retried transactions, LISTEN/NOTIFY wake-ups.

Why synchronous psycopg connections in a thread pool (and not ``AsyncConnectionPool``): every
use case in ``sql_*.py`` is a plain function over ``Tx`` that runs several statements and
branches on their results. Keeping that one synchronous body for both backends means no
async twin of each query; each transaction runs start to finish on a worker thread, holding
one pooled connection for milliseconds, while the event loop stays free. Long polls hold no
connection (they wait on in-process futures), so a small pool serves many pollers.

Transactions run at READ COMMITTED. Claims take rows with ``FOR UPDATE SKIP LOCKED`` and
every housekeeping step is a guarded UPDATE, so several engine instances on one database
never act twice on a row. Deadlocks and serialization failures are retried here, whole.

Cross-instance wake-ups: a write that gave a queue work (or finished a workflow, appended
an event, armed a time) calls ``pg_notify`` inside its transaction, so the message is
delivered only if the transaction commits. Every instance LISTENs on one dedicated
connection and hands the keys to the engine (``listen``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Callable, Hashable, Mapping, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from sqlalchemy import create_engine, text

from assay.errors import StoreError
from assay.store import migrations
from assay.store.base import Changes
from assay.store.group_commit import WriteQueue, settle

T = TypeVar("T")
GROUP_LIMIT = 64  # writes per group: one pooled connection and thread each
log = logging.getLogger("assay.store.postgres")

CHANNEL = "assay_wake"
MAX_ATTEMPTS = 8
NOTIFY_LIMIT = 7000  # PostgreSQL rejects payloads of 8000 bytes or more
MIGRATION_LOCK = 0x61737361  # "assa": serialises migrations of instances starting together
SCHEDULER_LOCK = 0x61737363  # "assc": the scheduler leader's advisory lock
_RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


@lru_cache(maxsize=2048)
def to_pyformat(sql: str) -> str:
    """``:name`` -> ``%(name)s``, literal ``%`` -> ``%%``; ``::type`` casts untouched.

    Done once per distinct statement text (cached); the text is a constant of the code,
    never user input, so the cache stays small.
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "%":
            out.append("%%")
            i += 1
        elif ch == "'":  # copy a string literal verbatim (escaping % inside it)
            j = i + 1
            while j < n and not (sql[j] == "'" and (j + 1 >= n or sql[j + 1] != "'")):
                j += 2 if sql[j] == "'" else 1
            out.append(sql[i:j + 1].replace("%", "%%"))
            i = j + 1
        elif ch == ":" and i + 1 < n and sql[i + 1] == ":":
            out.append("::")
            i += 2
        elif ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            m = _NAME.match(sql, i + 1)
            assert m is not None
            out.append(f"%({m.group(0)})s")
            i = m.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def sqlalchemy_url(url: str) -> str:
    """``postgres://...`` -> ``postgresql+psycopg://...`` (SQLAlchemy's psycopg 3 driver)."""
    rest = url.split("://", 1)[1]
    return f"postgresql+psycopg://{rest}"


def libpq_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


class PostgresDialect:
    name = "postgres"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    row_lock = " FOR UPDATE"

    def search_attribute_clause(self, index: int, key: str, value: Any) -> tuple[str, dict[str, Any]]:
        """Containment (``@>``), which the GIN index on ``search_attributes`` serves.

        For scalars, ``{"k": v}`` containment is equality. For arrays and objects it is
        "contains", so an exact comparison of the value is added (SQLite's meaning); the
        GIN index still narrows the rows first.
        """
        p = f"sa_val_{index}"
        params: dict[str, Any] = {p: json.dumps({key: value})}
        clause = f"search_attributes @> :{p}::jsonb"
        if isinstance(value, (dict, list)):
            k, v = f"sa_key_{index}", f"sa_exact_{index}"
            clause += f" AND search_attributes -> :{k} = :{v}::jsonb"
            params.update({k: key, v: json.dumps(value)})
        return clause, params

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, pg_errors.UniqueViolation)


class _PgTx:
    __slots__ = ("cur", "changes")

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self.cur = cur
        self.changes = Changes()

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        self.cur.execute(to_pyformat(sql), params or {})
        return self.cur.rowcount

    def one(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        self.cur.execute(to_pyformat(sql), params or {})
        return self.cur.fetchone()

    def all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        self.cur.execute(to_pyformat(sql), params or {})
        return self.cur.fetchall()


def wake_keys(changes: Changes) -> list[list[Any]]:
    """The wake-up keys another instance should fire for these changes (JSON-able)."""
    keys: list[list[Any]] = [["wf", ns, q] for ns, q in changes.workflow_queues]
    keys += [["act", ns, q] for ns, q in changes.activity_queues]
    # ["events", id, first_seq, last_seq]: other instances wake event long-polls on the first
    # two and relay the range to their SSE subscribers (engine/remote_events.py).
    seqs: dict[str, list[int]] = {}
    for published in changes.events:
        seqs.setdefault(published.event.workflow_id, []).append(published.event.seq)
    keys += [["events", wid, min(s), max(s)] for wid, s in seqs.items()]
    keys += [["running", wid, ns] for wid, ns in changes.running]
    keys += [["result", wid] for wid in changes.finished]
    if changes.wake_at is not None:
        keys.append(["wake_at", changes.wake_at])
    return keys


def _payloads(origin: str, keys: list[list[Any]]) -> list[str]:
    """Split the keys into NOTIFY payloads under PostgreSQL's size limit."""
    out: list[str] = []
    batch: list[list[Any]] = []
    size = 0
    for key in keys:
        cost = len(json.dumps(key)) + 1
        if batch and size + cost > NOTIFY_LIMIT:
            out.append(json.dumps({"o": origin, "k": batch}))
            batch, size = [], 0
        batch.append(key)
        size += cost
    if batch:
        out.append(json.dumps({"o": origin, "k": batch}))
    return out


class PostgresDatabase:
    dialect = PostgresDialect()

    def __init__(self, url: str, *, pool_size: int = 12) -> None:
        self.url = libpq_url(url)
        self.origin = secrets.token_hex(8)  # tells our own NOTIFY messages apart
        self._pool = ConnectionPool(
            self.url, min_size=2, max_size=pool_size, open=False, name="assay",
            kwargs={"autocommit": False, "row_factory": dict_row},
        )
        self._threads = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="assay-pg")
        self._closed = False
        self._listener: asyncio.Task[None] | None = None
        self._writes = WriteQueue(GROUP_LIMIT, self._flush)

    @classmethod
    async def connect(
        cls, url: str, *, verify_only: bool = False, pool_size: int | None = None, **_: Any
    ) -> "PostgresDatabase":
        """Connect, then migrate the schema (or, with ``verify_only``, only check it)."""
        await asyncio.to_thread(migrate_url, url, verify_only)
        db = cls(url, pool_size=pool_size or 12)
        await asyncio.to_thread(db._pool.open, True, 30.0)
        return db

    # --- transactions ---------------------------------------------------------------------

    async def write(self, fn: Callable[[Any], T]) -> tuple[T, Changes]:
        """Group commit: writes queued during one loop iteration share one thread hop and one
        transaction (each in its own savepoint), so one WAL flush covers them all. Several
        groups run at once on separate pooled connections."""
        self._check_open()
        return await self._writes.put(fn)  # type: ignore[no-any-return]

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._writes.pending:
            loop.run_in_executor(self._threads, self._write_group_sync, self._writes.take(), loop)

    def _write_group_sync(self, batch: list[tuple[Callable[[Any], Any], Any]], loop: asyncio.AbstractEventLoop) -> None:
        outcomes: list[tuple[bool, Any]] = []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            outcomes = []
            try:
                with self._pool.connection() as conn:
                    conn.read_only = False
                    with conn.transaction(), conn.cursor() as cur:
                        keys: list[list[Any]] = []
                        for fn, _future in batch:
                            tx = _PgTx(cur)
                            try:
                                with conn.transaction():  # a savepoint: a failing use case rolls back alone
                                    result = fn(tx)
                            except _RETRYABLE:
                                raise
                            except Exception as exc:  # noqa: BLE001 - handed to the caller's coroutine
                                outcomes.append((False, exc))
                                continue
                            outcomes.append((True, (result, tx.changes)))
                            keys.extend(wake_keys(tx.changes))
                        for payload in _payloads(self.origin, keys) if keys else ():
                            cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                break
            except _RETRYABLE as exc:
                if attempt == MAX_ATTEMPTS:
                    outcomes = [(False, StoreError(f"PostgreSQL transaction kept failing: {exc}"))] * len(batch)
                    break
                # Jittered backoff: the transactions that collided should not collide again.
                time.sleep(random.uniform(0, 0.005 * 2 ** attempt))
            except Exception as exc:  # noqa: BLE001 - connection lost, commit failed: nothing held
                outcomes = [(False, StoreError(f"PostgreSQL transaction failed: {exc}"))] * len(batch)
                break
        loop.call_soon_threadsafe(settle, batch, outcomes)

    async def read(self, fn: Callable[[Any], T]) -> T:
        self._check_open()
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._read_sync, fn)

    def _read_sync(self, fn: Callable[[Any], T]) -> T:
        with self._pool.connection() as conn:
            conn.read_only = True  # BEGIN READ ONLY: a read use case can never write by mistake
            try:
                with conn.transaction(), conn.cursor() as cur:
                    return fn(_PgTx(cur))
            finally:
                conn.read_only = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed", code="store_closed")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            try:
                await self._listener
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing anyway
                pass
        while self._writes.scheduled:  # let queued groups reach the threads before they stop
            await asyncio.sleep(0)
        await asyncio.to_thread(self._threads.shutdown, True)
        await asyncio.to_thread(self._pool.close, 10.0)

    # --- cross-instance wake-ups ------------------------------------------------------------

    async def listen(self, callback: Callable[[list[tuple[Hashable, ...]]], None]) -> None:
        """Start delivering wake-up keys announced by *other* instances to ``callback``.

        Runs on its own connection (LISTEN needs a session that is not handed around a pool)
        and reconnects after a failure. Messages sent while disconnected are lost, so after
        every reconnection the callback gets ``[("resync",)]``: whatever may have been
        missed is to be looked for again (the engine wakes all its parked polls).
        """
        ready = asyncio.get_running_loop().create_future()
        self._listener = asyncio.create_task(self._listen_loop(callback, ready), name="assay-pg-listen")
        await asyncio.wait([ready, self._listener], timeout=10, return_when=asyncio.FIRST_COMPLETED)

    async def _listen_loop(
        self, callback: Callable[[list[tuple[Hashable, ...]]], None], ready: asyncio.Future[None]
    ) -> None:
        delay = 0.2
        while not self._closed:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if not ready.done():
                        ready.set_result(None)
                    else:  # a reconnection: announcements may have been missed meanwhile
                        log.info("LISTEN connection restored; waking parked polls to re-check")
                        callback([("resync",)])
                    delay = 0.2
                    async for note in conn.notifies():
                        message = json.loads(note.payload)
                        if message.get("o") != self.origin:
                            try:
                                callback([tuple(k) for k in message["k"]])
                            except Exception:  # noqa: BLE001 - a bad callback must not drop LISTEN
                                log.exception("wake-up callback failed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep listening across database restarts
                log.warning("LISTEN connection lost (%s); reconnecting in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # --- engine instances ------------------------------------------------------------------------

    async def acquire_instance(self, instance_id: str, now: float, stale_after_secs: float) -> None:
        """No lock on PostgreSQL: any number of instances share the database."""

    async def refresh_instance(self, instance_id: str, now: float) -> None:
        """Nothing to refresh (see ``acquire_instance``)."""

    async def release_instance(self, instance_id: str) -> None:
        """Nothing to release (see ``acquire_instance``)."""

    def leader_election(self, key: int = SCHEDULER_LOCK) -> "AdvisoryLeader":
        return AdvisoryLeader(self.url, key)


class AdvisoryLeader:
    """Leadership = holding a session advisory lock on a connection of our own.

    The lock lives as long as that session: if the leader process dies, PostgreSQL ends the
    session and frees the lock at once, and the next ``acquire`` elsewhere wins. A pooled
    connection would not do: the lock would follow whichever connection first won it.
    """

    def __init__(self, url: str, key: int) -> None:
        self.url = url
        self.key = key
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.is_leader = False

    async def acquire(self) -> bool:
        """Become (or stay) leader if possible; False when another instance holds the lock."""
        try:
            if self._conn is None or self._conn.closed:
                self.is_leader = False
                self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=5)
            if self.is_leader:
                # Still our session? A dropped connection means the lock is gone.
                await self._conn.execute("SELECT 1")
                return True
            cur = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
            row = await cur.fetchone()
            self.is_leader = bool(row and row[0])
        except psycopg.Error as exc:
            log.warning("leader election: %s", exc)
            await self._drop()
        return self.is_leader

    async def _drop(self) -> None:
        self.is_leader = False
        if self._conn is not None:
            try:
                await self._conn.close()
            except psycopg.Error:
                pass
        self._conn = None

    async def release(self) -> None:
        await self._drop()  # closing the session frees the lock


def migrate_url(url: str, verify_only: bool = False) -> None:
    """Apply pending migrations (or only verify them) under an advisory lock.

    Several instances starting together take turns: the first migrates, the others find
    the schema current.
    """
    engine = create_engine(sqlalchemy_url(url), pool_pre_ping=False)
    try:
        with engine.begin() as conn:
            if verify_only:
                migrations.verify(conn)
                return
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            migrations.migrate(conn)
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - one message for an unreachable/misconfigured server
        raise StoreError(f"cannot open PostgreSQL database: {exc}", code="store_unavailable") from exc
    finally:
        engine.dispose()

