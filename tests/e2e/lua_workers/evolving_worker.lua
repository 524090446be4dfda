-- e2e worker whose workflow code changes with VERSION (determinism guard, sticky, leases).
local workflow = require("assay.workflow")
workflow.connect(env.get("ENGINE_URL"))

local VERSION = env.get("VERSION") or "1"
local COUNTER = env.get("COUNTER_FILE")

local function mark(what)
    local f = assert(io.open(COUNTER, "a"))
    f:write(what, "\n")
    f:close()
end

workflow.define("Evolving", function(ctx, input)
    -- Version 2 renamed the first activity: histories written by version 1 no longer match.
    ctx:execute_activity(VERSION == "1" and "step_a" or "step_b", {})
    ctx:wait_for_signal("go")
    return "v" .. VERSION
end)

workflow.define("SlowSideEffect", function(ctx, input)
    -- Longer than the workflow-task lease: the worker must keep extending it.
    local v = ctx:side_effect("slow", function() mark("slow"); sleep(input.secs); return "slept" end)
    return v
end)

workflow.define("Counting", function(ctx, input)
    mark("start")  -- runs on every replay from scratch; sticky resumes skip it
    for i = 1, input.steps do ctx:execute_activity("step_a", { i = i }) end
    return input.steps
end)

workflow.define("SignalDuringActivity", function(ctx, input)
    ctx:execute_activity("slow_step", {})
    return ctx:wait_for_signal("go")
end)

workflow.activity("step_a", function(ctx, input) return "a" end)
workflow.activity("slow_step", function(ctx, input)
    mark("slow_step")
    sleep(1.5)  -- the test signals the workflow meanwhile
    return "slow"
end)
workflow.activity("step_b", function(ctx, input) return "b" end)

workflow.listen({ queue = env.get("QUEUE"), speculate = env.get("SPECULATE") ~= "0" })
