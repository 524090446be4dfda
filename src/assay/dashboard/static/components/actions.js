// Workflow actions shared by the list rows and the detail page. Destructive ones
// (cancel, terminate, continue-as-new) confirm first and say what will happen.
// Each resolves true when the engine accepted the action.

import { api, seg } from "../lib/api.js";
import { openForm } from "./modal.js";
import { toast } from "./toast.js";

export async function signalWorkflow(wf) {
  const out = await openForm({
    title: `Send a signal to ${wf.id}`,
    description: "The workflow receives it through ctx:wait_for_signal(name). Step actions have their own buttons on the Steps tab.",
    submitLabel: "Send signal",
    fields: [
      { name: "name", label: "Signal name", required: true, placeholder: "approve" },
      { name: "payload", label: "Payload (JSON, optional)", type: "json", placeholder: '{"by": "alice"}' },
    ],
    onSubmit: async ({ name, payload }) => {
      await api.post(`/workflows/${seg(wf.id)}/signal/${seg(name.trim())}`, { payload: payload ?? null });
      return name.trim();
    },
  });
  if (out) toast(`Signal "${out}" sent to ${wf.id}`, "success");
  return !!out;
}

export async function cancelWorkflow(wf) {
  const out = await openForm({
    title: `Cancel ${wf.id}?`,
    description: "Graceful: the workflow is asked to stop and its worker finishes it as CANCELLED. Pending activities, timers and child workflows are cancelled too.",
    submitLabel: "Cancel workflow",
    dismissLabel: "Keep running",
    danger: true,
    fields: [{ name: "reason", label: "Reason (optional)", type: "textarea", rows: 2 }],
    onSubmit: async ({ reason }) => {
      await api.post(`/workflows/${seg(wf.id)}/cancel`, reason.trim() ? { reason: reason.trim() } : {});
      return true;
    },
  });
  if (out) toast(`Cancellation requested for ${wf.id}`, "success");
  return !!out;
}

export async function terminateWorkflow(wf) {
  const out = await openForm({
    title: `Terminate ${wf.id}?`,
    description: "Immediate: no workflow code runs any more and the run ends as FAILED. Pending work is cancelled and child workflows are terminated. This cannot be undone.",
    submitLabel: "Terminate",
    dismissLabel: "Keep running",
    danger: true,
    fields: [{ name: "reason", label: "Reason (optional)", type: "textarea", rows: 2 }],
    onSubmit: async ({ reason }) => {
      await api.post(`/workflows/${seg(wf.id)}/terminate`, reason.trim() ? { reason: reason.trim() } : {});
      return true;
    },
  });
  if (out) toast(`Terminated ${wf.id}`, "success");
  return !!out;
}

/** Resolves the new run's id, or null. */
export async function continueAsNew(wf, terminal) {
  const out = await openForm({
    title: terminal ? `Start a new run of ${wf.id}` : `Continue ${wf.id} as new?`,
    description: terminal
      ? "Starts a fresh run of the same type, namespace and queue with the input below."
      : "This run ends now (COMPLETED, continued) and a fresh run starts with the input below.",
    submitLabel: "Start new run",
    danger: !terminal,
    fields: [
      { name: "workflow_id", label: "New workflow ID (optional)", placeholder: "generated when blank" },
      { name: "input", label: "Input (JSON)", type: "json", rows: 6, value: wf.input === undefined || wf.input === null ? "" : JSON.stringify(wf.input, null, 2) },
    ],
    onSubmit: async ({ workflow_id, input }) => {
      const body = {};
      if (workflow_id.trim()) body.workflow_id = workflow_id.trim();
      if (input !== undefined) body.input = input;
      const res = await api.post(`/workflows/${seg(wf.id)}/continue-as-new`, body);
      return res.workflow_id;
    },
  });
  if (out) toast(`New run started: ${out}`, "success");
  return out || null;
}
