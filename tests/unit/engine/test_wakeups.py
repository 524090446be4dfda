"""WakeUps: baton passing, hand-off reservations and their races (pure asyncio)."""

from __future__ import annotations

import asyncio

from assay.engine.wakeups import WakeUps

KEY = ("wf", "main", "q")


class Queue:
    """A claim function over an in-memory list of work items."""

    def __init__(self) -> None:
        self.items: list[str] = []

    async def attempt(self) -> str | None:
        return self.items.pop(0) if self.items else None


async def parked(wakeups: WakeUps, queue: Queue, wait: float = 5.0, info: object = ("w1", True)):
    task = asyncio.ensure_future(wakeups.poll(KEY, queue.attempt, wait, info=info))
    for _ in range(5):
        await asyncio.sleep(0)
    return task


async def test_notify_wakes_one_poll_which_claims():
    wakeups, queue = WakeUps(), Queue()
    first, second = await parked(wakeups, queue), await parked(wakeups, queue)
    queue.items.append("job")
    wakeups.notify_one(KEY)
    assert await asyncio.wait_for(first, 1) == "job"
    assert not second.done()
    second.cancel()


async def test_reserved_poll_gets_the_delivered_result_without_claiming():
    wakeups, queue = WakeUps(), Queue()
    poll = await parked(wakeups, queue)
    reservation = wakeups.reserve(KEY)
    assert reservation is not None and reservation.info == ("w1", True)
    assert wakeups.reserve(KEY) is None  # one reservation per parked poll
    assert reservation.deliver("handed")
    assert await asyncio.wait_for(poll, 1) == "handed"


async def test_polls_without_info_or_not_yet_parked_are_not_reserved():
    wakeups, queue = WakeUps(), Queue()
    plain = await parked(wakeups, queue, info=None)
    assert wakeups.reserve(KEY) is None
    plain.cancel()


async def test_reserved_poll_outlives_its_timeout_until_the_outcome():
    wakeups, queue = WakeUps(), Queue()
    poll = await parked(wakeups, queue, wait=0.05)
    reservation = wakeups.reserve(KEY)
    await asyncio.sleep(0.15)  # past its deadline: it must still wait for the writer
    assert not poll.done()
    reservation.deliver("late but delivered")
    assert await asyncio.wait_for(poll, 1) == "late but delivered"


async def test_released_reservation_claims_as_if_woken():
    wakeups, queue = WakeUps(), Queue()
    poll = await parked(wakeups, queue)
    reservation = wakeups.reserve(KEY)
    queue.items.append("from the queue")
    wakeups.notify_one(KEY)  # the writer's commit announces what it did not hand off
    reservation.release()
    assert await asyncio.wait_for(poll, 1) == "from the queue"


async def test_delivery_to_a_cancelled_poll_reports_failure():
    wakeups, queue = WakeUps(), Queue()
    poll = await parked(wakeups, queue)
    reservation = wakeups.reserve(KEY)
    poll.cancel()
    await asyncio.sleep(0)
    assert reservation.deliver("nobody") is False  # the caller gives the lease back


async def test_timeout_answers_none_and_close_releases_everyone():
    wakeups, queue = WakeUps(), Queue()
    assert await wakeups.poll(KEY, queue.attempt, 0.05, info=("w", False)) is None
    poll = await parked(wakeups, queue)
    wakeups.close()
    assert await asyncio.wait_for(poll, 1) is None
    assert wakeups.reserve(KEY) is None


async def test_known_empty_queue_skips_claims_until_something_is_announced():
    wakeups = WakeUps()
    calls: list[int] = []

    async def attempt() -> str | None:
        calls.append(1)
        return None

    assert await wakeups.poll(KEY, attempt, 0) is None
    assert await wakeups.poll(KEY, attempt, 0) is None  # known empty: no second claim
    assert len(calls) == 1 and wakeups.known_empty(KEY)
    wakeups.notify_one(KEY)  # new work announced
    assert not wakeups.known_empty(KEY)
    assert await wakeups.poll(KEY, attempt, 0) is None
    assert len(calls) == 2


async def test_announcement_during_an_empty_claim_keeps_the_queue_open():
    wakeups = WakeUps()

    async def attempt() -> str | None:
        wakeups.notify_one(KEY)  # work committed while this claim's query ran
        return None

    assert await wakeups.poll(KEY, attempt, 0) is None
    assert not wakeups.known_empty(KEY)


async def test_empty_mark_expires(monkeypatch):
    import assay.engine.wakeups as module

    wakeups = WakeUps()

    async def attempt() -> None:
        return None

    await wakeups.poll(KEY, attempt, 0)
    assert wakeups.known_empty(KEY)
    monkeypatch.setattr(module, "EMPTY_TRUST_SECS", 0.0)
    await asyncio.sleep(0.01)
    assert not wakeups.known_empty(KEY)  # a lost notification delays work by at most that


async def test_wake_everyone_after_lost_announcements():
    wakeups, queue = WakeUps(), Queue()
    assert await wakeups.poll(KEY, queue.attempt, 0) is None  # marks the queue known-empty
    first, second = await parked(wakeups, queue), await parked(wakeups, queue)
    queue.items.append("missed")  # committed elsewhere; its notification never arrived
    wakeups.wake_everyone()
    assert not wakeups.known_empty(KEY)
    done, pending = await asyncio.wait({first, second}, timeout=1, return_when=asyncio.FIRST_COMPLETED)
    assert [t.result() for t in done] == ["missed"]
    # The other one looked too, found nothing and parked again.
    assert len(pending) == 1 and not next(iter(pending)).done()
    next(iter(pending)).cancel()


