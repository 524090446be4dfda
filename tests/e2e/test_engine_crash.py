"""Crash safety: kill -9 the engine mid-flight, restart it on the same database, lose nothing.

Also the SQLite single-instance lock: SIGTERM releases it, a second engine is refused, and a
lock left by a killed engine is taken over once it is stale.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.engine_process import EngineProcess
from tests.e2e.protocol_worker import ProtocolWorker, activity_cmd, complete_cmd, expect, unique

LOCK_STALE_SECS = 2.0
CRASH_ENV = {
    "ASSAY_WF_DISPATCH_TIMEOUT_SECS": "1",
    "ASSAY_SQLITE_LOCK_STALE_SECS": str(LOCK_STALE_SECS),
}
TIMER_SECS = 1.0


def restart_when_lock_is_stale(engine: EngineProcess, timeout: float = 20.0) -> None:
    """Start again after a kill -9: refused while the dead engine's lock looks fresh."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            engine.start()
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class ScriptWorker(ProtocolWorker):
    """A deterministic workflow (activity 1 -> timer 2 -> activity 3 -> complete) replayed from history.

    Every answer re-sends all commands of the current frontier, as a replaying worker does; the
    engine must treat repeats as no-ops. Activity executions and acknowledged completions are
    counted per (workflow, seq).
    """

    def __init__(self, engine: EngineProcess, queue: str) -> None:
        super().__init__(engine, queue)
        self.executions: Counter[tuple[str, int]] = Counter()
        self.acknowledged: Counter[tuple[str, int]] = Counter()
        self.claims_after_ack: list[tuple[str, int]] = []

    @staticmethod
    def decide(task: dict[str, Any]) -> list[dict[str, Any]]:
        history = task["history"]
        done = {h["payload"]["activity_seq"]: h["payload"]["result"] for h in history if h["event_type"] == "ActivityCompleted"}
        failed = {h["payload"]["activity_seq"] for h in history if h["event_type"] == "ActivityFailed"}
        fired = {h["payload"]["timer_seq"] for h in history if h["event_type"] == "TimerFired"}
        if failed:
            return [{"type": "FailWorkflow", "error": f"activities failed: {sorted(failed)}"}]
        retry = {"max_attempts": 10, "initial_interval_secs": 0.1, "start_to_close_secs": 30, "heartbeat_timeout_secs": 2}
        commands = [activity_cmd(1, "first", input=task["workflow_id"], **retry)]
        if 1 not in done:
            return commands
        commands.append({"type": "ScheduleTimer", "seq": 2, "duration_secs": TIMER_SECS})
        if 2 not in fired:
            return commands
        commands.append(activity_cmd(3, "third", input=task["workflow_id"], **retry))
        if 3 not in done:
            return commands
        return [complete_cmd({"first": done[1], "third": done[3]})]

    def answer(self, task: dict[str, Any]) -> httpx.Response:
        return self.submit_raw(task, self.decide(task))

    def run_activity(self, activity: dict[str, Any]) -> dict[str, Any]:
        key = (activity["workflow_id"], activity["seq"])
        if self.acknowledged[key]:
            self.claims_after_ack.append(key)
        self.executions[key] += 1
        return {"ran": f"{activity['name']}:{activity['input']}"}

    def complete(self, activity: dict[str, Any], result: Any) -> bool:
        response = self.complete_activity(activity, result)
        if response.status_code == 200:
            self.acknowledged[(activity["workflow_id"], activity["seq"])] += 1
            return True
        assert response.status_code == 409, response.text  # timed out meanwhile: it will be retried
        return False

    def drive(self, workflow_ids: list[str], timeout: float) -> None:
        """Serve workflow and activity tasks until every workflow is terminal."""
        deadline = time.monotonic() + timeout
        pending = set(workflow_ids)
        while pending and time.monotonic() < deadline:
            task = self.poll(wait_secs=0.05)
            if task is not None:
                response = self.answer(task)
                assert response.status_code in (200, 409), response.text
            activity = self.poll_activity(wait_secs=0.05)
            if activity is not None:
                self.complete(activity, self.run_activity(activity))
            if task is None and activity is None:
                pending = {w for w in pending if self.describe(w)["status"] in ("PENDING", "RUNNING")}
        assert not pending, {w: self.describe(w)["status"] for w in pending}


