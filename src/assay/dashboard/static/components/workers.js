// Workers: identity, queue, namespace, load and last heartbeat. Health is spelled out in
// text ("healthy", "slow", "stale"), not only a coloured dot. Refreshed every 5 s while
// the view is open; the timer stops when the view closes.

import { api } from "../lib/api.js";
import { badge, emptyState, errorState, h, keepFocus, mount } from "../lib/dom.js";
import { exactTime, relTime } from "../lib/format.js";
import { href } from "../lib/router.js";

const SLOW_SECS = 30;
const STALE_SECS = 60;

export function health(w, now = Date.now() / 1000) {
  if (w.stale) return "stale";
  const age = now - (w.last_heartbeat || 0);
  if (age >= STALE_SECS) return "stale";
  if (age >= SLOW_SECS) return "slow";
  return "healthy";
}

export function mountWorkers(root, { ns }) {
  const body = h("div", null, h("p", { class: "loading" }, "Loading workers…"));
  const summary = h("span", { class: "muted", "aria-live": "polite" });
  mount(root, h("div", { class: "view-header" }, h("h1", null, "Workers"), summary), body);
  let closed = false;

  async function load() {
    try {
      const list = await api.get("/workers", { namespace: ns });
      if (!closed) keepFocus(body, () => render(list || []));
    } catch (err) {
      if (!closed) mount(body, errorState(err, load));
    }
  }

  function render(list) {
    const stale = list.filter((w) => health(w) === "stale").length;
    summary.textContent = list.length ? `${list.length} registered${stale ? `, ${stale} stale` : ""}` : "";
    if (!list.length) {
      mount(body, emptyState(`No workers registered in "${ns}".`, "Start one, e.g. assay run worker.lua; it registers itself and appears here."));
      return;
    }
    mount(body, h("div", { class: "table-wrap" }, h("table", null,
      h("caption", { class: "visually-hidden" }, "Workers"),
      h("thead", null, h("tr", null, ["Health", "Identity", "Queue", "Namespace", "Active", "Workflows / activities", "Last heartbeat"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, list.map((w) => {
        const state = health(w);
        const wfs = Array.isArray(w.workflows) ? w.workflows : [];
        const acts = Array.isArray(w.activities) ? w.activities : [];
        return h("tr", { dataset: { id: w.id, health: state } },
          h("td", null, badge(state)),
          h("td", null, h("span", { title: w.id }, w.identity || w.id)),
          h("td", { class: "mono" }, h("a", { href: href("/queues", {}, ns) }, w.task_queue)),
          h("td", null, w.namespace),
          h("td", { class: "num" }, `${w.active_tasks ?? 0}`),
          h("td", null, [...wfs.map((t) => h("a", { class: "mono", href: href("/", { type: t }, ns) }, t)), ...acts.map((a) => h("span", { class: "mono muted" }, a))].flatMap((x, i) => (i ? [", ", x] : [x]))),
          h("td", null, h("time", { datetime: new Date((w.last_heartbeat || 0) * 1000).toISOString(), title: exactTime(w.last_heartbeat) }, relTime(w.last_heartbeat))));
      })))));
  }

  const poll = setInterval(load, 5000);
  load();
  return () => { closed = true; clearInterval(poll); };
}
