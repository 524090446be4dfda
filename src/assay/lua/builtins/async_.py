"""``async``: managed tasks from Lua (see ``assay.lua.scheduler`` for the model).

* ``async.spawn(fn, ...)`` -> handle; ``fn(...)`` starts when the spawner next yields.
* ``handle:await()`` (or ``handle.await()``) -> array of fn's return values; re-raises the
  task's error; a second await raises ``async handle already awaited``.
* ``handle:cancel()``; ``handle:done()`` -> boolean.
* ``async.wait_any(handles)`` -> index of the first finished handle (waits if none is).
* ``async.all(handles)`` -> array of result arrays, in order (raises the first error).
* ``async.running()`` -> number of managed tasks alive (main chunk included).
"""

from __future__ import annotations

import asyncio
from typing import Any

from assay.lua.builtins._api import BuiltinContext
from assay.lua.errors import BuiltinError, LuaScriptError
from assay.lua.scheduler import IoRequest, LuaTask

_SOURCE = r"""
local spawn_id, prepare_await, cancel_id, done_id, prepare_wait_any, running, perform = ...
local M = {}

local function wait(req)
  local ok, result = perform(req)
  if not ok then error(result, 0) end  -- the task's own message already carries file:line
  return result
end

-- Call a wrapped prepare function, re-raising its argument errors at the user's line.
local function prepare(fn, ...)
  local ok, req = pcall(fn, ...)
  if not ok then error((tostring(req):gsub("^%[assay async%]:%d+: ", "")), 3) end
  return req
end

function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("async.spawn: argument must be a function, got " .. type(fn), 2)
  end
  local id = spawn_id(fn, ...)
  local h = { _id = id }
  h.await = function() return wait(prepare(prepare_await, id)) end
  h.cancel = function() cancel_id(id) end
  h.done = function() return done_id(id) end
  return h
end

function M.wait_any(handles)
  if type(handles) ~= "table" or #handles == 0 then
    error("async.wait_any: argument must be a non-empty array of handles", 2)
  end
  local ids = {}
  for i, h in ipairs(handles) do ids[i] = h._id end
  return wait(prepare(prepare_wait_any, ids))
end

function M.all(handles)
  local out = {}
  for i, h in ipairs(handles) do out[i] = h.await() end
  return out
end

M.running = running
return M
"""


def install(ctx: BuiltinContext) -> None:
    sched = ctx.scheduler
    tasks: dict[int, LuaTask] = {}
    awaited: set[int] = set()

    def spawn(fn: Any, *args: Any) -> int:
        task = sched.spawn(fn, *args, name="async.spawn")
        tasks[task.id] = task
        return task.id

    def lookup(tid: Any, where: str) -> LuaTask:
        if not isinstance(tid, int) or tid not in tasks:
            raise BuiltinError(f"{where}: not an async handle")
        return tasks[tid]

    def prepare_await(tid: Any) -> IoRequest:
        if tid in awaited:
            raise BuiltinError("async handle already awaited")
        task = lookup(tid, "handle:await")
        awaited.add(tid)

        async def run() -> list[Any]:
            try:
                return await task.result()
            except asyncio.CancelledError:
                if task.task.cancelled():
                    raise LuaScriptError("async task was cancelled") from None
                raise
            finally:
                tasks.pop(tid, None)

        return IoRequest("handle:await", run, finish=ctx.convert.array, needs_scheduler=True)

    def cancel(tid: Any) -> None:
        lookup(tid, "handle:cancel").cancel()

    def done(tid: Any) -> bool:
        return lookup(tid, "handle:done").done()

    def prepare_wait_any(ids: Any) -> IoRequest:
        chosen = [lookup(tid, "async.wait_any") for _, tid in sorted(ids.items())]

        async def run() -> int:
            for index, task in enumerate(chosen, start=1):
                if task.done():
                    return index
            await asyncio.wait([t.task for t in chosen], return_when=asyncio.FIRST_COMPLETED)
            return next(i for i, t in enumerate(chosen, start=1) if t.done())

        return IoRequest("async.wait_any", run, needs_scheduler=True)

    def running() -> int:
        return sched.running()

    fns = ctx.lua.table()
    for name, fn in {"spawn": spawn, "cancel": cancel, "done": done, "running": running}.items():
        ctx.function(fns, name, fn)
    ctx.function(fns, "prepare_await", prepare_await)
    ctx.function(fns, "prepare_wait_any", prepare_wait_any)
    chunk, err = ctx.internals.compile(_SOURCE, "=[assay async]")
    if chunk is None:
        raise RuntimeError(err)
    module = chunk(fns["spawn"], fns["prepare_await"], fns["cancel"], fns["done"],
                   fns["prepare_wait_any"], fns["running"], ctx.internals.perform)
    ctx.set_global("async", module)
