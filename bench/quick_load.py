"""Quick local load for profiling: N concurrent echo workflows against a running engine.

    python bench/quick_load.py URL QUEUE N
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp


async def main(url: str, queue: str, n: int) -> None:
    api = url + "/api/v1"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as client:
        async def one(i: int) -> None:
            wid = f"load-{queue}-{i}-{time.time_ns()}"
            async with client.post(f"{api}/workflows", json={"workflow_type": "echo", "workflow_id": wid, "input": i, "task_queue": queue}) as r:
                assert r.status == 201, await r.text()
            while True:
                async with client.get(f"{api}/workflows/{wid}/result", params={"wait_secs": "60"}) as r:
                    out = await r.json()
                if out["status"] not in ("RUNNING", "PENDING"):
                    assert out["result"] == i, out
                    return

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - start
        print(f"{n} echo workflows in {wall:.2f}s = {n / wall:.1f} wf/s")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
