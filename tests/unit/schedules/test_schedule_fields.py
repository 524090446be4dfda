"""Pure helpers of the schedule store: field validation and run ids (no database)."""

from __future__ import annotations

import pytest

from assay.errors import InvalidInput
from assay.store.sql_schedules import scheduled_run_id, validate_schedule_fields


def test_run_ids_are_unique_across_namespaces() -> None:
    assert scheduled_run_id("main", "nightly", 1_800_000_000.0) == "nightly-1800000000"
    assert scheduled_run_id("billing", "nightly", 1_800_000_000.0) == "billing:nightly-1800000000"
    # "a-b"/"c" and "a"/"b-c" would collide with a '-' separator; ':' is in neither name.
    assert scheduled_run_id("a-b", "c", 1) != scheduled_run_id("a", "b-c", 1)


def test_fields_are_normalised() -> None:
    out = validate_schedule_fields({"cron_expr": " 0 0 2 * * * ", "timezone": "utc", "overlap_policy": "Cancel_Old"})
    assert out == {"cron_expr": "0 0 2 * * *", "timezone": "UTC", "overlap_policy": "cancel_other"}
    assert validate_schedule_fields({"timezone": None})["timezone"] == "UTC"
    assert validate_schedule_fields({"overlap_policy": None})["overlap_policy"] == "skip"


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"cron_expr": "*/5 * * * *"}, "0 */5 * * * *"),
        ({"cron_expr": ""}, "cron_expr"),
        ({"cron_expr": "0 0 2 * * * * *"}, "field"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"overlap_policy": "sometimes"}, "overlap_policy"),
        ({"task_queue": " "}, "task_queue"),
    ],
)
def test_bad_fields_are_refused(fields: dict, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle.replace("*", r"\*")):
        validate_schedule_fields(fields)
