// Path routing: every view and every filter has a real URL (bookmarkable, shareable,
// back/forward work, links open in new tabs). The namespace is the `ns` query parameter,
// omitted when it is the default.

import { config } from "./config.js";

export function currentNamespace() {
  return new URLSearchParams(location.search).get("ns") || config.defaultNamespace;
}

/** Parse location into {view, id}. Unknown paths fall back to the workflows list. */
export function parseLocation() {
  let rest = location.pathname.startsWith(config.uiBase) ? location.pathname.slice(config.uiBase.length) : "/";
  rest = rest.replace(/^\/+/, "");
  const [head, ...tail] = rest.split("/");
  if (head === "workflows" && tail.length && tail.join("/")) {
    return { view: "detail", id: decodeURIComponent(tail.join("/")) };
  }
  if (["schedules", "workers", "queues", "settings"].includes(head)) return { view: head };
  return { view: "workflows" };
}

/** Build an in-app href. `query` values that are empty are dropped; ns is carried over. */
export function href(path, query = {}, ns = currentNamespace()) {
  const params = new URLSearchParams();
  if (ns && ns !== config.defaultNamespace) params.set("ns", ns);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return config.uiBase + path + (qs ? `?${qs}` : "");
}

export const workflowHref = (id, query, ns) => href(`/workflows/${encodeURIComponent(id)}`, query, ns);

let onNavigate = () => {};

export function startRouter(render) {
  onNavigate = render;
  window.addEventListener("popstate", () => render());
  // Intercept plain left clicks on in-app links; modified clicks keep browser behaviour.
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest("a[href]");
    if (!a || a.target || a.hasAttribute("download")) return;
    const u = new URL(a.href, location.href);
    if (u.origin !== location.origin || !u.pathname.startsWith(config.uiBase)) return;
    e.preventDefault();
    navigate(u.pathname + u.search);
  });
}

export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  onNavigate();
}

/**
 * Update query parameters of the current URL without re-mounting the view (filters and
 * paging). Returns the new URLSearchParams.
 */
export function updateQuery(changes, { replace = false } = {}) {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === "") params.delete(k);
    else params.set(k, String(v));
  }
  const qs = params.toString();
  const to = location.pathname + (qs ? `?${qs}` : "");
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  return params;
}
