"""Speculative workflow tasks: an activity result that carries its workflow's next commands.

A sticky worker holds the workflow's run in memory, suspended on the activity it has just
run. Instead of reporting the result, waiting for the workflow task that result wakes, and
then submitting that task's commands (two round trips), it feeds the result to its run
itself and sends the commands with the result (one round trip). The engine applies them in
the completing transaction only when that is exactly what a real workflow task would have
produced, i.e. when the worker saw the whole history up to this result:

* the workflow is RUNNING, nobody holds its task (no lease) and nothing else made it
  dispatchable since the worker's last batch (``needs_dispatch`` is 0: no signal, timer,
  other result, cancel request ...);
* the worker is the workflow's sticky worker, and the only event after the history it had
  (``after_seq``) is the ``ActivityScheduled`` of this very activity.

Otherwise the speculation is refused: the result is recorded as usual, the workflow task
is dispatched (with full history: the worker dropped its run, whose state ran ahead), and
nothing of the speculative batch is applied.
"""

from __future__ import annotations

from typing import Any, Callable

from assay.core.model import Workflow, WorkflowStatus
from assay.core.transitions import batch_needs_redispatch
from assay.store.base import Row, Speculation, Tx
from assay.store.claims import hand_back_activities
from assay.store.commands_apply import CommandContext, apply_command
from assay.store.rows import loads


# The workflow columns ``speculation_holds`` looks at (read by the caller, with the row lock).
SPECULATION_COLUMNS = "last_seq, needs_dispatch, lease_token, sticky_worker, cancel_requested_at"


def speculation_holds(tx: Tx, wf: Row, activity_seq: int, spec: Speculation) -> bool:
    """Whether ``spec``'s batch is what the workflow task of this result would produce;
    ``wf`` is the workflow's row, read with ``SPECULATION_COLUMNS`` under the row lock."""
    if (
        wf["status"] != WorkflowStatus.RUNNING or wf["needs_dispatch"] or wf["lease_token"] is not None
        or wf["sticky_worker"] != spec.worker_id or wf["cancel_requested_at"] is not None
        or wf["last_seq"] != spec.after_seq + 1
    ):
        return False
    scheduled = tx.one(
        "SELECT event_type, payload FROM workflow_events WHERE workflow_id = :id AND seq = :seq",
        {"id": wf["id"], "seq": spec.after_seq + 1},
    )
    if scheduled is None or scheduled["event_type"] != "ActivityScheduled":
        return False
    payload: Any = loads(scheduled["payload"])
    return isinstance(payload, dict) and payload.get("activity_seq") == activity_seq


def apply_speculation(
    tx: Tx, skip_locked: str, now: float, wf: Workflow, completed_seq: int, spec: Speculation,
    new_run_id: Callable[[], str],
) -> int:
    """Apply an accepted speculative batch to run ``wf``, as a submitted workflow task would
    be; the worker's run has now seen history up to ``completed_seq`` (its sticky mark)."""
    ctx = CommandContext(tx, wf, now, new_run_id)
    for command in spec.commands:
        apply_command(ctx, command)
    redispatch = batch_needs_redispatch(spec.commands)
    if wf.id in tx.changes.finished and not redispatch:
        # The batch ended the run: no task of it will be dispatched, no sticky mark needed.
        tx.changes.speculation = (len(spec.commands), completed_seq)
        return len(spec.commands)
    row = tx.one(
        "UPDATE workflows SET sticky_seq = :seq" + (", needs_dispatch = 1" if redispatch else "")
        + " WHERE id = :id RETURNING needs_dispatch, status, namespace, task_queue",
        {"seq": completed_seq, "id": wf.id},
    )
    if row is not None and row["needs_dispatch"] and row["status"] in ("PENDING", "RUNNING"):
        tx.changes.workflow_queues.add((row["namespace"], row["task_queue"]))
    if spec.eager is not None:
        hand_back_activities(tx, skip_locked, now, wf.id, spec.worker_id, spec.eager)
    tx.changes.speculation = (len(spec.commands), completed_seq)
    return len(spec.commands)


def refuse_speculation(tx: Tx, workflow_id: str) -> None:
    """The worker dropped its run: its next task of this workflow needs the full history."""
    tx.execute("UPDATE workflows SET sticky_worker = NULL WHERE id = :id", {"id": workflow_id})
