// Event timeline of one run: append-only, so live updates add rows at the end instead of
// redrawing. Payloads are summarised on one line and pretty-printed only when opened
// (the original rendered a hidden panel for every event up front).

import { h, mount, emptyState } from "../lib/dom.js";
import { duration, exactTime, humanEvent, isoTime, isEmptyValue, prettyJson, relTime, summarize } from "../lib/format.js";

export function createTimeline(startedAt) {
  const list = h("ol", { class: "timeline", "aria-label": "Event history, oldest first" });
  const el = h("div", null, list);
  let lastSeq = 0;
  let count = 0;

  function append(events) {
    for (const ev of events) {
      if (ev.seq <= lastSeq) continue; // duplicates from overlapping fetches
      lastSeq = ev.seq;
      count++;
      list.append(item(ev, startedAt));
    }
    if (!count) mount(el, emptyState("No events recorded yet.", "Events appear here as the workflow runs."));
    else if (!el.contains(list)) mount(el, list);
  }

  return {
    el,
    append,
    get lastSeq() { return lastSeq; },
    get count() { return count; },
  };
}

function item(ev, startedAt) {
  const type = ev.event_type || "";
  const cls = /Failed|Terminated|TimedOut/.test(type) ? "ev-failed" : /Completed/.test(type) ? "ev-completed" : "";
  const offset = startedAt && ev.timestamp ? ` · +${duration(Math.max(0, ev.timestamp - startedAt))}` : "";
  const li = h("li", { class: cls, dataset: { seq: ev.seq, type } },
    h("span", { class: "seq", "aria-label": `Event ${ev.seq}` }, `#${ev.seq}`),
    h("div", null,
      h("span", { class: "etype" }, humanEvent(type)), " ",
      h("span", { class: "summary" }, summarize(ev.payload))),
    h("time", { datetime: isoTime(ev.timestamp), title: exactTime(ev.timestamp) + offset, dataset: { ts: ev.timestamp } }, relTime(ev.timestamp)),
  );
  if (!isEmptyValue(ev.payload) || (ev.payload !== null && ev.payload !== undefined && typeof ev.payload !== "object")) {
    const details = h("details", null, h("summary", null, `Payload of ${type}${offset}`));
    details.addEventListener("toggle", () => {
      if (details.open && details.children.length === 1) details.append(h("pre", { class: "json" }, prettyJson(ev.payload)));
    });
    li.append(details);
  }
  return li;
}
