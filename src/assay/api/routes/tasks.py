"""The worker protocol: registration, workflow tasks (leased), activity tasks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import APIRouter, Request
from starlette.responses import Response

from assay.api.body import body_schema, parse_body
from assay.api.jsonresponse import json_response
from assay.api.routes.common import engine_of, errors, ok
from assay.api.schemas import (
    ActivityOut,
    CommandsBody,
    CompleteTaskBody,
    EagerActivitiesBody,
    FailTaskBody,
    HeartbeatTaskBody,
    EagerWorkflowBody,
    LeaseBody,
    NextTaskBody,
    PollBody,
    RegisterWorkerBody,
    WorkerIdBody,
    WorkerOut,
    WorkflowTaskOut,
)
from assay.core.commands import parse_batch
from assay.store.base import EagerActivities, HandBack, Speculation

router = APIRouter(tags=["worker protocol"])

T = TypeVar("T")


async def _unless_disconnected(request: Request, poll: Awaitable[T | None], wait_secs: float = 1.0) -> T | None:
    """Run a long-poll, cancelled as soon as the client goes away.

    Fix (found by the Lua worker e2e tests): the ASGI server does not cancel a handler when
    its client disconnects, so the parked poll of a killed worker stayed registered and
    claimed the next task, which was then lost until its timeout. Cancelling it makes
    ``WakeUps.poll`` hand the wake-up on to a live poller instead.
    """
    if wait_secs <= 0:
        return await poll  # answers at once: nothing to watch
    work = asyncio.ensure_future(poll)

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            return await work
        return None
    finally:
        watcher.cancel()
        if not work.done():  # the handler itself was cancelled (server shutdown)
            work.cancel()


# Loop turns a woken result long-poll needs to write its answer (wake-up, read, response,
# the transport's end-of-turn flush).
RESULT_FIRST_TURNS = 4


async def _let_result_waiters_answer_first() -> None:
    """When a batch or result ended its workflow, let the result long-polls it woke answer
    before the worker's reply is written. On a small machine the first write wakes its
    reader on this CPU and runs it there: the client waiting for the outcome is the latency
    that counts, the worker's reply is not."""
    for _ in range(RESULT_FIRST_TURNS):
        await asyncio.sleep(0)


@router.post("/workers/register", openapi_extra=body_schema(RegisterWorkerBody), responses=errors(404, 422),
             summary="Register a worker")
async def register_worker(request: Request) -> Response:
    body = await parse_body(request, RegisterWorkerBody)
    worker_id = await engine_of(request).register_worker(
        identity=body.identity, queue=body.queue, namespace=body.namespace, workflows=body.workflows,
        activities=body.activities, max_concurrent_workflows=body.max_concurrent_workflows,
        max_concurrent_activities=body.max_concurrent_activities,
    )
    return json_response({"worker_id": worker_id})


@router.post("/workers/heartbeat", openapi_extra=body_schema(WorkerIdBody), responses=errors(404, 422),
             summary="Worker heartbeat (404: register again)")
async def heartbeat_worker(request: Request) -> Response:
    body = await parse_body(request, WorkerIdBody)
    await engine_of(request).heartbeat_worker(body.worker_id)
    return json_response({"ok": True})


@router.get("/workers", responses=ok(list[WorkerOut]), summary="List workers of a namespace")
async def list_workers(request: Request, namespace: str = "main") -> Response:
    engine = engine_of(request)
    now = engine.clock()
    workers = await engine.list_workers(namespace)
    return json_response([w.to_wire(stale_after_secs=engine.settings.worker_stale_secs, now=now) for w in workers])


@router.post("/workflow-tasks/poll", openapi_extra=body_schema(PollBody), responses=ok(WorkflowTaskOut | None, 200, 422),
             summary="Claim a workflow task (long-poll with wait_secs); null when none")
async def poll_workflow_task(request: Request) -> Response:
    body = await parse_body(request, PollBody)
    task = await _unless_disconnected(request, engine_of(request).poll_workflow_task(
        body.namespace, body.queue, body.worker_id, wait_secs=body.wait_secs, sticky=body.sticky
    ), body.wait_secs)
    return json_response(task.to_wire() if task else None)


@router.post("/workflow-tasks/{workflow_id}/commands", openapi_extra=body_schema(CommandsBody),
             responses=errors(404, 409, 422), summary="Submit a workflow task's commands (one transaction)")
