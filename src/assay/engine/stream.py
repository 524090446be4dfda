"""In-process fan-out of engine events to SSE subscribers, filtered by namespace."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from assay.core.events import stream_name
from assay.core.model import Event

SUBSCRIBER_BUFFER = 2048


@dataclass(frozen=True, slots=True)
class StreamMessage:
    name: str  # SSE event name, e.g. "workflow_started"
    namespace: str
    data: dict[str, Any]


def event_message(event: Event, namespace: str, status: str | None) -> StreamMessage:
    """The SSE frame of one history event (``status``: the workflow's, as of that event)."""
    return StreamMessage(stream_name(event.event_type), namespace, {
        "event_type": event.event_type, "workflow_id": event.workflow_id, "namespace": namespace,
        "seq": event.seq, "status": status, "payload": event.payload, "timestamp": event.timestamp,
    })


def running_message(workflow_id: str, namespace: str) -> StreamMessage:
    """The SSE frame sent when a worker first claims a run (it has no history event)."""
    return StreamMessage("workflow_running", namespace, {
        "event_type": "WorkflowRunning", "workflow_id": workflow_id, "namespace": namespace,
        "seq": None, "status": "RUNNING", "payload": None,
    })


class _Subscriber:
    __slots__ = ("namespace", "queue", "overflowed")

    def __init__(self, namespace: str | None) -> None:
        self.namespace = namespace
        self.queue: asyncio.Queue[StreamMessage | None] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self.overflowed = False


class EventHub:
    """Publish never blocks: a subscriber that falls too far behind is told and dropped,
    instead of silently missing events (it reconnects and re-reads the state)."""

    def __init__(self) -> None:
        self._subscribers: set[_Subscriber] = set()

    def subscribe(self, namespace: str | None) -> _Subscriber:
        subscriber = _Subscriber(namespace)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: _Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def publish(self, message: StreamMessage) -> None:
        for sub in tuple(self._subscribers):
            if sub.namespace is not None and sub.namespace != message.namespace:
                continue
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                sub.overflowed = True
                self._subscribers.discard(sub)
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)

    def close(self) -> None:
        for sub in tuple(self._subscribers):
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass
        self._subscribers.clear()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
