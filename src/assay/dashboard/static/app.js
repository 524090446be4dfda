// Entry point: wires the shell, the router and the live event stream, and mounts one view
// at a time. Each view returns a cleanup function that stops its timers and listeners, so
// leaving a view (or switching namespace) never leaves pollers or handlers behind.

import { onTokenChange } from "./lib/auth.js";
import { connectEvents } from "./lib/events.js";
import { currentNamespace, parseLocation, startRouter } from "./lib/router.js";
import { initShell, refreshNamespaces, syncShell } from "./components/shell.js";
import { mountWorkflows } from "./components/workflows.js";
import { mountDetail } from "./components/detail.js";
import { mountSchedules } from "./components/schedules.js";
import { mountWorkers } from "./components/workers.js";
import { mountQueues } from "./components/queues.js";
import { applyStoredTheme, mountSettings } from "./components/settings.js";

const VIEWS = {
  workflows: mountWorkflows,
  detail: mountDetail,
  schedules: mountSchedules,
  workers: mountWorkers,
  queues: mountQueues,
  settings: mountSettings,
};

const TITLES = { workflows: "Workflows", detail: "Workflow", schedules: "Schedules", workers: "Workers", queues: "Queues", settings: "Settings" };
const baseTitle = document.title;
const main = document.getElementById("main");
let cleanup = null;
let streamNs = null;
let lastView = null;

function render() {
  if (cleanup) cleanup();
  cleanup = null;
  const ns = currentNamespace();
  const loc = parseLocation();
  if (ns !== streamNs) {
    streamNs = ns;
    connectEvents(ns);
  }
  syncShell();
  document.title = `${TITLES[loc.view]} · ${baseTitle}`;
  main.replaceChildren();
  cleanup = VIEWS[loc.view](main, { ns, id: loc.id }) || null;
  // Move focus to the content on real view changes so keyboard and screen-reader users
  // land on the new view (not on filter changes within the same view).
  if (lastView !== null && lastView !== loc.view + (loc.id || "")) main.focus({ preventScroll: true });
  lastView = loc.view + (loc.id || "");
}

applyStoredTheme();
initShell();
startRouter(render);
render();
refreshNamespaces();
// A new token (sign-in after a 401) may unlock the stream and the current view.
onTokenChange((token) => {
  if (!token) return;
  connectEvents(currentNamespace());
  refreshNamespaces();
});
