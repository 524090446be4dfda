"""``shell.exec(cmd, opts?)`` -> ``{status, stdout, stderr, timed_out}``.

Runs ``/bin/sh -c cmd``. Unlike the original it is an I/O builtin: inside a managed
coroutine other tasks keep running while the child does. Options: ``env`` (added to the
inherited environment), ``cwd``, ``stdin`` (string; else /dev/null), ``timeout`` (seconds;
on expiry the child is killed: status -1, empty output, timed_out true). A non-zero exit is
not an error; ``status`` is -1 when a signal killed the child.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from assay.lua.builtins._api import BuiltinContext, field, opt_table, raw_bytes, seconds, text
from assay.lua.errors import BuiltinError
from assay.lua.scheduler import IoRequest


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    # `sh -c` forks the real command; killing only the shell would leave it holding the
    # output pipes open.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("shell")

    def prepare(cmd: Any = None, opts: Any = None) -> IoRequest:
        command = text(cmd, "shell.exec", "command")
        opts = opt_table(opts, "shell.exec")
        env = dict(os.environ)
        extra = field(opts, "env")
        if extra is not None:
            env.update({text(k, "shell.exec", "env name"): text(v, "shell.exec", "env value")
                        for k, v in extra.items()})
        cwd = field(opts, "cwd")
        cwd_text = None if cwd is None else text(cwd, "shell.exec", "cwd")
        stdin = field(opts, "stdin")
        stdin_bytes = None if stdin is None else raw_bytes(stdin, "shell.exec", "stdin")
        timeout_value = field(opts, "timeout")
        timeout = None if timeout_value is None else seconds(timeout_value, "shell.exec", "timeout")

        async def run() -> dict[str, Any]:
            try:
                proc = await asyncio.create_subprocess_exec(
                    "/bin/sh", "-c", command, cwd=cwd_text, env=env,
                    stdin=asyncio.subprocess.PIPE if stdin_bytes is not None else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                    start_new_session=True,  # its own process group, so a timeout kills it all
                )
            except OSError as exc:
                raise BuiltinError(f"shell.exec: failed to spawn command: {exc}") from None
            try:
                out, err = await asyncio.wait_for(proc.communicate(stdin_bytes), timeout)
            except asyncio.TimeoutError:
                _kill_group(proc)
                await proc.wait()
                return {"status": -1, "stdout": "", "stderr": "", "timed_out": True}
            except asyncio.CancelledError:
                _kill_group(proc)
                raise
            code = proc.returncode if proc.returncode is not None and proc.returncode >= 0 else -1
            return {
                "status": code,
                "stdout": out.decode("utf-8", errors="replace"),
                "stderr": err.decode("utf-8", errors="replace"),
                "timed_out": False,
            }

        return IoRequest("shell.exec", run)

    ctx.io_function(table, "exec", prepare)
