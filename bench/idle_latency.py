"""Workload B on its own, with a per-hop breakdown: where do the milliseconds of one idle
echo workflow go?

    .venv/bin/python bench/idle_latency.py [--worker lua|python] [-n 80] [--pause 0.1] [--load 500]

Starts `assay serve` (SQLite in a temp dir) and one worker exactly as the peers adapter
does (it uses bench/assay_adapter.py and the harness's procs.py from ../shared/peers),
optionally runs a burst of --load concurrent echo workflows first (the harness runs
workload A before B, which leaves the processes' heaps full of garbage), then runs N echo
workflows one at a time, like the harness's workload B, and prints
start-to-result p50/p95 and the median time between the history events of each run:

    start    client POST sent -> WorkflowStarted        (client + engine)
    to_sched WorkflowStarted -> ActivityScheduled      (task to worker, replay, commands)
    act      ActivityScheduled -> ActivityCompleted    (activity run + its outcome)
    to_done  ActivityCompleted -> WorkflowCompleted    (workflow task, replay, commands)
    result   WorkflowCompleted -> client has result    (result long-poll wake-up)

Event times are the engine's clock on the same machine as the client. Not a test: figures
only, for profiling; the harness run (bench/README.md) is the number of record.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent / "shared" / "peers"))

from assay_adapter import CONFIGS, AssayAdapter  # noqa: E402

HOPS = ("start", "to_sched", "act", "to_done", "result")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


async def run(worker: str, n: int, pause: float, load: int) -> None:
    config = "assay-lua" if worker == "lua" else "assay-sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        adapter = AssayAdapter(config, CONFIGS[config], Path(tmp))
        await adapter.start()
        try:
            # Warm-up: first requests pay imports and connection set-up.
            for i in range(10):
                await adapter.wait_result(await adapter.start_workflow("echo", i))
            if load:
                handles = [await adapter.start_workflow("echo", i) for i in range(load)]
                await asyncio.gather(*(adapter.wait_result(h) for h in handles))
                await asyncio.sleep(2.0)  # the harness's settle pause
            cpu_before = {name: cpu_secs(pid) for name, pid in processes(adapter)}
            totals: list[float] = []
            hops: dict[str, list[float]] = {h: [] for h in HOPS}
            for i in range(n):
                await asyncio.sleep(pause)
                sent = time.time()
                t0 = time.perf_counter()
                handle = await adapter.start_workflow("echo", i)
                await adapter.wait_result(handle)
                totals.append((time.perf_counter() - t0) * 1000)
                received = sent + totals[-1] / 1000
                async with adapter.client.get(f"{adapter.api}/workflows/{handle.workflow_id}/events") as r:
                    events = await r.json()
                at = {e["event_type"]: e["timestamp"] for e in events}
                marks = [sent, at["WorkflowStarted"], at["ActivityScheduled"], at["ActivityCompleted"],
                         at["WorkflowCompleted"], received]
                for name, a, b in zip(HOPS, marks, marks[1:]):
                    hops[name].append((b - a) * 1000)
            cpu = {name: (cpu_secs(pid) - cpu_before[name]) * 1000 / n for name, pid in processes(adapter)}
        finally:
            await adapter.stop()
    print(f"{config}: {n} idle echo workflows: p50 {percentile(totals, 0.5):.2f} ms, "
          f"p95 {percentile(totals, 0.95):.2f} ms")
    print("  median per hop (ms): " + ", ".join(f"{h} {statistics.median(hops[h]):.2f}" for h in HOPS))
    print("  CPU per workflow (ms, incl. the events read): " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))


def processes(adapter: AssayAdapter) -> list[tuple[str, int]]:
    return [("engine", adapter.server_pids()[0]), ("worker", adapter.worker_pids()[0])]


def cpu_secs(pid: int) -> float:
    """User + system CPU seconds of one process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("lua", "python"), default="lua")
    parser.add_argument("-n", type=int, default=80)
    parser.add_argument("--pause", type=float, default=0.1)
    parser.add_argument("--load", type=int, default=0, help="concurrent workflows to run first")
    args = parser.parse_args()
    asyncio.run(run(args.worker, args.n, args.pause, args.load))


if __name__ == "__main__":
    main()
