"""Namespaces and queue statistics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from assay.api.body import body_schema, parse_body
from assay.api.jsonresponse import json_response
from assay.api.routes.common import engine_of, errors, ok
from assay.api.schemas import NamespaceBody, NamespaceOut, NamespaceStatsOut, QueueStatsOut

router = APIRouter(tags=["namespaces"])


@router.post("/namespaces", status_code=201, openapi_extra=body_schema(NamespaceBody),
             responses=ok(NamespaceOut, 201, 409, 422), summary="Create a namespace")
async def create_namespace(request: Request) -> Response:
    body = await parse_body(request, NamespaceBody)
    return json_response(await engine_of(request).create_namespace(body.name), 201)


@router.get("/namespaces", responses=ok(list[NamespaceOut]), summary="List namespaces")
async def list_namespaces(request: Request) -> Response:
    return json_response(await engine_of(request).list_namespaces())


@router.get("/namespaces/{name}", responses=ok(NamespaceStatsOut, 200, 404), summary="Namespace with live counts")
async def describe_namespace(request: Request, name: str) -> Response:
    return json_response(await engine_of(request).namespace_stats(name))


@router.delete("/namespaces/{name}", responses=errors(404, 409), summary="Delete an empty namespace")
async def delete_namespace(request: Request, name: str) -> Response:
    await engine_of(request).delete_namespace(name)
    return json_response({"name": name, "deleted": True})


@router.get("/queues", responses=ok(list[QueueStatsOut]), tags=["queues"], summary="Pending and running work per queue")
async def queue_stats(request: Request, namespace: str = "main") -> Response:
    return json_response(await engine_of(request).queue_stats(namespace))
