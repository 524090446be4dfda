// Accessible tabs (WAI-ARIA tabs pattern): one tab in the Tab order, arrow keys / Home /
// End move between tabs, aria-selected and aria-controls are set, panels are labelled.

import { h } from "../lib/dom.js";

let counter = 0;

export function createTabs(items, selectedId, onChange) {
  const base = `tabs-${++counter}`;
  const list = h("div", { class: "tabs", role: "tablist", "aria-label": "Workflow sections" });
  const panels = h("div");
  const make = (item) => {
    const tab = h("button", { type: "button", role: "tab", class: "tab", id: `${base}-${item.id}-tab`, "aria-controls": `${base}-${item.id}`, dataset: { tab: item.id } }, item.label);
    const panel = h("div", { role: "tabpanel", id: `${base}-${item.id}`, "aria-labelledby": tab.id, tabindex: "0", class: "tabpanel" }, item.panel);
    tab.addEventListener("click", () => select(item.id, true));
    return { id: item.id, tab, panel };
  };
  const entries = items.map(make);
  for (const e of entries) {
    list.append(e.tab);
    panels.append(e.panel);
  }
  let selected = null;

  function select(id, fromUser) {
    if (id === selected) return;
    selected = id;
    for (const e of entries) {
      const on = e.id === id;
      e.tab.setAttribute("aria-selected", String(on));
      e.tab.tabIndex = on ? 0 : -1;
      e.panel.hidden = !on;
    }
    if (fromUser) onChange(id, false);
  }

  list.addEventListener("keydown", (ev) => {
    const i = entries.findIndex((e) => e.id === selected);
    let j = null;
    if (ev.key === "ArrowRight") j = (i + 1) % entries.length;
    else if (ev.key === "ArrowLeft") j = (i - 1 + entries.length) % entries.length;
    else if (ev.key === "Home") j = 0;
    else if (ev.key === "End") j = entries.length - 1;
    if (j === null) return;
    ev.preventDefault();
    select(entries[j].id, true);
    entries[j].tab.focus();
  });

  select(selectedId, false);
  return {
    el: h("div", null, list, panels),
    get selected() { return selected; },
    /** Add a tab in front (the Steps tab when a run starts exposing pipeline_state). */
    prepend(item, { select: andSelect = false } = {}) {
      const e = make(item);
      entries.unshift(e);
      list.prepend(e.tab);
      panels.prepend(e.panel);
      e.tab.setAttribute("aria-selected", "false");
      e.tab.tabIndex = -1;
      e.panel.hidden = true;
      if (andSelect) select(item.id, false);
    },
    setLabel(id, label) {
      const e = entries.find((x) => x.id === id);
      if (e) e.tab.textContent = label;
    },
  };
}
