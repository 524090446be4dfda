"""The concurrency model: managed tasks, the I/O yield protocol, nested coroutines."""

from __future__ import annotations

import asyncio
import time

import pytest

from assay.lua.errors import LuaScriptError
from assay.lua.runtime import Runtime


def test_twenty_sleeping_tasks_overlap(lua) -> None:
    started = time.monotonic()
    total = lua(
        "local hs = {} for i = 1, 20 do hs[i] = async.spawn(function() sleep(1) return i end) end"
        " local sum = 0 for _, h in ipairs(hs) do sum = sum + h:await()[1] end return sum"
    )
    elapsed = time.monotonic() - started
    assert total == 210
    assert elapsed < 1.6, f"20 x sleep(1) took {elapsed:.2f}s"


def test_await_returns_all_results_and_reraises_errors(lua) -> None:
    assert lua("local h = async.spawn(function(a, b) return a + b, nil, 'z' end, 1, 2)"
               " local r = h.await() return r[1] .. tostring(r[2]) .. r[3]") == "3nilz"
    with pytest.raises(LuaScriptError, match=r"^test\.lua:1: inside task"):
        lua("local h = async.spawn(function() error('inside task') end) h:await()")
    with pytest.raises(LuaScriptError, match="async handle already awaited"):
        lua("local h = async.spawn(function() end) h:await() h:await()")


def test_wait_any_all_cancel_done(lua) -> None:
    assert lua(
        "local slow = async.spawn(function() sleep(5) end)"
        " local fast = async.spawn(function() sleep(0.01) return 'f' end)"
        " local i = async.wait_any({slow, fast})"
        " slow:cancel() sleep(0)"
        " return i == 2 and fast:done() and slow:done() and fast:await()[1] == 'f'"
    )
    assert lua("local r = async.all({async.spawn(function() return 1 end),"
               " async.spawn(function() return 2 end)}) return r[1][1] + r[2][1]") == 3
    with pytest.raises(LuaScriptError, match="cancelled"):
        lua("local h = async.spawn(function() sleep(5) end) sleep(0) h:cancel() h:await()")


def test_spawned_tasks_start_when_the_spawner_yields(lua) -> None:
    assert lua("local log = {} async.spawn(function() log[#log + 1] = 'task' end)"
               " log[#log + 1] = 'main' sleep(0) return table.concat(log, ',')") == "main,task"


def test_main_end_cancels_pending_tasks(rt: Runtime) -> None:
    started = time.monotonic()
    rt.run("async.spawn(function() sleep(30) end) sleep(0)", "@m.lua")
    assert time.monotonic() - started < 2


def test_nested_coroutines_forward_io_and_keep_their_own_yields(lua) -> None:
    # A miniature replay machinery: it drives workflow code with coroutine.resume and
    # expects only its command yields; the sleeps inside must reach the loop untouched.
    got = lua(
        """
        local function workflow()
          sleep(0.01)
          local a = coroutine.yield({cmd = 'schedule', name = 'a'})
          sleep(0.01)
          local b = coroutine.yield({cmd = 'schedule', name = 'b'})
          return a .. b
        end
        local co = coroutine.create(workflow)
        local seen, reply = {}, nil
        while true do
          local ok, v = coroutine.resume(co, reply)
          assert(ok, v)
          if coroutine.status(co) == 'dead' then return table.concat(seen, ',') .. '=' .. v end
          seen[#seen + 1] = v.cmd .. ':' .. v.name
          reply = v.name:upper()
        end
        """
    )
    assert got == "schedule:a,schedule:b=AB"


def test_nested_io_runs_concurrently_across_tasks(lua) -> None:
    started = time.monotonic()
    lua(
        "local hs = {} for i = 1, 5 do hs[i] = async.spawn(function()"
        "  local gen = coroutine.wrap(function() sleep(0.5) coroutine.yield(i) end)"
        "  return gen() end) end"
        " for _, h in ipairs(hs) do h:await() end"
    )
    assert time.monotonic() - started < 1.2


def test_io_where_lua_cannot_yield_falls_back_to_blocking(lua) -> None:
    # table.sort's comparator is called from C: no yield possible, sleep blocks instead.
    assert lua("local t = {3, 1, 2} table.sort(t, function(a, b) sleep(0) return a < b end)"
               " return table.concat(t)") == "123"
    with pytest.raises(LuaScriptError, match="handle:await: cannot wait here"):
        lua("local h = async.spawn(function() end)"
            " table.sort({2, 1}, function(a, b) h:await() return a < b end)")


def test_builtins_block_on_the_main_thread_without_a_loop(rt: Runtime) -> None:
    started = time.monotonic()
    assert rt.lua.execute("sleep(0.05) return json.encode({1})") == "[1]"
    assert time.monotonic() - started >= 0.05


def test_plain_yield_at_task_top_needs_a_handler(rt: Runtime) -> None:
    with pytest.raises(LuaScriptError, match="attempt to yield from outside a coroutine"):
        rt.run("coroutine.yield(1)", "@y.lua")


async def test_python_spawn_with_on_yield_handler(rt: Runtime) -> None:
    fn = rt.compile("local x = coroutine.yield('cmd', 1) sleep(0.01) return x * 2", "@w.lua")
    seen: list[list[object]] = []

    async def on_yield(values: list[object]) -> tuple[object, ...]:
        seen.append(values)
        return (21,)

    try:
        assert await rt.scheduler.run(fn, on_yield=on_yield) == [42]
    finally:
        await rt.scheduler.aclose()
    assert seen == [["cmd", 1]]


async def test_python_spawn_runs_tasks_concurrently(rt: Runtime) -> None:
    fn = rt.compile("local n = ... sleep(0.3) return n", "@w.lua")
    started = time.monotonic()
    tasks = [rt.scheduler.spawn(fn, i) for i in range(10)]
    results = await asyncio.gather(*(t.result() for t in tasks))
    await rt.scheduler.aclose()
    assert [r[0] for r in results] == list(range(10))
    assert time.monotonic() - started < 0.8


def test_sleep_rejects_bad_durations(lua) -> None:
    with pytest.raises(LuaScriptError, match="sleep: seconds must be a finite number >= 0"):
        lua("sleep(-1)")
