"""``assay schedule …``: cron schedules that start workflow runs (engine-api §1.6, §6).

Schedules are addressed by name within a namespace, so every command sends the
namespace (``--namespace`` / ``ASSAY_NAMESPACE``, default ``main``).
"""

from __future__ import annotations

from typing import Any

import click

from assay.cli.invocation import (
    Invocation,
    OperatorGroup,
    build_invocation,
    engine_completion,
    pass_invocation,
)
from assay.cli.jsonarg import JsonArg
from assay.cli.output import Column

complete_schedule = engine_completion(
    lambda client, settings: [
        str(s["name"]) for s in client.list_schedules(namespace=settings.namespace)
    ]
)
# The engine's policies (Temporal's meanings), plus the original's names `queue` and
# `cancel_old`, which the engine maps to `buffer_one` and `cancel_other`.
OVERLAP_POLICIES = ("skip", "allow_all", "buffer_one", "cancel_other", "terminate_other", "queue", "cancel_old")

SCHEDULE_COLUMNS = (
    Column("NAME", "name", max_width=32),
    Column("TYPE", "workflow_type", max_width=32),
    Column("CRON", "cron_expr", max_width=24),
    Column("TZ", "timezone", max_width=20),
    Column("QUEUE", "task_queue", max_width=20),
    Column("OVERLAP", "overlap_policy", max_width=10),
    Column("PAUSED", "paused", max_width=6),
    Column("NEXT RUN", "next_run_at", kind="time"),
    Column("LAST RUN", "last_run_at", kind="time"),
)


@click.group(cls=OperatorGroup)
def schedule() -> None:
    """Create and manage cron schedules that start workflow runs.

    \b
    Examples:
      assay schedule create nightly --type report --cron "0 0 2 * * *"
      assay schedule list
      assay schedule pause nightly
    """


@schedule.command(
    "list",
    epilog="""\b
Examples:
  assay schedule list
  assay schedule list -n billing -o yaml
""",
)
@pass_invocation
def list_(inv: Invocation) -> None:
    """List the schedules of the namespace."""
    inv.out.rows(inv.client.list_schedules(namespace=inv.namespace), SCHEDULE_COLUMNS)


@schedule.command(
    epilog="""\b
Examples:
  assay schedule describe nightly
"""
)
@click.argument("name", shell_complete=complete_schedule)
@pass_invocation
def describe(inv: Invocation, name: str) -> None:
    """Show one schedule."""
    inv.out.record(inv.client.get_schedule(name, namespace=inv.namespace))


@schedule.command(
    epilog="""\b
Examples:
  assay schedule create nightly --type report --cron "0 0 2 * * *"
  assay schedule create hourly --type sync --cron "0 0 * * * *" \\
      --timezone Europe/Berlin --input '{"full": false}' --queue sync --overlap skip
"""
)
@click.argument("name")
@click.option("--type", "workflow_type", required=True, metavar="TYPE", help="Workflow type.")
@click.option("--cron", required=True, metavar="EXPR", help="Cron expression.")
@click.option("--timezone", metavar="TZ", help="IANA time zone of the cron (default UTC).")
@click.option("--input", "input_", type=JsonArg(), help="Run input: JSON, @file.json or -.")
@click.option("--queue", default="default", show_default=True, help="Task queue of the runs.")
@click.option(
    "--overlap",
    type=click.Choice(OVERLAP_POLICIES, case_sensitive=False),
    help="What to do when the previous run is still going (engine default: skip).",
)
@pass_invocation
def create(
    inv: Invocation,
    name: str,
    workflow_type: str,
    cron: str,
    timezone: str | None,
    input_: Any,
    queue: str,
    overlap: str | None,
) -> None:
    """Create a schedule NAME that starts a run of --type on --cron."""
    body: dict[str, Any] = {
        "name": name,
        "namespace": inv.namespace,
        "workflow_type": workflow_type,
        "cron_expr": cron,
        "task_queue": queue,
    }
    optional = {"timezone": timezone, "input": input_, "overlap_policy": overlap}
    body.update({k: v.lower() if k == "overlap_policy" else v
                 for k, v in optional.items() if v is not None})
    inv.out.record(inv.client.create_schedule(body))


@schedule.command(
    epilog="""\b
Examples:
  assay schedule patch nightly --cron "0 30 3 * * *"
  assay schedule patch nightly --input @input.json --overlap allow_all
"""
)
@click.argument("name", shell_complete=complete_schedule)
@click.option("--cron", metavar="EXPR", help="New cron expression.")
@click.option("--timezone", metavar="TZ", help="New IANA time zone.")
@click.option("--input", "input_", type=JsonArg(), help="New run input: JSON, @file.json or -.")
@click.option("--queue", help="New task queue.")
@click.option("--overlap", type=click.Choice(OVERLAP_POLICIES, case_sensitive=False))
def patch(
    name: str,
    cron: str | None,
    timezone: str | None,
    input_: Any,
    queue: str | None,
    overlap: str | None,
) -> None:
    """Change some fields of schedule NAME; the others keep their values."""
    fields = {
        "cron_expr": cron,
        "timezone": timezone,
        "input": input_,
        "task_queue": queue,
        "overlap_policy": overlap.lower() if overlap else None,
    }
    body = {k: v for k, v in fields.items() if v is not None}
    if not body:
        raise click.UsageError(
            "schedule patch: give at least one of --cron, --timezone, --input, --queue, --overlap"
        )
    # Settings are resolved only now, so a usage error never depends on the config file.
    inv = build_invocation(click.get_current_context())
    inv.out.record(inv.client.patch_schedule(name, body, namespace=inv.namespace))


@schedule.command(epilog="\b\nExample:\n  assay schedule pause nightly\n")
@click.argument("name", shell_complete=complete_schedule)
@pass_invocation
def pause(inv: Invocation, name: str) -> None:
    """Stop schedule NAME from starting runs."""
    result = inv.client.pause_schedule(name, namespace=inv.namespace)
    inv.out.action(f"{name} paused", result)


@schedule.command(epilog="\b\nExample:\n  assay schedule resume nightly\n")
@click.argument("name", shell_complete=complete_schedule)
@pass_invocation
def resume(inv: Invocation, name: str) -> None:
    """Let a paused schedule start runs again."""
    result = inv.client.resume_schedule(name, namespace=inv.namespace)
    inv.out.action(f"{name} resumed", result)


@schedule.command(epilog="\b\nExample:\n  assay schedule delete nightly\n")
@click.argument("name", shell_complete=complete_schedule)
@pass_invocation
def delete(inv: Invocation, name: str) -> None:
    """Delete schedule NAME (runs it started keep going)."""
    result = inv.client.delete_schedule(name, namespace=inv.namespace)
    inv.out.action(f"{name} deleted", result)
