"""End-to-end fixtures: a real ``assay serve`` subprocess and a way to run the real CLI.

``engine`` (session scope) starts ``python -m assay serve`` on a free loopback port with a
fresh SQLite file, waits for ``GET /api/v1/health`` and stops it with SIGTERM. Tests that
share it keep apart by using unique ids, queues and namespaces.

``assay_cli`` runs the ``assay`` command as a subprocess against that engine, with HOME
and XDG_CONFIG_HOME pointed at an empty directory so no developer config leaks in.

``scripted_worker`` plays a worker over the REST worker protocol, so tests can drive runs
to any state without a Lua runtime.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from assay.client.http import EngineClient

STARTUP_TIMEOUT_SECS = 30.0


# --- the engine process -------------------------------------------------------------------


@dataclass
class EngineProcess:
    """A running ``assay serve``; ``url`` is the server root (no API prefix)."""

    url: str
    port: int
    db_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def client(self, **kwargs: Any) -> EngineClient:
        return EngineClient(self.url, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_engine(
    workdir: Path, *extra_args: str, env: dict[str, str] | None = None
) -> EngineProcess:
    """Start ``assay serve`` in ``workdir`` and wait until it answers health checks."""
    port = free_port()
    db_path = workdir / "engine.db"
    log_path = workdir / "engine.log"
    args = [
        sys.executable, "-m", "assay", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--backend", f"sqlite:///{db_path}",
        *extra_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    engine = EngineProcess(f"http://127.0.0.1:{port}", port, db_path, log_path, process)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"assay serve exited with {process.returncode}:\n{engine.log()}")
        try:
            if httpx.get(f"{engine.url}/api/v1/health", timeout=1.0).status_code == 200:
                return engine
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_engine(engine)
    raise RuntimeError(f"assay serve did not become healthy in time:\n{engine.log()}")


def stop_engine(engine: EngineProcess) -> None:
    if engine.process.poll() is None:
        engine.process.send_signal(signal.SIGTERM)
        try:
            engine.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            engine.process.kill()
            engine.process.wait(timeout=5)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    running = start_engine(tmp_path_factory.mktemp("engine"))
    try:
        yield running
    finally:
        stop_engine(running)


# --- running the CLI ------------------------------------------------------------------------


@dataclass
class CliResult:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def jsonl(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return (
            f"CliResult(args={self.args!r}, code={self.code},\n"
            f"stdout={self.stdout!r},\nstderr={self.stderr!r})"
        )


def assay_executable() -> list[str]:
    return [sys.executable, "-m", "assay"]


def run_assay(
    args: list[str],
    *,
    env: dict[str, str],
    input: str | None = None,
    timeout: float = 60.0,
    cwd: Path | None = None,
) -> CliResult:
    completed = subprocess.run(
        [*assay_executable(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=cwd,
    )
    return CliResult(args, completed.returncode, completed.stdout, completed.stderr)


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """The process environment minus every ASSAY_* setting, with an empty HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "NO_COLOR": "1"})
    env.update(extra)
    return env


@dataclass
class AssayCli:
    """Calls ``assay`` as a subprocess; ``env`` entries override the defaults per call.

    With an ``engine_url`` every call gets ``ASSAY_ENGINE_URL``; ``env()`` gives the bare
    isolated environment for tests that must pass the URL (or nothing) themselves.
    """

    engine_url: str | None
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        return isolated_env(self.home, **extra)

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 60.0, cwd: Path | None = None,
    ) -> CliResult:
        base = self.env(**({"ASSAY_ENGINE_URL": self.engine_url} if self.engine_url else {}))
        base.update(env or {})
        return run_assay(list(args), env=base, input=input, timeout=timeout, cwd=cwd)

    def bare(
        self, args: list[str], *, env: dict[str, str], input: str | None = None,
        timeout: float = 60.0,
    ) -> CliResult:
        """Run with exactly ``env`` (nothing added)."""
        return run_assay(args, env=env, input=input, timeout=timeout)


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return home


@pytest.fixture
def assay_cli(engine: EngineProcess, tmp_path: Path) -> AssayCli:
    return AssayCli(engine.url, _home(tmp_path))


@pytest.fixture
def assay_cli_offline(tmp_path: Path) -> AssayCli:
    """The CLI with no engine at all (completion scripts, usage errors)."""
    return AssayCli(None, _home(tmp_path))


# --- a worker played by the test ------------------------------------------------------------


@dataclass
class ScriptedWorker:
    """Registers on its own queue and answers workflow tasks with the commands it is given."""

    client: EngineClient
    queue: str
    namespace: str = "main"
    worker_id: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        answer = self.client.register_worker(
            f"e2e-{self.queue}", self.queue, namespace=self.namespace,
            workflows=["e2e"], activities=[],
        )
        self.worker_id = str(answer["worker_id"])

    def step(
        self,
        commands: list[dict[str, Any]] | Callable[[dict[str, Any]], list[dict[str, Any]]],
        *,
        workflow_id: str | None = None,
        wait_secs: float = 10,
    ) -> dict[str, Any]:
        """Claim the next workflow task (of ``workflow_id`` if given) and submit commands."""
        deadline = time.monotonic() + wait_secs
        while time.monotonic() < deadline:
            task = self.client.poll_workflow_task(
                self.queue, self.worker_id, namespace=self.namespace, wait_secs=2
            )
            if task is None:
                continue
            if workflow_id is not None and task["workflow_id"] != workflow_id:
                raise AssertionError(f"unexpected task for {task['workflow_id']}")
            self.seen.append(task)
            batch = commands(task) if callable(commands) else commands
            self.client.submit_commands(
                task["workflow_id"], self.worker_id, task["lease_token"], batch
            )
            return task
        raise AssertionError(f"no workflow task on {self.queue} within {wait_secs}s")


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names so tests sharing one engine never see each other's runs."""
    token = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}-{token}"


@pytest.fixture
def scripted_worker(
    engine: EngineProcess, unique: Callable[[str], str]
) -> Iterator[Callable[..., ScriptedWorker]]:
    clients: list[EngineClient] = []

    def make(queue: str | None = None, namespace: str = "main") -> ScriptedWorker:
        client = engine.client()
        clients.append(client)
        return ScriptedWorker(client, queue or unique("q"), namespace)

    yield make
    for client in clients:
        client.close()
