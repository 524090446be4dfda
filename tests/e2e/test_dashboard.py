"""The dashboard in a real browser against a real engine and a real worker.

Runs Debian's chromium through Playwright (see tests/e2e/dashboard/fixtures.py). Every
test saves a screenshot of the view it covers under artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from tests.e2e.dashboard.fixtures import (  # noqa: F401  (fixtures are used by name)
    DashEngine,
    dash_browser,
    dash_engine,
    dash_page,
    dash_worker,
    shot,
    unique_id,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api").expect


def start(engine: DashEngine, workflow_type: str, workflow_id: str, **extra: Any) -> None:
    with engine.http() as http:
        r = http.post("/workflows", json={"workflow_type": workflow_type, "workflow_id": workflow_id, **extra})
        assert r.status_code == 201, r.text


def record(engine: DashEngine, workflow_id: str) -> dict[str, Any]:
    with engine.http() as http:
        return http.get(f"/workflows/{workflow_id}").json()


def wait_status(engine: DashEngine, workflow_id: str, status: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        wf = record(engine, workflow_id)
        if wf["status"] == status or time.monotonic() > deadline:
            assert wf["status"] == status, wf
            return wf
        time.sleep(0.1)


def row(page: Any, workflow_id: str) -> Any:
    return page.locator(f'tr[data-id="{workflow_id}"]')


def test_list_filters_and_paging_live_in_the_url(dash_engine, dash_worker, dash_page, shot, unique_id):
    tag = unique_id("tag")
    ids = [f"{tag}-{i}" for i in range(3)]
    for i, wid in enumerate(ids):
        start(dash_engine, "Waiter", wid, search_attributes={"tag": tag, "env": "prod" if i else "dev"})
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/?type=Waiter&limit=20")
    for wid in ids:
        expect(row(page, wid)).to_be_visible()
    expect(page.locator("#f-type")).to_have_value("Waiter")

    # Search attributes filter: server-side, written to the URL.
    page.fill("#f-attrs", json.dumps({"tag": tag, "env": "prod"}))
    expect(row(page, ids[0])).to_have_count(0)
    expect(row(page, ids[1])).to_be_visible()
    assert "attrs=" in page.url and "prod" in page.url

    # Invalid JSON keeps the list and says why.
    page.fill("#f-attrs", '{"tag": ')
    expect(page.locator("#f-attrs")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-attrs-hint")).to_contain_text("Not a JSON object")

    # Status filter: none of them completed.
    page.fill("#f-attrs", json.dumps({"tag": tag}))
    page.select_option("#f-status", "COMPLETED")
    expect(page.get_by_text("No workflows match these filters.")).to_be_visible()
    assert "status=COMPLETED" in page.url

    # The URL alone restores the view (bookmark / share).
    page.goto(f"{dash_engine.url}/workflow/?attrs={json.dumps({'tag': tag})}&limit=20")
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(page.locator(".pager")).to_contain_text("1–3 of 3")
    shot(page, "workflows-list")


def test_paging_uses_total_count(dash_engine, dash_worker, dash_page, unique_id):
    tag = unique_id("page")
    for i in range(23):
        start(dash_engine, "Waiter", f"{tag}-{i:02d}", search_attributes={"tag": tag})
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/?attrs={json.dumps({'tag': tag})}")
    expect(page.locator(".pager")).to_contain_text("1–20 of 23")
    page.get_by_role("button", name="Older →").click()
    expect(page.locator(".pager")).to_contain_text("21–23 of 23")
    assert "offset=20" in page.url
    page.go_back()
    expect(page.locator(".pager")).to_contain_text("1–20 of 23")


def test_start_workflow_form_and_live_row(dash_engine, dash_worker, dash_page, shot, unique_id):
    wid = unique_id("started")
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/")
    page.get_by_role("button", name="+ Start workflow").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Workflow type").fill("Waiter")
    dialog.get_by_label("Workflow ID (optional)").fill(wid)
    dialog.get_by_label("Input (JSON, optional)").fill('{"hello": "world"}')
    dialog.get_by_label("Search attributes (JSON object, optional)").fill('{"team": "ops"}')
    shot(page, "start-dialog")
    dialog.get_by_role("button", name="Start").click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(row(page, wid)).to_be_visible()
    # The worker claims it: the row turns RUNNING in place, through the event stream.
    expect(row(page, wid).locator(".badge")).to_have_text("RUNNING")
    wf = record(dash_engine, wid)
    assert wf["input"] == {"hello": "world"}
    assert wf["search_attributes"].get("team") == "ops"


def test_live_update_shows_a_new_workflow_without_reload(dash_engine, dash_worker, dash_page, unique_id):
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/")
    expect(page.locator(".conn")).to_have_attribute("data-state", "connected")
    page.evaluate("window.__marker = 'still the same page'")
    wid = unique_id("live")
    start(dash_engine, "Waiter", wid)
    expect(row(page, wid)).to_be_visible(timeout=5000)
    assert page.evaluate("window.__marker") == "still the same page"


def test_signal_from_a_row_reaches_the_workflow(dash_engine, dash_worker, dash_page, unique_id):
    wid = unique_id("signal")
    start(dash_engine, "Waiter", wid)
    wait_status(dash_engine, wid, "RUNNING")
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/?type=Waiter")
    row(page, wid).get_by_role("button", name=f"Signal {wid}").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Signal name").fill("finish")
    dialog.get_by_label("Payload (JSON, optional)").fill('{"ok": true}')
    dialog.get_by_role("button", name="Send signal").click()
    expect(page.locator(".toast")).to_contain_text('Signal "finish" sent')
    wf = wait_status(dash_engine, wid, "COMPLETED")
    assert wf["result"] == {"finished_with": {"ok": True}}
    expect(row(page, wid).locator(".badge")).to_have_text("COMPLETED")


def test_cancel_and_terminate_ask_first(dash_engine, dash_worker, dash_page, shot, unique_id):
    cancel_id, kill_id = unique_id("cancel"), unique_id("kill")
    start(dash_engine, "Waiter", cancel_id)
    start(dash_engine, "Waiter", kill_id)
    wait_status(dash_engine, cancel_id, "RUNNING")
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/?type=Waiter")

    row(page, cancel_id).get_by_role("button", name=f"Cancel {cancel_id}").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Graceful")
    dialog.get_by_role("button", name="Keep running").click()  # dismiss: nothing happens
    assert record(dash_engine, cancel_id)["status"] == "RUNNING"
    row(page, cancel_id).get_by_role("button", name=f"Cancel {cancel_id}").click()
    page.locator("dialog[open]").get_by_label("Reason (optional)").fill("no longer needed")
    shot(page, "cancel-dialog")
    page.locator("dialog[open]").get_by_role("button", name="Cancel workflow").click()
    wait_status(dash_engine, cancel_id, "CANCELLED")
    expect(row(page, cancel_id).locator(".badge")).to_have_text("CANCELLED")
    expect(row(page, cancel_id).get_by_role("button")).to_have_count(0)

    row(page, kill_id).get_by_role("button", name=f"Terminate {kill_id}").click()
    page.locator("dialog[open]").get_by_role("button", name="Terminate").click()
    wait_status(dash_engine, kill_id, "FAILED")
    expect(row(page, kill_id).locator(".badge")).to_have_text("FAILED")


def test_detail_metadata_and_timeline(dash_engine, dash_worker, dash_page, shot, unique_id):
    wid = unique_id("detail")
    start(dash_engine, "Waiter", wid, input={"answer": 42})
    wait_status(dash_engine, wid, "RUNNING")
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/")
    row(page, wid).get_by_role("link", name=wid).click()
    expect(page).to_have_url(re.compile(f"/workflow/workflows/{wid}"))
    expect(page.locator(".detail-title h1")).to_have_text(wid)
    expect(page.locator(".meta-grid")).to_contain_text("Waiter")
    # No pipeline_state: no Steps tab; Overview first.
    expect(page.get_by_role("tab", name=re.compile("^Steps"))).to_have_count(0)
    expect(page.get_by_role("tab", name="Overview")).to_have_attribute("aria-selected", "true")
    expect(page.locator("[role=tabpanel]:visible")).to_contain_text('"answer": 42')

    page.get_by_role("tab", name=re.compile("^Timeline")).click()
    assert "tab=timeline" in page.url
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Workflow started")
    expect(timeline).to_contain_text("Workflow awaiting signal")
    expect(timeline.locator("time").first).to_contain_text(re.compile(r"ago|just now"))

    # Live: a signal sent elsewhere appears in the open timeline, and the status flips.
    with dash_engine.http() as http:
        http.post(f"/workflows/{wid}/signal/finish", json={"payload": {"by": "api"}})
    expect(timeline).to_contain_text("Signal received")
    expect(page.locator(".detail-title .badge")).to_have_text("COMPLETED")
    timeline.locator("details").last.locator("summary").click()
    expect(timeline.locator("pre.json").last).to_contain_text('"finished_with"')
    shot(page, "workflow-detail-timeline", full_page=True)


def test_steps_tab_live_tail_and_step_action(dash_engine, dash_worker, dash_page, shot, unique_id):
    wid = unique_id("pipe")
    start(dash_engine, "DemoPipeline", wid)
    wait_status(dash_engine, wid, "RUNNING")
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/workflows/{wid}")
    steps_tab = page.get_by_role("tab", name=re.compile("^Steps"))
    expect(steps_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator('[role=tab]').first).to_have_text(re.compile("^Steps"))
    circles = page.locator(".pipeline-step")
    expect(circles).to_have_count(4)
    expect(circles.nth(0)).to_have_attribute("data-status", "running")
    # An unknown status keeps its text but uses the waiting glyph and style.
    expect(circles.nth(3).locator(".pipeline-status")).to_have_text("on-hold")
    expect(circles.nth(3).locator(".glyph")).to_have_text("○")
    expect(circles.nth(3)).to_have_class(re.compile("step-waiting"))
    expect(circles.nth(0).locator("button[data-action]")).to_have_count(2)
    expect(circles.nth(1).locator("button[data-action]")).to_have_count(0)
    shot(page, "steps-waiting-approval")

    # Log filter: selecting step 2 hides step-1 lines but keeps lines without a step.
    log = page.locator(".steplog")
    circles.nth(1).locator(".pipeline-circle").click()
    expect(circles.nth(1).locator(".pipeline-circle")).to_have_attribute("aria-pressed", "true")
    expect(log.get_by_text("Waiting for approval")).to_be_hidden()
    # Switching tabs stops the live tail too.
    polls_on_other_tab: list[str] = []
    page.get_by_role("tab", name="Overview").click()
    page.wait_for_timeout(300)
    page.on("request", lambda req: polls_on_other_tab.append(req.url) if "/state/pipeline_state" in req.url else None)
    page.wait_for_timeout(2200)
    assert polls_on_other_tab == []
    steps_tab.click()
    expect(log.get_by_text("Pipeline started")).to_be_visible()
    circles.nth(1).locator(".pipeline-circle").click()
    expect(log.get_by_text("Waiting for approval")).to_be_visible()

    # Step action: a confirmation with the acting user, then the step_action signal.
    circles.nth(0).get_by_role("button", name="approve").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Acting as").fill("alice")
    dialog.get_by_role("button", name="approve").click()

    # Live tail: Approval done, Build running (the activity takes ~1.5 s), later all done.
    expect(circles.nth(0)).to_have_attribute("data-status", "done")
    expect(circles.nth(1)).to_have_attribute("data-status", "running", timeout=5000)
    expect(circles.nth(0).locator("button[data-action]")).to_have_count(0)
    expect(page.locator(".pipeline-connector").first).to_have_class(re.compile("partial"))
    expect(log).to_contain_text("Approved by alice")
    shot(page, "steps-running")
    expect(circles.nth(2)).to_have_attribute("data-status", "done", timeout=10000)
    expect(page.locator(".live-badge")).to_have_text("final")

    # The live tail stops on a terminal run: no more snapshot polls.
    polls: list[str] = []
    page.on("request", lambda req: polls.append(req.url) if "/state/pipeline_state" in req.url else None)
    page.wait_for_timeout(2500)
    assert polls == []

    wf = wait_status(dash_engine, wid, "COMPLETED")
    assert wf["result"]["action"] == {"step": "Approval", "action": "approve", "user": "alice"}
    shot(page, "steps-done")


def test_workers_and_queues_views(dash_engine, dash_worker, dash_page, shot, unique_id):
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/workers")
    worker_row = page.locator(f'tr[data-id="{dash_worker.worker_id}"]')
    expect(worker_row).to_contain_text("dashboard-e2e/default")
    expect(worker_row.locator(".badge")).to_have_text("healthy")
    shot(page, "workers")
    # The view refreshes every 5 s; keyboard focus survives the refresh.
    worker_row.get_by_role("link", name="DemoPipeline").focus()
    page.wait_for_timeout(5600)
    assert page.evaluate("document.activeElement.textContent") == "DemoPipeline"
    assert page.evaluate("document.activeElement.closest('tr').dataset.id") == dash_worker.worker_id
    page.get_by_role("link", name="Queues").click()
    expect(page).to_have_url(re.compile("/workflow/queues"))
    expect(page.locator('tr[data-queue="default"]')).to_be_visible()
    shot(page, "queues")


def test_namespace_create_switch_and_delete(dash_engine, dash_worker, dash_page, shot, unique_id):
    ns = unique_id("team")
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/settings")
    expect(page.locator(".meta-grid")).to_contain_text("Build profile")
    page.get_by_label("New namespace").fill(ns)
    page.get_by_role("button", name="Create namespace").click()
    expect(page.locator(f'tr[data-name="{ns}"]')).to_be_visible()
    # The switcher knows it at once (no reload), and switching keeps the view.
    expect(page.locator(f'#ns-select option[value="{ns}"]')).to_have_count(1)
    shot(page, "settings")
    page.select_option("#ns-select", ns)
    expect(page).to_have_url(re.compile(f"ns={ns}"))
    expect(page.locator(".status-ns-name")).to_have_text(ns)
    page.get_by_role("link", name="Workflows").click()
    expect(page.get_by_text(f"No workflows in this namespace yet.")).to_be_visible()
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name=f"Delete namespace {ns}").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete namespace").click()
    expect(page.locator(f'tr[data-name="{ns}"]')).to_have_count(0)
    expect(page.locator(f'#ns-select option[value="{ns}"]')).to_have_count(0)


def test_schedule_create_pause_resume_delete(dash_engine, dash_worker, dash_page, shot, unique_id):
    with dash_engine.http() as http:
        if http.get("/schedules").status_code == 404:
            pytest.skip("the engine does not serve /schedules yet")
    name = unique_id("nightly")
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/schedules")
    page.get_by_role("button", name="+ Create schedule").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Workflow type").fill("Waiter")
    dialog.get_by_label("Cron expression").fill("0 0 2 * * *")
    dialog.get_by_label("Timezone").fill("Europe/Berlin")
    shot(page, "schedule-dialog")
    dialog.get_by_role("button", name="Create schedule").click()
    sched = page.locator(f'tr[data-name="{name}"]')
    expect(sched).to_contain_text("Europe/Berlin")
    expect(sched.locator(".badge")).to_have_text("active")
    sched.get_by_role("button", name=f"Pause {name}").click()
    expect(page.locator(f'tr[data-name="{name}"] .badge')).to_have_text("paused")
    with dash_engine.http() as http:
        assert http.get(f"/schedules/{name}").json()["paused"] is True
    shot(page, "schedules")
    page.locator(f'tr[data-name="{name}"]').get_by_role("button", name=f"Edit {name}").click()
    page.locator("dialog[open]").get_by_label("Cron expression").fill("0 30 3 * * *")
    page.locator("dialog[open]").get_by_role("button", name="Save changes").click()
    expect(page.locator(f'tr[data-name="{name}"]')).to_contain_text("0 30 3 * * *")
    page.locator(f'tr[data-name="{name}"]').get_by_role("button", name=f"Resume {name}").click()
    expect(page.locator(f'tr[data-name="{name}"] .badge')).to_have_text("active")
    page.locator(f'tr[data-name="{name}"]').get_by_role("button", name=f"Delete {name}").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete schedule").click()
    expect(page.locator(f'tr[data-name="{name}"]')).to_have_count(0)


def test_phone_layout_and_keyboard(dash_engine, dash_worker, dash_browser, shot, unique_id):
    wid = unique_id("phone")
    start(dash_engine, "Waiter", wid)
    context = dash_browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{dash_engine.url}/workflow/")
        expect(row(page, wid)).to_be_visible()
        # No horizontal page scroll on a phone.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot(page, "phone-workflows")
        menu = page.get_by_role("button", name="Menu")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("link", name="Schedules")).to_be_visible()
        page.wait_for_timeout(300)  # let the drawer finish sliding in before the screenshot
        shot(page, "phone-menu")
        page.keyboard.press("Escape")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(page.get_by_role("link", name="Schedules")).to_be_hidden()

        # Keyboard: tabs move with arrow keys and keep aria-selected in sync.
        page.goto(f"{dash_engine.url}/workflow/workflows/{wid}")
        overview = page.get_by_role("tab", name="Overview")
        overview.focus()
        page.keyboard.press("ArrowRight")
        expect(page.get_by_role("tab", name=re.compile("^Timeline"))).to_be_focused()
        expect(page.get_by_role("tab", name=re.compile("^Timeline"))).to_have_attribute("aria-selected", "true")
    finally:
        context.close()


def test_default_branding_and_no_sign_in_prompt(dash_engine, dash_page):
    page = dash_page
    page.goto(f"{dash_engine.url}/")  # redirects to /workflow/
    expect(page).to_have_url(f"{dash_engine.url}/workflow/")
    expect(page).to_have_title("Workflows · Assay Workflow Dashboard")
    expect(page.locator(".brand-name")).to_have_text("Assay")
    expect(page.locator(".brand-mark")).to_have_text("A")
    expect(page.locator(".brand-subtitle")).to_have_count(0)
    expect(page.locator(".docs-link")).to_have_attribute("href", "/api/v1/engine/workflow/docs")
    expect(page.locator(".status-version")).to_contain_text("Assay Workflow Engine v")
    expect(page.locator(".conn")).to_have_attribute("data-state", "connected")
    # --no-auth engine: never a token prompt, no sign-out button.
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(page.locator(".sign-out")).to_be_hidden()


def test_run_again_starts_a_new_run_and_opens_it(dash_engine, dash_worker, dash_page, unique_id):
    wid, new_id = unique_id("again"), unique_id("again-next")
    start(dash_engine, "Waiter", wid, input={"round": 1})
    wait_status(dash_engine, wid, "RUNNING")
    with dash_engine.http() as http:
        http.post(f"/workflows/{wid}/signal/finish", json={"payload": 1})
    wait_status(dash_engine, wid, "COMPLETED")
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/workflows/{wid}")
    page.get_by_role("button", name="Run again").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_label("Input (JSON)")).to_have_value(re.compile('"round": 1'))
    dialog.get_by_label("New workflow ID (optional)").fill(new_id)
    dialog.get_by_label("Input (JSON)").fill('{"round": 2}')
    dialog.get_by_role("button", name="Start new run").click()
    expect(page).to_have_url(re.compile(f"/workflow/workflows/{new_id}"))
    expect(page.locator(".detail-title h1")).to_have_text(new_id)
    assert record(dash_engine, new_id)["input"] == {"round": 2}


def test_steps_tab_appears_when_the_run_starts_reporting(dash_engine, dash_worker, dash_page, unique_id):
    from tests.e2e.dashboard.worker import TestWorker

    queue, wid = unique_id("later-q"), unique_id("later")
    start(dash_engine, "DemoPipeline", wid, task_queue=queue)  # no worker on this queue yet
    page = dash_page
    page.goto(f"{dash_engine.url}/workflow/workflows/{wid}")
    expect(page.get_by_role("tab", name="Overview")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab", name=re.compile("^Steps"))).to_have_count(0)
    late = TestWorker(dash_engine.url, queue=queue)
    try:
        steps_tab = page.get_by_role("tab", name=re.compile("^Steps"))
        expect(steps_tab).to_have_attribute("aria-selected", "true")
        expect(page.locator('[role=tab]').first).to_have_text(re.compile("^Steps"))
        expect(page.locator(".pipeline-step").first).to_have_attribute("data-status", "running")
    finally:
        late.stop()
    assert not late.errors
