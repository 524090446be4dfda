"""The engine's decisions that need no database. Pure functions, tested without I/O."""

from __future__ import annotations

import re
from typing import Any, Sequence

from assay.core.commands import (
    BLOCKING_COMMANDS,
    TERMINAL_COMMANDS,
    Command,
    RecordSideEffect,
    UpsertSearchAttributes,
)
from assay.core.model import WorkflowStatus

_CONTINUED_SUFFIX = re.compile(r"^(?P<base>.*)-continued-(?P<n>\d+)$")


def batch_needs_redispatch(commands: Sequence[Command]) -> bool:
    """True when the worker made progress but is not waiting on anything external.

    A batch of only side effects / search-attribute upserts (and snapshots) means the handler
    can go on at once; blocking or run-ending commands mean the next wake-up comes from an
    event (activity result, timer, signal, child outcome).
    """
    progressed = any(isinstance(c, (RecordSideEffect, UpsertSearchAttributes)) for c in commands)
    waits = any(isinstance(c, BLOCKING_COMMANDS + TERMINAL_COMMANDS) for c in commands)
    return progressed and not waits


def continued_workflow_id(source_id: str) -> str:
    """Id of the next run of a continue-as-new chain: ``x`` -> ``x-continued-1`` -> ``x-continued-2``.

    A counter instead of the original's unix-seconds suffix: two continues within one second
    can no longer collide, and the chain reads in order.
    """
    match = _CONTINUED_SUFFIX.match(source_id)
    if match:
        return f"{match['base']}-continued-{int(match['n']) + 1}"
    return f"{source_id}-continued-1"


def merge_search_attributes(current: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """Shallow merge: patch keys overwrite, other keys are kept."""
    merged = dict(current or {})
    merged.update(patch)
    return merged


def status_after_claim(status: WorkflowStatus) -> WorkflowStatus:
    return WorkflowStatus.RUNNING if status == WorkflowStatus.PENDING else status


def parse_status_filter(value: str | None) -> WorkflowStatus | None:
    """Validate a ``status`` list filter; an unknown value is an error, not silently ignored."""
    if value is None or value == "":
        return None
    try:
        return WorkflowStatus(value.upper())
    except ValueError:
        from assay.errors import InvalidInput

        allowed = ", ".join(s.value for s in WorkflowStatus)
        raise InvalidInput(f"unknown status {value!r}; expected one of {allowed}") from None
