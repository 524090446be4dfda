"""``assay workflow …``: start, inspect and steer workflow runs.

The long-running commands (``events --follow`` and ``wait``) live in ``workflow_watch``.
Workflow ids are global, so commands addressed by id send no namespace.
"""

from __future__ import annotations

import math
import time
from typing import Any

import click

from assay.cli.invocation import Invocation, OperatorGroup, pass_invocation
from assay.cli.jsonarg import JsonArg
from assay.cli.output import Column
from assay.cli.workflow_watch import StatusChoice, complete_workflow_id, events, report_outcome, wait, wait_terminal
from assay.client.http import MAX_WAIT_SECS, TERMINAL_STATUSES

WORKFLOW_COLUMNS = (
    Column("ID", "id", max_width=48),
    Column("TYPE", "workflow_type", max_width=32),
    Column("STATUS", "status", kind="status", max_width=10),
    Column("QUEUE", "task_queue", max_width=24),
    Column("CREATED", "created_at", kind="time"),
)
CHILD_COLUMNS = (
    Column("ID", "id", max_width=48),
    Column("TYPE", "workflow_type", max_width=32),
    Column("STATUS", "status", kind="status", max_width=10),
    Column("CREATED", "created_at", kind="time"),
    Column("COMPLETED", "completed_at", kind="time"),
)


@click.group(cls=OperatorGroup)
def workflow() -> None:
    """Start, inspect and steer workflow runs.

    \b
    Examples:
      assay workflow start --type hello --input '{"name": "ada"}'
      assay workflow list --status RUNNING
      assay workflow wait wf-123 --timeout 60
    """


workflow.add_command(events)
workflow.add_command(wait)


@workflow.command(
    epilog="""\b
Examples:
  assay workflow start --type hello
  assay workflow start --type hello --id hello-1 --input '{"name": "ada"}'
  assay workflow start --type report --input @input.json --queue reports
  echo '{"n": 3}' | assay workflow start --type count --input -
  assay workflow start --type hello --search-attrs '{"env": "prod"}'
  assay workflow start --type hello --wait 30     # start, then print the result

With --wait, exit codes are those of `assay workflow wait`: 0 COMPLETED, 1 ended
otherwise, 2 still running when the wait ran out (the run goes on).
"""
)
@click.option("--type", "workflow_type", required=True, metavar="TYPE", help="Workflow type.")
@click.option("--id", "workflow_id", metavar="ID", help="Workflow id (engine generates one).")
@click.option("--input", "input_", type=JsonArg(), help="Input: JSON, @file.json or - (stdin).")
@click.option("--queue", default="default", show_default=True, help="Task queue.")
@click.option(
    "--search-attrs",
    type=JsonArg(object_only=True),
    help="Search attributes: JSON object, @file.json or -.",
)
@click.option(
    "--wait",
    "wait_secs",
    type=click.FloatRange(0, min_open=True),
    metavar="SECS",
    help="Also wait up to SECS for the outcome and print it (one request when ≤ 60 s).",
)
@pass_invocation
def start(
    inv: Invocation,
    workflow_type: str,
    workflow_id: str | None,
    input_: Any,
    queue: str,
    search_attrs: dict[str, Any] | None,
    wait_secs: float | None,
) -> None:
    """Start a workflow run; prints {workflow_id, run_id, status} (with --wait, its outcome)."""
    deadline = time.monotonic() + (wait_secs or 0)
    result = inv.client.start_workflow(
        workflow_type,
        workflow_id=workflow_id,
        namespace=inv.namespace,
        input=input_,
        task_queue=queue,
        search_attributes=search_attrs,
        wait_secs=math.floor(min(wait_secs or 0, MAX_WAIT_SECS)),
    )
    if wait_secs is None:
        inv.out.record(result)
        return
    started_id = str(result["workflow_id"])
    if result.get("status") not in TERMINAL_STATUSES and deadline > time.monotonic():
        result = wait_terminal(inv.client, started_id, deadline)
    report_outcome(inv, started_id, result, wait_secs)


