// The page frame around the views: namespace switcher, navigation highlight, phone menu,
// sign-out, and the status bar (connection, namespace, workers, engine version).

import { api } from "../lib/api.js";
import { getToken, onTokenChange, signOut } from "../lib/auth.js";
import { h } from "../lib/dom.js";
import { onConnectionState } from "../lib/events.js";
import { currentNamespace, href, navigate, parseLocation } from "../lib/router.js";

const $ = (sel) => document.querySelector(sel);

export function initShell() {
  const select = $("#ns-select");
  select.addEventListener("change", () => {
    // Switching namespace keeps the view but drops its filters and any open workflow.
    const { view } = parseLocation();
    const path = view === "workflows" || view === "detail" ? "/" : `/${view}`;
    navigate(href(path, {}, select.value));
  });

  const toggle = $(".menu-toggle");
  const sidebar = $("#sidebar");
  const setMenu = (open) => {
    sidebar.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => setMenu(!sidebar.classList.contains("open")));
  sidebar.addEventListener("click", (e) => { if (e.target.closest("a")) setMenu(false); });
  // A tap outside the open drawer closes it (the drawer covers the menu button on phones).
  document.addEventListener("click", (e) => {
    if (sidebar.classList.contains("open") && !sidebar.contains(e.target) && !toggle.contains(e.target)) setMenu(false);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && sidebar.classList.contains("open")) { setMenu(false); toggle.focus(); }
  });

  const out = $(".sign-out");
  const syncSignOut = () => { out.hidden = !getToken(); };
  out.addEventListener("click", () => { signOut(); location.reload(); });
  onTokenChange(syncSignOut);
  syncSignOut();

  const conn = $(".conn");
  const connText = $(".conn-text");
  onConnectionState((state, detail) => {
    conn.dataset.state = state;
    // Text, not just the dot colour, carries the state (colour-blind operators, screen readers).
    const texts = { connected: "Live", connecting: "Connecting…", unauthorized: "Not signed in" };
    connText.textContent = texts[state] || `Disconnected${detail ? ` (${detail})` : ""}, retrying`;
  });

  api.get("/version").then((v) => {
    if (v && v.build_profile && v.build_profile !== "release") $(".status-profile").textContent = `(${v.build_profile})`;
  }).catch(() => {});

  setInterval(refreshWorkerCount, 15000);
}

/** Called on every navigation: highlight the nav link, sync the namespace displays. */
export function syncShell() {
  const ns = currentNamespace();
  const { view } = parseLocation();
  const active = view === "detail" ? "workflows" : view;
  for (const a of document.querySelectorAll(".nav a")) {
    a.href = href(a.dataset.view === "workflows" ? "/" : `/${a.dataset.view}`, {}, ns);
    if (a.dataset.view === active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const select = $("#ns-select");
  if (![...select.options].some((o) => o.value === ns)) select.append(h("option", { value: ns }, ns));
  select.value = ns;
  $(".status-ns-name").textContent = ns;
  refreshWorkerCount();
}

/** Reload the namespace options (after create/delete in Settings, and at start). */
export async function refreshNamespaces() {
  const select = $("#ns-select");
  const ns = currentNamespace();
  try {
    const list = await api.get("/namespaces");
    const names = new Set((list || []).map((n) => n.name));
    names.add(ns);
    select.replaceChildren(...[...names].sort().map((n) => h("option", { value: n }, n)));
    select.value = ns;
  } catch {
    /* keep what we have; the views show the error */
  }
}

async function refreshWorkerCount() {
  const el = $(".status-workers-count");
  try {
    const workers = await api.get("/workers", { namespace: currentNamespace() });
    el.textContent = String((workers || []).filter((w) => !w.stale).length);
  } catch {
    el.textContent = "?";
  }
}

