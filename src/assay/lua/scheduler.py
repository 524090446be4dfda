"""The Lua concurrency model: an asyncio loop drives Lua coroutines ("managed tasks").

Model
-----
Every piece of Lua that should be able to wait without blocking the process runs in a
*managed task*: a Lua coroutine owned by :class:`Scheduler` and stepped by an asyncio task.
The main chunk of ``assay run`` is one; ``async.spawn(fn)`` makes more; the workflow worker
runs each activity and each workflow task in one (``Scheduler.spawn``).

I/O builtins (``sleep``, ``http.*``, ``handle:await()`` ...) are Lua wrappers (prelude.lua)
around a Python *prepare* function that validates the arguments and returns an
:class:`IoRequest`. Then:

* inside a yieldable coroutine the wrapper does ``ok, result = coroutine.yield(IO_TAG, req)``;
  the task driver sees the tag, awaits ``req.run()`` on the loop (other tasks run
  meanwhile) and resumes the coroutine with ``(true, result)`` or ``(false, message)``;
* where Lua cannot yield (main thread, inside a Python callback, a ``table.sort``
  comparator ...) ``Scheduler.blocking`` runs the same request to completion on a private
  loop (a worker thread if this thread's loop is busy). Requests that need the scheduler
  itself (``await``) refuse with a clear error there.

Nested coroutines: ``IO_TAG`` is a private table, so an I/O yield can never be confused with
a user or workflow yield. ``coroutine.resume``/``coroutine.wrap`` are replaced by versions
that pass I/O yields of the inner coroutine up to their own resumer (or perform them
blocking when they cannot yield) and resume the inner coroutine with the answer. So replay
machinery that drives workflow code with its own ``coroutine.resume`` only ever sees its own
yields (commands); I/O inside the workflow or activity code reaches the loop untouched.

A *plain* yield that reaches the top of a managed task (no Lua resumer in between) goes to
the task's ``on_yield`` handler when one was given to :meth:`Scheduler.spawn` (values in,
resume values out); without a handler it fails the task with "attempt to yield from
outside a coroutine", as in plain Lua.

Python API (used by runtime.py, builtins and the workflow worker)
-----------------------------------------------------------------
``sched.spawn(fn, *args, on_yield=None) -> LuaTask``  start ``fn`` (a Lua function) as a
    managed task on the running loop; ``await task.result()`` gives the list of its return
    values or raises :class:`LuaScriptError` (message + Lua traceback).
``await sched.run(fn, *args)``  spawn and await in one go.
``await sched.aclose()``  cancel every task still running and close shared clients (the
    main chunk's end ends the run, as in the original).
``sched.http_client()``  the shared ``httpx.AsyncClient`` of the loop (None off-loop).

Lua API (builtins/async_.py): ``async.spawn(fn, ...) -> handle``; ``handle:await()`` ->
array of fn's return values (re-raises its error); ``handle:cancel()``; ``handle:done()``;
``async.wait_any(handles) -> index`` of the first finished; ``async.all(handles)`` -> array
of result arrays. A worker runs up to N activities by keeping at most N handles alive and
calling ``async.wait_any`` when it is full.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from lupa import lua55

from assay.errors import LuaRuntimeError
from assay.lua.convert import Converter
from assay.lua.fasthttp import Client as FastClient
from assay.lua.errors import LuaScriptError, SchedulerError

log = logging.getLogger("assay.lua")

OnYield = Callable[[list[Any]], Sequence[Any] | Awaitable[Sequence[Any]]]


@dataclass
class IoRequest:
    """One suspended I/O call: created on the Lua thread, performed by the loop.

    ``run`` must not touch Lua (in blocking mode it may run on another thread); it returns a
    Python value that ``finish`` (default: the JSON converter) turns into a Lua value back
    on the Lua thread. Raise :class:`BuiltinError` for script-visible failures.
    """

    name: str
    run: Callable[[], Awaitable[Any]]
    finish: Callable[[Any], Any] | None = None
    needs_scheduler: bool = False


@dataclass
class LuaTask:
    """A managed task: one Lua coroutine driven by one asyncio task."""

    id: int
    name: str
    task: asyncio.Task[list[Any]]
    awaited: bool = field(default=False)

    async def result(self) -> list[Any]:
        return await asyncio.shield(self.task)

    def done(self) -> bool:
        return self.task.done()

    def cancel(self) -> None:
        self.task.cancel()


class Scheduler:
    """Drives the managed tasks of one Lua state on one asyncio loop (one thread)."""

    def __init__(self, internals: Any, converter: Converter) -> None:
        self._create: Callable[[Any], int] = internals.task_create
        self._step: Callable[..., tuple[str, Any]] = internals.task_step
        self._close: Callable[[int], None] = internals.task_close
        self._convert = converter
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: dict[int, LuaTask] = {}
        self._http: httpx.AsyncClient | None = None
        self._fast: FastClient | None = None

    # --- spawning ------------------------------------------------------------------

    def spawn(
        self, fn: Any, *args: Any, name: str = "task", on_yield: OnYield | None = None
    ) -> LuaTask:
        """Start Lua function ``fn(*args)`` as a managed task on the running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise SchedulerError("no asyncio loop is running: managed tasks need one") from None
        if self._loop is not loop:
            # A state may move to a new loop between runs (each `Runtime.run` makes one),
            # never while tasks of the old loop are alive.
            if self.running():
                raise SchedulerError("this Lua state has tasks running on another event loop")
            self._loop, self._http, self._fast = loop, None, None
        # fn and args go to Lua at once and are not kept here: Lua values held by Python
        # stay tied to the coroutine they came from (see task_create in prelude.lua).
        tid = self._create(fn, *args)
        lua_task = LuaTask(tid, name, loop.create_task(self._drive(tid, (), on_yield)))
        self._tasks[tid] = lua_task
        lua_task.task.add_done_callback(lambda _t: self._tasks.pop(tid, None))
        return lua_task

    async def run(self, fn: Any, *args: Any, on_yield: OnYield | None = None) -> list[Any]:
        """Run ``fn(*args)`` as a managed task and return its results."""
        return await self.spawn(fn, *args, on_yield=on_yield).result()

    def task(self, tid: int) -> LuaTask:
        try:
            return self._tasks[tid]
        except KeyError:
            raise SchedulerError(f"no running task {tid}") from None

    def running(self) -> int:
        """Number of managed tasks not finished yet."""
        return sum(not t.done() for t in self._tasks.values())

    async def aclose(self) -> None:
        """Cancel every remaining task and release shared clients."""
        pending = [t.task for t in self._tasks.values() if not t.task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._fast is not None:
            self._fast.close()
            self._fast = None

    # --- driving -------------------------------------------------------------------

    async def _drive(self, tid: int, args: Sequence[Any], on_yield: OnYield | None) -> list[Any]:
        send: Sequence[Any] = args
        try:
            while True:
                try:
                    kind, packed = self._step(tid, *send)
                except lua55.LuaError as exc:  # e.g. out of memory outside the coroutine
                    raise LuaScriptError(str(exc) or "not enough memory") from None
                if kind == "io":  # `packed` is the request itself (see task_step)
                    send = await self._perform(packed)
                    continue
                values = _unpack(packed)
                if kind == "done":
                    return values
                if kind == "error":
                    raise _script_error(values)
                if on_yield is None:
                    raise LuaScriptError("attempt to yield from outside a coroutine")
                else:
                    reply = on_yield(values)
                    send = tuple(await reply if inspect.isawaitable(reply) else reply)
        finally:
            self._close(tid)  # no-op unless the task was cancelled or failed in Python

    async def _perform(self, req: IoRequest) -> tuple[bool, Any]:
        try:
            result = await req.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Lua error
            return False, error_text(req.name, exc)
        return True, self._finish(req, result)

    def _finish(self, req: IoRequest, result: Any) -> Any:
        if req.finish is not None:
            return req.finish(result)
        return self._convert.to_lua(result)

    def blocking(self, req: IoRequest) -> tuple[bool, Any]:
        """Perform ``req`` to completion where Lua cannot yield (called from prelude.lua)."""
        if req.needs_scheduler:
            return False, (
                f"{req.name}: cannot wait here (not inside a managed coroutine, e.g. inside"
                " a callback called from Python, a metamethod or a sort comparator)"
            )
        try:
            result = _run_blocking(req.run)
        except Exception as exc:  # noqa: BLE001
            return False, error_text(req.name, exc)
        return True, self._finish(req, result)

    # --- shared resources ----------------------------------------------------------

    def _on_own_loop(self) -> bool:
        """Whether the caller runs on the loop that drives this state's tasks (shared
        clients belong to that loop; blocking calls run on a private one)."""
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def http_client(self) -> httpx.AsyncClient | None:
        """The loop's shared HTTP client, or None when called off the scheduler's loop."""
        if not self._on_own_loop():
            return None
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=True, timeout=30.0)
        return self._http

    def fast_http_client(self) -> FastClient | None:
        """The loop's keep-alive client for plain http:// (see fasthttp.py); None off-loop."""
        if not self._on_own_loop():
            return None
        if self._fast is None:
            self._fast = FastClient()
        return self._fast


