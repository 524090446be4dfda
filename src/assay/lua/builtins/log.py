"""``log``: structured log lines on stderr (logger ``assay.script``).

``log.info(msg, fields?)`` (also ``debug``, ``warn``, ``error``): ``msg`` is a string or
number; ``fields`` an optional table rendered as sorted ``key=value`` pairs (JSON values).
``log.debug`` lines appear only with ``assay -v``.
"""

from __future__ import annotations

import json as _json
import logging
from typing import Any

from assay.lua.builtins._api import BuiltinContext, lua_type_name, opt_table, text
from assay.lua.errors import BuiltinError

logger = logging.getLogger("assay.script")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("log")

    def emitter(name: str, level: int) -> Any:
        def emit(msg: Any = None, fields: Any = None) -> None:
            if isinstance(msg, bool) or not isinstance(msg, (str, int, float)):
                raise BuiltinError(f"log.{name}: message must be a string or number, got {lua_type_name(msg)}")
            line = text(msg, f"log.{name}")
            data = ctx.to_python(opt_table(fields, f"log.{name}", "fields"), f"log.{name}")
            if isinstance(data, dict) and data:
                pairs = " ".join(
                    f"{k}={_json.dumps(v, ensure_ascii=False, sort_keys=True)}" for k, v in sorted(data.items())
                )
                line = f"{line} {pairs}"
            logger.log(level, "%s", line)
        return emit

    for name, level in _LEVELS.items():
        ctx.function(table, name, emitter(name, level))
