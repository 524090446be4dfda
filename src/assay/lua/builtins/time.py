"""``time()``: float epoch seconds with sub-second precision."""

from __future__ import annotations

import time as _time

from assay.lua.builtins._api import BuiltinContext


def install(ctx: BuiltinContext) -> None:
    holder = ctx.lua.table()
    ctx.function(holder, "time", _time.time)
    ctx.set_global("time", holder["time"])
