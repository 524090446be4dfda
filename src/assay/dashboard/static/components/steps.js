// Steps tab: renders the `pipeline_state` query convention (see docs/dashboard.md).
//
// Live tail: while the tab is shown and the run is not terminal, GET
// /workflows/{id}/state/pipeline_state every second and diff-apply the answer: steps are
// reconciled by index (new steps appear, removed ones go), each step element is touched
// only when its own data changed, and the log appends new lines (a rewritten log is
// redrawn). The poller stops on a terminal status, on tab switch and when the view closes.

import { api, seg } from "../lib/api.js";
import { h, mount } from "../lib/dom.js";
import { duration, isTerminal } from "../lib/format.js";
import { openForm } from "./modal.js";
import { toast } from "./toast.js";

const GLYPHS = { waiting: "○", running: "⟳", done: "✓", failed: "✕", cancelled: "⊘", skipped: "·" };
const USER_KEY = "assay.user";

/** True when a pipeline_state value follows the convention (a non-empty steps array). */
export function hasSteps(value) {
  return !!value && typeof value === "object" && Array.isArray(value.steps) && value.steps.length > 0;
}

export function createStepsPanel({ workflowId, value, status }) {
  let wfStatus = status;
  let current = value;
  let lastSeq = null;
  let selected = null; // 1-based step index filtering the log, or null
  let locked = false;
  let timer = null;
  let busy = false;
  const stepEls = []; // {wrap, circle, glyph, name, statusText, actions, countdown, sig}
  const connectors = [];
  const logLines = []; // rendered signatures, to detect appends versus rewrites

  const strip = h("div", { class: "pipeline", role: "list", "aria-label": "Steps" });
  const liveBadge = h("span", { class: "live-badge" });
  const filterNote = h("span", { class: "muted", hidden: true });
  const showAll = h("button", { type: "button", class: "btn btn-sm btn-ghost", hidden: true, onclick: () => select(null) }, "Show all");
  const lockBtn = h("button", { type: "button", class: "btn btn-sm", "aria-pressed": "false" }, "Auto-scroll on");
  const log = h("div", { class: "steplog", role: "log", "aria-label": "Step log", tabindex: "0" });
  const el = h("div", { class: "steps-panel" },
    strip,
    h("div", { class: "steplog-head" }, h("h2", null, "Step log"), liveBadge, filterNote, showAll, h("span", { class: "spacer" }), lockBtn),
    log);

  lockBtn.addEventListener("click", () => {
    locked = !locked;
    lockBtn.setAttribute("aria-pressed", String(locked));
    lockBtn.textContent = locked ? "Auto-scroll off (locked)" : "Auto-scroll on";
    if (!locked) log.scrollTop = log.scrollHeight;
  });

  function displayStatus(raw) {
    const s = String(raw || "waiting").toLowerCase();
    // Visual overlay for runs that ended abnormally; the snapshot itself is not changed.
    const st = String(wfStatus || "").toUpperCase();
    if (["FAILED", "CANCELLED", "TIMED_OUT"].includes(st)) {
      if (s === "running") return st === "CANCELLED" ? "cancelled" : "failed";
      if (s === "waiting") return "skipped";
    }
    return s;
  }

  function apply(v) {
    current = v;
    const steps = hasSteps(v) ? v.steps : [];
    while (stepEls.length < steps.length) addStep(stepEls.length);
    while (stepEls.length > steps.length) {
      stepEls.pop().wrap.remove();
      const c = connectors.pop();
      if (c) c.remove();
    }
    steps.forEach((step, i) => updateStep(i, step || {}, Number(v.current_step) === i + 1));
    connectors.forEach((c, i) => { c.className = "pipeline-connector " + connectorClass(steps[i], steps[i + 1]); });
    applyLog(Array.isArray(v && v.log) ? v.log : []);
    const terminal = isTerminal(wfStatus);
    liveBadge.textContent = terminal ? "final" : "● live";
    liveBadge.classList.toggle("final", terminal);
    updateCountdowns();
  }

  function addStep(i) {
    if (i > 0) {
      const c = h("div", { class: "pipeline-connector", "aria-hidden": "true" });
      connectors.push(c);
      strip.append(c);
    }
    const glyph = h("span", { class: "glyph", "aria-hidden": "true" });
    const circle = h("button", { type: "button", class: "pipeline-circle", "aria-pressed": "false", onclick: () => select(selected === i + 1 ? null : i + 1) }, glyph);
    const name = h("span", { class: "pipeline-name" });
    const statusText = h("span", { class: "pipeline-status" });
    const actions = h("div", { class: "pipeline-actions" });
    const countdown = h("span", { class: "pipeline-countdown", hidden: true });
    const wrap = h("div", { class: "pipeline-step", role: "listitem", dataset: { index: i + 1 } }, circle, name, statusText, actions, countdown);
    strip.append(wrap);
    stepEls.push({ wrap, circle, glyph, name, statusText, actions, countdown, sig: "" });
  }

  function updateStep(i, step, isCurrent) {
    const e = stepEls[i];
    const shown = displayStatus(step.status);
    const label = step.name || `Step ${i + 1}`;
    const acts = Array.isArray(step.actions) ? step.actions.map(String) : [];
    const sig = JSON.stringify([label, shown, step.status, acts, isCurrent, step.expires_at]);
    if (sig === e.sig) return;
    e.sig = sig;
    const known = shown in GLYPHS;
    e.wrap.className = `pipeline-step step-${known ? shown : "waiting"}${isCurrent ? " is-current" : ""}`;
    e.wrap.dataset.status = shown;
    e.glyph.textContent = GLYPHS[known ? shown : "waiting"];
    e.name.textContent = label;
    // Unknown statuses look like waiting but keep their literal text.
    e.statusText.textContent = String(step.status || "waiting");
    e.circle.setAttribute("aria-label", `Step ${i + 1}, ${label}: ${step.status || "waiting"}. Filter the log to this step.`);
    e.expiresAt = shown === "running" && Number(step.expires_at) ? Number(step.expires_at) : null;
    mount(e.actions, acts.map((action) => h("button", {
      type: "button", class: "btn btn-sm", dataset: { action },
      onclick: (ev) => stepAction(ev.currentTarget, label, action),
    }, action)));
  }

  function connectorClass(a, b) {
    const sa = displayStatus(a && a.status), sb = displayStatus(b && b.status);
    if (sb === "skipped") return "muted";
    if (sa === "done") return ["done", "failed", "cancelled"].includes(sb) ? "full" : "partial";
    return "muted";
  }

  function applyLog(entries) {
    const sigs = entries.map((e) => JSON.stringify([e && e.time, e && e.msg, e && (e.step ?? e.stage)]));
    const isAppend = sigs.length >= logLines.length && logLines.every((s, i) => s === sigs[i]);
    if (!isAppend) { log.replaceChildren(); logLines.length = 0; }
    for (let i = logLines.length; i < entries.length; i++) {
      const e = entries[i] || {};
      const step = e.step ?? e.stage;
      const line = h("p", { dataset: step !== undefined && step !== null ? { step: String(step) } : null },
        e.time !== undefined ? h("time", null, String(e.time)) : null, String(e.msg ?? ""));
      line.hidden = !visible(line);
      log.append(line);
      logLines.push(sigs[i]);
    }
    if (!entries.length && !log.firstChild) log.append(h("p", { class: "muted" }, "No log entries yet."));
    if (!locked) log.scrollTop = log.scrollHeight;
  }

  // Entries without a step are always shown, whichever step is selected (the seed's rule).
  const visible = (line) => selected === null || line.dataset.step === undefined || Number(line.dataset.step) === selected;

  function select(index) {
    selected = index;
    stepEls.forEach((e, i) => e.circle.setAttribute("aria-pressed", String(selected === i + 1)));
    for (const line of log.children) line.hidden = !visible(line);
    filterNote.hidden = showAll.hidden = selected === null;
    const step = selected && hasSteps(current) ? current.steps[selected - 1] : null;
    filterNote.textContent = selected ? `Showing ${step && step.name ? step.name : `step ${selected}`} and general lines` : "";
    if (!locked) log.scrollTop = log.scrollHeight;
  }

  async function stepAction(button, step, action) {
    let user = "";
    try { user = localStorage.getItem(USER_KEY) || ""; } catch { /* storage off */ }
    const out = await openForm({
      title: `${action} — ${step}`,
      description: `Sends the step_action signal to ${workflowId}. The workflow decides what "${action}" means.`,
      submitLabel: action,
      fields: [{ name: "user", label: "Acting as", value: user, placeholder: "your name", hint: "Recorded in the signal payload; remembered in this browser." }],
      onSubmit: async (v) => {
        const who = v.user.trim() || null;
        try { if (who) localStorage.setItem(USER_KEY, who); } catch { /* storage off */ }
        button.disabled = true; // no double submission while the request runs
        try {
          await api.post(`/workflows/${seg(workflowId)}/signal/step_action`, { payload: { step, action, user: who } });
        } finally {
          button.disabled = false;
        }
        return true;
      },
    });
    if (out) {
      toast(`${action} → ${step}`, "success");
      tick(); // show the effect as soon as the workflow records it
    }
  }

  function updateCountdowns() {
    const now = Date.now() / 1000;
    for (const e of stepEls) {
      if (!e.expiresAt) { e.countdown.hidden = true; continue; }
      const left = e.expiresAt - now;
      e.countdown.hidden = false;
      e.countdown.textContent = left > 0 ? `expires in ${duration(left)}` : "expired";
      e.countdown.classList.toggle("soon", left <= 60);
    }
  }

  async function tick() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const snap = await api.get(`/workflows/${seg(workflowId)}/state/pipeline_state`);
      if (snap && snap.event_seq !== lastSeq) {
        lastSeq = snap.event_seq;
        // A new snapshot may mean the run finished: check, so we stop even without SSE.
        const wf = await api.get(`/workflows/${seg(workflowId)}`);
        wfStatus = wf.status;
        apply(snap.value);
      } else {
        updateCountdowns();
      }
      if (isTerminal(wfStatus)) stop();
    } catch {
      /* transient (404 before the first snapshot, engine restart): try next second */
    } finally {
      busy = false;
    }
  }

  function start() {
    if (timer || isTerminal(wfStatus)) return;
    tick();
    timer = setInterval(tick, 1000);
  }

  function stop() {
    clearInterval(timer);
    timer = null;
  }

  apply(value);
  return {
    el,
    start,
    stop,
    get polling() { return timer !== null; },
    /** The detail view learned a new status (SSE): restyle, and stop when terminal. */
    setWorkflowStatus(s) {
      if (s === wfStatus) return;
      wfStatus = s;
      stepEls.forEach((e) => { e.sig = ""; });
      apply(current);
      if (isTerminal(s)) { stop(); tick(); }
    },
  };
}
