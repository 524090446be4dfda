"""``process.wait_for_shutdown()`` / ``process.shutdown_requested()``: graceful stop on signals.

Added for the workflow worker (``require("assay.workflow")``, ``workflow.listen``), which
must stop polling on SIGINT/SIGTERM, finish the tasks it holds and exit 0.

* ``process.wait_for_shutdown()`` -> ``"SIGINT"`` or ``"SIGTERM"``: an I/O builtin (needs a
  managed coroutine). The first call installs handlers for both signals on the running
  asyncio loop; it then waits until one arrives. Scripts that never call it keep the default
  behaviour (Ctrl-C interrupts, SIGTERM kills).
* ``process.shutdown_requested()`` -> boolean: true once a signal arrived.

A second signal after the first restores the default handler and re-sends itself, so an
impatient operator can still stop a worker that hangs while draining.
"""

from __future__ import annotations

import asyncio
import os
import signal

from assay.lua.builtins._api import BuiltinContext
from assay.lua.scheduler import IoRequest

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("process")
    state: dict[str, object] = {"event": None, "loop": None, "name": None}

    def on_signal(sig: signal.Signals) -> None:
        if state["name"] is not None:
            # Second signal: give up draining and let the default action happen.
            loop = state["loop"]
            assert isinstance(loop, asyncio.AbstractEventLoop)
            for s in _SIGNALS:
                loop.remove_signal_handler(s)
            os.kill(os.getpid(), sig)
            return
        state["name"] = sig.name
        event = state["event"]
        assert isinstance(event, asyncio.Event)
        event.set()

    def install_handlers() -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if state["loop"] is not loop:
            state["loop"], state["event"] = loop, asyncio.Event()
            for sig in _SIGNALS:
                loop.add_signal_handler(sig, on_signal, sig)
        event = state["event"]
        assert isinstance(event, asyncio.Event)
        return event

    def prepare_wait() -> IoRequest:
        async def run() -> str:
            await install_handlers().wait()
            return str(state["name"])

        return IoRequest("process.wait_for_shutdown", run, needs_scheduler=True)

    def requested() -> bool:
        return state["name"] is not None

    ctx.io_function(table, "wait_for_shutdown", prepare_wait)
    ctx.function(table, "shutdown_requested", requested)
