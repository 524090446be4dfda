"""``assay workflow events [--follow]`` and ``assay workflow wait``: commands that watch a run.

Both use the engine's long-polls instead of sleeping between requests: ``GET
/workflows/{id}/events?after_seq=N&wait_secs=S`` answers as soon as a newer event exists,
``GET /workflows/{id}/result?wait_secs=S`` as soon as the run is terminal. So a finished
run is noticed within milliseconds, and an idle watch costs one request per wait window.

Both end on *any* terminal status (terminate included, which the original missed) and
agree on exit codes: 0 COMPLETED (or the ``--target`` status), 1 any other end, 2 timeout.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import click

from assay.cli.invocation import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_TIMEOUT,
    Invocation,
    OperatorCommand,
    engine_completion,
    fail,
    pass_invocation,
)
from assay.cli.output import Column
from assay.client.http import MAX_WAIT_SECS, TERMINAL_STATUSES, WORKFLOW_STATUSES, EngineClient

# Recent run ids for `<TAB>`; defined here because workflow.py imports this module.
complete_workflow_id = engine_completion(
    lambda client, settings: [
        str(r["id"]) for r in client.list_workflows(namespace=settings.namespace, limit=100).items
    ]
)

EVENT_COLUMNS = (
    Column("SEQ", "seq", max_width=5, justify="right"),
    Column("TYPE", "event_type", max_width=28),
    Column("TIME", "timestamp", kind="time", max_width=12),
    Column("PAYLOAD", "payload", kind="json", max_width=80),
)
# Event types after which a run can receive no further events.
TERMINAL_EVENTS = frozenset(
    {
        "WorkflowCompleted",
        "WorkflowFailed",
        "WorkflowCancelled",
        "WorkflowTerminated",
        "WorkflowTimedOut",
        "WorkflowContinuedAsNew",
    }
)
# How long one follow long-poll may wait. Short enough that a run which ends without
# writing an event (a possible engine gap) is still noticed quickly.
FOLLOW_WAIT_SECS = 10
# Polling period for `wait --target PENDING|RUNNING`: reaching a live status writes no
# event and completes no result long-poll, so there is nothing to long-poll on.
STATUS_POLL_SECS = 0.25


class StatusChoice(click.Choice):  # type: ignore[type-arg]
    """Workflow status accepted in any case, shown and returned upper-case (the engine's
    spelling); the original silently ignored a lower-case status and listed everything."""

    def __init__(self) -> None:
        super().__init__(WORKFLOW_STATUSES, case_sensitive=False)

    def normalize_choice(self, choice: object, ctx: click.Context | None) -> str:
        return str(choice).upper()


def exit_code_for(status: str, target: str | None = None) -> int:
    if target is not None:
        return EXIT_OK if status == target else EXIT_ERROR
    return EXIT_OK if status == "COMPLETED" else EXIT_ERROR


@click.command(
    cls=OperatorCommand,
    epilog="""\b
Examples:
  assay workflow events wf-123
  assay workflow events wf-123 --follow            # stream until the run ends
  assay workflow events wf-123 --follow -o jsonl | jq .event_type
\b
With --follow the command exits 0 when the run completes and 1 when it fails, is
cancelled, terminated or times out. --follow prints json as one event per line.
""",
)
@click.argument("workflow_id", metavar="ID", shell_complete=complete_workflow_id)
@click.option("--follow", "-f", is_flag=True, help="Stream new events until the run ends.")
@click.option(
    "--after-seq", type=click.IntRange(0), default=0, help="Only events with a larger seq."
)
@pass_invocation
def events(inv: Invocation, workflow_id: str, follow: bool, after_seq: int) -> None:
    """Show the event history of a run (optionally streaming new events)."""
    client = inv.client
    backlog = client.get_events(workflow_id, after_seq=after_seq or None)
    if not follow:
        inv.out.rows(backlog, EVENT_COLUMNS)
        return
    inv.out.stream_header(EVENT_COLUMNS)
    status = _follow(client, workflow_id, backlog, after_seq, emit=_emitter(inv))
    _report_end(inv, workflow_id, status)
    raise click.exceptions.Exit(exit_code_for(status))


def _emitter(inv: Invocation) -> Callable[[dict[str, Any]], None]:
    return lambda event: inv.out.stream_item(event, EVENT_COLUMNS)


def _follow(
    client: EngineClient,
    workflow_id: str,
    backlog: list[dict[str, Any]],
    after_seq: int,
    *,
    emit: Callable[[dict[str, Any]], None],
) -> str:
    """Emit events as they arrive; return the terminal status that ended the run."""
    last_seq = after_seq
    batch = backlog
    check_status = True  # the run may have ended before we started following
    while True:
        for event in batch:
            emit(event)
            last_seq = max(last_seq, int(event.get("seq", last_seq)))
        # Ask for the status only when it may have changed for good: a terminal event
        # was seen, the first time round, or a whole wait window passed quietly.
        if check_status or not batch or any(e.get("event_type") in TERMINAL_EVENTS for e in batch):
            status = str(client.get_workflow(workflow_id).get("status"))
            if status in TERMINAL_STATUSES:
                # Events written between our last read and the status read.
                for event in client.get_events(workflow_id, after_seq=last_seq):
                    emit(event)
                return status
        check_status = False
        batch = client.get_events(workflow_id, after_seq=last_seq, wait_secs=FOLLOW_WAIT_SECS)


def _report_end(inv: Invocation, workflow_id: str, status: str) -> None:
    if status == "COMPLETED":
        return
    click.echo(f"error: workflow {workflow_id} ended {status}", err=True)


@click.command(
    cls=OperatorCommand,
    epilog="""\b
