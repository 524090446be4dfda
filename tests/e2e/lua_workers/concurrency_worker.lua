-- e2e worker: concurrency of activities and of workflow tasks on one process.
local workflow = require("assay.workflow")
workflow.connect(env.get("ENGINE_URL"))

workflow.define("FanOut", function(ctx, input)
    local calls = {}
    for i = 1, input.n do calls[i] = { name = "nap", input = { i = i } } end
    return ctx:execute_parallel(calls)
end)

-- The side effect does real I/O (sleep) inside the workflow task: ten of these overlap
-- only when workflow tasks run concurrently.
workflow.define("SlowTask", function(ctx, input)
    return ctx:side_effect("nap", function() sleep(1); return input.i end)
end)

workflow.activity("nap", function(ctx, input)
    sleep(1)
    return input.i
end)

workflow.listen({ queue = env.get("QUEUE"), max_concurrent_activities = 20, max_concurrent_workflows = 10 })
