"""The relay of other instances' events to this instance's SSE subscribers (no I/O: the
store is an in-memory stand-in answering ``events_in_ranges``)."""

from __future__ import annotations

import asyncio

from assay.core.model import Event
from assay.engine.remote_events import RemoteEventRelay
from assay.engine.stream import EventHub


class RangesStore:
    def __init__(self, events: dict[str, list[Event]], status: str = "RUNNING") -> None:
        self.events = events
        self.status = status
        self.reads: list[list[tuple[str, int, int]]] = []

    async def events_in_ranges(self, ranges):
        self.reads.append(list(ranges))
        await asyncio.sleep(0)  # a real read yields to the loop
        return [[(e, "main", self.status) for e in self.events.get(wid, []) if first <= e.seq <= last]
                for wid, first, last in ranges]


def history(wid: str, *types: str) -> list[Event]:
    return [Event(workflow_id=wid, seq=i, event_type=t, payload={"i": i}, timestamp=1.0) for i, t in enumerate(types, 1)]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_nothing_is_read_while_nobody_is_subscribed():
    store = RangesStore({"w": history("w", "WorkflowStarted")})
    relay = RemoteEventRelay(store, EventHub())
    relay.events("w", 1, 1)
    await settle()
    assert store.reads == []


async def test_frames_keep_the_announced_order_and_ranges_are_read_in_one_batch():
    store = RangesStore({
        "a": history("a", "WorkflowStarted", "ActivityScheduled"),
        "b": history("b", "WorkflowStarted"),
    })
    hub = EventHub()
    sub = hub.subscribe("main")
    relay = RemoteEventRelay(store, hub)
    relay.events("a", 1, 1)
    relay.running("a", "main")  # announced after the start: must not overtake it
    relay.events("b", 1, 1)
    relay.events("a", 2, 2)
    await settle()
    got = []
    while not sub.queue.empty():
        message = sub.queue.get_nowait()
        got.append((message.name, message.data["workflow_id"], message.data["seq"]))
    assert got == [
        ("workflow_started", "a", 1), ("workflow_running", "a", None),
        ("workflow_started", "b", 1), ("activity_scheduled", "a", 2),
    ]
    assert store.reads == [[("a", 1, 1), ("b", 1, 1), ("a", 2, 2)]]


async def test_a_failed_read_skips_its_ranges_and_later_ones_still_arrive():
    class Flaky(RangesStore):
        async def events_in_ranges(self, ranges):
            if not self.reads:
                self.reads.append(list(ranges))
                raise RuntimeError("connection reset")
            return await super().events_in_ranges(ranges)

    store = Flaky({"a": history("a", "WorkflowStarted", "WorkflowCompleted")})
    hub = EventHub()
    sub = hub.subscribe(None)
    relay = RemoteEventRelay(store, hub)
    relay.events("a", 1, 1)
    await settle()
    relay.events("a", 2, 2)
    await settle()
    names = []
    while not sub.queue.empty():
        names.append(sub.queue.get_nowait().name)
    assert names == ["workflow_completed"]
