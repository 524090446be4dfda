// Start-workflow dialog. Suggestions come from what the namespace's workers registered
// and the queues that exist, so operators rarely type a type or queue name from memory.

import { api } from "../lib/api.js";
import { openForm } from "./modal.js";
import { toast } from "./toast.js";

export async function startWorkflow(ns) {
  const [workers, queues] = await Promise.all([
    api.get("/workers", { namespace: ns }).catch(() => []),
    api.get("/queues", { namespace: ns }).catch(() => []),
  ]);
  const types = [...new Set((workers || []).flatMap((w) => (Array.isArray(w.workflows) ? w.workflows : [])))].sort();
  const queueNames = [...new Set([...(queues || []).map((q) => q.queue), ...(workers || []).map((w) => w.task_queue)].filter(Boolean))].sort();
  const out = await openForm({
    title: "Start a workflow",
    description: `In namespace "${ns}". A worker polling the chosen queue will pick it up.`,
    submitLabel: "Start",
    fields: [
      { name: "workflow_type", label: "Workflow type", required: true, list: types, placeholder: types[0] || "ApproveAndDeploy" },
      { name: "workflow_id", label: "Workflow ID (optional)", placeholder: "generated when blank" },
      { name: "task_queue", label: "Task queue (optional)", list: queueNames, placeholder: "default" },
      { name: "input", label: "Input (JSON, optional)", type: "json", placeholder: '{"git_sha": "abc123"}' },
      { name: "search_attributes", label: "Search attributes (JSON object, optional)", type: "json", rows: 2, placeholder: '{"env": "prod"}' },
    ],
    onSubmit: async (v) => {
      if (v.search_attributes !== undefined && (typeof v.search_attributes !== "object" || Array.isArray(v.search_attributes) || v.search_attributes === null)) {
        throw new Error("Search attributes must be a JSON object, e.g. {\"env\": \"prod\"}.");
      }
      const body = { workflow_type: v.workflow_type.trim(), namespace: ns };
      if (v.workflow_id.trim()) body.workflow_id = v.workflow_id.trim();
      if (v.task_queue.trim()) body.task_queue = v.task_queue.trim();
      if (v.input !== undefined) body.input = v.input;
      if (v.search_attributes !== undefined) body.search_attributes = v.search_attributes;
      const res = await api.post("/workflows", body);
      return res.workflow_id;
    },
  });
  if (out) toast(`Started ${out}`, "success");
  return out;
}
