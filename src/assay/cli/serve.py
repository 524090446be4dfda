"""`assay serve`: run the workflow engine (REST + SSE + dashboard) on uvicorn."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator

import click

from assay import __version__
from assay.cli.serve_auth import auth_options, auth_settings_from_flags, run_key_action
from assay.engine.settings import DEFAULT_BACKEND, EngineSettings

log = logging.getLogger("assay.serve")


def _server_class() -> Any:
    import uvicorn

    class CleanExitServer(uvicorn.Server):
        """uvicorn re-raises a caught SIGTERM/SIGINT after its graceful shutdown, so the process
        dies of the signal (exit -15) even though it shut down cleanly. A supervisor then sees a
        failure; here a graceful shutdown exits 0."""

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                try:
                    yield
                finally:
                    self._captured_signals.clear()

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            # Long-polls and event streams would hold the graceful shutdown open until
            # uvicorn cancels them; release them now so they answer cleanly.
            app = self.config.app
            engine = getattr(getattr(app, "state", None), "engine", None)
            if engine is not None:
                import asyncio

                try:
                    asyncio.get_event_loop().call_soon_threadsafe(engine.begin_shutdown)
                except RuntimeError:
                    pass

    return CleanExitServer


def build_settings(backend: str | None, **overrides: object) -> EngineSettings:
    url = backend or os.environ.get("DATABASE_URL") or DEFAULT_BACKEND
    return EngineSettings.from_env(backend_url=url, version=__version__, **overrides)


@click.command()
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port to listen on.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to bind.")
@click.option(
    "--backend",
    default=None,
    metavar="URL",
    help="sqlite://PATH (default sqlite://assay-workflow.db?mode=rwc) or postgres://...; env DATABASE_URL.",
)
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
@click.option(
    "--verify-schema", is_flag=True,
    help="Only check that the database schema is current (exit 0) or not (exit 1); change nothing.",
)
@auth_options
def serve(
    port: int, host: str, backend: str | None, log_level: str, verify_schema: bool, **auth_flags: Any
) -> None:
    """Start the workflow engine.

    \b
    Examples:
      assay serve                                   # SQLite file in this directory, port 8080
      assay serve --port 8085
      assay serve --backend sqlite:///var/lib/assay/w.db
      DATABASE_URL=postgres://u:p@h:5432/assay assay serve
      assay serve --generate-api-key --label ci && assay serve --auth-api-key
      assay serve --auth-issuer https://login.example.com --auth-audience assay
    """
    import uvicorn

    from assay.api.app import create_app
    from assay.errors import AssayError

    try:
        settings = build_settings(backend, auth=auth_settings_from_flags(auth_flags, host))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    key_action_status = run_key_action(auth_flags, settings.backend_url)  # see docs/auth.md
    if key_action_status is not None:
        sys.exit(key_action_status)
    if verify_schema:
        sys.exit(_verify_schema(settings.backend_url))
    if settings.backend_url.startswith(("postgres://", "postgresql://")):
        try:
            import assay.store.postgres  # noqa: F401
        except ImportError:
            click.echo("error: the PostgreSQL backend is not yet supported in this build; use sqlite://", err=True)
            sys.exit(1)
    from assay.api.transport import CoalescingHttpToolsProtocol

    app = create_app(settings)
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=3,
        http=CoalescingHttpToolsProtocol,  # one TCP write per response (see the module)
        # Workers and clients keep connections between polls; uvicorn's 5 s default closes
        # them under a client that is about to reuse one (a "server disconnected" race).
        timeout_keep_alive=75,
        access_log=log_level == "debug", lifespan="on",
    )
    server = _server_class()(config)
    click.echo(f"assay {__version__} engine on http://{host}:{port}  (backend {settings.backend_url})", err=True)
    click.echo(f"  dashboard  http://127.0.0.1:{port}/workflow/", err=True)
    click.echo(f"  API docs   http://127.0.0.1:{port}/api/v1/engine/workflow/docs", err=True)
    try:
        server.run()
    except AssayError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    if not server.started:
        # Lifespan failed (lock held, bad backend): uvicorn logged why; exit non-zero.
        sys.exit(1)


def _verify_schema(url: str) -> int:
    """Exit status of ``--verify-schema``: 0 when migrations are all applied, else 1."""
    from assay.errors import AssayError

    try:
        if url.startswith(("postgres://", "postgresql://")):
            from assay.store.postgres import migrate_url

            migrate_url(url, verify_only=True)
        else:
            from sqlalchemy import create_engine

            from assay.store import migrations
            from assay.store.sqlite import sqlite_path

            path = sqlite_path(url)
            if not os.path.exists(path):
                click.echo(f"schema: no database at {path}", err=True)
                return 1
            engine = create_engine(f"sqlite:///{path}")
            try:
                with engine.connect() as conn:
                    migrations.verify(conn)
            finally:
                engine.dispose()
    except AssayError as exc:
        click.echo(f"schema: {exc.message}", err=True)
        return 1
    click.echo("schema: up to date", err=True)
    return 0
