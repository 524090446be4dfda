// Live updates from the engine's SSE stream for one namespace.
//
// We read the stream with fetch() rather than EventSource because EventSource cannot send
// an Authorization header; this way the same bearer token as every other call is used and
// the token never appears in a URL (proxy logs, history). Reconnects back off 1 s → 30 s
// and reset after a successful open. On 401 the shared token prompt appears first.

import { config } from "./config.js";
import { authHeaders } from "./api.js";
import { getToken, requestToken } from "./auth.js";

const listeners = new Set();
const stateListeners = new Set();
let current = null; // {ns, abort}

export function onEngineEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function onConnectionState(fn) {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
}

function setState(state, detail) {
  for (const fn of stateListeners) fn(state, detail);
}

/** (Re)connect to the stream for `ns`; a previous stream is closed. */
export function connectEvents(ns) {
  if (current) current.abort.abort();
  const abort = new AbortController();
  current = { ns, abort };
  run(ns, abort.signal);
}

async function run(ns, signal) {
  let delay = 1000;
  while (!signal.aborted) {
    setState("connecting");
    try {
      const streamUrl = `${config.apiBase}/events/stream?namespace=${encodeURIComponent(ns)}`;
      const res = await fetch(streamUrl, { headers: { Accept: "text/event-stream", ...authHeaders() }, signal, cache: "no-store" });
      if (res.status === 401) {
        setState("unauthorized");
        await requestToken(getToken() ? "The engine rejected the token. Enter a valid one." : null).catch(() => waitForever(signal));
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setState("connected");
      delay = 1000;
      await readFrames(res.body, signal, (type, data) => dispatch(ns, type, data));
      if (!signal.aborted) setState("disconnected", "stream ended");
    } catch (e) {
      if (signal.aborted) return;
      setState("disconnected", e.message);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 30000);
  }
}

function dispatch(ns, type, data) {
  let payload;
  try {
    payload = JSON.parse(data);
  } catch {
    return; // keep-alive or malformed frame
  }
  // The engine filters by namespace; double-check so a stale stream cannot leak rows.
  if (payload && payload.namespace && payload.namespace !== ns) return;
  const event = { type: type || payload.event_type, ...payload };
  for (const fn of listeners) {
    try {
      fn(event);
    } catch (e) {
      console.error(e);
    }
  }
}

async function readFrames(body, signal, onFrame) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let type = "";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = val;
        else if (field === "data") data.push(val);
      }
      if (data.length) onFrame(type, data.join("\n"));
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

function waitForever(signal) {
  // The operator dismissed the sign-in dialog: stay disconnected until the next
  // namespace switch or reload instead of re-prompting in a loop.
  return new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
}

/**
 * Coalesce bursts: run `fn` `wait` ms after the last call, but at least every `maxWait`
 * ms during a continuous stream, so a busy engine cannot starve the refresh.
 */
export function coalesce(fn, wait = 300, maxWait = 1500) {
  let timer = null;
  let first = 0;
  const call = () => {
    timer = null;
    first = 0;
    fn();
  };
  const wrapped = () => {
    const now = Date.now();
    if (!first) first = now;
    clearTimeout(timer);
    timer = setTimeout(call, now - first >= maxWait ? 0 : wait);
  };
  wrapped.cancel = () => { clearTimeout(timer); timer = null; first = 0; };
  return wrapped;
}
