// Workflow detail page (/workflow/workflows/{id}): metadata, actions, and tabs for Steps
// (when the run exposes pipeline_state), Overview, Timeline, State and Children. The tab
// is in the URL (?tab=). Live: SSE events for this run trigger a coalesced refresh that
// appends new events and updates the header in place; a slow safety poll covers a
// disconnected stream while the run is not terminal.

import { api, seg } from "../lib/api.js";
import { badge, errorState, h, mount, emptyState } from "../lib/dom.js";
import { coalesce, onEngineEvent } from "../lib/events.js";
import { duration, exactTime, isEmptyValue, isTerminal, prettyJson, relTime } from "../lib/format.js";
import { href, navigate, updateQuery, workflowHref } from "../lib/router.js";
import { cancelWorkflow, continueAsNew, signalWorkflow, terminateWorkflow } from "./actions.js";
import { createStepsPanel, hasSteps } from "./steps.js";
import { createTabs } from "./tabs.js";
import { createTimeline } from "./timeline.js";

export function mountDetail(root, { ns, id }) {
  let wf = null;
  let steps = null;
  let tabs = null;
  let timeline = null;
  let closed = false;
  const header = h("div");
  const metaBox = h("div", { class: "card" });
  const overview = h("div");
  const statePanel = h("div");
  const childrenPanel = h("div");
  const childIds = new Set();

  mount(root,
    h("p", { class: "crumbs" }, h("a", { href: href("/", {}, ns) }, "← Workflows")),
    header,
    h("p", { class: "loading" }, "Loading workflow…"));

  async function fetchState() {
    try {
      return await api.get(`/workflows/${seg(id)}/state`);
    } catch (err) {
      if (err.status === 404) return null; // no register_query snapshot: normal
      throw err;
    }
  }

  async function load() {
    try {
      const [record, events, children, state] = await Promise.all([
        api.get(`/workflows/${seg(id)}`),
        api.get(`/workflows/${seg(id)}/events`),
        api.get(`/workflows/${seg(id)}/children`).catch(() => []),
        fetchState(),
      ]);
      if (closed) return;
      wf = record;
      timeline = createTimeline(wf.created_at);
      timeline.append(events || []);
      renderHeader();
      renderOverview();
      renderState(state);
      renderChildren(children || []);
      const pipeline = state && state.state ? state.state.pipeline_state : null;
      const tabList = [];
      if (hasSteps(pipeline)) {
        steps = createStepsPanel({ workflowId: id, value: pipeline, status: wf.status });
        tabList.push({ id: "steps", label: `Steps (${pipeline.steps.length})`, panel: steps.el });
      }
      tabList.push(
        { id: "overview", label: "Overview", panel: overview },
        { id: "timeline", label: `Timeline (${timeline.count})`, panel: timeline.el },
        { id: "state", label: "State", panel: statePanel },
        { id: "children", label: `Children (${(children || []).length})`, panel: childrenPanel },
      );
      const wanted = new URLSearchParams(location.search).get("tab");
      tabs = createTabs(tabList, tabList.some((t) => t.id === wanted) ? wanted : tabList[0].id, onTab);
      mount(root, h("p", { class: "crumbs" }, h("a", { href: href("/", {}, ns) }, "← Workflows")), header, metaBox, tabs.el);
      onTab(tabs.selected, true);
    } catch (err) {
      if (closed) return;
      const notFound = err.status === 404;
      mount(root,
        h("p", { class: "crumbs" }, h("a", { href: href("/", {}, ns) }, "← Workflows")),
        h("h1", { class: "mono" }, id),
        notFound
          ? emptyState("No workflow with this ID.", "Check the ID. It may have been mistyped, or the link points to another engine.")
          : errorState(err, load));
    }
  }

  let tabChosen = new URLSearchParams(location.search).has("tab");

  function onTab(tabId, initial) {
    if (!initial) {
      tabChosen = true;
      updateQuery({ tab: tabId }, { replace: true });
    }
    // The poller runs only while the Steps tab is visible.
    if (steps) (tabId === "steps" ? steps.start() : steps.stop());
  }

  function renderHeader() {
    const terminal = isTerminal(wf.status);
    const act = (fn) => async () => { if (await fn(wf)) refresh(); };
    const buttons = [];
    if (!terminal) {
      buttons.push(
        h("button", { type: "button", class: "btn", onclick: act(signalWorkflow) }, "Signal"),
        h("button", { type: "button", class: "btn", onclick: act(cancelWorkflow) }, "Cancel"),
        h("button", { type: "button", class: "btn btn-danger", onclick: act(terminateWorkflow) }, "Terminate"));
    }
    buttons.push(h("button", { type: "button", class: "btn", onclick: async () => {
      const newId = await continueAsNew(wf, terminal);
      if (newId) navigate(workflowHref(newId, {}, ns));
    } }, terminal ? "Run again" : "Continue as new"));
    mount(header, h("div", { class: "detail-title" },
      h("h1", null, wf.id), badge(wf.status), h("span", { class: "spacer" }), h("div", { class: "btn-group", role: "group", "aria-label": "Workflow actions" }, buttons)));
    renderMeta();
  }

  // Metadata only (no focusable controls besides links), so it is safe to redraw live.
  function renderMeta() {
    const end = wf.completed_at || Date.now() / 1000;
    const items = [
      ["Type", wf.workflow_type],
      ["Namespace", wf.namespace],
      ["Task queue", h("span", { class: "mono" }, wf.task_queue)],
      ["Run ID", h("span", { class: "mono" }, wf.run_id)],
      ["Created", timeEl(wf.created_at)],
      ["Updated", timeEl(wf.updated_at)],
      ["Completed", wf.completed_at ? timeEl(wf.completed_at) : "–"],
      ["Duration", duration(end - wf.created_at) + (wf.completed_at ? "" : " (running)")],
    ];
    if (wf.parent_id) items.push(["Parent", h("a", { class: "mono", href: workflowHref(wf.parent_id, {}, ns) }, wf.parent_id)]);
    if (wf.continued_from) items.push(["Continued from", h("a", { class: "mono", href: workflowHref(wf.continued_from, {}, ns) }, wf.continued_from)]);
    if (wf.continued_to) items.push(["Continued as", h("a", { class: "mono", href: workflowHref(wf.continued_to, {}, ns) }, wf.continued_to)]);
    if (wf.archived_at) items.push(["Archived", h("span", null, relTime(wf.archived_at), " · ", h("span", { class: "mono" }, wf.archive_uri || ""))]);
    mount(metaBox, h("dl", { class: "meta-grid" }, items.map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v ?? "–")))));
  }

  function renderOverview() {
    const blocks = [];
    if (wf.error) blocks.push(h("h3", null, "Error"), h("pre", { class: "json error-box" }, typeof wf.error === "string" ? wf.error : prettyJson(wf.error)));
    if (!isEmptyValue(wf.input)) blocks.push(h("h3", null, "Input"), h("pre", { class: "json" }, prettyJson(wf.input)));
    if (wf.result !== null && wf.result !== undefined) blocks.push(h("h3", null, "Result"), h("pre", { class: "json" }, prettyJson(wf.result)));
    if (!isEmptyValue(wf.search_attributes)) blocks.push(h("h3", null, "Search attributes"), h("pre", { class: "json" }, prettyJson(wf.search_attributes)));
    mount(overview, blocks.length ? blocks : emptyState("No input, result or search attributes recorded yet.", "They appear here when the run has them."));
  }

  function renderState(state) {
    if (!state) {
      mount(statePanel, emptyState("No live state snapshot.", "The workflow exposes state by calling ctx:register_query(name, fn)."));
      return;
    }
    mount(statePanel, h("pre", { class: "json" }, prettyJson(state.state)),
      h("p", { class: "muted" }, `Snapshot at event #${state.event_seq}, `, timeEl(state.created_at)));
  }

  function renderChildren(children) {
    childIds.clear();
    for (const c of children) childIds.add(c.id);
    if (!children.length) {
      mount(childrenPanel, emptyState("No child workflows.", "Children started with ctx:start_child_workflow appear here."));
      return;
    }
    mount(childrenPanel, h("div", { class: "table-wrap" }, h("table", null,
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "ID"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Created"))),
      h("tbody", null, children.map((c) => h("tr", null,
        h("td", null, h("a", { class: "id-link", href: workflowHref(c.id, {}, ns) }, c.id)),
        h("td", null, c.workflow_type), h("td", null, badge(c.status)), h("td", null, timeEl(c.created_at))))))));
  }

  // ---- live refresh ----
  async function refreshNow() {
    if (!wf || closed) return;
    try {
      const [record, events, children, state] = await Promise.all([
        api.get(`/workflows/${seg(id)}`),
        api.get(`/workflows/${seg(id)}/events`, { after_seq: timeline.lastSeq }),
        api.get(`/workflows/${seg(id)}/children`).catch(() => null),
        fetchState().catch(() => null),
      ]);
      if (closed) return;
      const statusChanged = record.status !== wf.status;
      wf = record;
      timeline.append(events || []);
      tabs.setLabel("timeline", `Timeline (${timeline.count})`);
      if (statusChanged) renderHeader();
      else renderMeta();
      renderOverview();
      if (state) renderState(state);
      addStepsTabIfNew(state);
      if (children) { renderChildren(children); tabs.setLabel("children", `Children (${children.length})`); }
      if (steps) steps.setWorkflowStatus(wf.status);
    } catch {
      /* keep the last good view; the status bar shows connection problems */
    }
  }
  // A run may start exposing pipeline_state after the page opened (its first workflow task
  // ran later): add the Steps tab then, and select it unless the operator picked a tab.
  function addStepsTabIfNew(state) {
    const pipeline = state && state.state ? state.state.pipeline_state : null;
    if (steps || !hasSteps(pipeline)) return;
    steps = createStepsPanel({ workflowId: id, value: pipeline, status: wf.status });
    tabs.prepend({ id: "steps", label: `Steps (${pipeline.steps.length})`, panel: steps.el }, { select: !tabChosen });
    onTab(tabs.selected, true);
  }

  const refresh = coalesce(refreshNow, 250, 1000);
  const offEvents = onEngineEvent((ev) => { if (ev.workflow_id === id || childIds.has(ev.workflow_id)) refresh(); });
  const safety = setInterval(() => { if (wf && !isTerminal(wf.status)) refresh(); }, 10000);
  const ticker = setInterval(() => {
    for (const t of root.querySelectorAll("time[data-ts]")) t.textContent = relTime(Number(t.dataset.ts));
  }, 15000);

  load();
  return () => {
    closed = true;
    offEvents();
    refresh.cancel();
    clearInterval(safety);
    clearInterval(ticker);
    if (steps) steps.stop();
  };
}

function timeEl(ts) {
  if (!ts) return "–";
  return h("time", { datetime: new Date(ts * 1000).toISOString(), title: exactTime(ts), dataset: { ts } }, relTime(ts));
}
