"""One real ``assay serve`` subprocess for the end-to-end tests; every e2e module starts engines here.

``EngineProcess`` runs ``python -m assay serve`` on a free loopback port with a SQLite file of
its own (or any ``backend`` URL, e.g. a PostgreSQL database), waits for ``GET /api/v1/health``,
and then can be stopped (``stop``: SIGTERM, SIGKILL if it hangs; for teardown), terminated
(``terminate``: SIGTERM and the exit code must be 0), crashed (``kill9``) and restarted on the
same database. Each start logs to a file of its own (``log()`` reads the current one).

The environment is the test process's minus every ``ASSAY_*`` variable, plus ``env``: an
engine under test has exactly the settings its test states.

``engine_fixture`` builds a module-scoped fixture for test modules that share one engine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import httpx
import pytest

STARTUP_TIMEOUT_SECS = 30.0
STOP_TIMEOUT_SECS = 15.0
API = "/api/v1"
ALT_API = "/api/v1/engine/workflow"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without ``ASSAY_*`` settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env.update(extra or {})
    return env


class EngineProcess:
    """One ``assay serve`` subprocess; ``url`` is the server root (no API prefix).

    ``keep_port``: restarts reuse the first port (clients holding the URL follow the engine);
    otherwise every start takes a fresh one. ``token`` (an API key or JWT) is sent by ``client``.
    """

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str] | None = None,
        *,
        args: Sequence[str] = (),
        db_path: Path | None = None,
        backend: str | None = None,
        name: str = "engine",
        port: int | None = None,
        keep_port: bool = False,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.db_path = db_path or workdir / f"{name}.db"
        self.backend = backend or f"sqlite:///{self.db_path}"
        self.env = clean_env(env)
        self.args = tuple(args)
        self.name = name
        self.port = port or 0
        self.keep_port = keep_port or port is not None
        self.token: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return self.url + API

    @property
    def log_path(self) -> Path:
        return self._log_path(self._starts)

    def _log_path(self, start: int) -> Path:
        return self.workdir / f"{self.name}-{start}.log"

    def log(self, *, all_starts: bool = False) -> str:
        """The current start's output (``all_starts``: every start's, oldest first)."""
        paths = [self._log_path(n) for n in range(1, self._starts + 1)] if all_starts else [self.log_path]
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it to be healthy."""
        self._starts += 1
        if not (self.keep_port and self.port):
            self.port = free_port()
        args = [
            sys.executable, "-m", "assay", "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--backend", self.backend, *self.args,
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                args, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        return self.process

    def start(self) -> Self:
        """Spawn and wait for ``/health``; raises ``RuntimeError`` with the log if it never answers."""
        process = self.spawn()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"assay serve exited with {process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.api}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill9()
        raise RuntimeError(f"assay serve did not become healthy in time:\n{self.log()}")

    def kill9(self) -> None:
        """A crash: SIGKILL, no shutdown code runs."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, *, timeout: float = STOP_TIMEOUT_SECS) -> int:
        """SIGTERM and wait; a clean shutdown exits 0 (asserted, with the log)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        assert code == 0, f"assay serve exited with {code} on SIGTERM:\n{self.log()}"
        return code

    def restart(self) -> Self:
        """Start again on the same database (after kill9 or terminate)."""
        if self.running:
            self.terminate()
        return self.start()

    def stop(self) -> None:
        """Teardown: SIGTERM, falling back to SIGKILL; never asserts."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def client(self, prefix: str = API, **kwargs: Any) -> httpx.Client:
        """An httpx client on ``url + prefix``, sending ``token`` when one is set."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(base_url=self.url + prefix, timeout=kwargs.pop("timeout", 30.0), headers=headers, **kwargs)


@contextmanager
def running_engine(workdir: Path, env: dict[str, str] | None = None, **options: Any) -> Iterator[EngineProcess]:
    """A started engine, stopped on exit; ``options`` go to ``EngineProcess``."""
    engine = EngineProcess(workdir, env, **options).start()
    try:
        yield engine
    finally:
        engine.stop()


def engine_fixture(
    env: dict[str, str] | None = None, *, name: str = "engine", **options: Any
) -> Callable[..., Iterator[EngineProcess]]:
    """A module-scoped fixture with an engine (own database) of its own: ``eng = engine_fixture()``."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
        with running_engine(tmp_path_factory.mktemp(name), env, **options) as engine:
            yield engine

    return fixture
