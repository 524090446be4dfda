"""The sandbox: what scripts cannot reach, and the memory cap."""

from __future__ import annotations

import pytest

from assay.errors import LuaRuntimeError
from assay.lua.errors import LuaScriptError
from assay.lua.runtime import MiB, Runtime, RuntimeOptions


def test_no_python_global(lua) -> None:
    assert lua("return python") is None


@pytest.mark.parametrize(
    "code, name",
    [
        ("load('return 1')", "load"),
        ("loadfile('/etc/passwd')", "loadfile"),
        ("dofile('/etc/passwd')", "dofile"),
        ("string.dump(print)", "string.dump"),
        ("debug.getinfo(1)", "debug.getinfo"),
        ("debug.sethook()", "debug.sethook"),
        ("package.loadlib('libc.so.6', 'puts')", "package.loadlib"),
    ],
)
def test_disabled_functions_raise_a_clear_error(lua, code: str, name: str) -> None:
    with pytest.raises(LuaScriptError) as info:
        lua(code)
    assert f"{name} is disabled in the assay sandbox" in info.value.message
    assert info.value.message.startswith("test.lua:1:")


def test_lua_errors_derive_from_the_project_root(lua) -> None:
    with pytest.raises(LuaRuntimeError):
        lua("error('x')")


def test_standard_libraries_stay(lua) -> None:
    assert lua("return type(os.time()) == 'number' and os.clock() >= 0 and os.date('!%Y', 0) == '1970'")
    assert lua("return string.format('%d', 3) .. table.concat({1, 2}) .. math.floor(2.5)") == "3122"
    assert lua("return type(io.open) == 'function' and type(require) == 'function'")


def test_python_objects_expose_no_attributes(rt: Runtime) -> None:
    rt.globals["obj"] = object()
    with pytest.raises(LuaScriptError, match="not accessible"):
        rt.run("return obj.__class__", "@test.lua")


def test_memory_cap() -> None:
    rt = Runtime(RuntimeOptions(max_memory=16 * MiB))
    with pytest.raises(LuaScriptError, match="memory"):
        rt.run("local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 64) .. i end", "@m.lua")


def test_memory_error_is_catchable_by_pcall() -> None:
    rt = Runtime(RuntimeOptions(max_memory=16 * MiB))
    ok = rt.run(
        "local ok = pcall(function() local t = {} for i = 1, 1e8 do t[i] = {i} end end)"
        " collectgarbage() return ok",
        "@m.lua",
    )
    assert ok == [False]


def test_syntax_error_names_the_chunk(rt: Runtime) -> None:
    with pytest.raises(LuaScriptError, match=r"^bad\.lua:2:"):
        rt.run("local x = 1\nlocal = 2", "@bad.lua")


def test_shebang_line_is_blanked_keeping_line_numbers(rt: Runtime) -> None:
    with pytest.raises(LuaScriptError, match=r"^s\.lua:3: boom"):
        rt.run("#!/usr/bin/env assay\n\nerror('boom')", "@s.lua")


def test_traceback_lists_the_script_frames(rt: Runtime) -> None:
    with pytest.raises(LuaScriptError) as info:
        rt.run("local function inner()\n  error('deep')\nend\ninner()", "@t.lua")
    err = info.value
    assert err.message == "t.lua:2: deep"
    assert "stack traceback:" in err.traceback
    assert "t.lua:4: in main chunk" in err.traceback
    assert "prelude" not in err.traceback
    assert err.format().startswith("t.lua:2: deep\nstack traceback:")


def test_binary_chunks_are_refused_by_require(rt: Runtime, tmp_path, monkeypatch) -> None:
    (tmp_path / "evil.lua").write_bytes(b"\x1bLua\x55\x00garbage")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LuaScriptError, match="binary|attempt to load"):
        rt.run("require('evil')", "@r.lua")