async def submit_commands(request: Request, workflow_id: str) -> Response:
    body = await parse_body(request, CommandsBody)
    commands = parse_batch(body.commands)
    engine = engine_of(request)
    done = await engine.submit_commands(
        workflow_id, body.worker_id, body.lease_token, commands, eager=_eager(body.eager_activities)
    )
    reply: dict = {"ok": True, "applied": done.applied}
    if body.eager_activities is not None:
        reply["activity_tasks"] = [a.to_wire() for a in done.activities]
    if done.finished:
        await _let_result_waiters_answer_first()
    if body.next is not None:
        task = await engine.poll_workflow_task(body.next.namespace, body.next.queue, body.worker_id, sticky=body.next.sticky)
        reply["next_task"] = task.to_wire() if task else None
    return json_response(reply)


@router.post("/workflow-tasks/{workflow_id}/heartbeat", openapi_extra=body_schema(LeaseBody),
             responses=errors(404, 409, 422), summary="Extend a workflow task lease")
async def extend_lease(request: Request, workflow_id: str) -> Response:
    body = await parse_body(request, LeaseBody)
    expires = await engine_of(request).extend_lease(workflow_id, body.worker_id, body.lease_token)
    return json_response({"lease_expires_at": expires})


@router.post("/tasks/poll", openapi_extra=body_schema(PollBody), responses=ok(ActivityOut | None, 200, 422),
             summary="Claim an activity task (long-poll with wait_secs); null when none")
async def poll_activity(request: Request) -> Response:
    body = await parse_body(request, PollBody)
    activity = await _unless_disconnected(
        request, engine_of(request).poll_activity(body.namespace, body.queue, body.worker_id, wait_secs=body.wait_secs),
        body.wait_secs,
    )
    return json_response(activity.to_wire() if activity else None)


@router.post("/tasks/{activity_id}/complete", openapi_extra=body_schema(CompleteTaskBody, optional=True),
             responses=errors(404, 409, 422), summary="Report an activity result")
async def complete_activity(request: Request, activity_id: int) -> Response:
    body = await parse_body(request, CompleteTaskBody, optional=True)
    engine = engine_of(request)
    spec = body.workflow_commands
    speculation = None
    if spec is not None:
        speculation = Speculation(
            spec.worker_id, spec.after_seq, parse_batch(spec.commands), _eager(spec.eager_activities)
        )
    done = await engine.complete_activity(
        activity_id, body.result, body.attempt, hand_back=_hand_back(request, body.workflow_task),
        speculation=speculation,
    )
    reply: dict = {"ok": True}
    if spec is not None:
        if done.speculation is not None:
            applied, seq = done.speculation
            reply["workflow_commands"] = {
                "accepted": True, "applied": applied, "seq": seq,
                "activity_tasks": [a.to_wire() for a in done.activities],
            }
        else:
            reply["workflow_commands"] = {"accepted": False}
    if body.workflow_task is not None:
        task = done.workflow_task
        reply["workflow_task"] = task.to_wire() if task else None
    if done.finished:
        await _let_result_waiters_answer_first()
    return json_response({**reply, **await _next_activity(request, body.next)})


@router.post("/tasks/{activity_id}/fail", openapi_extra=body_schema(FailTaskBody, optional=True),
             responses=errors(404, 409, 422), summary="Report an activity failure (retry policy applies)")
async def fail_activity(request: Request, activity_id: int) -> Response:
    body = await parse_body(request, FailTaskBody, optional=True)
    outcome, task = await engine_of(request).fail_activity(
        activity_id, body.error, body.attempt, body.non_retryable, hand_back=_hand_back(request, body.workflow_task)
    )
    if body.workflow_task is not None:
        outcome["workflow_task"] = task.to_wire() if task else None
    return json_response({**outcome, **await _next_activity(request, body.next)})


def _eager(want: EagerActivitiesBody | None) -> EagerActivities | None:
    return EagerActivities(want.namespace, want.queue, want.max) if want is not None else None


def _hand_back(request: Request, want: EagerWorkflowBody | None) -> HandBack | None:
    if want is None:
        return None
    return engine_of(request).hand_back(want.worker_id, want.namespace, want.queue, want.sticky)


async def _next_activity(request: Request, nxt: NextTaskBody | None) -> dict:
    if nxt is None:
        return {}
    worker_id = nxt.worker_id or "anonymous"
    activity = await engine_of(request).poll_activity(nxt.namespace, nxt.queue, worker_id)
    return {"next_task": activity.to_wire() if activity else None}


@router.post("/tasks/{activity_id}/heartbeat", openapi_extra=body_schema(HeartbeatTaskBody, optional=True),
             responses=errors(404, 409, 422), summary="Activity heartbeat; answers whether to cancel")
async def heartbeat_activity(request: Request, activity_id: int) -> Response:
    body = await parse_body(request, HeartbeatTaskBody, optional=True)
    cancel = await engine_of(request).heartbeat_activity(activity_id, body.attempt)
    return json_response({"ok": True, "cancel_requested": cancel})
