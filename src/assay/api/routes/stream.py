"""Server-sent events: one frame per history event, filtered by namespace."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from assay.api.routes.common import engine_of

router = APIRouter(tags=["events"])
KEEPALIVE_SECS = 15.0


@router.get(
    "/events/stream",
    summary="Live event stream (SSE)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`event: <name>` / `data: <json>` frames"}},
)
async def event_stream(request: Request, namespace: str | None = None) -> StreamingResponse:
    hub = engine_of(request).hub
    subscriber = hub.subscribe(namespace or None)

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(subscriber.queue.get(), KEEPALIVE_SECS)
                except asyncio.TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if message is None:
                    if subscriber.overflowed:
                        yield b"event: overflow\ndata: {\"error\": \"subscriber too slow; reconnect\"}\n\n"
                    return
                yield b"event: " + message.name.encode() + b"\ndata: " + orjson.dumps(message.data) + b"\n\n"
        finally:
            hub.unsubscribe(subscriber)

    return StreamingResponse(
        frames(), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
