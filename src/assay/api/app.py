"""The ASGI application: both API prefixes, docs, dashboard, and the engine's lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from assay.api.auth import AuthMiddleware
from assay.api.errors import install_error_handlers
from assay.api.fastlane import FastLane
from assay.api.jsonresponse import json_response
from assay.api.routes import api_keys, meta, namespaces, schedules, stream, tasks, workflows
from assay.engine.auth import build_authenticator
from assay.engine.loops import Housekeeper, InstanceUpkeep
from assay.engine.remote_events import RemoteEventRelay
from assay.engine.scheduler import Scheduler
from assay.engine.service import Engine
from assay.engine.settings import EngineSettings
from assay.store.sql import open_store

log = logging.getLogger("assay.engine")
PREFIXES = ("/api/v1", "/api/v1/engine/workflow")
# Route matching is a linear scan, so the hottest routes come first: the worker protocol,
# then workflows. Workers use the short prefix; it is matched first (the two prefixes can't
# both match one path, so the order changes speed only).
API_ROUTERS = [
    tasks.router, workflows.router, namespaces.router, schedules.router, stream.router, meta.router,
    api_keys.router,
]
DOCUMENTED_PREFIX = "/api/v1/engine/workflow"
HOT_ROUTES = [
    ("POST", "/workflow-tasks/poll", tasks.poll_workflow_task),
    ("POST", "/workflow-tasks/{workflow_id}/commands", tasks.submit_commands),
    ("POST", "/workflow-tasks/{workflow_id}/heartbeat", tasks.extend_lease),
    ("POST", "/tasks/poll", tasks.poll_activity),
    ("POST", "/tasks/{activity_id}/complete", tasks.complete_activity),
    ("POST", "/tasks/{activity_id}/fail", tasks.fail_activity),
    ("POST", "/tasks/{activity_id}/heartbeat", tasks.heartbeat_activity),
    ("POST", "/workers/heartbeat", tasks.heartbeat_worker),
    ("POST", "/workflows", workflows.start_workflow),
    ("GET", "/workflows/{workflow_id}", workflows.describe_workflow),
    ("GET", "/workflows/{workflow_id}/result", workflows.workflow_result),
    ("GET", "/workflows/{workflow_id}/events", workflows.workflow_events),
    ("POST", "/workflows/{workflow_id}/signal/{name}", workflows.signal_workflow),
]


def _no_telemetry() -> dict:  # type: ignore[type-arg]
    """FastAPI >= 0.16x traces every request through OpenTelemetry by default; the engine's
    hot path (polls, commands) pays for it on every call, so it is off unless asked for."""
    import inspect

    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    if os.environ.get("ASSAY_OTEL", "").lower() in ("1", "true", "yes"):
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}


def _swagger_assets() -> str:
    import swagger_ui

    return os.path.join(os.path.dirname(swagger_ui.__file__), "static")


def _freeze_startup_objects() -> None:
    """Move everything built at start-up (modules, routes, the OpenAPI models: most of the
    heap) out of the garbage collector's view: it is never freed, and a full collection
    would otherwise walk all of it, a pause of milliseconds in the middle of a request."""
    gc.collect()
    gc.freeze()


class EngineApp(FastAPI):
    """FastAPI with a front (auth, fast lane) that requests meet before FastAPI's own layers.

    Every request pays for FastAPI's wrappers (error middleware, telemetry and body-limit
    layers, exception middleware) even when the fast lane answers it; in front of them, a hot
    request costs one auth check and one dictionary lookup. The fast lane answers errors in
    the API's `{error, code}` shape itself; anything else goes on to FastAPI as before.
    """

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None or scope["type"] == "lifespan":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # what FastAPI would set: endpoints find the engine through it
        await self.front(scope, receive, send)

    async def behind_front(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(settings: EngineSettings, *, store_factory=None) -> FastAPI:  # type: ignore[no-untyped-def]
    """Build the app. The lifespan opens the store, takes the instance lock, starts loops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await (store_factory() if store_factory else open_store(settings.backend_url))
        engine = Engine(store, settings)
        instance_id = f"assay-{uuid.uuid4().hex[:16]}"
        database = getattr(store, "db", None)
        acquire = getattr(database, "acquire_instance", None)
        if acquire is not None:
            try:
                await acquire(instance_id, engine.clock(), settings.lock_stale_secs)
            except Exception:
                await store.close()
                raise
        housekeeper = Housekeeper(engine)
        upkeep = InstanceUpkeep(engine, instance_id, database)
        app.state.engine = engine
        # --- auth (assay.engine.auth): the middleware reads this; until set it answers 503 ---
        authenticator = build_authenticator(settings.auth, store)  # type: ignore[arg-type]
        await authenticator.warm_up()
        app.state.authenticator = authenticator
        housekeeper.start()
        upkeep.start()
        # --- schedules and cross-instance wake-ups (PostgreSQL: LISTEN/NOTIFY) ---
        scheduler = Scheduler(engine, database)
        app.state.scheduler = scheduler
        relay = await _wire_wakeups(engine, database, housekeeper, scheduler)
        scheduler.start()
        log.info("engine ready (backend %s, instance %s)", getattr(database, "dialect", None) and database.dialect.name, instance_id)
        _freeze_startup_objects()
        try:
            yield
        finally:
            engine.hub.close()
            await relay.close()
            await scheduler.stop()
            await housekeeper.stop()
            await upkeep.stop()
            release = getattr(database, "release_instance", None)
            if release is not None:
                try:
                    await release(instance_id)
                except Exception:  # noqa: BLE001
                    log.exception("could not release the instance lock")
            await store.close()
            await asyncio.sleep(0)

    app = EngineApp(
        **_no_telemetry(),
        title="assay workflow engine API",
        version=settings.version,
        description=(
            "Durable workflow engine. Every route is served under `/api/v1/engine/workflow` (documented here) "
            "and, identically, under `/api/v1`. Errors are `{\"error\", \"code\"}`."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # In front of FastAPI's own middleware stack: auth, pure ASGI, gates every route except the
    # open set (health, version, docs, openapi, dashboard) and lets the SSE stream stream (see
    # assay.api.auth); then the fast lane, where hot routes skip FastAPI's layers and routing.
    app.front = AuthMiddleware(
        FastLane(app.behind_front, prefixes=PREFIXES, routes=HOT_ROUTES),
        authenticator=lambda: getattr(app.state, "authenticator", None),
    )
    for prefix in PREFIXES:
        for router in API_ROUTERS:
            app.include_router(router, prefix=prefix, include_in_schema=prefix == DOCUMENTED_PREFIX)
        app.router.routes.append(Mount(f"{prefix}/docs-assets", StaticFiles(directory=_swagger_assets()), name=f"docs-assets{prefix}"))

    def openapi_document() -> dict:  # type: ignore[type-arg]
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
        return app.openapi_schema

    for prefix in PREFIXES:
        async def serve_openapi() -> Response:
            return json_response(openapi_document())

        app.add_api_route(f"{prefix}/openapi.json", serve_openapi, include_in_schema=False, methods=["GET"])

    _mount_dashboard(app, settings)
    return app


async def _wire_wakeups(
    engine: Engine, database: object, housekeeper: Housekeeper, scheduler: Scheduler
) -> RemoteEventRelay:
    """Committed changes that arm a time also re-arm the scheduler (a schedule was created,
    patched or resumed); keys announced by other instances wake this one's pollers and
    reach its SSE subscribers (through the returned relay)."""

    def armed(wake_at: float) -> None:
        housekeeper.arm(wake_at)
        scheduler.arm(wake_at)

    engine.on_housekeeping_armed = armed

    relay = RemoteEventRelay(engine.store, engine.hub)

    def remote(keys: list[tuple]) -> None:  # type: ignore[type-arg]
        for key in keys:
            if key[0] == "resync":  # wake-ups may have been lost: everyone looks again
                engine.wakeups.wake_everyone()
                armed(engine.clock())
            elif key[0] == "wake_at":
                scheduler.arm(key[1])
            elif key[0] in ("wf", "act"):
                engine.wakeups.notify_one(key)  # the remote write's own poller takes the rest
            elif key[0] == "events":
                engine.wakeups.notify_all(("events", key[1]))
                if len(key) == 4:  # with its seq range (older engines send the id only)
                    relay.events(key[1], key[2], key[3])
            elif key[0] == "running":
                relay.running(key[1], key[2])
            else:
                engine.wakeups.notify_all(key)

    listen = getattr(database, "listen", None)
    if listen is not None:
        await listen(remote)
    return relay


def _mount_dashboard(app: FastAPI, settings: EngineSettings) -> None:
    try:
        from assay.dashboard.routes import dashboard_routes  # type: ignore[import-not-found]
    except ImportError:
        return
    app.router.routes.extend(dashboard_routes(settings.env or None, version=settings.version))
