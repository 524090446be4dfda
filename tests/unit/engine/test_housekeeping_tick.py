"""The housekeeping tick's order of work (stand-in engine and store: no I/O)."""

from __future__ import annotations

from types import SimpleNamespace

from assay.engine.loops import Housekeeper
from assay.store.base import HousekeepingDue


class Recorder:
    def __init__(self, now: float, due: HousekeepingDue) -> None:
        self.now, self.due, self.calls = now, due, []
        self.store = SimpleNamespace(housekeeping_due=self.housekeeping_due, due_retry_queues=self.due_retry_queues)
        self.settings = SimpleNamespace(cancel_grace_secs=30.0)
        self.wakeups = SimpleNamespace(notify_one=lambda key: None)
        self.on_housekeeping_armed = None

    def clock(self) -> float:
        return self.now

    async def housekeeping_due(self, now):
        self.calls.append("read due")
        return self.due

    async def due_retry_queues(self, since, now):
        return []

    async def fire_due_timers(self, now):
        self.calls.append("fire timers")

    def publish(self, changes):
        pass


def nothing_due(timer_at: float | None = None) -> HousekeepingDue:
    return HousekeepingDue(timer_at, None, None, None, None)


async def test_a_planned_wake_fires_timers_before_reading_what_is_due():
    engine = Recorder(100.0, nothing_due())
    loop = Housekeeper(engine)  # type: ignore[arg-type]
    loop.arm(100.0)  # a timer due now was armed (by the commit that scheduled it)
    await loop.tick()
    assert engine.calls == ["fire timers", "read due"]


async def test_an_early_wake_reads_first_and_fires_only_what_is_due():
    engine = Recorder(100.0, nothing_due(timer_at=102.0))
    loop = Housekeeper(engine)  # type: ignore[arg-type]
    loop.arm(102.0)  # woken to re-plan for a later instant: nothing to fire yet
    sleep_for = await loop.tick()
    assert engine.calls == ["read due"] and sleep_for == 2.0
    engine.now = 102.0
    loop._next_wake = None  # say the plan was lost: the read still finds the due timer
    await loop.tick()
    assert engine.calls[-2:] == ["read due", "fire timers"]
