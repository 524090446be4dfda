"""Activity retry arithmetic (assay.core.retry): pure, no I/O."""

from __future__ import annotations

import pytest

from assay.core.retry import MAX_RETRY_INTERVAL_SECS, RetryDecision, decide_retry, retry_delay


@pytest.mark.parametrize(
    ("attempt", "initial", "coefficient", "expected"),
    [
        (1, 1.0, 2.0, 1.0),
        (2, 1.0, 2.0, 2.0),
        (3, 1.0, 2.0, 4.0),
        (4, 0.5, 3.0, 13.5),
        (5, 2.0, 1.0, 2.0),  # coefficient 1: constant interval
        (3, 0.0, 2.0, 0.0),  # no wait at all
    ],
)
def test_delay_is_initial_times_coefficient_to_the_previous_attempts(
    attempt: int, initial: float, coefficient: float, expected: float
) -> None:
    assert retry_delay(attempt, initial, coefficient) == pytest.approx(expected)


def test_delay_is_capped() -> None:
    assert retry_delay(30, 1.0, 2.0) == MAX_RETRY_INTERVAL_SECS
    assert retry_delay(10_000, 1.0, 10.0) == MAX_RETRY_INTERVAL_SECS  # would overflow a float
    assert retry_delay(1, 10 * MAX_RETRY_INTERVAL_SECS, 2.0) == MAX_RETRY_INTERVAL_SECS


def test_nonsense_inputs_are_clamped() -> None:
    assert retry_delay(2, -5.0, 2.0) == 0.0  # negative interval: no wait
    assert retry_delay(3, 1.0, 0.5) == 1.0  # shrinking backoff is treated as constant


def test_attempt_is_one_based() -> None:
    with pytest.raises(ValueError):
        retry_delay(0, 1.0, 2.0)


def test_retries_until_max_attempts() -> None:
    assert decide_retry(1, 3, 1.0, 2.0) == RetryDecision(retry=True, delay_secs=1.0)
    assert decide_retry(2, 3, 1.0, 2.0) == RetryDecision(retry=True, delay_secs=2.0)
    assert decide_retry(3, 3, 1.0, 2.0) == RetryDecision(retry=False)
    assert decide_retry(4, 3, 1.0, 2.0).retry is False  # beyond (a racing report): still final


@pytest.mark.parametrize("max_attempts", [0, 1])
def test_max_attempts_of_one_or_less_never_retries(max_attempts: int) -> None:
    assert decide_retry(1, max_attempts, 1.0, 2.0).retry is False


def test_non_retryable_is_final_at_once() -> None:
    decision = decide_retry(1, 10, 1.0, 2.0, non_retryable=True)
    assert decision == RetryDecision(retry=False, delay_secs=0.0)
