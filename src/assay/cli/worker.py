"""``assay worker list``: workers registered with the engine."""

from __future__ import annotations

import click

from assay.cli.invocation import Invocation, OperatorGroup, pass_invocation
from assay.cli.output import Column

WORKER_COLUMNS = (
    Column("ID", "id", max_width=40),
    Column("IDENTITY", "identity", max_width=32),
    Column("QUEUE", "task_queue", max_width=24),
    Column("ACTIVE", "active_tasks", max_width=6, justify="right"),
    Column("LAST HEARTBEAT", "last_heartbeat", kind="time"),
    Column("STALE", "stale", max_width=5),
)


@click.group(cls=OperatorGroup)
def worker() -> None:
    """Inspect the workers registered with the engine.

    \b
    Example:
      assay worker list
    """


@worker.command(
    "list",
    epilog="""\b
Examples:
  assay worker list
  assay worker list -n billing -o json | jq '.[] | select(.stale)'
""",
)
@pass_invocation
def list_(inv: Invocation) -> None:
    """List the workers of the namespace with their queue and last heartbeat."""
    inv.out.rows(inv.client.list_workers(namespace=inv.namespace), WORKER_COLUMNS)
