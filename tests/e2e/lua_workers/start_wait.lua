-- e2e: workflow.start with wait_secs (start and outcome in one request); prints JSON.
local workflow = require("assay.workflow")
workflow.connect(env.get("ENGINE_URL"))
local Q = env.get("QUEUE")
local out = {}
out.done = workflow.start({ workflow_type = "Child", task_queue = Q, input = { n = 21 }, wait_secs = 20 })
out.failed = workflow.start({ workflow_type = "Child", task_queue = Q, input = { n = 1, fail = true }, wait_secs = 20 })
local t0 = time()
out.pending = workflow.start({ workflow_type = "Child", task_queue = Q .. "-nobody", wait_secs = 1 })
out.pending_secs = time() - t0
out.bad_wait = select(2, pcall(workflow.start, { workflow_type = "Child", task_queue = Q, wait_secs = -1 }))
print(json.encode(out))
