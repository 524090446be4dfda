"""``sleep(seconds)``: an I/O builtin; inside a managed coroutine other tasks run meanwhile.

Negative, NaN or infinite durations raise (the original aborted the process).
"""

from __future__ import annotations

import asyncio
from typing import Any

from assay.lua.builtins._api import BuiltinContext, seconds
from assay.lua.scheduler import IoRequest


def install(ctx: BuiltinContext) -> None:
    def prepare(value: Any = None) -> IoRequest:
        secs = seconds(value, "sleep")

        async def run() -> None:
            await asyncio.sleep(secs)

        return IoRequest("sleep", run)

    holder = ctx.lua.table()
    ctx.io_function(holder, "sleep", prepare)
    ctx.set_global("sleep", holder["sleep"])
