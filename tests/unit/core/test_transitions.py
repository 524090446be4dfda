"""The engine's pure decisions (assay.core.transitions)."""

from __future__ import annotations

import pytest

from assay.core.commands import (
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
)
from assay.core.model import WorkflowStatus
from assay.core.transitions import (
    batch_needs_redispatch,
    continued_workflow_id,
    merge_search_attributes,
    parse_status_filter,
    status_after_claim,
)
from assay.errors import InvalidInput

SIDE = RecordSideEffect(seq=1, name="n", value=1)
UPSERT = UpsertSearchAttributes(patch={"a": 1})
SNAP = RecordSnapshot(state={})


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        ([SIDE], True),
        ([UPSERT], True),
        ([SIDE, UPSERT, SNAP], True),
        ([], False),  # no progress: the worker waits for an event
        ([SNAP], False),  # a snapshot alone is not progress
        ([SIDE, ScheduleActivity(seq=2, name="a")], False),
        ([UPSERT, ScheduleTimer(seq=2, duration_secs=1)], False),
        ([SIDE, WaitForSignal(name="s")], False),
        ([SIDE, StartChildWorkflow(workflow_type="t", workflow_id="c")], False),
        ([SIDE, CompleteWorkflow()], False),
        ([UPSERT, FailWorkflow()], False),
        ([SIDE, CancelWorkflow()], False),
        ([SIDE, ContinueAsNew()], False),
    ],
)
def test_batch_needs_redispatch(batch: list, expected: bool) -> None:
    assert batch_needs_redispatch(batch) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("order", "order-continued-1"),
        ("order-continued-1", "order-continued-2"),
        ("order-continued-9", "order-continued-10"),
        ("a-continued-x", "a-continued-x-continued-1"),
        ("-continued-3", "-continued-4"),
    ],
)
def test_continued_workflow_id_counts_up(source: str, expected: str) -> None:
    assert continued_workflow_id(source) == expected


def test_merge_search_attributes_is_shallow_and_pure() -> None:
    current = {"a": 1, "nested": {"x": 1, "y": 2}}
    merged = merge_search_attributes(current, {"b": 2, "nested": {"x": 3}})
    assert merged == {"a": 1, "b": 2, "nested": {"x": 3}}
    assert current == {"a": 1, "nested": {"x": 1, "y": 2}}  # input untouched
    assert merge_search_attributes(None, {"a": None}) == {"a": None}
    assert merge_search_attributes({"a": 1}, {}) == {"a": 1}


def test_status_after_claim() -> None:
    assert status_after_claim(WorkflowStatus.PENDING) == WorkflowStatus.RUNNING
    assert status_after_claim(WorkflowStatus.RUNNING) == WorkflowStatus.RUNNING
    assert status_after_claim(WorkflowStatus.COMPLETED) == WorkflowStatus.COMPLETED


@pytest.mark.parametrize("value", [None, ""])
def test_empty_status_filter_means_all(value: str | None) -> None:
    assert parse_status_filter(value) is None


@pytest.mark.parametrize("value", ["RUNNING", "running", "Timed_Out"])
def test_status_filter_is_case_insensitive(value: str) -> None:
    assert parse_status_filter(value) == WorkflowStatus(value.upper())


def test_unknown_status_filter_is_an_error_naming_the_choices() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_status_filter("SLEEPING")
    assert "SLEEPING" in raised.value.message and "TIMED_OUT" in raised.value.message


def test_terminal_statuses() -> None:
    terminal = {s for s in WorkflowStatus if s.is_terminal}
    assert terminal == {WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.CANCELLED, WorkflowStatus.TIMED_OUT}