def _unpack(packed: Any) -> list[Any]:
    return [packed[i] for i in range(1, int(packed["n"]) + 1)]


def _script_error(values: list[Any]) -> LuaScriptError:
    message = str(values[0])
    tb = str(values[1]) if len(values) > 1 and values[1] is not None else ""
    if tb.startswith(message):
        tb = tb[len(message) :].lstrip("\n")
    return LuaScriptError(message, _clean_traceback(tb))


def _clean_traceback(tb: str) -> str:
    """Drop the runtime's own frames (prelude wrappers, the task's xpcall) from a traceback."""
    lines = tb.splitlines()
    kept: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if "[assay prelude]" in line:
            continue
        if line.strip().startswith("[C]:") and "[assay prelude]" in nxt:
            continue  # the C function (error/xpcall) a prelude wrapper called
        kept.append(line)
    if kept and kept[-1].strip() == "[C]: in global 'xpcall'":
        kept.pop()
    return "\n".join(kept)


def error_text(name: str, exc: BaseException) -> str:
    """The Lua-visible message for a failed builtin."""
    if isinstance(exc, LuaRuntimeError):
        return exc.message
    return f"{name}: {type(exc).__name__}: {exc}"


def _run_blocking(factory: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # This thread's loop is busy running us; a nested loop is not allowed here, so the
    # request gets its own loop on a worker thread while we block.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()
