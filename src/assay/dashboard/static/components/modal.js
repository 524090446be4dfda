// Dialogs on the native <dialog> element: showModal() makes the page behind inert (focus
// stays inside), Escape closes it, and we return focus to the control that opened it.
// Unlike the original, the dialog stays open while the request runs and shows the
// server's error inline, so a failed action is never silently lost.

import { h } from "../lib/dom.js";
import { parseJsonField } from "../lib/format.js";

let counter = 0;

/**
 * fields: [{name, label, type: text|password|textarea|json|select, required, value,
 *           placeholder, hint, options: [[value, label]], list: [values], disabled}]
 * onSubmit(values) runs while the dialog shows "Working…"; its return value resolves the
 * promise (or the values when it returns undefined). Dismissal resolves null.
 */
export function openForm({ title, description, error, fields = [], submitLabel = "OK", dismissLabel = "Cancel", danger = false, onSubmit }) {
  const opener = document.activeElement;
  const id = `dlg-${++counter}`;
  const errorBox = h("p", { class: "error-box", role: "alert", hidden: !error }, error || "");
  const controls = new Map();
  const rows = fields.map((f) => {
    const control = makeControl(f, `${id}-${f.name}`);
    controls.set(f.name, { f, control });
    const fieldError = h("span", { class: "field-error", id: `${id}-${f.name}-err`, hidden: true });
    control.setAttribute("aria-describedby", fieldError.id);
    return h(
      "div",
      { class: "field" },
      h("label", { for: control.id }, f.label, f.required ? h("span", { "aria-hidden": "true" }, " *") : null),
      control,
      f.hint ? h("span", { class: "hint" }, f.hint) : null,
      fieldError,
      f.list ? h("datalist", { id: `${control.id}-list` }, f.list.map((v) => h("option", { value: v }))) : null,
    );
  });
  const submit = h("button", { type: "submit", class: danger ? "btn btn-danger btn-solid" : "btn btn-primary" }, submitLabel);
  const cancel = h("button", { type: "button", class: "btn", value: "cancel" }, dismissLabel);
  const form = h(
    "form",
    { novalidate: true },
    h("h2", { id: `${id}-title` }, title),
    description ? h("p", { class: "dialog-desc", id: `${id}-desc` }, description) : null,
    rows,
    errorBox,
    h("div", { class: "form-actions" }, cancel, submit),
  );
  const dialog = h("dialog", { class: danger ? "danger" : null, "aria-labelledby": `${id}-title`, "aria-describedby": description ? `${id}-desc` : null }, form);
  document.body.append(dialog);

  return new Promise((resolve) => {
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      dialog.close();
      dialog.remove();
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
      resolve(value);
    };
    cancel.addEventListener("click", () => finish(null));
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault(); // let finish() restore focus and resolve
      finish(null);
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const values = collect(controls);
      if (!values) return;
      errorBox.hidden = true;
      submit.disabled = true;
      const label = submit.textContent;
      submit.textContent = "Working…";
      try {
        const out = onSubmit ? await onSubmit(values) : undefined;
        finish(out === undefined ? values : out);
      } catch (err) {
        errorBox.textContent = err.message || String(err);
        errorBox.hidden = false;
        submit.disabled = false;
        submit.textContent = label;
      }
    });
    dialog.showModal();
    const first = form.querySelector("input:not([disabled]), textarea, select");
    (first || submit).focus();
  });
}

/** Yes/no confirmation; resolves true when confirmed. */
export async function confirmDialog({ title, description, confirmLabel = "Confirm", danger = true }) {
  const out = await openForm({ title, description, submitLabel: confirmLabel, danger, onSubmit: async () => true });
  return out === true;
}

function makeControl(f, id) {
  const common = { id, name: f.name, required: !!f.required, disabled: !!f.disabled, placeholder: f.placeholder || null, autocomplete: f.autocomplete || null };
  if (f.type === "textarea" || f.type === "json") {
    const ta = h("textarea", { ...common, spellcheck: "false", rows: f.rows || 4 });
    ta.value = f.value ?? "";
    return ta;
  }
  if (f.type === "select") {
    const sel = h("select", common, (f.options || []).map(([v, label]) => h("option", { value: v }, label)));
    if (f.value !== undefined) sel.value = f.value;
    return sel;
  }
  const input = h("input", { ...common, type: f.type === "password" ? "password" : "text", list: f.list ? `${id}-list` : null });
  input.value = f.value ?? "";
  return input;
}

function collect(controls) {
  const values = {};
  let ok = true;
  let firstBad = null;
  for (const [name, { f, control }] of controls) {
    const errEl = document.getElementById(control.getAttribute("aria-describedby"));
    let problem = null;
    let value = control.value;
    if (f.required && !String(value).trim()) problem = "Required.";
    else if (f.type === "json") {
      try {
        value = parseJsonField(value, f.label);
      } catch (e) {
        problem = e.message;
      }
    }
    errEl.textContent = problem || "";
    errEl.hidden = !problem;
    control.setAttribute("aria-invalid", problem ? "true" : "false");
    if (problem) {
      ok = false;
      firstBad = firstBad || control;
    }
    values[name] = value;
  }
  if (firstBad) firstBad.focus();
  return ok ? values : null;
}
