"""Fixtures for the dashboard browser tests: a real ``assay serve``, a real worker, and
Debian's chromium driven by Playwright.

Names are prefixed ``dash_`` so they never collide with the CLI tests' fixtures in
``tests/e2e/conftest.py``. Test modules import what they use from here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.dashboard.worker import API, TestWorker
from tests.e2e.engine_process import EngineProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"


class DashEngine(EngineProcess):
    """An engine as the dashboard sees it: ``api`` and ``http()`` on the dashboard's prefix."""

    @property
    def api(self) -> str:
        return self.url + API

    def http(self) -> httpx.Client:
        return self.client(API)


def start_engine(workdir: Path, *args: str, env: dict[str, str] | None = None) -> DashEngine:
    """``assay serve`` on a free loopback port with its own SQLite file."""
    return DashEngine(workdir, env, args=args).start()


def stop_engine(engine: DashEngine) -> None:
    engine.stop()


@pytest.fixture(scope="module")
def dash_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashEngine]:
    engine = start_engine(tmp_path_factory.mktemp("dash-engine"))
    try:
        yield engine
    finally:
        stop_engine(engine)


@pytest.fixture(scope="module")
def dash_worker(dash_engine: DashEngine) -> Iterator[TestWorker]:
    worker = TestWorker(dash_engine.url)
    try:
        yield worker
    finally:
        worker.stop()
    assert not worker.errors, f"worker failed: {worker.errors!r}\n{dash_engine.log()[-3000:]}"


# Each test module imports the fixtures, so pytest sees one ``dash_browser`` definition per
# module; Playwright's sync API allows one driver per thread, so they share it (refcounted).
# Module scope, not session: a running sync driver keeps an asyncio loop running on the main
# thread, which would make every later `asyncio.run()` in the suite fail.
_shared: dict[str, Any] = {"users": 0}


@pytest.fixture(scope="module")
def dash_browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} missing: run scripts/install-chromium.sh")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not _shared["users"]:
        driver = sync_api.sync_playwright().start()
        _shared["driver"] = driver
        _shared["browser"] = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    _shared["users"] += 1
    try:
        yield _shared["browser"]
    finally:
        _shared["users"] -= 1
        if not _shared["users"]:
            _shared.pop("browser").close()
            _shared.pop("driver").stop()


@pytest.fixture
def dash_page(dash_browser: Any) -> Iterator[Any]:
    """A fresh browser context per test (own sessionStorage), failing on page errors."""
    context = dash_browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(msg: Any) -> None:
        # 401/404 answers are expected (no snapshot yet, sign-in); CSP violations and
        # script errors are not.
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            errors.append(msg.text)

    page.on("console", on_console)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def shot() -> Callable[[Any, str], None]:
    """Save a screenshot under artifacts/screenshots/<name>.png (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str, full_page: bool = False) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return take


@pytest.fixture
def unique_id() -> Callable[[str], str]:
    token = uuid.uuid4().hex[:6]
    return lambda prefix: f"{prefix}-{token}"
