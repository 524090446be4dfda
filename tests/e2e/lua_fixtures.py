"""Fixtures for the Lua workflow e2e tests: a real engine and real `assay run` Lua workers.

* :class:`Engine` is an ``EngineProcess`` (``tests/e2e/engine_process.py``) kept on one port,
  so it can be restarted on the same port and database; ``Engine.api`` is an httpx client
  bound to ``/api/v1``.
* :class:`Worker` runs ``python -m assay run <script>`` with ``ENGINE_URL``/``QUEUE`` and any
  extra variables in its environment, logging to a file; ``wait_log`` waits for a line,
  ``stop`` sends SIGTERM and returns the exit code, ``kill`` is SIGKILL.
* Worker scripts live in ``tests/e2e/lua_workers/``.

Test modules import these names and build module-scoped fixtures with ``engine_fixture``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.engine_process import EngineProcess, clean_env, free_port

WORKERS = Path(__file__).parent / "lua_workers"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}

_clean_env = clean_env  # the name the Lua workflow tests import


class Engine:
    """An ``EngineProcess`` on a port fixed for its life (workers keep the URL across restarts),
    with ``api`` (an httpx client on ``/api/v1``) and REST helpers."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self.server = EngineProcess(workdir, env, args=args, port=free_port())
        self.workdir, self.env, self.args = workdir, env or {}, args
        self.port, self.url, self.db = self.server.port, self.server.url, self.server.db_path
        self.api = httpx.Client(base_url=f"{self.url}/api/v1", timeout=70.0)

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.server.process

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def log(self) -> str:
        return self.server.log(all_starts=True)

    # --- REST helpers -------------------------------------------------------------------

    def start_workflow(self, wf_type: str, wf_id: str, input: Any = None, queue: str = "default", **extra: Any) -> dict:
        resp = self.api.post("/workflows", json={"workflow_type": wf_type, "workflow_id": wf_id,
                                                 "input": input, "task_queue": queue, **extra})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def wait_result(self, wf_id: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            body = self.api.get(f"/workflows/{wf_id}/result", params={"wait_secs": max(0, min(left, 30))}).json()
            if body["status"] in TERMINAL or time.monotonic() >= deadline:
                return body

    def describe(self, wf_id: str) -> dict:
        return self.api.get(f"/workflows/{wf_id}").json()

    def events(self, wf_id: str) -> list[dict]:
        return self.api.get(f"/workflows/{wf_id}/events").json()

    def signal(self, wf_id: str, name: str, payload: Any = None) -> None:
        body = {} if payload is None else {"payload": payload}
        assert self.api.post(f"/workflows/{wf_id}/signal/{name}", json=body).status_code == 200

    def wait_event(self, wf_id: str, event_type: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events(wf_id):
                if e["event_type"] == event_type:
                    return e
            time.sleep(0.05)
        raise AssertionError(f"no {event_type} on {wf_id} within {timeout}s: {self.events(wf_id)}")


class Worker:
    def __init__(self, engine: Engine, script: Path, queue: str, workdir: Path, **env: str) -> None:
        self.engine, self.script, self.queue = engine, script, queue
        self.log_path = workdir / f"worker-{uuid.uuid4().hex[:6]}.log"
        variables = {"ENGINE_URL": engine.url, "QUEUE": queue, **env}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "assay", "run", str(script)], cwd=workdir,
                stdout=log, stderr=subprocess.STDOUT, env=clean_env(variables),
            )
        self.wait_log("workflow worker listening")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited ({self.process.returncode}):\n{self.log()}")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in worker log within {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def engine_fixture(env: dict[str, str] | None = None) -> Callable[..., Iterator[Engine]]:
    """A module-scoped engine fixture (own database), e.g. ``engine = engine_fixture()``."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
        eng = Engine(tmp_path_factory.mktemp("lua-engine"), env)
        eng.start()
        try:
            yield eng
        finally:
            eng.stop()
            eng.api.close()

    return fixture


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """``workers(engine, "script.lua", queue, **env)`` starts a worker; all are stopped at the end."""
    started: list[Worker] = []

    def make(engine: Engine, script: str, queue: str, **env: str) -> Worker:
        path = WORKERS / script if not Path(script).is_absolute() else Path(script)
        w = Worker(engine, path, queue, tmp_path, **env)
        started.append(w)
        return w

    yield make
    for w in started:
        try:
            w.stop(timeout=10)
        except subprocess.TimeoutExpired:
            w.kill()


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
