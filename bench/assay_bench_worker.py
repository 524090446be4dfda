"""A minimal Python worker for the benchmark workflows, speaking the engine's HTTP protocol.

Three workflow kinds (the peers harness contract): ``echo``, ``chain``, ``sleep``. Decisions
are pure functions of the history, as any replaying worker does; with ``sticky`` polls the
worker keeps each workflow's history in memory and receives only new events (O(1) per
step instead of O(history)). Speculative workflow tasks (docs/reference/rest-api.md): when
a workflow's last batch was one ScheduleActivity and that activity finishes here, the
worker decides on the history extended by that result and sends the commands with it.
Run: ``python assay_bench_worker.py URL QUEUE``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

CACHE_LIMIT = 2000


def decide(kind: str, arg: Any, history: list[dict], first_seen: dict[int, float]) -> list[dict]:
    completed = [e for e in history if e["event_type"] == "ActivityCompleted"]
    if kind == "echo":
        if completed:
            return [{"type": "CompleteWorkflow", "result": completed[0]["payload"]["result"]}]
        return [{"type": "ScheduleActivity", "seq": 1, "name": "echo", "input": arg}]
    if kind == "chain":
        n, record = int(arg[0]), bool(arg[1])
        done = len(completed)
        if done >= n:
            total = sum(e["payload"]["result"] for e in completed)
            times = [first_seen.get(e["seq"], e["timestamp"]) for e in completed] if record else []
            return [{"type": "CompleteWorkflow", "result": {"sum": total, "times": times}}]
        return [{"type": "ScheduleActivity", "seq": done + 1, "name": "echo", "input": done}]
    if kind == "sleep":
        marks = [e for e in history if e["event_type"] == "SideEffectRecorded"]
        fired = [e for e in history if e["event_type"] == "TimerFired"]
        if fired and marks:
            after = first_seen.get(fired[0]["seq"], fired[0]["timestamp"])
            return [{"type": "CompleteWorkflow", "result": [marks[0]["payload"]["value"], after]}]
        if not marks:
            return [
                {"type": "RecordSideEffect", "seq": 1, "name": "t_before", "value": time.time()},
                {"type": "ScheduleTimer", "seq": 1, "duration_secs": float(arg)},
            ]
        return []
    return [{"type": "FailWorkflow", "error": f"unknown workflow type {kind}"}]


@dataclass
class Cached:
    kind: str
    arg: Any
    history: list[dict]
    seen: dict[int, float]  # event seq -> when this worker first saw it
    single: int | None  # seq of the one activity the last batch scheduled, else None


class Worker:
    def __init__(self, url: str, queue: str, *, workflow_pollers: int = 4, activity_pollers: int = 4) -> None:
        self.api = url.rstrip("/") + "/api/v1"
        self.queue = queue
        self.workflow_pollers = workflow_pollers
        self.activity_pollers = activity_pollers
        # workflow id -> its sticky state and what a speculation needs.
        self.histories: OrderedDict[str, Cached] = OrderedDict()
        self.inflight: set[str] = set()  # workflows whose task or speculation runs now
        self.stopping = asyncio.Event()
        self.worker_id = ""
        self.session: aiohttp.ClientSession | None = None

    async def post(self, path: str, body: dict) -> Any:
        assert self.session is not None
        for attempt in (1, 2):
            try:
                async with self.session.post(self.api + path, data=orjson.dumps(body),
                                             headers={"content-type": "application/json"}) as response:
                    raw = await response.read()
                    if response.status >= 400:
                        return {"__error__": response.status, "body": raw.decode()}
                    return orjson.loads(raw)
            except aiohttp.ClientError:
                # A dropped keep-alive connection: every call here is safe to repeat (a
                # repeated result or batch is refused with 409 and changes nothing).
                if attempt == 2:
                    await asyncio.sleep(0.5)
                    return {"__error__": 0, "body": "connection failed"}
        return None

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=90)) as session:
            self.session = session
            reg = await self.post("/workers/register", {"identity": f"bench-{os.getpid()}", "queue": self.queue})
            self.worker_id = reg["worker_id"]
            print("READY", flush=True)
            tasks = [asyncio.create_task(self.workflow_loop()) for _ in range(self.workflow_pollers)]
            tasks += [asyncio.create_task(self.activity_loop()) for _ in range(self.activity_pollers)]
            await self.stopping.wait()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def workflow_loop(self) -> None:
        await self.drive("/workflow-tasks/poll", "wf")

    async def activity_loop(self) -> None:
        await self.drive("/tasks/poll", "act")

    async def drive(self, poll_path: str, kind: str) -> None:
        """One poller: long-poll for a task, then follow the chain of eager hand-backs
        (workflow task -> its activities -> its next workflow task ...) without polling."""
        poll = {"queue": self.queue, "worker_id": self.worker_id, "wait_secs": 20, "sticky": True}
        work: deque[tuple[str, dict]] = deque()
        while True:
            if not work:
                task = await self.post(poll_path, poll)
                if not task or "__error__" in task:
                    continue
                work.append((kind, task))
            what, task = work.popleft()
            if what == "wf":
                reply = await self.run_workflow_task(task)
                work.extend(("act", a) for a in reply.get("activity_tasks") or ())
                if reply.get("next_task"):
                    work.append(("wf", reply["next_task"]))
            else:
                # Every benchmark activity returns its input.
                body = {
                    "result": task["input"], "attempt": task["attempt"],
                    "workflow_task": {"queue": self.queue, "worker_id": self.worker_id, "sticky": True},
                    "next": {"queue": self.queue, "worker_id": self.worker_id},
                }
                spec = self.speculate(task, task["input"])
                if spec is not None:
                    body["workflow_commands"] = spec[0]
                reply = await self.post(f"/tasks/{task['id']}/complete", body) or {}
                if spec is not None:
                    work.extend(("act", a) for a in self.settle(task["workflow_id"], spec, reply))
                if reply.get("workflow_task"):
                    work.append(("wf", reply["workflow_task"]))
                if reply.get("next_task"):
                    work.append(("act", reply["next_task"]))

    def speculate(self, activity: dict, result: Any) -> tuple[dict, Cached, list[dict]] | None:
        """The ``workflow_commands`` of a speculative task for this result, or None."""
        wid = activity["workflow_id"]
        cached = self.histories.get(wid)
        if wid in self.inflight or cached is None or cached.single != activity["seq"]:
            return None
        del self.histories[wid]
        self.inflight.add(wid)
        history, seen = cached.history, cached.seen
        after = max((e["seq"] for e in history), default=0)
        now = time.time()
        extended = history + [
            {"seq": after + 1, "event_type": "ActivityScheduled", "timestamp": now,
             "payload": {"activity_seq": activity["seq"], "name": activity["name"]}},
            {"seq": after + 2, "event_type": "ActivityCompleted", "timestamp": now,
             "payload": {"activity_seq": activity["seq"], "result": result}},
        ]
        seen.setdefault(after + 2, now)
        commands = decide(cached.kind, cached.arg, extended, seen)
        fields = {"worker_id": self.worker_id, "after_seq": after, "commands": commands,
                  "eager_activities": {"queue": self.queue}}
        return fields, Cached(cached.kind, cached.arg, extended, seen, None), commands

    def settle(self, wid: str, spec: tuple[dict, Cached, list[dict]], reply: dict) -> list[dict]:
        """Keep the extended history when the engine applied the batch; give back the
        activities it handed over."""
        self.inflight.discard(wid)
        outcome = reply.get("workflow_commands") or {}
        if not outcome.get("accepted"):
            return []  # dropped: the workflow task (full history) comes back instead
        _, state, commands = spec
        self.remember(wid, state, commands)
        return outcome.get("activity_tasks") or []

    def remember(self, wid: str, state: Cached, commands: list[dict]) -> None:
        if any(c["type"] in ("CompleteWorkflow", "FailWorkflow") for c in commands):
            return
        state.single = commands[0]["seq"] if len(commands) == 1 and commands[0]["type"] == "ScheduleActivity" else None
        self.histories[wid] = state
        if len(self.histories) > CACHE_LIMIT:
            self.histories.popitem(last=False)

    async def run_workflow_task(self, task: dict) -> dict:
        wid = task["workflow_id"]
        self.inflight.add(wid)
        try:
            return await self._run_workflow_task(task)
        finally:
            self.inflight.discard(wid)

    async def _run_workflow_task(self, task: dict) -> dict:
        wid = task["workflow_id"]
        cached = self.histories.pop(wid, None)
        now = time.time()
        if task["history_after_seq"] and cached is None:
            async with self.session.get(f"{self.api}/workflows/{wid}/events") as r:  # type: ignore[union-attr]
                history, seen = orjson.loads(await r.read()), {}
        elif cached is not None and task["history_after_seq"]:
            history, seen = cached.history, cached.seen
            history.extend(task["history"])
        else:
            history, seen = list(task["history"]), {}
        for e in task["history"]:
            seen.setdefault(e["seq"], now)
        commands = decide(task["workflow_type"], task["input"], history, seen)
        reply = await self.post(f"/workflow-tasks/{wid}/commands", {
            "worker_id": self.worker_id, "lease_token": task["lease_token"], "commands": commands,
            "eager_activities": {"queue": self.queue},
            "next": {"queue": self.queue, "sticky": True},
        }) or {}
        if "__error__" not in reply:
            self.remember(wid, Cached(task["workflow_type"], task["input"], history, seen, None), commands)
        return reply if "__error__" not in reply else {}


def main(argv: list[str]) -> None:
    url, queue = argv[0], argv[1]
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass

    async def go() -> None:
        # As the engine and `assay run` do: keep the start-up heap out of full collections.
        gc.collect()
        gc.freeze()
        worker = Worker(url, queue)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stopping.set)
        await worker.run()

    asyncio.run(go())


if __name__ == "__main__":
    main(sys.argv[1:])
