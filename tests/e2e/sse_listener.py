"""A background reader of an engine's ``/events/stream`` for e2e tests."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

import httpx


class SseListener:
    """Collects ``(event name, data)`` frames in a thread until ``close()``.

    A short read timeout ends the stream soon after the last frame (keep-alives come every
    15 s), so an engine's shutdown does not wait on an open connection.
    """

    def __init__(self, url: str, params: dict[str, str] | None = None) -> None:
        self.frames: list[tuple[str, dict[str, Any]]] = []
        self.content_type = ""
        self._connected, self._stop = threading.Event(), threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=1.5))
        self._thread = threading.Thread(target=self._listen, args=(url, params), daemon=True)

    def __enter__(self) -> SseListener:
        self._thread.start()
        assert self._connected.wait(5), "the event stream did not connect"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._client.close()

    def wait_for(self, matches: Callable[[str, dict[str, Any]], bool], timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(matches(name, data) for name, data in list(self.frames)):
                return True
            time.sleep(0.05)
        return False

    def _listen(self, url: str, params: dict[str, str] | None) -> None:
        try:
            with self._client.stream("GET", url, params=params) as response:
                self.content_type = response.headers.get("content-type", "")
                name = None
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self._connected.set()
                    elif line.startswith("event: "):
                        name = line[len("event: "):]
                    elif line.startswith("data: ") and name:
                        self.frames.append((name, json.loads(line[len("data: "):])))
                    if self._stop.is_set():
                        return
        except (httpx.HTTPError, RuntimeError):
            return  # closed from the test thread
