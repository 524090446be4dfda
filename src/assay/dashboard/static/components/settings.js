// Settings: engine info (version, build profile, API docs), appearance, and namespaces
// (create, delete). The namespace switcher is refreshed after every change (the original
// needed a page reload).

import { api, seg } from "../lib/api.js";
import { emptyState, errorState, h, mount } from "../lib/dom.js";
import { config } from "../lib/config.js";
import { relTime } from "../lib/format.js";
import { currentNamespace, href, navigate } from "../lib/router.js";
import { confirmDialog } from "./modal.js";
import { refreshNamespaces } from "./shell.js";
import { toast } from "./toast.js";

export const THEME_KEY = "assay-theme";

export function applyStoredTheme() {
  let theme = null;
  try { theme = localStorage.getItem(THEME_KEY); } catch { /* storage off */ }
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

export function mountSettings(root) {
  const engine = h("dl", { class: "meta-grid" }, h("div", null, h("dt", null, "Version"), h("dd", null, config.version || "…")));
  const nsBody = h("div", null, h("p", { class: "loading" }, "Loading namespaces…"));
  const nameIn = h("input", { id: "ns-new", name: "name", required: true, placeholder: "production", autocomplete: "off", pattern: "[A-Za-z0-9._\\-]+", "aria-describedby": "ns-new-hint" });
  const createForm = h("form", { class: "filters", "aria-label": "Create a namespace" },
    h("div", { class: "field" }, h("label", { for: "ns-new" }, "New namespace"), nameIn, h("span", { class: "hint", id: "ns-new-hint" }, "Letters, digits, dot, dash, underscore.")),
    h("button", { type: "submit", class: "btn btn-primary" }, "Create namespace"));
  const themeSel = h("select", { id: "theme" }, h("option", { value: "" }, "Follow the system"), h("option", { value: "light" }, "Light"), h("option", { value: "dark" }, "Dark"));
  try { themeSel.value = localStorage.getItem(THEME_KEY) || ""; } catch { /* storage off */ }
  themeSel.addEventListener("change", () => {
    try { if (themeSel.value) localStorage.setItem(THEME_KEY, themeSel.value); else localStorage.removeItem(THEME_KEY); } catch { /* storage off */ }
    applyStoredTheme();
  });

  const links = [];
  if (config.apiDocsUrl) links.push(h("a", { href: config.apiDocsUrl, target: "_blank", rel: "noopener" }, "API docs"));
  links.push(h("a", { href: `${config.apiBase}/openapi.json`, target: "_blank", rel: "noopener" }, "OpenAPI spec (JSON)"));

  mount(root,
    h("div", { class: "view-header" }, h("h1", null, "Settings")),
    h("section", { class: "card", "aria-labelledby": "s-engine" }, h("h2", { id: "s-engine" }, "Engine"), engine, h("p", null, links.flatMap((a, i) => (i ? [" · ", a] : [a])))),
    h("section", { class: "card", "aria-labelledby": "s-ns" }, h("h2", { id: "s-ns" }, "Namespaces"), createForm, nsBody),
    h("section", { class: "card", "aria-labelledby": "s-look" }, h("h2", { id: "s-look" }, "Appearance"), h("div", { class: "field" }, h("label", { for: "theme" }, "Colour scheme"), themeSel)));

  api.get("/version").then((v) => {
    mount(engine,
      h("div", null, h("dt", null, "Version"), h("dd", null, v.version)),
      h("div", null, h("dt", null, "Build profile"), h("dd", null, v.build_profile)),
      h("div", null, h("dt", null, "API base"), h("dd", { class: "mono" }, config.apiBase)));
  }).catch((err) => engine.append(h("div", null, h("dt", null, "Error"), h("dd", null, err.message))));

  createForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = nameIn.value.trim();
    if (!name) { nameIn.setAttribute("aria-invalid", "true"); nameIn.focus(); return; }
    try {
      await api.post("/namespaces", { name });
      nameIn.value = "";
      nameIn.setAttribute("aria-invalid", "false");
      toast(`Created namespace "${name}"`, "success");
      await Promise.all([load(), refreshNamespaces()]);
    } catch (err) {
      nameIn.setAttribute("aria-invalid", "true");
      toast(`Could not create "${name}": ${err.message}`, "error");
    }
  });

  async function load() {
    try {
      const list = (await api.get("/namespaces")) || [];
      // One stats call per namespace, in parallel; the list is short in practice.
      const stats = await Promise.all(list.map((n) => api.get(`/namespaces/${seg(n.name)}`).catch(() => null)));
      render(list, stats);
    } catch (err) {
      mount(nsBody, errorState(err, load));
    }
  }

  function render(list, stats) {
    if (!list.length) { mount(nsBody, emptyState("No namespaces.", "Create one above.")); return; }
    mount(nsBody, h("div", { class: "table-wrap" }, h("table", null,
      h("caption", { class: "visually-hidden" }, "Namespaces"),
      h("thead", null, h("tr", null, ["Name", "Workflows", "Running", "Schedules", "Workers", "Created"].map((c) => h("th", { scope: "col" }, c)), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", null, list.map((n, i) => {
        const s = stats[i] || {};
        const isMain = n.name === "main";
        return h("tr", { dataset: { name: n.name } },
          h("td", null, h("a", { class: "mono", href: href("/", {}, n.name) }, n.name)),
          h("td", { class: "num" }, s.total_workflows ?? "–"),
          h("td", { class: "num" }, s.running ?? "–"),
          h("td", { class: "num" }, s.schedules ?? "–"),
          h("td", { class: "num" }, s.workers ?? "–"),
          h("td", null, relTime(n.created_at)),
          h("td", null, isMain
            ? h("span", { class: "muted" }, "built-in")
            : h("button", { type: "button", class: "btn btn-sm btn-danger", "aria-label": `Delete namespace ${n.name}`, onclick: () => remove(n.name) }, "Delete")));
      })))));
  }

  async function remove(name) {
    const ok = await confirmDialog({ title: `Delete namespace "${name}"?`, description: "Only an empty namespace can be deleted (no workflows or schedules). This cannot be undone.", confirmLabel: "Delete namespace" });
    if (!ok) return;
    try {
      await api.del(`/namespaces/${seg(name)}`);
      toast(`Deleted namespace "${name}"`, "success");
      // Leave the deleted namespace first, or the switcher would keep it as the current one.
      if (currentNamespace() === name) navigate(href("/settings", {}, config.defaultNamespace), { replace: true });
      else await load();
      await refreshNamespaces();
    } catch (err) {
      toast(`Could not delete "${name}": ${err.message}`, "error");
    }
  }

  load();
  return null;
}
