"""``assay queue stats``: backlog and workers per task queue."""

from __future__ import annotations

import click

from assay.cli.invocation import Invocation, OperatorGroup, pass_invocation
from assay.cli.output import Column

QUEUE_COLUMNS = (
    Column("QUEUE", "queue", max_width=32),
    Column("PENDING", "pending_activities", max_width=8, justify="right"),
    Column("RUNNING", "running_activities", max_width=8, justify="right"),
    Column("WF PENDING", "pending_workflow_tasks", max_width=10, justify="right"),
    Column("WF RUNNING", "running_workflow_tasks", max_width=10, justify="right"),
    Column("WORKERS", "workers", max_width=8, justify="right"),
)


@click.group(cls=OperatorGroup)
def queue() -> None:
    """Inspect task queues.

    \b
    Example:
      assay queue stats
    """


@queue.command(
    epilog="""\b
Examples:
  assay queue stats
  assay queue stats -n billing -o json
"""
)
@pass_invocation
def stats(inv: Invocation) -> None:
    """Pending and running activities and workflow tasks, and workers, per queue."""
    inv.out.rows(inv.client.queue_stats(namespace=inv.namespace), QUEUE_COLUMNS)
