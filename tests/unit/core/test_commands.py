"""Parsing worker commands (assay.core.commands): typed commands or a 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from assay.core.commands import (
    BLOCKING_COMMANDS,
    TERMINAL_COMMANDS,
    CancelWorkflow,
    CompleteWorkflow,
    ContinueAsNew,
    FailWorkflow,
    RecordSideEffect,
    RecordSnapshot,
    ScheduleActivity,
    ScheduleTimer,
    StartChildWorkflow,
    UpsertSearchAttributes,
    WaitForSignal,
    parse_batch,
    parse_command,
)
from assay.errors import InvalidInput


def invalid(obj: Any) -> str:
    with pytest.raises(InvalidInput) as raised:
        parse_command(obj)
    assert raised.value.code == "validation_error"
    return raised.value.message


def test_schedule_activity_defaults() -> None:
    assert parse_command({"type": "ScheduleActivity", "seq": 1, "name": "a"}) == ScheduleActivity(
        seq=1, name="a", input=None, task_queue=None, max_attempts=3, initial_interval_secs=1.0,
        backoff_coefficient=2.0, start_to_close_secs=300.0, heartbeat_timeout_secs=None,
    )


def test_schedule_activity_all_fields() -> None:
    cmd = parse_command({
        "type": "ScheduleActivity", "seq": 4, "name": "charge", "input": {"amount": 3}, "task_queue": "pay",
        "max_attempts": 5, "initial_interval_secs": 0.5, "backoff_coefficient": 3, "start_to_close_secs": 10,
        "heartbeat_timeout_secs": 2, "unknown_field": "ignored",
    })
    assert cmd == ScheduleActivity(
        seq=4, name="charge", input={"amount": 3}, task_queue="pay", max_attempts=5, initial_interval_secs=0.5,
        backoff_coefficient=3.0, start_to_close_secs=10.0, heartbeat_timeout_secs=2.0,
    )


def test_schedule_activity_edge_values() -> None:
    cmd = parse_command({"type": "ScheduleActivity", "seq": 0, "name": "a", "max_attempts": 0, "task_queue": "",
                         "initial_interval_secs": 0, "heartbeat_timeout_secs": None})
    assert cmd.max_attempts == 1 and cmd.task_queue is None and cmd.initial_interval_secs == 0.0
    assert cmd.heartbeat_timeout_secs is None


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ({"type": "ScheduleActivity", "name": "a"}, "seq"),
        ({"type": "ScheduleActivity", "seq": 1}, "name"),
        ({"type": "ScheduleActivity", "seq": "1", "name": "a"}, "seq"),
        ({"type": "ScheduleActivity", "seq": True, "name": "a"}, "seq"),
        ({"type": "ScheduleActivity", "seq": 1.5, "name": "a"}, "seq"),
        ({"type": "ScheduleActivity", "seq": -1, "name": "a"}, "seq"),
        ({"type": "ScheduleActivity", "seq": 1, "name": 5}, "name"),
        ({"type": "ScheduleActivity", "seq": 1, "name": "a", "max_attempts": "3"}, "max_attempts"),
        ({"type": "ScheduleActivity", "seq": 1, "name": "a", "start_to_close_secs": -1}, "start_to_close_secs"),
        ({"type": "ScheduleActivity", "seq": 1, "name": "a", "backoff_coefficient": False}, "backoff_coefficient"),
        ({"type": "ScheduleTimer", "seq": 1, "duration_secs": "5"}, "duration_secs"),
        ({"type": "ScheduleTimer", "seq": 1, "duration_secs": -0.1}, "duration_secs"),
        ({"type": "ScheduleTimer", "duration_secs": 1}, "seq"),
        ({"type": "WaitForSignal"}, "name"),
        ({"type": "WaitForSignal", "name": "s", "timer_seq": "1"}, "timer_seq"),
        ({"type": "RecordSideEffect", "name": "n"}, "seq"),
        ({"type": "StartChildWorkflow", "workflow_id": "c"}, "workflow_type"),
        ({"type": "StartChildWorkflow", "workflow_type": "t"}, "workflow_id"),
    ],
)
def test_bad_fields_are_named(obj: dict[str, Any], field: str) -> None:
    message = invalid(obj)
    assert field in message and obj["type"] in message


def test_timer_and_signal() -> None:
    assert parse_command({"type": "ScheduleTimer", "seq": 2, "duration_secs": 1}) == ScheduleTimer(seq=2, duration_secs=1.0)
    assert parse_command({"type": "ScheduleTimer", "seq": 2}) == ScheduleTimer(seq=2, duration_secs=0.0)
    assert parse_command({"type": "WaitForSignal", "name": "go"}) == WaitForSignal(name="go", timer_seq=None)
    assert parse_command({"type": "WaitForSignal", "name": "go", "timer_seq": 3}) == WaitForSignal(name="go", timer_seq=3)


def test_side_effect_value_may_be_null_or_absent() -> None:
    assert parse_command({"type": "RecordSideEffect", "seq": 1, "name": "n", "value": None}) == RecordSideEffect(1, "n", None)
    assert parse_command({"type": "RecordSideEffect", "seq": 1}) == RecordSideEffect(1, "", None)
    assert parse_command({"type": "RecordSideEffect", "seq": 1, "name": "n", "value": [1, {"a": 2}]}).value == [1, {"a": 2}]


def test_start_child() -> None:
    cmd = parse_command({"type": "StartChildWorkflow", "workflow_type": "t", "workflow_id": "c", "input": 1, "task_queue": "q"})
    assert cmd == StartChildWorkflow(workflow_type="t", workflow_id="c", input=1, task_queue="q")
    assert "empty" in invalid({"type": "StartChildWorkflow", "workflow_type": "t", "workflow_id": "   "})


@pytest.mark.parametrize("patch", [None, [], {}])
def test_upsert_with_an_empty_patch(patch: Any) -> None:
    assert parse_command({"type": "UpsertSearchAttributes", "patch": patch}) == UpsertSearchAttributes(patch={})


def test_upsert_needs_an_object() -> None:
    assert parse_command({"type": "UpsertSearchAttributes", "patch": {"a": 1}}) == UpsertSearchAttributes({"a": 1})
    assert "patch" in invalid({"type": "UpsertSearchAttributes", "patch": [1]})
    assert "patch" in invalid({"type": "UpsertSearchAttributes", "patch": "a=1"})


def test_run_ending_commands() -> None:
    assert parse_command({"type": "CompleteWorkflow", "result": {"r": 1}}) == CompleteWorkflow(result={"r": 1})
    assert parse_command({"type": "CompleteWorkflow"}) == CompleteWorkflow(result=None)
    assert parse_command({"type": "FailWorkflow", "error": "bad"}) == FailWorkflow(error="bad")
    assert parse_command({"type": "FailWorkflow"}).error  # a default message, never empty
    assert parse_command({"type": "FailWorkflow", "error": {"code": 3}}).error == "{'code': 3}"
    assert parse_command({"type": "CancelWorkflow"}) == CancelWorkflow(reason=None)
    assert parse_command({"type": "CancelWorkflow", "reason": "user"}) == CancelWorkflow(reason="user")
    assert parse_command({"type": "ContinueAsNew", "input": [1]}) == ContinueAsNew(input=[1])
    assert parse_command({"type": "RecordSnapshot", "state": {"q": 1}}) == RecordSnapshot(state={"q": 1})


@pytest.mark.parametrize("obj", [{"type": "LaunchRocket"}, {}, {"type": None}, {"type": "scheduleactivity"}])
def test_unknown_command_types(obj: dict[str, Any]) -> None:
    assert "unknown command type" in invalid(obj)


@pytest.mark.parametrize("obj", [None, "ScheduleActivity", 1, ["type"]])
def test_a_command_must_be_an_object(obj: Any) -> None:
    assert "object" in invalid(obj)


def test_batches() -> None:
    assert parse_batch(None) == []
    assert parse_batch([]) == []
    batch = parse_batch([{"type": "ScheduleTimer", "seq": 1, "duration_secs": 1}, {"type": "CompleteWorkflow"}])
    assert [type(c) for c in batch] == [ScheduleTimer, CompleteWorkflow]
    with pytest.raises(InvalidInput):
        parse_batch({"type": "CompleteWorkflow"})
    with pytest.raises(InvalidInput):
        parse_batch([{"type": "ScheduleTimer", "seq": 1}, {"type": "Nope"}])


@pytest.mark.parametrize(
    "batch",
    [
        [{"type": "CompleteWorkflow"}, {"type": "ScheduleTimer", "seq": 1}],
        [{"type": "CompleteWorkflow"}, {"type": "FailWorkflow"}],
        [{"type": "ContinueAsNew"}, {"type": "CancelWorkflow"}],
    ],
)
def test_a_run_ending_command_must_be_last_and_alone(batch: list[dict[str, Any]]) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_batch(batch)
    assert "last" in raised.value.message


def test_command_classes() -> None:
    assert set(BLOCKING_COMMANDS) == {ScheduleActivity, ScheduleTimer, WaitForSignal, StartChildWorkflow}
    assert set(TERMINAL_COMMANDS) == {CompleteWorkflow, FailWorkflow, CancelWorkflow, ContinueAsNew}
    assert not set(BLOCKING_COMMANDS) & set(TERMINAL_COMMANDS)
