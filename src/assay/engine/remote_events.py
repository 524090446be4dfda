"""Relaying other engine instances' history events to this instance's SSE subscribers.

With several engines on one PostgreSQL database, a dashboard (or any ``/events/stream``
client) is connected to one of them, while the events it wants may be committed by another.
Each committing instance announces ``["events", workflow_id, first_seq, last_seq]`` (and
``["running", workflow_id, namespace]``) on the notification channel; this relay reads those
ranges back and publishes them to the local hub, in the order they were announced. It reads
only while someone is subscribed, and batches the ranges that arrive while a read runs;
frames announced after a range (a claim's ``workflow_running``) wait for it, so subscribers
see the committed order.

The ``status`` of a relayed event is the workflow's status when the relay read it (a local
event carries the status as of its own commit); everything else is the same frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from assay.engine.stream import EventHub, StreamMessage, event_message, running_message

log = logging.getLogger("assay.engine")


class RemoteEventRelay:
    def __init__(self, store: Any, hub: EventHub) -> None:
        self._store = store
        self._hub = hub
        # In announcement order: an event range to read, or a frame ready to publish. A frame
        # announced after a range waits for it, so the stream keeps the committed order.
        self._pending: list[tuple[str, int, int] | StreamMessage] = []
        self._task: asyncio.Task[None] | None = None

    def events(self, workflow_id: str, first_seq: int, last_seq: int) -> None:
        """Another instance committed events ``first_seq..last_seq`` of ``workflow_id``."""
        self._add((workflow_id, first_seq, last_seq))

    def running(self, workflow_id: str, namespace: str) -> None:
        """Another instance's worker claimed a run for the first time."""
        self._add(running_message(workflow_id, namespace))

    def _add(self, item: tuple[str, int, int] | StreamMessage) -> None:
        if self._hub.subscriber_count == 0:
            return  # nobody is watching: nothing to read
        self._pending.append(item)
        if self._task is None:
            self._task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                ranges = [item for item in batch if isinstance(item, tuple)]
                try:
                    found = iter(await self._store.events_in_ranges(ranges) if ranges else [])
                except Exception as exc:  # noqa: BLE001 - a failed read must not stop later relays
                    log.warning("could not relay %d event range(s) from other instances: %s", len(ranges), exc)
                    found = iter([[] for _ in ranges])
                for item in batch:
                    if isinstance(item, StreamMessage):
                        self._hub.publish(item)
                        continue
                    for event, namespace, status in next(found):
                        self._hub.publish(event_message(event, namespace, status))
        finally:
            self._task = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
