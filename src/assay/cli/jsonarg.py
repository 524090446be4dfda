"""JSON arguments with indirection: a literal, ``@path`` (read that file) or ``-`` (stdin).

Used by ``--input``, ``--search-attrs`` and signal payloads. A bad value is a usage error
(exit 64) whose message names the argument, where the text came from and the line/column
of the problem, e.g. ``--input: invalid JSON in @in.json at line 2, column 5: …``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click


class JsonArgError(ValueError):
    """The text could not be obtained or is not JSON; the message is user-facing."""


def parse_json_arg(
    value: str,
    *,
    name: str,
    read_file: Callable[[str], str],
    read_stdin: Callable[[], str],
) -> Any:
    """Decode one JSON argument. Pure apart from the two injected readers."""
    if value == "-":
        text, origin = read_stdin(), "stdin"
    elif value.startswith("@"):
        path = value[1:]
        if not path:
            raise JsonArgError(f"{name}: '@' must be followed by a file name")
        try:
            text = read_file(path)
        except OSError as exc:
            raise JsonArgError(f"{name}: cannot read {path}: {exc.strerror or exc}") from exc
        origin = f"@{path}"
    else:
        text, origin = value, "the value"
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if origin == "the value" and not value.lstrip().startswith(("{", "[", '"')):
            hint = " (strings must be quoted, e.g. '\"text\"')"
        raise JsonArgError(
            f"{name}: invalid JSON in {origin} at line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}{hint}"
        ) from exc


def _read_file(path: str) -> str:
    return Path(path).expanduser().read_text(encoding="utf-8")


class JsonArg(click.ParamType):
    """click type wrapping ``parse_json_arg``; ``object_only`` is for search attributes."""

    name = "json"

    def __init__(
        self,
        *,
        object_only: bool = False,
        read_file: Callable[[str], str] = _read_file,
        stdin: TextIO | None = None,
    ) -> None:
        self.object_only = object_only
        self._read_file = read_file
        self._stdin = stdin

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "JSON|@FILE|-"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # already decoded (a default, or a programmatic invocation)
        label = _label(param)
        stdin = self._stdin or sys.stdin
        _claim_stdin(ctx, label, value)
        try:
            decoded = parse_json_arg(
                value, name=label, read_file=self._read_file, read_stdin=stdin.read
            )
        except JsonArgError as exc:
            # The message already names the argument; click would prefix it again.
            raise click.UsageError(str(exc), ctx=ctx) from exc
        if self.object_only and not isinstance(decoded, dict):
            raise click.UsageError(f"{label}: expected a JSON object", ctx=ctx)
        return decoded


def _label(param: click.Parameter | None) -> str:
    if param is None:
        return "argument"
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return (param.name or "argument").upper()


def _claim_stdin(ctx: click.Context | None, label: str, value: str) -> None:
    # stdin can be read once; a second `-` would silently get an empty string.
    if value != "-" or ctx is None:
        return
    owner = ctx.meta.get("assay.stdin_owner")
    if owner and owner != label:
        raise click.UsageError(f"{label}: stdin is already used by {owner}", ctx=ctx)
    ctx.meta["assay.stdin_owner"] = label
