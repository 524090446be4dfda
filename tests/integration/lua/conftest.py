"""Fixtures for Lua builtins that touch the real disk, processes and network."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assay.lua.runtime import Runtime, RuntimeOptions


@pytest.fixture
def rt(tmp_path: Any) -> Runtime:
    return Runtime(RuntimeOptions(modules_path=tmp_path / "no-global-modules"))


@pytest.fixture
def lua(rt: Runtime) -> Callable[[str], Any]:
    def run(code: str) -> Any:
        results = rt.run(code, "@test.lua")
        return results[0] if results else None

    return run


class _Handler(BaseHTTPRequestHandler):
    """Echo server: reports what it received; /slow waits 1 s; /status/N answers N."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        if self.path.startswith("/slow"):
            time.sleep(1)
        if self.path.startswith("/binary"):
            payload, ctype = bytes(range(256)), "application/octet-stream"
        else:
            payload = json.dumps({
                "method": self.command,
                "path": self.path,
                "body": body,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }).encode()
            ctype = "application/json"
        status = int(self.path.split("/")[2]) if self.path.startswith("/status/") else 200
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("X-Echo", "yes")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
