"""``regex``: regular expressions (Python ``re`` syntax; ``(?<name>..)`` also accepted).

Argument order is text first, pattern second. Replacements use ``$1``, ``${1}``,
``$name``, ``${name}``; ``$$`` is a literal dollar.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from assay.lua.builtins._api import BuiltinContext, text
from assay.lua.errors import BuiltinError

_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_REPLACEMENT = re.compile(r"\$(?:\$|\{(\w+)\}|(\w+))|\\")


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(_NAMED_GROUP.sub("(?P<", pattern))


def _pattern(pattern: Any, where: str) -> re.Pattern[str]:
    source = text(pattern, where, "pattern")
    try:
        return _compile(source)
    except re.error as exc:
        raise BuiltinError(f"{where}: invalid pattern: {exc}") from None


def _python_replacement(template: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group(0) == "\\":
            return "\\\\"
        return f"\\g<{m.group(1) or m.group(2)}>"

    return _REPLACEMENT.sub(sub, template)


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("regex")

    def match(subject: Any, pattern: Any) -> bool:
        """regex.match(text, pattern) -> true when the pattern matches anywhere."""
        return _pattern(pattern, "regex.match").search(text(subject, "regex.match")) is not None

    def find(subject: Any, pattern: Any) -> Any:
        """regex.find(text, pattern) -> nil or {match, groups}."""
        m = _pattern(pattern, "regex.find").search(text(subject, "regex.find"))
        if m is None:
            return None
        groups = ctx.lua.table()
        for i, g in enumerate(m.groups(), start=1):
            if g is not None:
                groups[i] = g
        result = ctx.lua.table()
        result["match"] = m.group(0)
        result["groups"] = groups
        return result

    def find_all(subject: Any, pattern: Any) -> Any:
        """regex.find_all(text, pattern) -> array of matched substrings."""
        rx = _pattern(pattern, "regex.find_all")
        return ctx.convert.array([m.group(0) for m in rx.finditer(text(subject, "regex.find_all"))])

    def replace(subject: Any, pattern: Any, replacement: Any) -> str:
        """regex.replace(text, pattern, replacement) -> every match replaced."""
        rx = _pattern(pattern, "regex.replace")
        repl = _python_replacement(text(replacement, "regex.replace", "replacement"))
        try:
            return rx.sub(repl, text(subject, "regex.replace"))
        except (re.error, IndexError) as exc:
            raise BuiltinError(f"regex.replace: invalid replacement: {exc}") from None

    for name, fn in {"match": match, "find": find, "find_all": find_all, "replace": replace}.items():
        ctx.function(table, name, fn)
