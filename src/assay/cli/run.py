"""`assay run FILE.lua [ARGS...]` and `assay exec (-e CODE | FILE)`: run Lua scripts.

Exit codes: 0 success; 1 Lua error (message with ``file:line`` and a Lua traceback on
stderr), unreadable file, unsupported extension. Script arguments are the global ``arg``
table (``arg[0]`` = script path) and the main chunk's ``...``.
"""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path

import click

log = logging.getLogger("assay.run")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _run_lua(source: str, chunkname: str, script: str, args: tuple[str, ...]) -> None:
    # Imported here so `assay --help` does not load lupa.
    from assay.errors import LuaRuntimeError
    from assay.lua.runtime import Runtime

    try:
        runtime = Runtime()
    except Exception as exc:  # noqa: BLE001 - report any VM construction failure plainly
        _fail(f"creating Lua VM: {exc}")
        return
    runtime.set_args(script, args)
    # As the engine does (api/app.py): the start-up heap (modules, the VM's builtins) is
    # kept for good, so Python's full collections need not walk it (latency per task).
    gc.collect()
    gc.freeze()
    try:
        runtime.run(source, chunkname, list(args))
    except LuaRuntimeError as exc:
        text = exc.format() if hasattr(exc, "format") else exc.message
        _fail(text)
    except KeyboardInterrupt:
        _fail("interrupted")


def _read(path: str) -> str:
    try:
        return Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"reading {path}: {exc}")
        raise AssertionError("unreachable") from None


def _run_file(path: str, args: tuple[str, ...]) -> None:
    log.info("starting assay (script mode): %s", path)
    _run_lua(_read(path), f"@{path}", path, args)


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(file: str, args: tuple[str, ...]) -> None:
    """Run a Lua script (FILE.lua) with optional script ARGS."""
    if file.endswith((".yaml", ".yml")):
        _fail(f"YAML check mode is not available in this build: {file}")
    if not file.endswith(".lua"):
        ext = Path(file).suffix.lstrip(".")
        _fail(f'unsupported file extension "{ext}" (expected .yaml, .yml, or .lua)')
    _run_file(file, args)


@click.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-e", "--eval", "code", metavar="CODE", help="Lua code to run.")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def exec_(code: str | None, file: str | None, args: tuple[str, ...]) -> None:
    """Run inline Lua (-e CODE), or FILE as Lua whatever its extension."""
    if code is not None:
        log.info("starting assay (inline eval mode)")
        extra = ((file,) if file else ()) + args
        _run_lua(code, "@<eval>", "<eval>", extra)
    elif file is not None:
        _run_file(file, args)
    else:
        _fail("exec requires either -e <code> or a file path")
