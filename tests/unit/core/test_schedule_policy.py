"""Overlap decisions and catch-up planning (assay.core.schedule_policy). Pure, no I/O."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial

import pytest

from assay.core.cron import next_fire_after
from assay.core.schedule_policy import (
    DEFAULT_CATCH_UP_WINDOW_SECS,
    CatchUpPlan,
    OverlapDecision,
    OverlapPolicy,
    decide_overlap,
    next_run_on_resume,
    parse_overlap_policy,
    plan_catch_up,
    should_start_buffered,
)
from assay.errors import InvalidInput


def every(period: float, until: float | None = None):  # noqa: ANN201 - a NextFire
    """Fires at every multiple of ``period``; none after ``until``."""

    def next_fire(after: float) -> float | None:
        nxt = (after // period + 1) * period
        return None if until is not None and nxt > until else nxt

    return next_fire


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()  # type: ignore[misc]


# --- policy values ---------------------------------------------------------------------------


def test_policy_values_are_the_database_text() -> None:
    assert [p.value for p in OverlapPolicy] == ["skip", "allow_all", "buffer_one", "cancel_other", "terminate_other"]


@pytest.mark.parametrize("policy", list(OverlapPolicy))
def test_parse_each_policy(policy: OverlapPolicy) -> None:
    assert parse_overlap_policy(policy.value) is policy
    assert parse_overlap_policy(policy) is policy
    assert parse_overlap_policy(f" {policy.value.upper()} ") is policy


def test_default_policy_is_skip() -> None:
    assert parse_overlap_policy(None) is OverlapPolicy.SKIP


def test_original_engine_values_keep_their_meaning() -> None:
    assert parse_overlap_policy("queue") is OverlapPolicy.BUFFER_ONE
    assert parse_overlap_policy("cancel_old") is OverlapPolicy.CANCEL_OTHER


@pytest.mark.parametrize("bad", ["", "buffer_all", "cancel", "skip-it", 3])
def test_invalid_policy_lists_allowed_values(bad: object) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_overlap_policy(bad)  # type: ignore[arg-type]
    assert err.value.code == "invalid_input"
    assert f"invalid overlap_policy {bad!r}" in err.value.message
    assert "skip, allow_all, buffer_one, cancel_other, terminate_other" in err.value.message


# --- overlap decisions -------------------------------------------------------------------------

D = OverlapDecision


@pytest.mark.parametrize(
    ("policy", "buffered", "expected"),
    [
        (OverlapPolicy.SKIP, False, D.SKIP),
        (OverlapPolicy.SKIP, True, D.SKIP),
        (OverlapPolicy.ALLOW_ALL, False, D.START),
        (OverlapPolicy.ALLOW_ALL, True, D.START),
        (OverlapPolicy.BUFFER_ONE, False, D.BUFFER),
        (OverlapPolicy.BUFFER_ONE, True, D.SKIP),
        (OverlapPolicy.CANCEL_OTHER, False, D.CANCEL_PREVIOUS_THEN_START),
        (OverlapPolicy.CANCEL_OTHER, True, D.CANCEL_PREVIOUS_THEN_START),
        (OverlapPolicy.TERMINATE_OTHER, False, D.TERMINATE_PREVIOUS_THEN_START),
        (OverlapPolicy.TERMINATE_OTHER, True, D.TERMINATE_PREVIOUS_THEN_START),
    ],
)
def test_decision_while_previous_run_is_active(policy: OverlapPolicy, buffered: bool, expected: D) -> None:
    assert decide_overlap(policy, previous_active=True, buffered_exists=buffered) is expected


@pytest.mark.parametrize("policy", list(OverlapPolicy))
@pytest.mark.parametrize("buffered", [False, True])
def test_every_policy_starts_when_nothing_is_active(policy: OverlapPolicy, buffered: bool) -> None:
    assert decide_overlap(policy, previous_active=False, buffered_exists=buffered) is D.START


def test_decide_accepts_policy_text_and_validates_it() -> None:
    assert decide_overlap("buffer_one", True) is D.BUFFER
    assert decide_overlap("queue", True) is D.BUFFER
    with pytest.raises(InvalidInput):
        decide_overlap("nonsense", True)


def test_buffered_fire_starts_once_the_previous_run_closes() -> None:
    assert should_start_buffered(previous_active=False, buffered_exists=True)
    assert not should_start_buffered(previous_active=True, buffered_exists=True)
    assert not should_start_buffered(previous_active=False, buffered_exists=False)


# --- catch-up ------------------------------------------------------------------------------------


def test_default_window_is_longer_than_a_scheduler_tick() -> None:
    assert DEFAULT_CATCH_UP_WINDOW_SECS >= 30


def test_not_yet_due_changes_nothing() -> None:
    assert plan_catch_up(1_000.0, 990.0, every(100)) == CatchUpPlan(fire_at=None, next_run_at=1_000.0)


def test_never_computed_next_run_waits_for_the_first_fire() -> None:
    # A new schedule does not fire on the next tick regardless of its cron (spec 12 item 18).
    assert plan_catch_up(None, 1_050.0, every(100)) == CatchUpPlan(fire_at=None, next_run_at=1_100.0)


def test_on_time_fire() -> None:
    plan = plan_catch_up(1_000.0, 1_012.0, every(100))
    assert plan == CatchUpPlan(fire_at=1_000.0, next_run_at=1_100.0, collapsed=0, expired=False)


def test_due_exactly_now_fires() -> None:
    assert plan_catch_up(1_000.0, 1_000.0, every(100)).fire_at == 1_000.0


def test_several_missed_fires_in_the_window_collapse_into_the_most_recent() -> None:
    plan = plan_catch_up(1_000.0, 1_035.0, every(10))
    assert plan == CatchUpPlan(fire_at=1_030.0, next_run_at=1_040.0, collapsed=3, expired=False)


def test_downtime_longer_than_the_window_runs_only_the_latest_fire_inside_it() -> None:
    plan = plan_catch_up(1_000.0, 5_005.0, every(10), window_secs=60)
    assert plan == CatchUpPlan(fire_at=5_000.0, next_run_at=5_010.0, collapsed=5, expired=True)


def test_downtime_with_no_fire_inside_the_window_runs_nothing() -> None:
    plan = plan_catch_up(1_000.0, 1_000.0 + 3 * 3600, every(86_400), window_secs=60)
    assert plan == CatchUpPlan(fire_at=None, next_run_at=86_400.0, collapsed=0, expired=True)


def test_window_edge_is_exclusive() -> None:
    # A fire exactly window_secs old is dropped; one a second younger runs.
    assert plan_catch_up(1_000.0, 1_060.0, every(1_000), window_secs=60).fire_at is None
    assert plan_catch_up(1_000.0, 1_059.0, every(1_000), window_secs=60).fire_at == 1_000.0


def test_next_run_at_is_strictly_after_now() -> None:
    next_fire = every(30)
    for now in (1_000.0, 1_020.0, 1_030.0, 1_059.9, 9_999.0):
        plan = plan_catch_up(900.0, now, next_fire)
        assert plan.next_run_at is not None and plan.next_run_at > now
        assert plan.fire_at is None or now - 60 < plan.fire_at <= now


def test_exhausted_expression_leaves_no_next_run() -> None:
    plan = plan_catch_up(1_000.0, 1_010.0, every(100, until=1_000))
    assert plan == CatchUpPlan(fire_at=1_000.0, next_run_at=None)


@pytest.mark.parametrize("window", [0, -5])
def test_window_must_be_positive(window: float) -> None:
    with pytest.raises(InvalidInput, match="catch-up window"):
        plan_catch_up(1_000.0, 1_010.0, every(100), window_secs=window)


def test_catch_up_with_a_real_cron_in_berlin() -> None:
    next_fire = partial(next_fire_after, "0 0 2 * * *", "Europe/Berlin")
    due = utc(2024, 1, 10, 1)  # 02:00 CET
    # The engine was down for two days; the tick lands 20 s after the third 02:00.
    plan = plan_catch_up(due, utc(2024, 1, 12, 1, 0, 20), next_fire)
    assert plan == CatchUpPlan(fire_at=utc(2024, 1, 12, 1), next_run_at=utc(2024, 1, 13, 1), expired=True)
    # Back up at noon: nothing runs, the next fire is tomorrow 02:00.
    plan = plan_catch_up(due, utc(2024, 1, 12, 11), next_fire)
    assert plan == CatchUpPlan(fire_at=None, next_run_at=utc(2024, 1, 13, 1), expired=True)


# --- resume ------------------------------------------------------------------------------------


def test_resume_recomputes_from_now_without_catch_up() -> None:
    assert next_run_on_resume(1_234.0, every(100)) == 1_300.0
    assert next_run_on_resume(1_300.0, every(100)) == 1_400.0
    next_fire = partial(next_fire_after, "0 0 2 * * *", "UTC")
    assert next_run_on_resume(utc(2024, 1, 12, 3), next_fire) == utc(2024, 1, 13, 2)
