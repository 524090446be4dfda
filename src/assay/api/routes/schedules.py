"""Cron schedules (engine-api §1.6, §6, with the fixes of §12 item 18).

Differences from the original, on purpose: ``input`` is JSON in and out (not JSON-in-a-
string); a 5-field cron, an unknown timezone or overlap policy is a 422 at create/patch time
(the cron message shows the 6-field equivalent); a duplicate name is a 409; ``next_run_at``
is computed on create, on a cron/timezone patch and on resume (no catch-up run on resume).
The namespace of every route but create is the ``?namespace=`` query parameter.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from assay.api.body import body_schema, parse_body
from assay.api.jsonresponse import json_response
from assay.api.routes.common import engine_of, errors, ok
from assay.store.base import Changes

router = APIRouter(tags=["schedules"])


class CreateScheduleBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=200)
    workflow_type: str = Field(min_length=1, max_length=400)
    cron_expr: str = Field(min_length=1, max_length=200)
    namespace: str = Field(default="main", min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=100)
    input: Any = None
    task_queue: str | None = Field(default=None, max_length=400)
    overlap_policy: str | None = Field(default=None, max_length=40)


class PatchScheduleBody(BaseModel):
    """Any subset; absent fields keep their value, ``"input": null`` clears the input."""

    model_config = ConfigDict(extra="ignore")
    cron_expr: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=100)
    input: Any = None
    task_queue: str | None = Field(default=None, max_length=400)
    overlap_policy: str | None = Field(default=None, max_length=40)


class ScheduleOut(BaseModel):
    name: str
    namespace: str
    workflow_type: str
    cron_expr: str
    timezone: str
    input: Any = None
    task_queue: str
    overlap_policy: str
    paused: bool
    buffered: bool
    last_run_at: float | None
    next_run_at: float | None
    last_workflow_id: str | None
    created_at: float
    updated_at: float


def _announce(request: Request, changes: Changes) -> None:
    """Publish (wakes other instances' schedulers via notify) and re-arm ours."""
    engine_of(request).publish(changes)
    scheduler = getattr(request.app.state, "scheduler", None)
    if scheduler is not None:
        scheduler.arm()


@router.post("/schedules", status_code=201, openapi_extra=body_schema(CreateScheduleBody),
             responses=ok(ScheduleOut, 201, 404, 409, 422), summary="Create a schedule")
async def create_schedule(request: Request) -> Response:
    body = await parse_body(request, CreateScheduleBody)
    record, changes = await engine_of(request).store.create_schedule(body.model_dump())  # type: ignore[attr-defined]
    _announce(request, changes)
    return json_response(record, 201)


@router.get("/schedules", responses=ok(list[ScheduleOut]), summary="List the schedules of a namespace")
async def list_schedules(request: Request, namespace: str = "main") -> Response:
    return json_response(await engine_of(request).store.list_schedules(namespace))  # type: ignore[attr-defined]


@router.get("/schedules/{name}", responses=ok(ScheduleOut, 200, 404), summary="Describe a schedule")
async def get_schedule(request: Request, name: str, namespace: str = "main") -> Response:
    return json_response(await engine_of(request).store.get_schedule(namespace, name))  # type: ignore[attr-defined]


@router.patch("/schedules/{name}", openapi_extra=body_schema(PatchScheduleBody, optional=True),
              responses=ok(ScheduleOut, 200, 404, 422), summary="Change some fields of a schedule")
async def patch_schedule(request: Request, name: str, namespace: str = "main") -> Response:
    body = await parse_body(request, PatchScheduleBody, optional=True)
    patch = {k: getattr(body, k) for k in body.model_fields_set}
    record, changes = await engine_of(request).store.patch_schedule(namespace, name, patch)  # type: ignore[attr-defined]
    _announce(request, changes)
    return json_response(record)


@router.post("/schedules/{name}/pause", responses=ok(ScheduleOut, 200, 404), summary="Pause a schedule")
async def pause_schedule(request: Request, name: str, namespace: str = "main") -> Response:
    return json_response(await engine_of(request).store.pause_schedule(namespace, name))  # type: ignore[attr-defined]


@router.post("/schedules/{name}/resume", responses=ok(ScheduleOut, 200, 404),
             summary="Resume a schedule (next fire from now; missed fires are not run)")
async def resume_schedule(request: Request, name: str, namespace: str = "main") -> Response:
    record, changes = await engine_of(request).store.resume_schedule(namespace, name)  # type: ignore[attr-defined]
    _announce(request, changes)
    return json_response(record)


@router.delete("/schedules/{name}", responses=errors(404), summary="Delete a schedule (its runs keep going)")
async def delete_schedule(request: Request, name: str, namespace: str = "main") -> Response:
    await engine_of(request).store.delete_schedule(namespace, name)  # type: ignore[attr-defined]
    return json_response({"name": name, "namespace": namespace, "deleted": True})
