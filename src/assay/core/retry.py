"""Activity retry arithmetic. Pure."""

from __future__ import annotations

from dataclasses import dataclass

# A retry never waits longer than this, whatever the coefficient says: an exponential policy
# with no cap would otherwise park an activity for days after a few dozen attempts.
MAX_RETRY_INTERVAL_SECS = 3600.0


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    delay_secs: float = 0.0


def retry_delay(attempt: int, initial_interval_secs: float, backoff_coefficient: float) -> float:
    """Delay before attempt ``attempt + 1`` after attempt ``attempt`` (1-based) failed.

    ``initial_interval × coefficient^(attempt-1)``, capped at MAX_RETRY_INTERVAL_SECS.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    initial = max(0.0, initial_interval_secs)
    coefficient = max(1.0, backoff_coefficient)
    try:
        delay = initial * coefficient ** (attempt - 1)
    except OverflowError:
        return MAX_RETRY_INTERVAL_SECS
    return min(delay, MAX_RETRY_INTERVAL_SECS)


def decide_retry(
    attempt: int,
    max_attempts: int,
    initial_interval_secs: float,
    backoff_coefficient: float,
    *,
    non_retryable: bool = False,
) -> RetryDecision:
    """Whether a failed attempt is retried, and after how long. ``max_attempts <= 1`` never retries."""
    if non_retryable or attempt >= max_attempts:
        return RetryDecision(retry=False)
    return RetryDecision(retry=True, delay_secs=retry_delay(attempt, initial_interval_secs, backoff_coefficient))
