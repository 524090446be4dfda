// Queues: pending and running counts for activities and workflow tasks, plus the workers
// subscribed. A backlog with no worker is called out in words. Refreshed every 5 s and
// (coalesced) on workflow events while open.

import { api } from "../lib/api.js";
import { emptyState, errorState, h, keepFocus, mount } from "../lib/dom.js";
import { coalesce, onEngineEvent } from "../lib/events.js";
import { href } from "../lib/router.js";

export function mountQueues(root, { ns }) {
  const body = h("div", null, h("p", { class: "loading" }, "Loading queues…"));
  mount(root, h("div", { class: "view-header" }, h("h1", null, "Queues")), body);
  let closed = false;

  async function load() {
    try {
      const list = await api.get("/queues", { namespace: ns });
      if (!closed) keepFocus(body, () => render(list || []));
    } catch (err) {
      if (!closed) mount(body, errorState(err, load));
    }
  }

  function render(list) {
    if (!list.length) {
      mount(body, emptyState(`No queues in "${ns}" yet.`, "A queue appears when a worker polls it or work is routed to it."));
      return;
    }
    const n = (v) => (typeof v === "number" ? v : 0);
    mount(body, h("div", { class: "table-wrap" }, h("table", null,
      h("caption", { class: "visually-hidden" }, "Task queues"),
      h("thead", null,
        h("tr", null, h("th", { scope: "col", rowspan: "2" }, "Queue"), h("th", { scope: "colgroup", colspan: "2", class: "num" }, "Workflow tasks"), h("th", { scope: "colgroup", colspan: "2", class: "num" }, "Activities"), h("th", { scope: "col", rowspan: "2", class: "num" }, "Workers"), h("th", { scope: "col", rowspan: "2" }, h("span", { class: "visually-hidden" }, "Notes"))),
        h("tr", null, ["Pending", "Running", "Pending", "Running"].map((c) => h("th", { scope: "col", class: "num" }, c)))),
      h("tbody", null, list.map((q) => {
        const backlog = n(q.pending_activities) + n(q.pending_workflow_tasks);
        const noWorkers = backlog > 0 && n(q.workers) === 0;
        return h("tr", { dataset: { queue: q.queue } },
          h("td", { class: "mono" }, q.queue),
          h("td", { class: "num" }, n(q.pending_workflow_tasks)),
          h("td", { class: "num" }, n(q.running_workflow_tasks)),
          h("td", { class: "num" }, n(q.pending_activities)),
          h("td", { class: "num" }, n(q.running_activities)),
          h("td", { class: "num" }, h("a", { href: href("/workers", {}, ns) }, String(n(q.workers)))),
          h("td", null, noWorkers ? h("span", { class: "warn" }, "⚠ Backlog and no worker: start a worker on this queue.") : ""));
      })))));
  }

  const refresh = coalesce(load, 1000, 3000);
  const offEvents = onEngineEvent(refresh);
  const poll = setInterval(load, 5000);
  load();
  return () => { closed = true; offEvents(); refresh.cancel(); clearInterval(poll); };
}
