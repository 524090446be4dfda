-- e2e worker for crash, restart and shutdown tests (tests/e2e/test_lua_workflow_resilience.py).
local workflow = require("assay.workflow")
workflow.connect(env.get("ENGINE_URL"))

local COUNTER = env.get("COUNTER_FILE")
local SLOW_SECS = tonumber(env.get("SLOW_SECS") or "0.1")

-- One line per real execution, so the test can count what ran again after a crash.
local function mark(what)
    local f = assert(io.open(COUNTER, "a"))
    f:write(what, "\n")
    f:close()
end

workflow.define("Durable", function(ctx, input)
    mark("handler-start")
    ctx:execute_activity("count", { what = "a1" })
    ctx:side_effect("se1", function() mark("se1"); return "v1" end)
    ctx:wait_for_signal("go")
    ctx:side_effect("slow", function() mark("slow"); sleep(SLOW_SECS); return "v2" end)
    ctx:execute_activity("count", { what = "a2" })
    return "ok"
end)

workflow.define("Beating", function(ctx, input)
    return ctx:execute_activity("beating", {}, { heartbeat_timeout_secs = 1.5, max_attempts = 3,
        initial_interval_secs = 0.1 })
end)

workflow.define("GoThenDone", function(ctx, input)
    ctx:execute_activity("count", { what = "before-" .. ctx.workflow_id })
    ctx:wait_for_signal("go")
    return ctx:execute_activity("count", { what = "after-" .. ctx.workflow_id })
end)

workflow.define("SlowActivity", function(ctx, input)
    return ctx:execute_activity("slow_activity", {})
end)

workflow.activity("count", function(ctx, input)
    mark(input.what)
    return input.what
end)

workflow.activity("beating", function(ctx, input)
    mark("beating-" .. ctx.attempt)
    if ctx.attempt == 1 then
        for i = 1, 200 do  -- heartbeats until this worker is killed
            ctx:heartbeat({ i = i })
            sleep(0.2)
        end
    end
    return { attempt = ctx.attempt }
end)

workflow.activity("slow_activity", function(ctx, input)
    mark("slow-activity-start")
    sleep(2)
    mark("slow-activity-end")
    return "finished"
end)

workflow.listen({ queue = env.get("QUEUE"), max_backoff_secs = 1 })
