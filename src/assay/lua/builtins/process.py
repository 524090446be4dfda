"""``process``: list, find, signal and wait for OS processes (blocking)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from assay.lua.builtins._api import BuiltinContext, number
from assay.lua.errors import BuiltinError

_WAIT_IDLE = r"""
local process, sleep, time = ...
-- process.wait_idle(names, timeout?, interval?) -> true once none runs, false at the deadline
return function(names, timeout, interval)
  if type(names) == "string" then names = { names } end
  timeout, interval = timeout or 30, interval or 1
  local deadline = time() + timeout
  while true do
    local busy = false
    for _, name in ipairs(names) do
      if process.is_running(name) then busy = true break end
    end
    if not busy then return true end
    if time() >= deadline then return false end
    sleep(interval)
  end
end
"""


def _list() -> list[dict[str, Any]]:
    proc = Path("/proc")
    if proc.is_dir():
        out: list[dict[str, Any]] = []
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                name = (entry / "comm").read_text().strip()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue  # the process exited while we looked
            row: dict[str, Any] = {"pid": int(entry.name), "name": name}
            if cmdline:
                row["cmdline"] = cmdline
            out.append(row)
        return sorted(out, key=lambda r: r["pid"])
    result = subprocess.run(["ps", "-eo", "pid,comm"], capture_output=True, text=True, check=False)
    rows = []
    for line in result.stdout.splitlines()[1:]:
        pid, _, name = line.strip().partition(" ")
        if pid.isdigit():
            rows.append({"pid": int(pid), "name": os.path.basename(name.strip())})
    return rows


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("process")

    def list_() -> Any:
        """process.list() -> array of {pid, name, cmdline?}."""
        return ctx.convert.array(_list())

    def is_running(name: Any) -> bool:
        """process.is_running(name) -> true when a process has exactly this name."""
        wanted = str(name)
        return any(p["name"] == wanted for p in _list())

    def kill(pid: Any, signal: Any = None) -> bool:
        """process.kill(pid, signal?) -> true (default signal 15)."""
        p = number(pid, "process.kill", "pid")
        sig = 15 if signal is None else number(signal, "process.kill", "signal")
        if not isinstance(p, int) or p <= 0:
            raise BuiltinError("process.kill: pid must be a positive integer")
        if not isinstance(sig, int) or sig < 0:
            raise BuiltinError("process.kill: signal must be a non-negative integer")
        try:
            os.kill(p, sig)
        except OSError as exc:
            raise BuiltinError(f"process.kill: failed to send signal {sig} to pid {p}: {exc.strerror}") from None
        return True

    ctx.function(table, "list", list_)
    ctx.function(table, "is_running", is_running)
    ctx.function(table, "kill", kill)
    g = ctx.lua.globals()
    table["wait_idle"] = ctx.lua_chunk(_WAIT_IDLE, "process", table, g["sleep"], g["time"])