@workflow.command(
    "list",
    epilog="""\b
Examples:
  assay workflow list
  assay workflow list --status failed --type report --limit 50
  assay workflow list --search-attrs '{"env": "prod"}' -o json | jq '.[].id'
  assay workflow list --offset 20          # the next page
""",
)
@click.option(
    "--status",
    type=StatusChoice(),
    help="Only runs in this status (any case).",
)
@click.option("--type", "workflow_type", metavar="TYPE", help="Only runs of this type.")
@click.option(
    "--search-attrs",
    type=JsonArg(object_only=True),
    help="Only runs whose search attributes contain this JSON object.",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@pass_invocation
def list_(
    inv: Invocation,
    status: str | None,
    workflow_type: str | None,
    search_attrs: dict[str, Any] | None,
    limit: int,
    offset: int,
) -> None:
    """List workflow runs of the namespace, newest first."""
    page = inv.client.list_workflows(
        namespace=inv.namespace,
        status=status,
        workflow_type=workflow_type,
        search_attributes=search_attrs,
        limit=limit,
        offset=offset,
    )
    inv.out.rows(page.items, WORKFLOW_COLUMNS)
    if page.total is not None and page.items:
        first, last = offset + 1, offset + len(page.items)
        more = f" (next page: --offset {last})" if last < page.total else ""
        inv.note(f"{first}-{last} of {page.total}{more}")


@workflow.command(
    epilog="""\b
Examples:
  assay workflow describe wf-123
  assay workflow describe wf-123 -o json | jq .result
"""
)
@click.argument("workflow_id", metavar="ID", shell_complete=complete_workflow_id)
@pass_invocation
def describe(inv: Invocation, workflow_id: str) -> None:
    """Show one workflow run (status, input, result, error, times …)."""
    inv.out.record(inv.client.get_workflow(workflow_id))


@workflow.command(
    epilog="""\b
Examples:
  assay workflow state wf-123            # every registered query
  assay workflow state wf-123 progress   # one query's value
"""
)
@click.argument("workflow_id", metavar="ID", shell_complete=complete_workflow_id)
@click.argument("name", required=False)
@pass_invocation
def state(inv: Invocation, workflow_id: str, name: str | None) -> None:
    """Read the latest query snapshot (ctx:register_query) of a run."""
    inv.out.record(inv.client.get_state(workflow_id, name))


@workflow.command(
    epilog="""\b
Examples:
  assay workflow children wf-123
"""
)
@click.argument("workflow_id", metavar="ID", shell_complete=complete_workflow_id)
@pass_invocation
def children(inv: Invocation, workflow_id: str) -> None:
    """List the direct child workflows of a run, oldest first."""
    inv.out.rows(inv.client.list_children(workflow_id), CHILD_COLUMNS)


@workflow.command(
    epilog="""\b
Examples:
  assay workflow signal wf-123 approve
  assay workflow signal wf-123 approve '{"by": "ada"}'
  assay workflow signal wf-123 approve @decision.json
"""
)
@click.argument("workflow_id", metavar="ID", shell_complete=complete_workflow_id)
@click.argument("name")
@click.argument("payload", required=False, type=JsonArg())
@pass_invocation
def signal(inv: Invocation, workflow_id: str, name: str, payload: Any) -> None:
    """Send signal NAME (with an optional JSON PAYLOAD) to a run."""
    result = inv.client.signal_workflow(workflow_id, name, payload)
    inv.out.action(f"signal '{name}' sent to {workflow_id}", result)


@workflow.command(
    epilog="""\b
Examples:
  assay workflow cancel wf-123
  assay workflow cancel wf-123 --reason "customer withdrew"
"""
)
@click.argument("workflow_id", metavar="ID", shell_complete=complete_workflow_id)
@click.option("--reason", help="Why; recorded in the history.")
@pass_invocation
def cancel(inv: Invocation, workflow_id: str, reason: str | None) -> None:
    """Ask a run to cancel gracefully (a pending run is cancelled at once)."""
    result = inv.client.cancel_workflow(workflow_id, reason=reason)
    if result.get("status") == "CANCELLED":
        message = f"{workflow_id} cancelled"
    else:
        message = f"cancel requested for {workflow_id}"
    inv.out.action(message, result)


@workflow.command(
    epilog="""\b
Examples:
  assay workflow terminate wf-123 --reason "stuck on a bad deploy"
"""
)
@click.argument("workflow_id", metavar="ID", shell_complete=complete_workflow_id)
@click.option("--reason", help="Why; recorded as WorkflowTerminated.")
@pass_invocation
def terminate(inv: Invocation, workflow_id: str, reason: str | None) -> None:
    """Stop a run now (status FAILED), without running its cleanup code."""
    result = inv.client.terminate_workflow(workflow_id, reason=reason)
    inv.out.action(f"{workflow_id} terminated", result)


@workflow.command(
    "continue-as-new",
    epilog="""\b
Examples:
  assay workflow continue-as-new wf-123 --input '{"cursor": 100}'
  assay workflow continue-as-new wf-123 --id wf-123-b
""",
)
@click.argument("workflow_id", metavar="ID", shell_complete=complete_workflow_id)
@click.option("--input", "input_", type=JsonArg(), help="Input of the new run.")
@click.option("--id", "new_id", metavar="NEW_ID", help="Id of the new run.")
@pass_invocation
def continue_as_new(inv: Invocation, workflow_id: str, input_: Any, new_id: str | None) -> None:
    """Close a run and start a fresh one of the same type, namespace and queue."""
    result = inv.client.continue_as_new(workflow_id, input=input_, new_workflow_id=new_id)
    inv.out.record(result)
