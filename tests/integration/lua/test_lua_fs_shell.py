"""`fs`, `shell`, `process`, `disk` and `template.render` on the real disk and OS."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from assay.lua.errors import LuaScriptError
from assay.lua.runtime import Runtime


@pytest.fixture
def at(rt: Runtime, tmp_path: Path) -> Path:
    rt.globals["D"] = str(tmp_path)
    return tmp_path


def test_read_write_and_bytes(rt: Runtime, at: Path) -> None:
    rt.run("fs.write(D .. '/a/b/c.txt', 'héllo') fs.write_bytes(D .. '/bin', '\\0\\255\\128%41')", "@f.lua")
    assert (at / "a/b/c.txt").read_text("utf-8") == "héllo"
    assert (at / "bin").read_bytes() == b"\x00\xff\x80%41"
    assert rt.run("return fs.read(D .. '/a/b/c.txt'), #fs.read_bytes(D .. '/bin')", "@f.lua") == ["héllo", 6]
    with pytest.raises(LuaScriptError, match=r'fs\.read: failed to read ".*missing": No such file'):
        rt.run("local v = fs.read(D .. '/missing')", "@f.lua")
    with pytest.raises(LuaScriptError, match="not valid UTF-8"):
        rt.run("local v = fs.read(D .. '/bin')", "@f.lua")


def test_listing_and_metadata(rt: Runtime, at: Path) -> None:
    (at / "d/e").mkdir(parents=True)
    (at / "d/one.txt").write_text("1")
    (at / "d/e/two.txt").write_text("22")
    assert rt.run(
        "local out = {} for _, e in ipairs(fs.list(D .. '/d')) do out[#out + 1] = e.name .. ':' .. e.type end"
        " return table.concat(out, ',')", "@f.lua") == ["e:directory,one.txt:file"]
    assert rt.run(
        "local out = {} for _, e in ipairs(fs.readdir(D .. '/d')) do out[#out + 1] = e.path end"
        " return table.concat(out, ','), #fs.readdir(D .. '/d', {depth = 1})", "@f.lua") == [
        "e,e/two.txt,one.txt", 2]
    st = rt.run("local s = fs.stat(D .. '/d/e/two.txt') return s.size, s.is_file, s.is_dir, s.modified > 0", "@f.lua")
    assert st == [2, True, False, True]
    assert rt.run("return #fs.glob(D .. '/**/*.txt'), fs.exists(D .. '/d'), fs.exists(D .. '/zz')", "@f.lua") == [
        2, True, False]


def test_mutations(rt: Runtime, at: Path) -> None:
    (at / "src.txt").write_text("abc")
    got = rt.run(
        "fs.mkdir(D .. '/x/y') local n = fs.copy(D .. '/src.txt', D .. '/x/y/c.txt')"
        " fs.rename(D .. '/x/y/c.txt', D .. '/x/moved.txt') fs.chmod(D .. '/x/moved.txt', 384)"
        " fs.remove(D .. '/x/y') local t = fs.tempdir() local ok = fs.exists(t) fs.remove(t)"
        " return n, ok",
        "@f.lua",
    )
    assert got == [3, True]
    assert (at / "x/moved.txt").read_text() == "abc"
    assert oct((at / "x/moved.txt").stat().st_mode & 0o777) == "0o600"
    assert not (at / "x/y").exists()


def test_shell_exec(rt: Runtime, at: Path) -> None:
    got = rt.run(
        "local r = shell.exec('echo $GREETING; pwd; cat; exit 3',"
        " {env = {GREETING = 'hi'}, cwd = D, stdin = 'in'})"
        " return r.status, r.stdout, r.timed_out",
        "@s.lua",
    )
    assert got == [3, f"hi\n{at}\nin", False]
    assert rt.run("local r = shell.exec('echo err >&2') return r.stderr, r.status", "@s.lua") == ["err\n", 0]
    assert rt.run("local r = shell.exec('sleep 5', {timeout = 0.2}) return r.status, r.timed_out", "@s.lua") == [
        -1, True]


def test_shell_exec_runs_concurrently_in_tasks(rt: Runtime) -> None:
    started = time.monotonic()
    rt.run("local hs = {} for i = 1, 5 do hs[i] = async.spawn(function() return shell.exec('sleep 0.5') end) end"
           " for _, h in ipairs(hs) do h:await() end", "@s.lua")
    assert time.monotonic() - started < 1.5


def test_process_and_disk(rt: Runtime, at: Path) -> None:
    me = os.getpid()
    rt.globals["ME"] = me
    assert rt.run("for _, p in ipairs(process.list()) do if p.pid == ME then return p.name end end", "@p.lua")[0]
    assert rt.run("return process.is_running('no-such-process-xyz')", "@p.lua") == [False]
    assert rt.run("return process.wait_idle('no-such-process-xyz', 1, 0.1)", "@p.lua") == [True]
    with pytest.raises(LuaScriptError, match="pid must be a positive integer"):
        rt.run("process.kill(0)", "@p.lua")
    usage = rt.run("local u = disk.usage(D) return u.total > 0, u.percent >= 0", "@p.lua")
    assert usage == [True, True]
    (at / "old").mkdir()
    (at / "old/f").write_text("12345")
    os.utime(at / "old", (0, 0))
    assert rt.run("return disk.dir_size(D), disk.sweep(D, 3600)", "@p.lua") == [5, 1]
    assert not (at / "old").exists()


def test_template_render_file_with_include(rt: Runtime, at: Path) -> None:
    (at / "part.j2").write_text("[{{ x }}]")
    (at / "main.j2").write_text("a{% include 'part.j2' %}b")
    assert rt.run("return template.render(D .. '/main.j2', {x = 1})", "@t.lua") == ["a[1]b"]
