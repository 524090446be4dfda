"""Workflow lifecycle, history, signals, state queries and REST-scheduled activities."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from assay.api.body import body_schema, parse_body
from assay.api.jsonresponse import json_response
from assay.api.routes.common import engine_of, errors, ok
from assay.api.schemas import (
    ActivityOut,
    ContinueAsNewBody,
    EventOut,
    ReasonBody,
    ResultOut,
    ScheduleActivityBody,
    SignalBody,
    StartedOut,
    StartWorkflowBody,
    StateOut,
    StateValueOut,
    WorkflowOut,
)
from assay.core.commands import ScheduleActivity
from assay.core.transitions import parse_status_filter
from assay.errors import InvalidInput, NotFound
from assay.store.base import WorkflowFilter

router = APIRouter(tags=["workflows"])


def _started(workflow) -> dict:  # type: ignore[no-untyped-def]
    return {"workflow_id": workflow.id, "run_id": workflow.run_id, "status": str(workflow.status)}


def _outcome(workflow) -> dict:  # type: ignore[no-untyped-def]
    return {"result": workflow.result, "error": workflow.error, "completed_at": workflow.completed_at}


@router.post("/workflows", status_code=201, responses=ok(StartedOut, 201, 404, 409, 422),
             openapi_extra=body_schema(StartWorkflowBody), summary="Start a workflow")
async def start_workflow(
    request: Request,
    wait_secs: float = Query(default=0.0, ge=0, description=(
        "Also wait up to this many seconds for the outcome and answer it with the start "
        "(result, error, completed_at); the status says whether the run ended in time")),
) -> Response:
    body = await parse_body(request, StartWorkflowBody)
    engine = engine_of(request)
    start = dict(
        workflow_id=body.workflow_id, namespace=body.namespace, input=body.input,
        task_queue=body.task_queue, search_attributes=body.search_attributes,
    )
    if wait_secs <= 0:
        return json_response(_started(await engine.start_workflow(body.workflow_type, **start)), 201)
    outcome = await engine.start_and_wait(body.workflow_type, wait_secs, **start)
    return json_response(_started(outcome) | _outcome(outcome), 201)


@router.get("/workflows", responses=ok(list[WorkflowOut], 200, 422), summary="List workflows (newest first)")
async def list_workflows(
    request: Request,
    namespace: str = "main",
    status: str | None = None,
    type: str | None = None,
    search_attrs: str | None = Query(default=None, description="URL-encoded JSON object; every key must equal"),
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> Response:
    attrs = None
    if search_attrs:
        try:
            attrs = orjson.loads(search_attrs)
        except orjson.JSONDecodeError:
            raise InvalidInput("search_attrs must be a URL-encoded JSON object", code="validation_error") from None
        if not isinstance(attrs, dict):
            raise InvalidInput("search_attrs must be a JSON object", code="validation_error")
    flt = WorkflowFilter(
        namespace=namespace, status=parse_status_filter(status), workflow_type=type or None,
        search_attrs=attrs, limit=limit, offset=offset,
    )
    workflows, total = await engine_of(request).list_workflows(flt)
    return json_response([w.to_wire() for w in workflows], headers={"X-Total-Count": str(total)})


@router.get("/workflows/{workflow_id}", responses=ok(WorkflowOut, 200, 404), summary="Describe a workflow")
async def describe_workflow(request: Request, workflow_id: str) -> Response:
    return json_response((await engine_of(request).get_workflow(workflow_id)).to_wire())


@router.get("/workflows/{workflow_id}/result", responses=ok(ResultOut, 200, 404),
            summary="Wait (long-poll) for a workflow's outcome")
async def workflow_result(request: Request, workflow_id: str, wait_secs: float = Query(default=0.0, ge=0)) -> Response:
    wf = await engine_of(request).wait_for_result(workflow_id, wait_secs)
    return json_response({"workflow_id": wf.id, "status": str(wf.status)} | _outcome(wf))


@router.get("/workflows/{workflow_id}/events", responses=ok(list[EventOut], 200, 404), summary="Event history")
async def workflow_events(
    request: Request, workflow_id: str,
    after_seq: int = Query(default=0, ge=0), wait_secs: float = Query(default=0.0, ge=0),
) -> Response:
    events = await engine_of(request).list_events(workflow_id, after_seq, wait_secs)
    return json_response([
        {"id": e.id, "workflow_id": e.workflow_id, "seq": e.seq, "event_type": e.event_type,
         "payload": e.payload, "timestamp": e.timestamp}
        for e in events
    ])


@router.post("/workflows/{workflow_id}/signal/{name}", responses=errors(404, 409, 422),
             openapi_extra=body_schema(SignalBody, optional=True), summary="Send a signal")
async def signal_workflow(request: Request, workflow_id: str, name: str) -> Response:
    body = await parse_body(request, SignalBody, optional=True)
    seq = await engine_of(request).signal(workflow_id, name, body.payload)
    return json_response({"workflow_id": workflow_id, "signal": name, "seq": seq})


@router.post("/workflows/{workflow_id}/cancel", responses=errors(404, 409),
             openapi_extra=body_schema(ReasonBody, optional=True), summary="Request cancellation (propagates to children)")
async def cancel_workflow(request: Request, workflow_id: str) -> Response:
    body = await parse_body(request, ReasonBody, optional=True)
    wf = await engine_of(request).cancel(workflow_id, body.reason)
    return json_response({"workflow_id": wf.id, "status": str(wf.status)})


@router.post("/workflows/{workflow_id}/terminate", responses=errors(404, 409),
             openapi_extra=body_schema(ReasonBody, optional=True), summary="Terminate now (and children)")
async def terminate_workflow(request: Request, workflow_id: str) -> Response:
    body = await parse_body(request, ReasonBody, optional=True)
    wf = await engine_of(request).terminate(workflow_id, body.reason)
    return json_response({"workflow_id": wf.id, "status": str(wf.status)})


@router.get("/workflows/{workflow_id}/children", responses=ok(list[WorkflowOut], 200, 404), summary="Direct children")
async def workflow_children(request: Request, workflow_id: str) -> Response:
    return json_response([w.to_wire() for w in await engine_of(request).list_children(workflow_id)])


@router.post("/workflows/{workflow_id}/continue-as-new", status_code=201, responses=ok(StartedOut, 201, 404, 409),
             openapi_extra=body_schema(ContinueAsNewBody, optional=True), summary="Close this run and start the next")
async def continue_as_new(request: Request, workflow_id: str) -> Response:
    body = await parse_body(request, ContinueAsNewBody, optional=True)
    workflow = await engine_of(request).continue_as_new(workflow_id, body.input, body.workflow_id)
    return json_response(_started(workflow), 201)


@router.get("/workflows/{workflow_id}/state", responses=ok(StateOut, 200, 404), summary="Latest query snapshot")
async def workflow_state(request: Request, workflow_id: str) -> Response:
    snap = await engine_of(request).get_snapshot(workflow_id)
    return json_response({"state": snap.state, "event_seq": snap.event_seq, "created_at": snap.created_at})


@router.get("/workflows/{workflow_id}/state/{name}", responses=ok(StateValueOut, 200, 404), summary="One query's value")
async def workflow_state_value(request: Request, workflow_id: str, name: str) -> Response:
    snap = await engine_of(request).get_snapshot(workflow_id)
    if not isinstance(snap.state, dict) or name not in snap.state:
        raise NotFound(f"workflow '{workflow_id}' has no query named '{name}'")
    return json_response({"value": snap.state[name], "event_seq": snap.event_seq, "created_at": snap.created_at})


@router.post("/workflows/{workflow_id}/activities", status_code=201, responses=ok(ActivityOut, 201, 404, 409, 422),
             openapi_extra=body_schema(ScheduleActivityBody), summary="Schedule an activity (idempotent on seq)")
async def schedule_activity(request: Request, workflow_id: str) -> Response:
    body = await parse_body(request, ScheduleActivityBody)
    activity = await engine_of(request).schedule_activity(workflow_id, ScheduleActivity(
        seq=body.seq, name=body.name, input=body.input, task_queue=body.task_queue,
        max_attempts=body.max_attempts, initial_interval_secs=body.initial_interval_secs,
        backoff_coefficient=body.backoff_coefficient, start_to_close_secs=body.start_to_close_secs,
        heartbeat_timeout_secs=body.heartbeat_timeout_secs,
    ))
    return json_response(activity.to_wire(), 201)


@router.get("/activities/{activity_id}", responses=ok(ActivityOut, 200, 404), summary="Describe an activity")
async def get_activity(request: Request, activity_id: int) -> Response:
    return json_response((await engine_of(request).get_activity(activity_id)).to_wire())
