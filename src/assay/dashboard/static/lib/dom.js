// Tiny DOM builder. Every piece of engine data goes through text nodes or attributes,
// never innerHTML, so workflow ids, payloads and error messages cannot inject markup
// (the original escaped strings by hand while concatenating HTML).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === "class") {
        el.className = value;
      } else if (key === "dataset") {
        Object.assign(el.dataset, value);
      } else if (value === true) {
        el.setAttribute(key, "");
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form control: <label class="field"><span>Label</span>control hint</label>. */
export function field(label, control, hint) {
  const wrap = h("label", { class: "field" }, h("span", null, label), control);
  if (hint) wrap.append(h("span", { class: "hint" }, hint));
  return wrap;
}

/** Empty state that says what to do next. */
export function emptyState(title, advice) {
  return h("div", { class: "empty" }, h("strong", null, title), advice ? h("span", null, advice) : null);
}

/** Error state with the server's message and a retry button. */
export function errorState(err, retry) {
  return h(
    "div",
    { class: "error-box", role: "alert" },
    h("strong", null, "Could not load this view. "),
    h("span", null, describeError(err)),
    retry ? h("p", null, h("button", { type: "button", class: "btn btn-sm", onclick: retry }, "Try again")) : null,
  );
}

export function describeError(err) {
  if (!err) return "Unknown error.";
  if (err.status === 0) return "The engine is not reachable. Check that `assay serve` is running, then try again.";
  return err.message || String(err);
}

export function badge(status) {
  const text = String(status || "unknown");
  return h("span", { class: `badge badge-${text.toLowerCase()}` }, text);
}

/**
 * Run `render` (which replaces content inside `container`) and put keyboard focus back on
 * the equivalent control afterwards, so periodic refreshes never yank focus away from an
 * operator who is tabbing through a table.
 */
export function keepFocus(container, render) {
  const active = document.activeElement;
  let key = null;
  if (active && active !== container && container.contains(active)) {
    const row = active.closest("[data-id],[data-name],[data-queue]");
    key = {
      row: row ? row.dataset.id || row.dataset.name || row.dataset.queue : null,
      label: active.getAttribute("aria-label") || active.textContent,
      tag: active.tagName,
    };
  }
  render();
  if (!key) return;
  for (const el of container.querySelectorAll(key.tag)) {
    const row = el.closest("[data-id],[data-name],[data-queue]");
    const rowKey = row ? row.dataset.id || row.dataset.name || row.dataset.queue : null;
    if (rowKey === key.row && (el.getAttribute("aria-label") || el.textContent) === key.label) {
      el.focus({ preventScroll: true });
      return;
    }
  }
}
