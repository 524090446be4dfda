"""``template``: Jinja2 rendering (sandboxed environment, no auto-escaping).

Undefined variables render as empty text. ``template.render(path, vars?)`` resolves
``{% include %}``/``{% extends %}`` relative to the template's directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from assay.lua.builtins._api import BuiltinContext, opt_table, text
from assay.lua.errors import BuiltinError


def _variables(ctx: BuiltinContext, value: Any, where: str) -> dict[str, Any]:
    data = ctx.to_python(opt_table(value, where, "vars"), where)
    if data is None or data == []:
        return {}
    if not isinstance(data, dict):
        raise BuiltinError(f"{where}: vars must be a table with string keys")
    return data


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("template")
    inline = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)

    def render_string(source: Any, variables: Any = None) -> str:
        """template.render_string(tmpl, vars?) -> string."""
        data = _variables(ctx, variables, "template.render_string")
        try:
            return inline.from_string(text(source, "template.render_string")).render(data)
        except jinja2.TemplateError as exc:
            raise BuiltinError(f"template.render_string: {exc}") from None

    def render(path: Any, variables: Any = None) -> str:
        """template.render(path, vars?) -> string."""
        p = Path(text(path, "template.render", "path"))
        data = _variables(ctx, variables, "template.render")
        env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(p.parent or ".")),
            autoescape=False,
            keep_trailing_newline=True,
        )
        try:
            return env.get_template(p.name).render(data)
        except jinja2.TemplateNotFound as exc:
            raise BuiltinError(f'template.render: failed to read "{exc}"') from None
        except jinja2.TemplateError as exc:
            raise BuiltinError(f"template.render: {exc}") from None

    ctx.function(table, "render_string", render_string)
    ctx.function(table, "render", render)
