"""The `assay` command: root group and subcommand registration.

Each face lives in its own module; this file only wires them together. ``assay FILE.lua``
(and ``FILE.yaml``) dispatch by extension to ``run`` / check mode.
"""

from __future__ import annotations

import importlib
import sys

import click

from assay import __version__

# (command name, module, attribute). Imported lazily so `assay run x.lua` does not pay for
# FastAPI and `assay serve` does not pay for lupa.
_COMMANDS: list[tuple[str, str, str]] = [
    ("serve", "assay.cli.serve", "serve"),
    ("run", "assay.cli.run", "run"),
    ("exec", "assay.cli.run", "exec_"),
    ("workflow", "assay.cli.workflow", "workflow"),
    ("schedule", "assay.cli.schedule", "schedule"),
    ("namespace", "assay.cli.namespace", "namespace"),
    ("worker", "assay.cli.worker", "worker"),
    ("queue", "assay.cli.queue", "queue"),
    ("completion", "assay.cli.completion", "completion"),
]


class AssayGroup(click.Group):
    """Lazy subcommands plus dispatch of `assay FILE.lua` by extension."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, module, _ in _COMMANDS if _module_exists(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for name, module, attr in _COMMANDS:
            if name == cmd_name and _module_exists(module):
                return getattr(importlib.import_module(module), attr)
        return None

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        first = args[0] if args else ""
        if first and "." in first and self.get_command(ctx, first) is None:
            return _dispatch_by_extension(self, ctx, args)
        return super().resolve_command(ctx, args)


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _dispatch_by_extension(group: AssayGroup, ctx: click.Context, args: list[str]):
    path = args[0]
    if path.endswith(".lua"):
        return "run", group.get_command(ctx, "run"), args
    if path.endswith((".yaml", ".yml")):
        check = group.get_command(ctx, "check")
        if check is not None:
            return "check", check, args
        click.echo("error: YAML check mode is not available in this build", err=True)
        ctx.exit(1)
    # Not a usage error (exit 2): the original exits 1 for an unsupported extension.
    ext = path.rsplit(".", 1)[-1]
    click.echo(f'error: unsupported file extension "{ext}" (expected .yaml, .yml, or .lua)', err=True)
    ctx.exit(1)


@click.group(cls=AssayGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="assay")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """assay: durable workflow engine, Lua runtime and operator CLI."""
    import logging

    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    cli(prog_name="assay")
