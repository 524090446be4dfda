"""End-to-end fixtures: a real ``assay serve`` subprocess and a way to run the real CLI.

``engine`` (session scope) starts ``python -m assay serve`` on a free loopback port with a
fresh SQLite file, waits for ``GET /api/v1/health`` and stops it with SIGTERM. Tests that
share it keep apart by using unique ids, queues and namespaces.

``assay_cli`` runs the ``assay`` command as a subprocess against that engine, with HOME
and XDG_CONFIG_HOME pointed at an empty directory so no developer config leaks in.

``scripted_worker`` plays a worker over the REST worker protocol, so tests can drive runs
to any state without a Lua runtime.

``worker`` is a ``ProtocolWorker`` on the engine of a protocol test module, which declares
that engine as ``eng = engine_fixture(...)`` (``tests/e2e/engine_process.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.engine_process import EngineProcess, running_engine
from tests.e2e.protocol_worker import ProtocolWorker
from tests.e2e.protocol_worker import unique as unique_name

# --- the engine process -------------------------------------------------------------------


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    with running_engine(tmp_path_factory.mktemp("engine")) as running:
        yield running


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


class ScriptedWorker(ProtocolWorker):
    """Registers on its own queue and answers workflow tasks with the commands it is given."""

    def __init__(self, engine: EngineProcess, queue: str, namespace: str = "main") -> None:
        super().__init__(engine, queue, namespace, identity=f"e2e-{queue}", workflows=["e2e"], activities=[])
        self.seen: list[dict[str, Any]] = []

    def step(  # type: ignore[override]  # the CLI tests' keyword-only spelling
        self,
        commands: list[dict[str, Any]] | Callable[[dict[str, Any]], list[dict[str, Any]]],
        *,
        workflow_id: str | None = None,
        wait_secs: float = 10,
    ) -> dict[str, Any]:
        """Claim the next workflow task (of ``workflow_id`` if given) and submit commands."""
        task = super().step(commands, workflow_id, timeout=wait_secs)
        self.seen.append(task)
        return task


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names so tests sharing one engine never see each other's runs."""
    token = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}-{token}"


@pytest.fixture
def scripted_worker(
    engine: EngineProcess, unique: Callable[[str], str]
) -> Iterator[Callable[..., ScriptedWorker]]:
    workers: list[ScriptedWorker] = []

    def make(queue: str | None = None, namespace: str = "main") -> ScriptedWorker:
        workers.append(ScriptedWorker(engine, queue or unique("q"), namespace))
        return workers[-1]

    yield make
    for worker in workers:
        worker.close()


# --- per-module engines of the protocol tests (``eng = engine_fixture(...)`` in the module) -----


@pytest.fixture
def worker(eng: EngineProcess) -> Iterator[ProtocolWorker]:
    """A registered protocol worker on a queue of its own, on the module's ``eng``."""
    w = ProtocolWorker(eng, unique_name("q"))
    yield w
    w.close()
