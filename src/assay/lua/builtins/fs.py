"""``fs``: files and directories (blocking). Errors read ``fs.<fn>: failed to <verb> "<path>": <why>``."""

from __future__ import annotations

import glob as _glob
import itertools
import os
import shutil
import stat as _stat
import tempfile
import time
from pathlib import Path
from typing import Any

from assay.lua.builtins._api import BuiltinContext, field, number, opt_table, raw_bytes, text
from assay.lua.errors import BuiltinError

_counter = itertools.count()


def _fail(fn: str, verb: str, path: str, exc: OSError) -> BuiltinError:
    return BuiltinError(f'fs.{fn}: failed to {verb} "{path}": {exc.strerror or exc}')


def _kind(entry: os.DirEntry[str] | Path) -> str:
    if entry.is_symlink():
        return "symlink"
    return "directory" if entry.is_dir() else "file"


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("fs")

    def read(path: Any) -> str:
        p = text(path, "fs.read", "path")
        try:
            return Path(p).read_text("utf-8")
        except OSError as exc:
            raise _fail("read", "read", p, exc) from None
        except UnicodeDecodeError:
            raise BuiltinError(f'fs.read: "{p}" is not valid UTF-8 (use fs.read_bytes)') from None

    def read_bytes(path: Any) -> bytes:
        p = text(path, "fs.read_bytes", "path")
        try:
            return Path(p).read_bytes()
        except OSError as exc:
            raise _fail("read_bytes", "read", p, exc) from None

    def writer(fn: str) -> Any:
        def write(path: Any, content: Any) -> None:
            p = text(path, f"fs.{fn}", "path")
            data = raw_bytes(content, f"fs.{fn}", "content")
            try:
                Path(p).parent.mkdir(parents=True, exist_ok=True)
                Path(p).write_bytes(data)
            except OSError as exc:
                raise _fail(fn, "write", p, exc) from None
        return write

    def remove(path: Any) -> None:
        p = text(path, "fs.remove", "path")
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        except OSError as exc:
            raise _fail("remove", "remove", p, exc) from None

    def list_(path: Any) -> Any:
        p = text(path, "fs.list", "path")
        try:
            with os.scandir(p) as it:
                entries = [{"name": e.name, "type": _kind(e)} for e in it]
        except OSError as exc:
            raise _fail("list", "list", p, exc) from None
        return ctx.convert.array(sorted(entries, key=lambda e: e["name"]))

    def readdir(path: Any, opts: Any = None) -> Any:
        p = text(path, "fs.readdir", "path")
        depth = field(opt_table(opts, "fs.readdir"), "depth")
        limit = None if depth is None else int(number(depth, "fs.readdir", "depth"))
        out: list[dict[str, str]] = []

        def walk(directory: Path, level: int) -> None:
            with os.scandir(directory) as it:
                for entry in sorted(it, key=lambda e: e.name):
                    rel = os.path.relpath(entry.path, p)
                    out.append({"path": rel, "type": _kind(entry)})
                    if entry.is_dir(follow_symlinks=False) and (limit is None or level < limit):
                        walk(Path(entry.path), level + 1)

        try:
            walk(Path(p), 1)
        except OSError as exc:
            raise _fail("readdir", "read directory", p, exc) from None
        return ctx.convert.array(out)

    def stat(path: Any) -> Any:
        p = text(path, "fs.stat", "path")
        try:
            st = os.stat(p)
            is_link = os.path.islink(p)
        except OSError as exc:
            raise _fail("stat", "stat", p, exc) from None
        return ctx.to_lua({
            "size": st.st_size,
            "is_file": _stat.S_ISREG(st.st_mode),
            "is_dir": _stat.S_ISDIR(st.st_mode),
            "is_symlink": is_link,
            "modified": st.st_mtime,
            "created": getattr(st, "st_birthtime", st.st_ctime),
            "mode": _stat.S_IMODE(st.st_mode),
        })

    def mkdir(path: Any) -> None:
        p = text(path, "fs.mkdir", "path")
        try:
            Path(p).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _fail("mkdir", "create directory", p, exc) from None

    def exists(path: Any) -> bool:
        return os.path.lexists(text(path, "fs.exists", "path"))

    def copy(src: Any, dst: Any) -> int:
        s, d = text(src, "fs.copy", "source"), text(dst, "fs.copy", "destination")
        try:
            shutil.copyfile(s, d)
        except OSError as exc:
            raise _fail("copy", "copy", s, exc) from None
        return os.path.getsize(d)

    def rename(src: Any, dst: Any) -> None:
        s, d = text(src, "fs.rename", "source"), text(dst, "fs.rename", "destination")
        try:
            os.replace(s, d)
        except OSError as exc:
            raise _fail("rename", "rename", s, exc) from None

    def glob(pattern: Any) -> Any:
        pat = text(pattern, "fs.glob", "pattern")
        return ctx.convert.array(sorted(_glob.glob(pat, recursive=True)))

    def tempdir() -> str:
        name = f"assay-{time.time_ns():x}-{next(_counter)}"
        path = Path(tempfile.gettempdir()) / name
        path.mkdir(parents=True)
        return str(path)

    def chmod(path: Any, mode: Any) -> None:
        p = text(path, "fs.chmod", "path")
        value = number(mode, "fs.chmod", "mode")
        if not isinstance(value, int):
            raise BuiltinError("fs.chmod: mode must be an integer (e.g. 493 for 0o755)")
        try:
            os.chmod(p, value)
        except OSError as exc:
            raise _fail("chmod", "chmod", p, exc) from None

    for name, fn in {
        "read": read, "read_bytes": read_bytes, "remove": remove, "list": list_,
        "readdir": readdir, "stat": stat, "mkdir": mkdir, "exists": exists, "copy": copy,
        "rename": rename, "glob": glob, "tempdir": tempdir, "chmod": chmod,
    }.items():
        ctx.function(table, name, fn)
    ctx.function(table, "write", writer("write"), binary=(2,))
    ctx.function(table, "write_bytes", writer("write_bytes"), binary=(2,))
