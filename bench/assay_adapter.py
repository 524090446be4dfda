"""Adapter for the peers benchmark harness (../shared/peers): this project's engine.

`assay serve` runs as its own process (SQLite file in the run's temp dir); workflows and
activities run in a separate worker process: the minimal Python HTTP worker in
``assay_bench_worker.py`` (config ``assay-sqlite``) or Lua scripts run by ``assay run``
(config ``assay-lua``, when ``bench/lua/bench_worker.lua`` exists). The harness is the
client: it starts each workflow and gets its result in one request,
``POST /workflows?wait_secs=60`` (the engine answers when the run has ended; should the wait
run out first, the long-poll ``GET /workflows/{id}/result?wait_secs=`` takes over).

Run beside the peers, from the project root:
    PEERS_EXTRA_ADAPTERS=bench python ../shared/peers/run_suite.py \
        --configs assay-sqlite,assay-lua,temporal,dbos-sqlite --repeats 2 --raw /tmp/peers-raw --report /tmp/peers.md
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

CONFIGS = {
    "assay-sqlite": {"backend": "sqlite", "worker": "python"},
    "assay-lua": {"backend": "sqlite", "worker": "lua"},
    "assay-postgres": {"backend": "postgres", "worker": "python"},
}

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


class Handle:
    """A started workflow: its id and the pending start-and-wait request. (A plain class:
    the harness loads this file without registering it as a module, which dataclasses need.)"""

    __slots__ = ("workflow_id", "outcome")

    def __init__(self, workflow_id: str, outcome: asyncio.Future) -> None:
        self.workflow_id = workflow_id
        self.outcome = outcome


class AssayAdapter:
    def __init__(self, config: str, opts: dict, workdir: Path) -> None:
        import procs  # the harness's process helpers (on sys.path when the harness runs)

        self.name = config
        self.opts = opts
        self.workdir = Path(workdir)
        self.procs = procs
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.pg: Any = None
        self.client: aiohttp.ClientSession | None = None
        self.queue = f"bench-{os.getpid()}"
        self._ids = itertools.count(1)
        self.url = ""

    async def start(self) -> None:
        p = self.procs
        port = p.free_port()
        if self.opts["backend"] == "postgres":
            self.pg = p.Postgres(self.workdir)  # it makes <workdir>/pg and opens <workdir> to the postgres user
            self.pg.start()
            backend = self.pg.url("postgres")
        else:
            backend = f"sqlite:///{self.workdir / 'assay.db'}"
        env = dict(os.environ)
        self.server = p.spawn(
            [PYTHON, "-m", "assay", "serve", "--host", "127.0.0.1", "--port", str(port), "--backend", backend,
             "--log-level", "warning"],
            "assay-serve", self.workdir / "assay-serve.log", env=env,
        )
        p.wait_port(port, 60, self.server)
        self.url = f"http://127.0.0.1:{port}"
        log = self.workdir / "assay-worker.log"
        if self.opts["worker"] == "lua":
            script = HERE / "lua" / "bench_worker.lua"
            cmd = [str(ROOT / ".venv" / "bin" / "assay"), "run", str(script)]
            env = dict(env, ASSAY_BENCH_URL=self.url, ASSAY_BENCH_QUEUE=self.queue)
        else:
            cmd = [PYTHON, str(HERE / "assay_bench_worker.py"), self.url, self.queue]
        self.worker = p.spawn(cmd, "assay-worker", log, env=env)
        deadline = time.monotonic() + 60
        while "READY" not in (log.read_text() if log.exists() else ""):
            if self.worker.poll() is not None:
                raise RuntimeError(f"worker died: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError("worker not ready")
            await asyncio.sleep(0.05)
        self.api = self.url + "/api/v1"
        self.client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120)
        )

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None
        self.procs.stop_proc(self.worker, signal.SIGTERM, grace=10)
        self.worker = None
        self.procs.stop_proc(self.server, signal.SIGTERM, grace=15)
        self.server = None
        if self.pg is not None:
            self.pg.stop()
            self.pg = None

    def server_pids(self) -> list[int]:
        return [self.server.pid] if self.server else []

    def worker_pids(self) -> list[int]:
        return [self.worker.pid] if self.worker else []

    async def start_workflow(self, kind: str, arg: Any) -> Any:
        """Start and wait in one request (``POST /workflows?wait_secs=``): the engine answers
        the 201 once the run has ended, which saves the client's separate result request.
        The start itself is durable when the request gets in; the handle is the task."""
        assert self.client is not None
        workflow_id = f"{kind}-{self.queue}-{next(self._ids)}"
        body = {"workflow_type": kind, "workflow_id": workflow_id, "input": arg, "task_queue": self.queue}
        return Handle(workflow_id, asyncio.ensure_future(self._start_and_wait(workflow_id, body)))

    async def _start_and_wait(self, workflow_id: str, body: dict) -> Any:
        assert self.client is not None
        for attempt in (1, 2):
            try:
                async with self.client.post(f"{self.api}/workflows", json=body, params={"wait_secs": "60"}) as response:
                    if response.status == 201:
                        outcome = await response.json()
                        break
                    # 409 on the retry: the first attempt got through (ids are ours and unique).
                    if attempt == 2 and response.status == 409:
                        return await self._wait_result(workflow_id)
                    raise RuntimeError(f"start failed: {response.status} {await response.text()}")
            except aiohttp.ServerDisconnectedError:
                if attempt == 2:
                    raise
        if outcome["status"] in ("PENDING", "RUNNING"):  # the wait ran out first
            return await self._wait_result(workflow_id)
        return self._settled(workflow_id, outcome)

    async def wait_result(self, handle: Any) -> Any:
        return await handle.outcome

    async def _wait_result(self, workflow_id: str) -> Any:
        assert self.client is not None
        while True:
            async with self.client.get(f"{self.api}/workflows/{workflow_id}/result", params={"wait_secs": "60"}) as response:
                if response.status != 200:
                    raise RuntimeError(f"result failed: {response.status} {await response.text()}")
                outcome = await response.json()
            if outcome["status"] not in ("PENDING", "RUNNING"):
                return self._settled(workflow_id, outcome)

    @staticmethod
    def _settled(workflow_id: str, outcome: dict) -> Any:
        if outcome["status"] == "COMPLETED":
            return outcome["result"]
        raise RuntimeError(f"workflow {workflow_id} {outcome['status']}: {outcome['error']}")

    def versions(self) -> dict[str, str]:
        out = subprocess.run([PYTHON, "-m", "assay", "--version"], capture_output=True, text=True).stdout.strip()
        return {"assay": out}

    def describe(self) -> str:
        worker = "Lua worker (`assay run`, require('assay.workflow'))" if self.opts["worker"] == "lua" else "minimal Python HTTP worker (sticky, long-poll)"
        backend = "SQLite file (WAL, synchronous=NORMAL, group commit)" if self.opts["backend"] == "sqlite" else "throwaway PostgreSQL"
        return f"assay serve on 127.0.0.1 with {backend}; separate worker process: {worker}; client = harness over REST, start and result in one request (POST /workflows?wait_secs=)."


def create(config: str, opts: dict, workdir: Path) -> AssayAdapter:
    return AssayAdapter(config, opts, workdir)
