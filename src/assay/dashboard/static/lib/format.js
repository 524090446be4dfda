// Display helpers: times, durations, JSON. Engine timestamps are epoch seconds (float).

export const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"]);
export const STATUSES = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"];

export function isTerminal(status) {
  return TERMINAL.has(String(status || "").toUpperCase());
}

export function relTime(epochSecs, now = Date.now() / 1000) {
  if (epochSecs === null || epochSecs === undefined) return "–";
  const d = now - epochSecs;
  if (d < -5) return "in " + span(-d);
  if (d < 5) return "just now";
  if (d < 7 * 86400) return span(d) + " ago";
  return new Date(epochSecs * 1000).toLocaleDateString();
}

function span(secs) {
  if (secs < 60) return `${Math.floor(secs)}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m`;
  if (secs < 86400) return `${Math.floor(secs / 3600)}h`;
  return `${Math.floor(secs / 86400)}d`;
}

export function exactTime(epochSecs) {
  if (epochSecs === null || epochSecs === undefined) return "";
  return new Date(epochSecs * 1000).toLocaleString();
}

export function isoTime(epochSecs) {
  if (epochSecs === null || epochSecs === undefined) return "";
  return new Date(epochSecs * 1000).toISOString();
}

export function duration(secs) {
  if (secs === null || secs === undefined || Number.isNaN(secs)) return "–";
  if (secs < 1) return `${Math.round(secs * 1000)}ms`;
  const s = Math.floor(secs % 60), m = Math.floor((secs / 60) % 60), hr = Math.floor(secs / 3600);
  if (hr) return m ? `${hr}h ${m}m` : `${hr}h`;
  if (m) return s ? `${m}m ${s}s` : `${m}m`;
  return `${s}s`;
}

export function prettyJson(value) {
  if (value === undefined) return "";
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** One-line summary of a payload for the timeline: `key: value, key: value`. */
export function summarize(value, max = 120) {
  if (value === null || value === undefined) return "";
  let text;
  if (typeof value === "object" && !Array.isArray(value)) {
    text = Object.entries(value)
      .map(([k, v]) => `${k}: ${typeof v === "object" && v !== null ? JSON.stringify(v) : v}`)
      .join(", ");
  } else {
    text = typeof value === "string" ? value : JSON.stringify(value);
  }
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/** `WorkflowStarted` -> `Workflow started` for readable timelines. */
export function humanEvent(type) {
  const words = String(type || "").replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function isEmptyValue(v) {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v).length === 0;
  return false;
}

/** Parse optional JSON from a form field: "" -> undefined; throws with a readable message. */
export function parseJsonField(text, label) {
  const t = String(text || "").trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t);
  } catch (e) {
    throw new Error(`${label} is not valid JSON: ${e.message}`);
  }
}
