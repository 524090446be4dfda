"""Chaos on PostgreSQL: three engines, one killed -9 every few seconds, under load.

Starts three ``assay serve`` processes on a fresh database, starts N workflows of one
activity each (the activity appends its workflow id to a file), and runs workers that
rotate between engines. Every ``--kill-every`` seconds one engine gets SIGKILL and is
restarted a second later on the same port. At the end it prints:

- completed / lost workflows (lost = not COMPLETED when the run ends),
- activity executions seen twice (at-least-once delivery: an attempt whose result could
  not be reported, e.g. the engine died mid-call, is retried),
- activity *results recorded* twice (two ``ActivityCompleted`` events for one workflow)
  and workflows completed twice: both must be 0.

Usage: ``.venv/bin/python bench/chaos_pg.py [--workflows 300] [--kill-every 4]``
(``ASSAY_TEST_PG_URL`` names the admin database, default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.one_activity_worker import WORKFLOW_TYPE, OneActivityWorker  # noqa: E402
from tests.pg import ADMIN_URL, create_database, database_url, drop_database  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Engine:
    def __init__(self, name: str, db_url: str, workdir: Path) -> None:
        self.name, self.db_url, self.port = name, db_url, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (workdir / f"{name}.log").open("ab")
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        env = {**os.environ, "ASSAY_WF_DISPATCH_TIMEOUT_SECS": "5"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assay", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--backend", self.db_url, "--log-level", "warning"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_all(engines: list[Engine], ids: list[str], queue: str) -> None:
    for i, workflow_id in enumerate(ids):
        for attempt in range(30):
            engine = engines[(i + attempt) % len(engines)]
            try:
                response = httpx.post(f"{engine.url}/api/v1/workflows", timeout=10, json={
                    "workflow_type": WORKFLOW_TYPE, "workflow_id": workflow_id, "task_queue": queue, "input": workflow_id,
                })
                if response.status_code in (201, 409):  # 409: an earlier attempt got through
                    break
            except httpx.HTTPError:
                time.sleep(0.1)


def chaos(engines: list[Engine], every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        victim = random.choice(engines)
        victim.kill()
        time.sleep(1.0)
        victim.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workflows", type=int, default=300)
    parser.add_argument("--kill-every", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args()

    db_name = create_database(ADMIN_URL)
    db_url = database_url(ADMIN_URL, db_name)
    workdir = Path(tempfile.mkdtemp(prefix="assay-chaos-"))
    record_file = workdir / "executions.txt"
    lock = threading.Lock()

    def record(workflow_id: str) -> None:
        with lock, record_file.open("a") as out:
            out.write(workflow_id + "\n")

    engines = [Engine(f"engine{i}", db_url, workdir) for i in range(3)]
    queue = f"chaos-{uuid.uuid4().hex[:6]}"
    workers: list[OneActivityWorker] = []
    stop_chaos = threading.Event()
    try:
        for engine in engines:
            engine.start()
        urls = [e.url for e in engines]
        for i in range(3):
            worker = OneActivityWorker(urls[i:] + urls[:i], queue, on_activity=record, start_to_close_secs=5)
            worker.start(workflow_threads=4, activity_threads=4)
            workers.append(worker)
        began = time.monotonic()
        chaos_thread = threading.Thread(target=chaos, args=(engines, args.kill_every, stop_chaos), daemon=True)
        chaos_thread.start()
        ids = [f"chaos-{i:04d}-{uuid.uuid4().hex[:4]}" for i in range(args.workflows)]
        start_all(engines, ids, queue)
        with psycopg.connect(db_url) as conn:
            while time.monotonic() - began < args.timeout:
                done = conn.execute("SELECT COUNT(*) FROM workflows WHERE status = 'COMPLETED'").fetchone()[0]
                if done >= len(ids):
                    break
                time.sleep(1.0)
                conn.commit()
            elapsed = time.monotonic() - began
            stop_chaos.set()
            chaos_thread.join(timeout=60)
            conn.commit()
            completed = conn.execute("SELECT COUNT(*) FROM workflows WHERE status = 'COMPLETED'").fetchone()[0]
            statuses = dict(conn.execute("SELECT status, COUNT(*) FROM workflows GROUP BY status").fetchall())
            twice_results = conn.execute(
                "SELECT COUNT(*) FROM (SELECT workflow_id FROM workflow_events WHERE event_type = 'ActivityCompleted' "
                "GROUP BY workflow_id HAVING COUNT(*) > 1) d").fetchone()[0]
            twice_completed = conn.execute(
                "SELECT COUNT(*) FROM (SELECT workflow_id FROM workflow_events WHERE event_type = 'WorkflowCompleted' "
                "GROUP BY workflow_id HAVING COUNT(*) > 1) d").fetchone()[0]
            started = conn.execute("SELECT COUNT(*) FROM workflows").fetchone()[0]
        executions = Counter(record_file.read_text().split()) if record_file.exists() else Counter()
        print(f"workflows requested      {len(ids)}  (in database: {started})")
        print(f"completed                {completed}   statuses {statuses}")
        print(f"lost (not completed)     {len(ids) - completed}")
        print(f"engine kills (-9)        {sum(e.kills for e in engines)} in {elapsed:.0f}s")
        print(f"activity executions      {sum(executions.values())} for {len(executions)} workflows; "
              f"executed more than once: {sum(1 for n in executions.values() if n > 1)}")
        print(f"activity results recorded twice   {twice_results}")
        print(f"workflows completed twice         {twice_completed}")
    finally:
        stop_chaos.set()
        for worker in workers:
            worker.stop()
        for engine in engines:
            engine.stop()
        drop_database(ADMIN_URL, db_name)


if __name__ == "__main__":
    main()