async def test_notify_all_with_a_value_answers_every_waiter_without_an_attempt():
    wakeups, calls = WakeUps(), []
    key = ("result", "wf-1")

    async def attempt():
        calls.append(1)
        return None

    waiters = [asyncio.ensure_future(wakeups.poll(key, attempt, 5.0, baton=False)) for _ in range(2)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(calls) == 2  # each looked once before parking
    wakeups.notify_all(key, {"status": "COMPLETED"})
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [{"status": "COMPLETED"}] * 2
    assert len(calls) == 2  # the value came with the wake-up: nobody looked again
    assert wakeups.waiting == 0


async def test_notify_all_without_a_value_makes_waiters_look_again():
    wakeups, found = WakeUps(), []
    key = ("result", "wf-2")

    async def attempt():
        return found[0] if found else None

    waiter = asyncio.ensure_future(wakeups.poll(key, attempt, 5.0, baton=False))
    for _ in range(5):
        await asyncio.sleep(0)
    found.append("done")
    wakeups.notify_all(key)  # say, another instance finished it (PostgreSQL NOTIFY)
    assert await asyncio.wait_for(waiter, 1) == "done"


async def test_a_hand_off_keeps_the_queue_known_empty_but_passes_the_baton():
    # A start hands its task to a parked poll: the only work it created is taken, so the
    # queue stays known-empty and the baton it passes on does not cost a claim.
    class Counted(Queue):
        calls = 0

        async def attempt(self) -> str | None:
            self.calls += 1
            return await super().attempt()

    wakeups, queue = WakeUps(), Counted()
    first = await parked(wakeups, queue)
    second = await parked(wakeups, queue)
    assert wakeups.known_empty(KEY) and queue.calls == 1  # the second skipped its claim
    reservation = wakeups.reserve(KEY)
    assert reservation is not None and reservation.deliver("task-1")
    assert await asyncio.wait_for(first, 1) == "task-1"
    for _ in range(5):
        await asyncio.sleep(0)
    assert wakeups.known_empty(KEY) and queue.calls == 1
    assert not second.done() and wakeups.waiting == 1  # woken by the baton, parked again
    wakeups.notify_one(KEY)  # real new work is still announced and looked for
    queue.items.append("task-2")
    assert await asyncio.wait_for(second, 1) == "task-2" and queue.calls == 2


async def test_reserve_per_key_takes_one_parked_poll_of_each_queue_of_that_kind():
    wakeups = WakeUps()
    other_key, activity_key = ("wf", "main", "other"), ("act", "main", "q")
    polls = [
        await parked(wakeups, Queue()),  # KEY, first
        await parked(wakeups, Queue()),  # KEY, second: stays parked
        asyncio.ensure_future(wakeups.poll(other_key, Queue().attempt, 5.0, info=("w2", False))),
        asyncio.ensure_future(wakeups.poll(activity_key, Queue().attempt, 5.0, info=("w3", False))),
    ]
    for _ in range(5):
        await asyncio.sleep(0)
    reserved = wakeups.reserve_per_key("wf")
    assert set(reserved) == {KEY, other_key}
    assert reserved[KEY].info == ("w1", True) and reserved[other_key].info == ("w2", False)
    assert reserved[KEY].deliver("timer task")
    reserved[other_key].release()  # nothing for it: it claims as if woken, finds nothing, parks again
    assert await asyncio.wait_for(polls[0], 1) == "timer task"
    for _ in range(5):
        await asyncio.sleep(0)
    assert not polls[1].done() and not polls[2].done() and not polls[3].done()
    assert wakeups.reserve(KEY) is not None  # the second poll of KEY was never reserved
    for poll in polls[1:]:
        poll.cancel()


class CountingQueue(Queue):
    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def attempt(self) -> str | None:
        self.attempts += 1
        return await super().attempt()


async def test_a_reservation_given_back_unused_waits_on_without_a_claim_attempt():
    wakeups, queue = WakeUps(), CountingQueue()
    poll = await parked(wakeups, queue)
    before = queue.attempts
    wakeups.give_back(KEY, wakeups.reserve(KEY))
    for _ in range(5):
        await asyncio.sleep(0)
    assert queue.attempts == before and not poll.done()
    queue.items.append("later")  # it is parked again: an announcement reaches it
    wakeups.notify_one(KEY)
    assert await asyncio.wait_for(poll, 1) == "later"


async def test_a_reservation_given_back_after_an_announcement_looks_for_the_work():
    wakeups, queue = WakeUps(), CountingQueue()
    poll = await parked(wakeups, queue)
    reservation = wakeups.reserve(KEY)
    queue.items.append("job")
    wakeups.notify_one(KEY)  # announced while reserved: the poll was not there to be woken
    wakeups.give_back(KEY, reservation)
    assert await asyncio.wait_for(poll, 1) == "job"


async def test_a_poll_given_back_after_its_deadline_ends_with_nothing():
    wakeups, queue = WakeUps(), CountingQueue()
    poll = await parked(wakeups, queue, wait=0.05)
    reservation = wakeups.reserve(KEY)
    await asyncio.sleep(0.1)
    wakeups.give_back(KEY, reservation)
    assert await asyncio.wait_for(poll, 1) is None
