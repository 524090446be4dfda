"""The store's share of one echo workflow, without HTTP: start (handed off to a worker),
the worker's batch (one ScheduleActivity, the activity claimed eagerly) and the activity
result carrying the speculative CompleteWorkflow, i.e. the three write transactions of the
idle-latency workload B, run back to back in one process.

    .venv/bin/python bench/store_step.py [--backend sqlite|postgres] [-n 2000] [--repeats 5]

Prints the best of ``--repeats`` runs in microseconds per workflow (best-of, because this
machine's speed drifts; the point is comparing two versions of the store, interleaved).
Not a test: figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid

from assay.core.commands import CompleteWorkflow, ScheduleActivity
from assay.store.base import EagerActivities, HandBack, Speculation, StartRequest
from assay.store.sql import open_store


async def one_workflow(store, i: int, worker: str) -> None:
    wf_id = f"echo-{uuid.uuid4().hex[:12]}"
    request = StartRequest(workflow_type="echo", workflow_id=wf_id, run_id=uuid.uuid4().hex, namespace="main",
                           task_queue="q", input=i, search_attributes={})
    _, changes = await store.start_workflow(request, hand_back=HandBack(worker, "main", "q", True, 30.0))
    task = changes.handed_back[0]
    _, changes = await store.submit_commands(
        wf_id, worker, task.lease_token, [ScheduleActivity(seq=1, name="echo", input=i)],
        eager=EagerActivities("main", "q", 50),
    )
    activity = changes.handed_back[0]
    changes = await store.complete_activity(
        activity.id, i, activity.attempt,
        speculation=Speculation(worker, 1, [CompleteWorkflow(result=i)], None),
    )
    assert changes.speculation is not None, "speculation refused"


async def main(backend: str, n: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/store.db" if backend == "sqlite" else backend
        store = await open_store(url)
        try:
            for i in range(200):  # warm-up
                await one_workflow(store, i, "w-1")
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                for i in range(n):
                    await one_workflow(store, i, "w-1")
                best = min(best, (time.perf_counter() - t0) / n * 1e6)
        finally:
            await store.close()
    print(f"store share of one echo workflow ({backend}): {best:.0f} us (best of {repeats} x {n})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite", help="sqlite, or a postgresql:// URL")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.backend, args.n, args.repeats))
