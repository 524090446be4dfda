"""``disk``: usage of a filesystem, directory sizes, sweeping old entries (blocking)."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from assay.lua.builtins._api import BuiltinContext, number, text
from assay.lua.errors import BuiltinError


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("disk")

    def usage(path: Any) -> Any:
        """disk.usage(path) -> {total, free, used, percent}."""
        p = text(path, "disk.usage", "path")
        try:
            st = os.statvfs(p)
        except OSError as exc:
            raise BuiltinError(f'disk.usage: failed to stat "{p}": {exc.strerror}') from None
        total = st.f_blocks * st.f_frsize
        free = st.f_bfree * st.f_frsize
        used = total - free
        percent = used / total * 100 if total else 0.0
        return ctx.to_lua({"total": total, "free": free, "used": used, "percent": float(percent)})

    def dir_size(path: Any) -> int:
        """disk.dir_size(path) -> bytes of regular files under path (recursive)."""
        p = text(path, "disk.dir_size", "path")
        size = 0
        for root, _dirs, files in os.walk(p):
            for name in files:
                full = os.path.join(root, name)
                if os.path.isfile(full) and not os.path.islink(full):
                    size += os.path.getsize(full)
        return size

    def sweep(path: Any, age_secs: Any) -> int:
        """disk.sweep(dir, age_secs) -> number of top-level entries older than age removed."""
        p = text(path, "disk.sweep", "path")
        cutoff = time.time() - float(number(age_secs, "disk.sweep", "age_secs"))
        removed = 0
        try:
            entries = list(os.scandir(p))
        except OSError as exc:
            raise BuiltinError(f'disk.sweep: failed to list "{p}": {exc.strerror}') from None
        for entry in entries:
            if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            removed += 1
        return removed

    ctx.function(table, "usage", usage)
    ctx.function(table, "dir_size", dir_size)
    ctx.function(table, "sweep", sweep)
