// Bearer token for auth-enabled engines. Kept in sessionStorage: it survives reloads of
// this tab but not the browser session, and is never written to the URL or localStorage.

import { openForm } from "../components/modal.js";
import { h } from "./dom.js";

const KEY = "assay.token";
let pending = null;
const listeners = new Set();

export function getToken() {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the prompt will appear on every 401
  }
}

function setToken(token) {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    /* ignore: see getToken */
  }
  for (const fn of listeners) fn(token);
}

export function onTokenChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function signOut() {
  setToken(null);
}

/**
 * Ask the operator for a token. Concurrent 401s share one dialog. Resolves when a token
 * was entered; rejects when the operator dismisses the dialog.
 */
export function requestToken(problem) {
  if (!pending) {
    pending = openForm({
      title: "Sign in to the engine",
      description: "This engine requires a token. Paste an API key or a JWT issued for it.",
      error: problem,
      submitLabel: "Sign in",
      dismissLabel: "Not now",
      fields: [
        {
          name: "token",
          label: "API key or JWT",
          type: "password",
          required: true,
          autocomplete: "off",
          hint: h("span", null, "Sent as ", h("code", null, "Authorization: Bearer …"), " and kept only for this browser tab session."),
        },
      ],
      onSubmit: async ({ token }) => {
        setToken(token.trim());
        return true;
      },
    }).then((result) => {
      pending = null;
      if (!result) {
        const err = new Error("Sign-in required: this engine needs a token (API key or JWT). Choose “Try again” to enter one.");
        err.status = 401;
        err.code = "unauthorized";
        throw err;
      }
      return result;
    });
  }
  return pending;
}
