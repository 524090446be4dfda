"""``assay namespace …``: create, list, inspect and delete namespaces."""

from __future__ import annotations

import click

from assay.cli.invocation import Invocation, OperatorGroup, engine_completion, pass_invocation
from assay.cli.output import Column

complete_namespace = engine_completion(
    lambda client, settings: [str(n["name"]) for n in client.list_namespaces()]
)

NAMESPACE_COLUMNS = (
    Column("NAME", "name", max_width=48),
    Column("CREATED", "created_at", kind="time"),
)


@click.group(cls=OperatorGroup)
def namespace() -> None:
    """Create, list, inspect and delete namespaces.

    \b
    Examples:
      assay namespace create billing
      assay namespace describe billing
    """


@namespace.command(epilog="\b\nExample:\n  assay namespace create billing\n")
@click.argument("name")
@pass_invocation
def create(inv: Invocation, name: str) -> None:
    """Create namespace NAME."""
    result = inv.client.create_namespace(name)
    inv.out.action(f"namespace '{name}' created", result)


@namespace.command("list", epilog="\b\nExample:\n  assay namespace list -o json\n")
@pass_invocation
def list_(inv: Invocation) -> None:
    """List namespaces."""
    inv.out.rows(inv.client.list_namespaces(), NAMESPACE_COLUMNS)


@namespace.command(epilog="\b\nExample:\n  assay namespace describe main\n")
@click.argument("name", shell_complete=complete_namespace)
@pass_invocation
def describe(inv: Invocation, name: str) -> None:
    """Show namespace NAME with live counts of runs, schedules and workers."""
    inv.out.record(inv.client.get_namespace(name))


@namespace.command(epilog="\b\nExample:\n  assay namespace delete billing\n")
@click.argument("name", shell_complete=complete_namespace)
@pass_invocation
def delete(inv: Invocation, name: str) -> None:
    """Delete namespace NAME (refused while it holds workflows or schedules)."""
    result = inv.client.delete_namespace(name)
    inv.out.action(f"namespace '{name}' deleted", result)
