// Schedules: list (timezone, paused, next and last run), create, edit (PATCH with only the
// changed fields), pause, resume, delete (confirmed). Refreshed in place every 15 s and
// after workflow events (a fire starts a workflow), never while a dialog is open.

import { api, seg } from "../lib/api.js";
import { badge, emptyState, errorState, h, keepFocus, mount } from "../lib/dom.js";
import { coalesce, onEngineEvent } from "../lib/events.js";
import { exactTime, relTime } from "../lib/format.js";
import { workflowHref } from "../lib/router.js";
import { confirmDialog, openForm } from "./modal.js";
import { toast } from "./toast.js";

const OVERLAP = [["skip", "skip — don't start while the previous run is active"], ["queue", "queue"], ["cancel_old", "cancel_old"], ["allow_all", "allow_all — always start"]];

function timezones() {
  try {
    return ["UTC", ...Intl.supportedValuesOf("timeZone")];
  } catch {
    return ["UTC"];
  }
}

export function mountSchedules(root, { ns }) {
  const body = h("div", null, h("p", { class: "loading" }, "Loading schedules…"));
  const createBtn = h("button", { type: "button", class: "btn btn-primary" }, "+ Create schedule");
  mount(root, h("div", { class: "view-header" }, h("h1", null, "Schedules"), createBtn), body);
  let closed = false;

  async function load() {
    try {
      const list = await api.get("/schedules", { namespace: ns });
      if (!closed) keepFocus(body, () => render(list || []));
    } catch (err) {
      if (closed) return;
      if (err.status === 404 && err.code !== "not_found") {
        mount(body, emptyState("This engine does not serve schedules.", "Upgrade the engine to a version with the schedules API."));
      } else mount(body, errorState(err, load));
    }
  }

  function render(list) {
    if (!list.length) {
      mount(body, emptyState(`No schedules in "${ns}".`, "Create one with “+ Create schedule” or assay schedule create."));
      return;
    }
    mount(body, h("div", { class: "table-wrap" }, h("table", null,
      h("caption", { class: "visually-hidden" }, "Schedules"),
      h("thead", null, h("tr", null, ["Name", "Workflow / queue", "Cron", "Timezone", "State", "Next run", "Last run"].map((c) => h("th", { scope: "col" }, c)), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", null, list.map(row)))));
  }

  function row(s) {
    return h("tr", { dataset: { name: s.name } },
      h("td", { class: "mono" }, s.name),
      h("td", null, s.workflow_type, h("br"), h("span", { class: "mono muted" }, s.task_queue || "default")),
      h("td", { class: "mono" }, s.cron_expr),
      h("td", null, s.timezone || "UTC"),
      h("td", null, badge(s.paused ? "paused" : "active")),
      h("td", null, s.paused ? "–" : when(s.next_run_at)),
      h("td", null, s.last_run_at ? [when(s.last_run_at), s.last_workflow_id ? [" · ", h("a", { class: "mono", href: workflowHref(s.last_workflow_id, {}, ns) }, "run")] : null] : "never"),
      h("td", null, h("div", { class: "btn-group" },
        h("button", { type: "button", class: "btn btn-sm", "aria-label": `Edit ${s.name}`, onclick: () => edit(s) }, "Edit"),
        s.paused
          ? h("button", { type: "button", class: "btn btn-sm", "aria-label": `Resume ${s.name}`, onclick: () => post(s, "resume", "resumed") }, "Resume")
          : h("button", { type: "button", class: "btn btn-sm", "aria-label": `Pause ${s.name}`, onclick: () => post(s, "pause", "paused") }, "Pause"),
        h("button", { type: "button", class: "btn btn-sm btn-danger", "aria-label": `Delete ${s.name}`, onclick: () => remove(s) }, "Delete"))));
  }

  async function post(s, verb, done) {
    try {
      await api.post(`/schedules/${seg(s.name)}/${verb}`, {}, { namespace: ns });
      toast(`Schedule "${s.name}" ${done}`, "success");
      load();
    } catch (err) {
      toast(`Could not ${verb} "${s.name}": ${err.message}`, "error");
    }
  }

  async function remove(s) {
    const ok = await confirmDialog({ title: `Delete schedule "${s.name}"?`, description: "It stops firing. Workflows it already started keep running. This cannot be undone.", confirmLabel: "Delete schedule" });
    if (!ok) return;
    try {
      await api.del(`/schedules/${seg(s.name)}`, { namespace: ns });
      toast(`Schedule "${s.name}" deleted`, "success");
      load();
    } catch (err) {
      toast(`Could not delete "${s.name}": ${err.message}`, "error");
    }
  }

  function formFields(s) {
    const input = s && s.input !== null && s.input !== undefined ? JSON.stringify(s.input, null, 2) : "";
    return [
      { name: "name", label: "Name", required: true, value: s ? s.name : "", disabled: !!s, placeholder: "nightly-report" },
      { name: "workflow_type", label: "Workflow type", required: true, value: s ? s.workflow_type : "", disabled: !!s, placeholder: "Report" },
      { name: "cron_expr", label: "Cron expression", required: true, value: s ? s.cron_expr : "", placeholder: "0 0 2 * * *", hint: "6 or 7 fields, seconds first: sec min hour day month weekday [year]." },
      { name: "timezone", label: "Timezone", value: s ? s.timezone || "UTC" : "UTC", list: timezones(), hint: "IANA name, e.g. Europe/Berlin. The cron is evaluated in this zone." },
      { name: "task_queue", label: "Task queue", value: s ? s.task_queue || "" : "", placeholder: "default" },
      { name: "overlap_policy", label: "Overlap policy", type: "select", options: OVERLAP, value: s ? s.overlap_policy || "skip" : "skip" },
      { name: "input", label: "Input (JSON, optional)", type: "json", value: input },
    ];
  }

  createBtn.addEventListener("click", async () => {
    const out = await openForm({
      title: "Create a schedule",
      description: `In namespace "${ns}".`,
      submitLabel: "Create schedule",
      fields: formFields(null),
      onSubmit: async (v) => {
        const payload = { name: v.name.trim(), namespace: ns, workflow_type: v.workflow_type.trim(), cron_expr: v.cron_expr.trim(), timezone: v.timezone.trim() || "UTC", overlap_policy: v.overlap_policy };
        if (v.task_queue.trim()) payload.task_queue = v.task_queue.trim();
        if (v.input !== undefined) payload.input = v.input;
        await api.post("/schedules", payload);
        return payload.name;
      },
    });
    if (out) { toast(`Created schedule "${out}"`, "success"); load(); }
  });

  async function edit(s) {
    const out = await openForm({
      title: `Edit schedule "${s.name}"`,
      submitLabel: "Save changes",
      fields: formFields(s),
      onSubmit: async (v) => {
        const patch = {};
        if (v.cron_expr.trim() !== s.cron_expr) patch.cron_expr = v.cron_expr.trim();
        if ((v.timezone.trim() || "UTC") !== (s.timezone || "UTC")) patch.timezone = v.timezone.trim() || "UTC";
        if (v.task_queue.trim() && v.task_queue.trim() !== s.task_queue) patch.task_queue = v.task_queue.trim();
        if (v.overlap_policy !== (s.overlap_policy || "skip")) patch.overlap_policy = v.overlap_policy;
        if (JSON.stringify(v.input ?? null) !== JSON.stringify(s.input ?? null)) patch.input = v.input ?? null;
        if (!Object.keys(patch).length) return "unchanged";
        await api.patch(`/schedules/${seg(s.name)}`, patch, { namespace: ns });
        return "saved";
      },
    });
    if (out === "unchanged") toast("No changes to save", "info");
    else if (out) { toast(`Schedule "${s.name}" updated`, "success"); load(); }
  }

  const refresh = coalesce(() => { if (!document.querySelector("dialog[open]")) load(); }, 1000, 5000);
  const offEvents = onEngineEvent(refresh);
  const poll = setInterval(refresh, 15000);
  load();
  return () => { closed = true; offEvents(); refresh.cancel(); clearInterval(poll); };
}

function when(ts) {
  if (!ts) return "–";
  return h("time", { datetime: new Date(ts * 1000).toISOString(), title: exactTime(ts) }, relTime(ts));
}
