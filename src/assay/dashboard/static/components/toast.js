// Toasts live in the page's aria-live region, so screen readers announce them. Errors stay
// until dismissed (they usually say what to fix); the rest fade after a few seconds.

import { h } from "../lib/dom.js";

export function toast(message, kind = "info") {
  const region = document.querySelector(".toasts");
  if (!region) return;
  // The same message twice in a row (e.g. a burst of failing refreshes) is shown once.
  const last = region.lastElementChild;
  if (last && last.dataset.message === message) return;
  const close = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": "Dismiss" }, "×");
  const el = h("div", { class: `toast toast-${kind}`, dataset: { message } }, h("p", null, message), close);
  close.addEventListener("click", () => el.remove());
  region.append(el);
  if (kind !== "error") setTimeout(() => el.remove(), 4000);
}
