"""What a schedule does when it is due: overlap policy and catch-up after downtime. Pure.

The scheduler loop asks two questions each time a schedule is due, and both answers live here
so they can be tested without a store or a clock:

1. Which fire time (if any) runs now, and what is the new ``next_run_at``?
   (:func:`plan_catch_up`; :func:`next_run_on_resume` for resume and cron/timezone edits.)
2. The previous run may still be active: start, skip, buffer, or stop it first?
   (:func:`decide_overlap`.)

Fire times come from a ``next_fire`` function (``after -> first fire strictly after, or
None``), normally ``functools.partial(assay.core.cron.next_fire_after, expr, tz)``, so this
module does not depend on the cron format.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from assay.errors import InvalidInput

__all__ = [
    "DEFAULT_CATCH_UP_WINDOW_SECS",
    "CatchUpPlan",
    "NextFire",
    "OverlapDecision",
    "OverlapPolicy",
    "decide_overlap",
    "next_run_on_resume",
    "parse_overlap_policy",
    "plan_catch_up",
    "should_start_buffered",
]

# A due fire older than this is dropped rather than run late. It must exceed the scheduler's
# tick interval, or ordinary tick latency would drop fires.
DEFAULT_CATCH_UP_WINDOW_SECS = 60.0

NextFire = Callable[[float], float | None]
"""``after -> first fire instant strictly after it (UTC epoch seconds), or None if none``."""


class OverlapPolicy(str, enum.Enum):
    """What to do when a schedule fires while its previous run is still active.

    Meanings follow Temporal's ``ScheduleOverlapPolicy``; values are the database text.
    """

    SKIP = "skip"
    """Do not start; the fire is dropped. The default."""
    ALLOW_ALL = "allow_all"
    """Start anyway; runs may overlap."""
    BUFFER_ONE = "buffer_one"
    """Keep one fire and start it when the active run closes; further fires are dropped."""
    CANCEL_OTHER = "cancel_other"
    """Request cancellation of the active run, then start the new one once it has closed."""
    TERMINATE_OTHER = "terminate_other"
    """Terminate the active run, then start the new one."""


DEFAULT_OVERLAP_POLICY = OverlapPolicy.SKIP

# Values the original engine stored (spec 6.4). They keep their intended meaning on read.
_LEGACY_ALIASES = {"queue": OverlapPolicy.BUFFER_ONE, "cancel_old": OverlapPolicy.CANCEL_OTHER}


class OverlapDecision(str, enum.Enum):
    START = "start"
    SKIP = "skip"
    BUFFER = "buffer"
    CANCEL_PREVIOUS_THEN_START = "cancel_previous_then_start"
    TERMINATE_PREVIOUS_THEN_START = "terminate_previous_then_start"


def parse_overlap_policy(value: str | OverlapPolicy | None) -> OverlapPolicy:
    """The policy named by ``value`` (None = default ``skip``); :class:`InvalidInput` otherwise.

    Case and surrounding space are ignored; the original engine's ``queue`` and
    ``cancel_old`` are read as ``buffer_one`` and ``cancel_other``.
    """
    if value is None:
        return DEFAULT_OVERLAP_POLICY
    if isinstance(value, OverlapPolicy):
        return value
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _LEGACY_ALIASES:
            return _LEGACY_ALIASES[key]
        try:
            return OverlapPolicy(key)
        except ValueError:
            pass
    allowed = ", ".join(p.value for p in OverlapPolicy)
    raise InvalidInput(f"invalid overlap_policy {value!r}: expected one of {allowed}")


def decide_overlap(
    policy: OverlapPolicy | str, previous_active: bool, buffered_exists: bool = False
) -> OverlapDecision:
    """What to do with a fire, given whether the previous run is still active.

    With no active previous run every policy starts. ``buffered_exists`` matters only for
    ``buffer_one``: a second fire while one is already buffered is skipped. The caller starts
    a buffered fire as soon as the previous run closes (:func:`should_start_buffered`),
    before deciding on any new fire.
    """
    policy = parse_overlap_policy(policy)
    if not previous_active:
        return OverlapDecision.START
    if policy is OverlapPolicy.ALLOW_ALL:
        return OverlapDecision.START
    if policy is OverlapPolicy.BUFFER_ONE:
        return OverlapDecision.SKIP if buffered_exists else OverlapDecision.BUFFER
    if policy is OverlapPolicy.CANCEL_OTHER:
        return OverlapDecision.CANCEL_PREVIOUS_THEN_START
    if policy is OverlapPolicy.TERMINATE_OTHER:
        return OverlapDecision.TERMINATE_PREVIOUS_THEN_START
    return OverlapDecision.SKIP


def should_start_buffered(previous_active: bool, buffered_exists: bool) -> bool:
    """A buffered fire starts once the run it waited for is no longer active."""
    return buffered_exists and not previous_active


@dataclass(frozen=True, slots=True)
class CatchUpPlan:
    """The outcome of a due check.

    ``fire_at``: the scheduled instant to run now, or None. ``next_run_at``: the next fire
    strictly after ``now`` (None if the expression never fires again). ``collapsed``: due
    fires inside the window that were folded into ``fire_at`` and will not run. ``expired``:
    due fires older than the window were dropped (not counted: they are never enumerated).
    """

    fire_at: float | None
    next_run_at: float | None
    collapsed: int = 0
    expired: bool = False


def plan_catch_up(
    next_run_at: float | None,
    now: float,
    next_fire: NextFire,
    window_secs: float = DEFAULT_CATCH_UP_WINDOW_SECS,
) -> CatchUpPlan:
    """Decide which due fire runs at ``now`` and where ``next_run_at`` moves.

    Due fires are ``next_run_at`` and the fires after it up to ``now`` (inclusive). Of those,
    only fires less than ``window_secs`` old (``f > now - window_secs``) may run, and only one:
    the most recent. Older ones are dropped, never backfilled. Not yet due (``next_run_at >
    now``): nothing runs and ``next_run_at`` is kept. ``next_run_at`` None (never computed):
    nothing runs and it is computed from ``now`` - a new schedule waits for its first fire.

    Cost: one ``next_fire`` call per fire inside the window, plus one.
    """
    if not window_secs > 0:  # a zero window would drop every fire: ticks are never exact
        raise InvalidInput(f"catch-up window must be > 0 seconds, got {window_secs!r}")
    if next_run_at is None:
        return CatchUpPlan(fire_at=None, next_run_at=next_fire(now))
    if next_run_at > now:
        return CatchUpPlan(fire_at=None, next_run_at=next_run_at)

    horizon = now - window_secs
    expired = next_run_at <= horizon
    # Start from next_run_at itself when it is inside the window, else from the window's edge.
    candidate: float | None = next_fire(horizon) if expired else next_run_at
    latest: float | None = None
    collapsed = 0
    while candidate is not None and candidate <= now:
        if latest is not None:
            collapsed += 1
        latest = candidate
        candidate = next_fire(candidate)
    # The loop stops at the first fire after `now` (or None): exactly the new next_run_at.
    return CatchUpPlan(fire_at=latest, next_run_at=candidate, collapsed=collapsed, expired=expired)


def next_run_on_resume(now: float, next_fire: NextFire) -> float | None:
    """``next_run_at`` after resume (or a cron/timezone edit): from ``now``, with no catch-up.

    Fires missed while paused are not run; the schedule waits for its next fire.
    """
    return next_fire(now)
