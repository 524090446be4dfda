-- e2e: the management role of assay.workflow; prints one JSON object of observations.
local workflow = require("assay.workflow")
workflow.connect(env.get("ENGINE_URL"), { token = env.get("TOKEN") })
local Q, ID = env.get("QUEUE"), env.get("WF_ID")
local out = {}

out.start = workflow.start({ workflow_type = "Mgmt", workflow_id = ID, input = { a = 1 },
    task_queue = Q, search_attributes = { env = "prod" } })
out.start_default_queue = workflow.describe(workflow.start({ workflow_type = "Mgmt" }).workflow_id).task_queue
out.dup_error = select(2, pcall(workflow.start, { workflow_type = "Mgmt", workflow_id = ID, task_queue = Q }))
out.describe = workflow.describe(ID)
out.describe_missing_is_nil = (workflow.describe("no-such-" .. ID) == nil)
out.signal = workflow.signal(ID, "hello", { x = 1 })
out.signal_no_payload = workflow.signal(ID, "bare")
out.list = workflow.list({ search_attrs = { env = "prod" }, type = "Mgmt" })
out.list_status = workflow.list({ status = "PENDING", limit = 1000 })
out.events = workflow.get_events(ID)
out.state_missing_is_nil = (workflow.get_state(ID) == nil)
out.children = workflow.list_children(ID)
out.can = workflow.continue_as_new(ID, { b = 2 })
out.cancel = workflow.cancel(out.can.workflow_id, "done with it")
local other = workflow.start({ workflow_type = "Mgmt", task_queue = Q })
out.terminate = workflow.terminate(other.workflow_id, "stop")
out.terminated = workflow.describe(other.workflow_id)
out.bad_signal = select(2, pcall(workflow.signal, "no-such-" .. ID, "x"))

local ns = "ns-" .. ID
out.ns_create = workflow.namespaces.create(ns)
out.ns_list = workflow.namespaces.list()
out.ns_stats = workflow.namespaces.stats(ns)
out.ns_describe_missing_is_nil = (workflow.namespaces.describe("nope-" .. ns) == nil)
out.ns_delete = workflow.namespaces.delete(ns)
out.workers = workflow.workers.list()
out.queues = workflow.queues.stats()

-- Schedules land in the engine in parallel: record what happens rather than fail.
local ok, sched = pcall(workflow.schedules.create, { name = "s-" .. ID, workflow_type = "Mgmt",
    cron_expr = "0 0 2 * * *", task_queue = Q })
out.schedules_ok = ok
if ok then
    out.sched_create = sched
    out.sched_list = workflow.schedules.list()
    out.sched_describe = workflow.schedules.describe("s-" .. ID)
    out.sched_patch = workflow.schedules.patch("s-" .. ID, { cron_expr = "0 0 3 * * *" })
    out.sched_pause = workflow.schedules.pause("s-" .. ID)
    out.sched_resume = workflow.schedules.resume("s-" .. ID)
    out.sched_delete = workflow.schedules.delete("s-" .. ID)
    out.sched_gone_is_nil = (workflow.schedules.describe("s-" .. ID) == nil)
else
    out.sched_error = tostring(sched)
end
print(json.encode(out))
