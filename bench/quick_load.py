"""Quick local load for profiling: N concurrent echo workflows against a running engine.

    python bench/quick_load.py URL QUEUE N
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx


async def main(url: str, queue: str, n: int) -> None:
    async with httpx.AsyncClient(base_url=url + "/api/v1", timeout=120,
                                 limits=httpx.Limits(max_connections=None)) as client:
        async def one(i: int) -> None:
            wid = f"load-{queue}-{i}-{time.time_ns()}"
            r = await client.post("/workflows", json={"workflow_type": "echo", "workflow_id": wid, "input": i, "task_queue": queue})
            r.raise_for_status()
            while True:
                out = (await client.get(f"/workflows/{wid}/result", params={"wait_secs": 60})).json()
                if out["status"] != "RUNNING" and out["status"] != "PENDING":
                    assert out["result"] == i, out
                    return

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - start
        print(f"{n} echo workflows in {wall:.2f}s = {n / wall:.1f} wf/s")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