def test_kill_9_mid_flight_then_restart_completes_everything_exactly_once(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path, CRASH_ENV).start()
    try:
        worker = ScriptWorker(engine, unique("crash"))
        ids = [worker.start("crashy", input=i) for i in range(6)]

        # Bring the six workflows into three different mid-flight states.
        tasks = [worker.next_task() for _ in range(6)]
        leased = tasks[4:]  # two workflow tasks claimed and never answered
        for task in tasks[:4]:
            expect(worker.answer(task))
        activities = [worker.next_activity() for _ in range(4)]
        held = activities[2:]  # two activities claimed and still "running" in this worker
        for activity in activities[:2]:
            assert worker.complete(activity, worker.run_activity(activity))
        for _ in range(2):  # their workflows schedule durable timers
            expect(worker.answer(worker.next_task()))
        for activity in held:
            worker.run_activity(activity)
        timers_pending = [t["workflow_id"] for t in tasks[:4] if "TimerScheduled" in worker.event_types(t["workflow_id"])]
        assert len(timers_pending) == 2
        before_crash = {w: worker.events(w) for w in ids}

        engine.kill9()
        restart_when_lock_is_stale(engine)
        worker.rebase()

        # Nothing committed was lost.
        for wid in ids:
            assert worker.events(wid)[: len(before_crash[wid])] == before_crash[wid]
        # The held activities report their results to the new engine (accepted unless they already timed out).
        for activity in held:
            worker.complete(activity, {"ran": f"{activity['name']}:{activity['input']}"})
        # The stale leases of the dead engine's tasks are not honoured once recovered.
        for task in leased:
            assert worker.submit_raw(task, worker.decide(task)).status_code in (200, 409)

        worker.drive(ids, timeout=30)

        for wid in ids:
            wf = worker.describe(wid)
            assert wf["status"] == "COMPLETED", (wid, wf, worker.event_types(wid))
            assert wf["result"] == {"first": {"ran": f"first:{wid}"}, "third": {"ran": f"third:{wid}"}}
            events = worker.events(wid)
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
            types = Counter(e["event_type"] for e in events)
            assert types["ActivityScheduled"] == 2 and types["ActivityCompleted"] == 2
            assert types["TimerScheduled"] == 1 and types["TimerFired"] == 1
            assert types["WorkflowCompleted"] == 1
            assert "ActivityFailed" not in types
        # Exactly one acknowledged completion per activity; nothing ran again after it completed.
        assert set(worker.acknowledged) == {(w, s) for w in ids for s in (1, 3)}
        assert all(n == 1 for n in worker.acknowledged.values()), worker.acknowledged
        assert worker.claims_after_ack == []
        # Only the two activities that were running at the crash may have run twice.
        reran = {k for k, n in worker.executions.items() if n > 1}
        assert reran <= {(a["workflow_id"], a["seq"]) for a in held}
        worker.close()
        engine.terminate()
    finally:
        engine.stop()


def test_timers_due_while_the_engine_was_down_fire_after_restart(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path, CRASH_ENV).start()
    try:
        worker = ProtocolWorker(engine, unique("timers"))
        wid = worker.start()
        worker.step([{"type": "ScheduleTimer", "seq": 1, "duration_secs": 0.5}], wid)
        engine.kill9()
        time.sleep(0.6)  # due while nobody is running
        restart_when_lock_is_stale(engine)
        worker.rebase()
        task = worker.next_task(wid, timeout=10)
        assert [h["payload"]["timer_seq"] for h in task["history"] if h["event_type"] == "TimerFired"] == [1]
        worker.submit(task, [complete_cmd()])
        worker.close()
    finally:
        engine.stop()


def test_sigterm_exits_0_and_releases_the_lock(tmp_path: Path) -> None:
    # Default stale time (30 s): only a released lock lets the restart through at once.
    engine = EngineProcess(tmp_path).start()
    try:
        worker = ProtocolWorker(engine, unique("term"))
        wid = worker.start()
        worker.close()
        assert engine.terminate() == 0
        assert "could not release" not in engine.log()
        engine.start()  # immediately: the lock was released
        with engine.client() as client:
            assert expect(client.get(f"/workflows/{wid}"))["status"] == "PENDING"
        assert engine.terminate() == 0
    finally:
        engine.stop()


def test_a_second_engine_on_the_same_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = EngineProcess(tmp_path / "a").start()
    second = EngineProcess(tmp_path / "b", db_path=first.db_path)
    try:
        process = second.spawn()
        code = process.wait(timeout=30)
        assert code != 0
        log = second.log()
        assert "another assay engine" in log and str(first.db_path) in log, log
        with first.client() as client:  # the first one is unaffected
            assert expect(client.get("/health"))["status"] == "ok"
        assert first.terminate() == 0
    finally:
        second.stop()
        first.stop()


def test_a_killed_engines_lock_is_taken_over_once_stale(tmp_path: Path) -> None:
    stale_secs = 4.0
    engine = EngineProcess(tmp_path, {"ASSAY_SQLITE_LOCK_STALE_SECS": str(stale_secs)}).start()
    try:
        engine.kill9()
        killed_at = time.monotonic()
        # Right away the dead engine's heartbeat is still fresh: refused, with a clear message.
        process = engine.spawn()
        assert process.wait(timeout=30) != 0
        if time.monotonic() - killed_at < stale_secs - 1.5:
            assert "another assay engine" in engine.log()
        restart_when_lock_is_stale(engine, timeout=stale_secs + 15)
        assert time.monotonic() - killed_at < stale_secs + 15
        assert engine.terminate() == 0
    finally:
        engine.stop()
