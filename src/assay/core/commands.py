"""Worker commands (imperative): what a workflow task may ask the engine to do. Pure.

``parse_command`` turns one JSON object into a typed command or raises ``InvalidInput``
with a message naming the offending field, so a broken worker gets a 422 that says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from assay.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class ScheduleActivity:
    seq: int
    name: str
    input: Any = None
    task_queue: str | None = None
    max_attempts: int = 3
    initial_interval_secs: float = 1.0
    backoff_coefficient: float = 2.0
    start_to_close_secs: float = 300.0
    heartbeat_timeout_secs: float | None = None


@dataclass(frozen=True, slots=True)
class ScheduleTimer:
    seq: int
    duration_secs: float


@dataclass(frozen=True, slots=True)
class WaitForSignal:
    name: str
    timer_seq: int | None = None


@dataclass(frozen=True, slots=True)
class RecordSideEffect:
    seq: int
    name: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class StartChildWorkflow:
    workflow_type: str
    workflow_id: str
    input: Any = None
    task_queue: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertSearchAttributes:
    patch: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordSnapshot:
    state: Any


@dataclass(frozen=True, slots=True)
class ContinueAsNew:
    input: Any = None


@dataclass(frozen=True, slots=True)
class CompleteWorkflow:
    result: Any = None


@dataclass(frozen=True, slots=True)
class FailWorkflow:
    error: str = "workflow handler raised an error"


@dataclass(frozen=True, slots=True)
class CancelWorkflow:
    reason: str | None = None


Command = Union[
    ScheduleActivity,
    ScheduleTimer,
    WaitForSignal,
    RecordSideEffect,
    StartChildWorkflow,
    UpsertSearchAttributes,
    RecordSnapshot,
    ContinueAsNew,
    CompleteWorkflow,
    FailWorkflow,
    CancelWorkflow,
]

# Commands after which the workflow waits for something outside itself.
BLOCKING_COMMANDS = (ScheduleActivity, ScheduleTimer, WaitForSignal, StartChildWorkflow)
# Commands that end the run.
TERMINAL_COMMANDS = (CompleteWorkflow, FailWorkflow, CancelWorkflow, ContinueAsNew)


def _field(obj: dict[str, Any], name: str, kind: type | tuple[type, ...], ctype: str, *, required: bool = True, default: Any = None) -> Any:
    if name not in obj or obj[name] is None:
        if required:
            raise InvalidInput(f"{ctype}: missing field '{name}'", code="validation_error")
        return default
    value = obj[name]
    # bool is an int in Python; a worker sending true for a seq is a bug worth reporting.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise InvalidInput(f"{ctype}: field '{name}' has the wrong type", code="validation_error")
    if not isinstance(value, kind):
        raise InvalidInput(f"{ctype}: field '{name}' has the wrong type", code="validation_error")
    return value


def _number(obj: dict[str, Any], name: str, ctype: str, default: float | None) -> float | None:
    value = _field(obj, name, (int, float), ctype, required=False, default=default)
    if value is None:
        return None
    if value < 0:
        raise InvalidInput(f"{ctype}: field '{name}' must not be negative", code="validation_error")
    return float(value)


def _seq(obj: dict[str, Any], ctype: str, name: str = "seq") -> int:
    seq = _field(obj, name, int, ctype)
    if seq < 0:
        raise InvalidInput(f"{ctype}: field '{name}' must not be negative", code="validation_error")
    return seq


def parse_command(obj: Any) -> Command:
    if not isinstance(obj, dict):
        raise InvalidInput("each command must be a JSON object", code="validation_error")
    ctype = obj.get("type")
    if ctype == "ScheduleActivity":
        attempts = _field(obj, "max_attempts", int, ctype, required=False, default=3)
        return ScheduleActivity(
            seq=_seq(obj, ctype),
            name=_field(obj, "name", str, ctype),
            input=obj.get("input"),
            task_queue=_field(obj, "task_queue", str, ctype, required=False) or None,
            max_attempts=max(1, attempts),
            initial_interval_secs=_number(obj, "initial_interval_secs", ctype, 1.0) or 0.0,
            backoff_coefficient=_number(obj, "backoff_coefficient", ctype, 2.0) or 1.0,
            start_to_close_secs=_number(obj, "start_to_close_secs", ctype, 300.0) or 300.0,
            heartbeat_timeout_secs=_number(obj, "heartbeat_timeout_secs", ctype, None) or None,
        )
    if ctype == "ScheduleTimer":
        return ScheduleTimer(seq=_seq(obj, ctype), duration_secs=_number(obj, "duration_secs", ctype, 0.0) or 0.0)
    if ctype == "WaitForSignal":
        timer_seq = obj.get("timer_seq")
        return WaitForSignal(
            name=_field(obj, "name", str, ctype),
            timer_seq=_seq(obj, ctype, "timer_seq") if timer_seq is not None else None,
        )
    if ctype == "RecordSideEffect":
        return RecordSideEffect(seq=_seq(obj, ctype), name=_field(obj, "name", str, ctype, required=False, default=""), value=obj.get("value"))
    if ctype == "StartChildWorkflow":
        child_id = _field(obj, "workflow_id", str, ctype)
        if not child_id.strip():
            raise InvalidInput("StartChildWorkflow: 'workflow_id' must not be empty", code="validation_error")
        return StartChildWorkflow(
            workflow_type=_field(obj, "workflow_type", str, ctype),
            workflow_id=child_id,
            input=obj.get("input"),
            task_queue=_field(obj, "task_queue", str, ctype, required=False) or None,
        )
    if ctype == "UpsertSearchAttributes":
        patch = obj.get("patch")
        if patch is None or patch == []:
            patch = {}
        if not isinstance(patch, dict):
            raise InvalidInput("UpsertSearchAttributes: 'patch' must be an object", code="validation_error")
        return UpsertSearchAttributes(patch=patch)
    if ctype == "RecordSnapshot":
        return RecordSnapshot(state=obj.get("state"))
    if ctype == "ContinueAsNew":
        return ContinueAsNew(input=obj.get("input"))
    if ctype == "CompleteWorkflow":
        return CompleteWorkflow(result=obj.get("result"))
    if ctype == "FailWorkflow":
        error = obj.get("error")
        return FailWorkflow(error=str(error) if error is not None else FailWorkflow.error)
    if ctype == "CancelWorkflow":
        reason = obj.get("reason")
        return CancelWorkflow(reason=str(reason) if reason is not None else None)
    raise InvalidInput(f"unknown command type: {ctype!r}", code="validation_error")


def parse_batch(items: Any) -> list[Command]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidInput("'commands' must be an array", code="validation_error")
    commands = [parse_command(item) for item in items]
    terminal_at = [i for i, c in enumerate(commands) if isinstance(c, TERMINAL_COMMANDS)]
    if len(terminal_at) > 1 or (terminal_at and terminal_at[0] != len(commands) - 1):
        raise InvalidInput(
            "a workflow-ending command (CompleteWorkflow, FailWorkflow, CancelWorkflow, ContinueAsNew) "
            "must be the last command of its batch, and only one is allowed",
            code="validation_error",
        )
    return commands
