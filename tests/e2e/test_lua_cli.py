"""`assay run` / `assay FILE.lua` / `assay exec` as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ASSAY = Path(sys.executable).with_name("assay")


def assay(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd), "ASSAY_MODULES_PATH": str(cwd / "global")}
    return subprocess.run(
        [str(ASSAY), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def script(tmp_path: Path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def test_run_prints_and_gets_args(tmp_path: Path, script) -> None:
    script("hello.lua", "print('hello', ...)\nprint(arg[0], #arg)\n")
    result = assay("run", "hello.lua", "a", "b", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello\ta\tb\nhello.lua\t2\n"


def test_bare_lua_file_dispatches_to_run(tmp_path: Path, script) -> None:
    script("bare.lua", "print(json.encode({ok = true}))")
    result = assay("bare.lua", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, '{"ok":true}\n')


def test_unknown_extension_exits_1(tmp_path: Path, script) -> None:
    script("notes.txt", "print(1)")
    result = assay("notes.txt", cwd=tmp_path)
    assert result.returncode == 1
    assert 'unsupported file extension "txt"' in result.stderr


def test_lua_error_exits_1_with_position_and_traceback(tmp_path: Path, script) -> None:
    script("fail.lua", "local function go()\n  error('kaboom')\nend\ngo()\n")
    result = assay("run", "fail.lua", cwd=tmp_path)
    assert result.returncode == 1
    assert "error: fail.lua:2: kaboom" in result.stderr
    assert "stack traceback:" in result.stderr
    assert "fail.lua:4: in main chunk" in result.stderr


def test_shebang_is_allowed_and_line_numbers_stay(tmp_path: Path, script) -> None:
    path = script("tool.lua", "#!/usr/bin/env assay\nprint('ran')\nerror('line three')\n")
    result = assay("run", path.name, cwd=tmp_path)
    assert result.stdout == "ran\n"
    assert "tool.lua:3: line three" in result.stderr


def test_exec_inline_and_file(tmp_path: Path, script) -> None:
    result = assay("exec", "-e", "print(1 + 1, ...)", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "2\n")
    script("any.ext", "print('as lua')")
    result = assay("exec", "any.ext", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "as lua\n")
    result = assay("exec", "-e", "error('inline')", cwd=tmp_path)
    assert result.returncode == 1 and "<eval>:1: inline" in result.stderr


def test_exec_without_code_or_file_exits_1(tmp_path: Path) -> None:
    result = assay("exec", cwd=tmp_path)
    assert result.returncode == 1
    assert "exec requires either -e <code> or a file path" in result.stderr


def test_missing_file_exits_1(tmp_path: Path) -> None:
    result = assay("run", "nope.lua", cwd=tmp_path)
    assert result.returncode == 1
    assert "error: reading nope.lua" in result.stderr


def test_verbose_enables_debug_logs(tmp_path: Path) -> None:
    quiet = assay("exec", "-e", "log.debug('dbg-line') log.info('info-line')", cwd=tmp_path)
    loud = assay("-v", "exec", "-e", "log.debug('dbg-line')", cwd=tmp_path)
    assert "info-line" in quiet.stderr and "dbg-line" not in quiet.stderr
    assert "dbg-line" in loud.stderr


def test_project_modules_are_required_from_the_working_directory(tmp_path: Path, script) -> None:
    (tmp_path / "modules").mkdir()
    script("modules/greet.lua", "return {hi = function(n) return 'hi ' .. n end}")
    result = assay("exec", "-e", "print(require('assay.greet').hi('x'))", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "hi x\n"), result.stderr


def test_top_level_sleeps_in_tasks_overlap(tmp_path: Path) -> None:
    code = ("local hs = {} for i = 1, 20 do hs[i] = async.spawn(function() sleep(1) end) end"
            " for _, h in ipairs(hs) do h:await() end print('done')")
    started = time.monotonic()
    result = assay("exec", "-e", code, cwd=tmp_path)
    assert result.stdout == "done\n"
    assert time.monotonic() - started < 4  # interpreter start-up included
