// Workflows list: server-side filters (status, type, search attributes) and paging
// (limit/offset, total from X-Total-Count), all kept in the URL. Live events refresh the
// current page, coalesced, and rows are reconciled by id in place: filters, focus and open
// dialogs survive (the original rebuilt the whole view on every event).

import { api } from "../lib/api.js";
import { badge, emptyState, errorState, h, mount } from "../lib/dom.js";
import { coalesce, onEngineEvent } from "../lib/events.js";
import { STATUSES, exactTime, isTerminal, relTime } from "../lib/format.js";
import { navigate, updateQuery, workflowHref } from "../lib/router.js";
import { cancelWorkflow, signalWorkflow, terminateWorkflow } from "./actions.js";
import { startWorkflow } from "./start.js";

const PAGE_SIZES = [20, 50, 100];

export function mountWorkflows(root, { ns }) {
  const q = new URLSearchParams(location.search);
  const state = {
    status: (q.get("status") || "").toUpperCase(),
    type: q.get("type") || "",
    attrs: q.get("attrs") || "",
    limit: PAGE_SIZES.includes(Number(q.get("limit"))) ? Number(q.get("limit")) : PAGE_SIZES[0],
    offset: Math.max(0, Number(q.get("offset")) || 0),
  };
  const rows = new Map(); // workflow id -> {tr, sig}
  let loaded = false;
  let inflight = null;

  // ---- toolbar and filters ----
  const count = h("span", { class: "muted", "aria-live": "polite" });
  const startBtn = h("button", { type: "button", class: "btn btn-primary" }, "+ Start workflow");
  const statusSel = h("select", { id: "f-status" }, h("option", { value: "" }, "All statuses"), STATUSES.map((s) => h("option", { value: s }, s.replace("_", " ").toLowerCase())));
  statusSel.value = state.status;
  const typeIn = h("input", { id: "f-type", type: "search", placeholder: "exact type name", value: state.type, list: "f-type-list", autocomplete: "off" });
  const typeList = h("datalist", { id: "f-type-list" });
  const attrsIn = h("input", { id: "f-attrs", type: "search", placeholder: '{"env": "prod"}', value: state.attrs, autocomplete: "off", spellcheck: "false", "aria-describedby": "f-attrs-hint" });
  // The format hint is for screen readers until the input is invalid; then everyone sees it.
  const attrsHint = h("span", { class: "hint visually-hidden", id: "f-attrs-hint" }, 'JSON object such as {"env": "prod"}; every key must match.');
  const idIn = h("input", { id: "f-id", type: "search", placeholder: "Open by workflow ID…", autocomplete: "off" });
  const clearBtn = h("button", { type: "button", class: "btn btn-ghost" }, "Clear filters");

  const tbody = h("tbody");
  const table = h("div", { class: "table-wrap" }, h("table", { class: "wf-table" },
    h("caption", { class: "visually-hidden" }, "Workflows, newest first"),
    h("thead", null, h("tr", null,
      h("th", { scope: "col", class: "col-id" }, "ID"), h("th", { scope: "col", class: "col-type" }, "Type"), h("th", { scope: "col", class: "col-status" }, "Status"),
      h("th", { scope: "col", class: "col-queue" }, "Queue"), h("th", { scope: "col", class: "col-created" }, "Created"),
      h("th", { scope: "col", class: "col-actions" }, h("span", { class: "visually-hidden" }, "Actions")))),
    tbody));
  const message = h("div");
  const pagerText = h("span", { class: "muted" });
  const prev = h("button", { type: "button", class: "btn btn-sm" }, "← Newer");
  const next = h("button", { type: "button", class: "btn btn-sm" }, "Older →");
  const sizeSel = h("select", { id: "f-size", "aria-label": "Rows per page" }, PAGE_SIZES.map((n) => h("option", { value: n }, `${n} per page`)));
  sizeSel.value = String(state.limit);
  const pager = h("nav", { class: "pager", "aria-label": "Pages" }, pagerText, prev, next, sizeSel);
  table.hidden = pager.hidden = true; // until the first page arrives

  mount(root,
    h("div", { class: "view-header" }, h("h1", null, "Workflows"), count,
      h("form", { class: "id-form", role: "search", "aria-label": "Open a workflow by ID", onsubmit: (e) => { e.preventDefault(); if (idIn.value.trim()) navigate(workflowHref(idIn.value.trim(), {}, ns)); } },
        h("label", { for: "f-id", class: "visually-hidden" }, "Workflow ID"), idIn, h("button", { type: "submit", class: "btn" }, "Open")),
      startBtn),
    h("form", { class: "filters", role: "search", "aria-label": "Filter workflows", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: "f-status" }, "Status"), statusSel),
      h("div", { class: "field" }, h("label", { for: "f-type" }, "Type"), typeIn, typeList),
      h("div", { class: "field" }, h("label", { for: "f-attrs" }, "Search attributes"), attrsIn, attrsHint),
      clearBtn),
    message, table, pager);

  // ---- filter handling: every change goes to the URL, then a server query ----
  const applyFilters = (replace) => {
    state.offset = 0;
    updateQuery({ status: state.status, type: state.type, attrs: state.attrs, offset: "" }, { replace });
    load();
  };
  statusSel.addEventListener("change", () => { state.status = statusSel.value; applyFilters(false); });
  const typed = coalesce(() => { if (typeIn.value.trim() !== state.type) { state.type = typeIn.value.trim(); applyFilters(true); } }, 400, 2000);
  typeIn.addEventListener("input", typed);
  const attrsTyped = coalesce(() => {
    const text = attrsIn.value.trim();
    if (text && !validAttrs(text)) {
      attrsIn.setAttribute("aria-invalid", "true");
      attrsHint.textContent = 'Not a JSON object yet, e.g. {"env": "prod"}. The list is unchanged.';
      attrsHint.classList.remove("visually-hidden");
      return;
    }
    attrsIn.setAttribute("aria-invalid", "false");
    attrsHint.textContent = 'JSON object such as {"env": "prod"}; every key must match.';
    attrsHint.classList.add("visually-hidden");
    if (text !== state.attrs) { state.attrs = text; applyFilters(true); }
  }, 500, 3000);
  attrsIn.addEventListener("input", attrsTyped);
  clearBtn.addEventListener("click", () => {
    Object.assign(state, { status: "", type: "", attrs: "" });
    statusSel.value = ""; typeIn.value = ""; attrsIn.value = "";
    attrsIn.setAttribute("aria-invalid", "false");
    applyFilters(false);
  });
  const page = (offset) => {
    state.offset = Math.max(0, offset);
    updateQuery({ offset: state.offset || "" });
    load();
  };
  prev.addEventListener("click", () => page(state.offset - state.limit));
  next.addEventListener("click", () => page(state.offset + state.limit));
  sizeSel.addEventListener("change", () => {
    state.limit = Number(sizeSel.value);
    state.offset = 0;
    updateQuery({ limit: state.limit === PAGE_SIZES[0] ? "" : state.limit, offset: "" });
    load();
  });
  startBtn.addEventListener("click", async () => { if (await startWorkflow(ns)) load(); });

  // ---- data ----
  async function load() {
    if (inflight) inflight.abort();
    const ctrl = new AbortController();
    inflight = ctrl;
    if (!loaded) mount(message, h("p", { class: "loading" }, "Loading workflows…"));
    const query = { namespace: ns, limit: state.limit, offset: state.offset, status: state.status, type: state.type, search_attrs: state.attrs };
    try {
      const { items, total } = await api.list("/workflows", query, { signal: ctrl.signal });
      if (ctrl.signal.aborted) return;
      if (total !== null && items.length === 0 && state.offset > 0 && total > 0) {
        // The page emptied (rows finished or were filtered away): go to the last page.
        page(Math.floor((total - 1) / state.limit) * state.limit);
        return;
      }
      mount(message);
      renderRows(items);
      renderPager(items.length, total);
      loaded = true;
    } catch (err) {
      if (err.name === "AbortError") return;
      mount(message, errorState(err, load));
    } finally {
      if (inflight === ctrl) inflight = null;
    }
  }

  function renderRows(items) {
    const filtered = state.status || state.type || state.attrs;
    table.hidden = items.length === 0;
    if (items.length === 0) {
      mount(message, filtered
        ? emptyState("No workflows match these filters.", "Change or clear the filters above.")
        : emptyState("No workflows in this namespace yet.", "Start one with “+ Start workflow”, the CLI (assay workflow start) or a worker."));
    }
    const seen = new Set();
    items.forEach((wf, i) => {
      seen.add(wf.id);
      const sig = `${wf.status}|${wf.workflow_type}|${wf.task_queue}|${wf.created_at}`;
      let entry = rows.get(wf.id);
      if (!entry) {
        entry = { tr: h("tr", { dataset: { id: wf.id } }), sig: "" };
        if (loaded) entry.tr.classList.add("flash");
        rows.set(wf.id, entry);
      }
      if (entry.sig !== sig) {
        fillRow(entry.tr, wf);
        entry.sig = sig;
      }
      if (tbody.children[i] !== entry.tr) tbody.insertBefore(entry.tr, tbody.children[i] || null);
    });
    for (const [id, entry] of rows) {
      if (!seen.has(id)) { entry.tr.remove(); rows.delete(id); }
    }
    updateTypeSuggestions(items);
  }

  function fillRow(tr, wf) {
    const terminal = isTerminal(wf.status);
    const actions = terminal ? [] : [
      h("button", { type: "button", class: "btn btn-sm", "aria-label": `Signal ${wf.id}`, onclick: () => signalWorkflow(wf) }, "Signal"),
      h("button", { type: "button", class: "btn btn-sm", "aria-label": `Cancel ${wf.id}`, onclick: async () => { if (await cancelWorkflow(wf)) load(); } }, "Cancel"),
      h("button", { type: "button", class: "btn btn-sm btn-danger", "aria-label": `Terminate ${wf.id}`, onclick: async () => { if (await terminateWorkflow(wf)) load(); } }, "Terminate"),
    ];
    // Keep focus on a surviving control when the row re-renders under the operator's hands.
    const hadFocus = tr.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
    mount(tr,
      h("td", { class: "col-id" }, h("a", { class: "id-link", href: workflowHref(wf.id, {}, ns) }, wf.id)),
      h("td", { class: "col-type" }, wf.workflow_type || "–"),
      h("td", { class: "col-status" }, badge(wf.status)),
      h("td", { class: "col-queue mono" }, wf.task_queue || "default"),
      h("td", { class: "col-created" }, h("time", { datetime: new Date(wf.created_at * 1000).toISOString(), title: exactTime(wf.created_at), dataset: { ts: wf.created_at } }, relTime(wf.created_at))),
      h("td", { class: "col-actions" }, h("div", { class: "btn-group" }, actions)));
    if (hadFocus) {
      const again = [...tr.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === hadFocus);
      (again || tr.querySelector("a")).focus();
    }
  }

  function renderPager(shown, total) {
    const from = shown ? state.offset + 1 : 0;
    const to = state.offset + shown;
    count.textContent = total === null ? "" : `${total} total`;
    pagerText.textContent = total === null ? `${from}–${to}` : `${from}–${to} of ${total}`;
    prev.disabled = state.offset === 0;
    next.disabled = total === null ? shown < state.limit : to >= total;
    pager.hidden = shown === 0 && state.offset === 0;
  }

  function updateTypeSuggestions(items) {
    const have = new Set([...typeList.options].map((o) => o.value));
    for (const wf of items) {
      if (wf.workflow_type && !have.has(wf.workflow_type)) { have.add(wf.workflow_type); typeList.append(h("option", { value: wf.workflow_type })); }
    }
  }

  // ---- live updates and relative-time ticking ----
  const refresh = coalesce(load, 300, 1500);
  const offEvents = onEngineEvent(() => refresh());
  const ticker = setInterval(() => {
    for (const t of root.querySelectorAll("time[data-ts]")) t.textContent = relTime(Number(t.dataset.ts));
  }, 15000);

  load();
  return () => {
    offEvents();
    refresh.cancel();
    typed.cancel();
    attrsTyped.cancel();
    clearInterval(ticker);
    if (inflight) inflight.abort();
  };
}

function validAttrs(text) {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v);
  } catch {
    return false;
  }
}
