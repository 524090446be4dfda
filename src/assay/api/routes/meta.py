"""Health, version and the API docs page (served from package data: no CDN)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from assay.api.jsonresponse import json_response
from assay.api.routes.common import ok
from assay.api.schemas import HealthOut, VersionOut

router = APIRouter(tags=["meta"])

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>assay workflow API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{assets}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{url: "{spec}", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"}});
</script></body></html>"""


@router.get("/health", responses=ok(HealthOut), summary="Liveness probe (no database access)")
async def health() -> Response:
    return json_response({"status": "ok", "service": "assay-workflow"})


@router.get("/version", responses=ok(VersionOut), summary="Engine version and build profile")
async def version(request: Request) -> Response:
    settings = request.app.state.settings
    return json_response({"version": settings.version, "build_profile": settings.build_profile})


@router.get("/docs", response_class=HTMLResponse, summary="Interactive API docs")
async def docs(request: Request) -> HTMLResponse:
    # Served under both API prefixes: assets and spec are siblings of this page.
    base = request.url.path[: -len("/docs")]
    return HTMLResponse(DOCS_HTML.format(assets=f"{base}/docs-assets", spec=f"{base}/openapi.json"))