Examples:
  assay workflow wait wf-123                       # until it ends; exit 0 if COMPLETED
  assay workflow wait wf-123 --timeout 30 || echo "not done"
  assay workflow wait wf-123 --target RUNNING      # until a worker picked it up
  assay workflow wait wf-123 -o json | jq .result
\b
Exit codes: 0 COMPLETED (or the --target status reached), 1 ended otherwise (FAILED,
CANCELLED, TIMED_OUT, or a terminal status other than --target), 2 timeout.
""",
)
@click.argument("workflow_id", metavar="ID", shell_complete=complete_workflow_id)
@click.option(
    "--timeout",
    type=click.FloatRange(0),
    default=300,
    show_default=True,
    help="Give up after this many seconds (exit 2).",
)
@click.option(
    "--target",
    type=StatusChoice(),
    help="Wait for this status instead of any terminal one.",
)
@pass_invocation
def wait(inv: Invocation, workflow_id: str, timeout: float, target: str | None) -> None:
    """Block until a run ends (or reaches --target); prints its result."""
    deadline = time.monotonic() + timeout
    if target is None or target in TERMINAL_STATUSES:
        outcome = wait_terminal(inv.client, workflow_id, deadline)
    else:
        outcome = _wait_live_status(inv.client, workflow_id, target, deadline)
    report_outcome(inv, workflow_id, outcome, timeout, target)


def report_outcome(
    inv: Invocation, workflow_id: str, outcome: dict[str, Any], timeout: float, target: str | None = None
) -> None:
    """Print what a wait ended with and exit with its code (0 / 1 / 2, as ``wait`` says)."""
    status = str(outcome.get("status"))
    if status != target and status not in TERMINAL_STATUSES:
        fail(
            f"timeout after {timeout:g}s waiting for {workflow_id} (last status: {status})",
            EXIT_TIMEOUT,
        )
    inv.out.record(outcome)
    code = exit_code_for(status, target)
    if code != EXIT_OK:
        wanted = f", not {target}" if target else ""
        detail = f": {outcome['error']}" if outcome.get("error") else ""
        click.echo(f"error: workflow {workflow_id} ended {status}{wanted}{detail}", err=True)
    raise click.exceptions.Exit(code)


def wait_terminal(client: EngineClient, workflow_id: str, deadline: float) -> dict[str, Any]:
    """Long-poll the result until the run is terminal or the deadline passes."""
    while True:
        remaining = deadline - time.monotonic()
        # Whole seconds for the engine; never past the deadline by more than a moment.
        wait_secs = min(MAX_WAIT_SECS, math.floor(remaining)) if remaining >= 1 else 0
        outcome = client.get_result(workflow_id, wait_secs=wait_secs)
        if outcome.get("status") in TERMINAL_STATUSES:
            return outcome
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return outcome
        if wait_secs == 0:
            time.sleep(min(STATUS_POLL_SECS, remaining))


def _wait_live_status(
    client: EngineClient, workflow_id: str, target: str, deadline: float
) -> dict[str, Any]:
    """Poll the record until it shows ``target`` or a terminal status, or time runs out."""
    while True:
        record = client.get_workflow(workflow_id)
        outcome = {
            "workflow_id": record.get("id", workflow_id),
            "status": record.get("status"),
            "result": record.get("result"),
            "error": record.get("error"),
            "completed_at": record.get("completed_at"),
        }
        if outcome["status"] == target or outcome["status"] in TERMINAL_STATUSES:
            return outcome
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return outcome
        time.sleep(min(STATUS_POLL_SECS, remaining))
