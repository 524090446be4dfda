-- e2e worker: one workflow per ctx feature (tests/e2e/test_lua_workflow_ctx.py).
local workflow = require("assay.workflow")
workflow.connect(env.get("ENGINE_URL"))

local COUNTER = env.get("COUNTER_FILE")

-- Appends a line to the counter file: proves how often code really ran.
local function mark(what)
    if not COUNTER then return end
    local f = assert(io.open(COUNTER, "a"))
    f:write(what, "\n")
    f:close()
end

workflow.define("Features", function(ctx, input)
    mark("handler-start")  -- once per (re)play from scratch; sticky resumes skip it
    local state = { stage = "start", done = {} }
    ctx:register_query("progress", function() return state end)
    local greeting = ctx:execute_activity("greet", { name = input.name })
    state.stage = "greeted"
    local nothing = ctx:side_effect("nil-value", function() mark("side-effect-nil"); return nil end)
    local token = ctx:side_effect("token", function() mark("side-effect-token"); return "tok-" .. tostring(math.random(1e9)) end)
    ctx:upsert_search_attributes({ stage = "mid", n = 1 })
    ctx:sleep(0.3)
    ctx:upsert_search_attributes({ stage = "late" })
    state.stage = "slept"
    local par = ctx:execute_parallel({
        { name = "greet", input = { name = "a" } },
        { name = "greet", input = { name = "b" } },
        { name = "greet", input = { name = "c" } },
    })
    state.stage = "done"
    return { greeting = greeting, nothing_is_nil = (nothing == nil), token = token, par = par }
end)

workflow.define("Signals", function(ctx, input)
    local got = {}
    ctx:register_query("got", function() return got end)
    got.first = ctx:wait_for_signal("step")                 -- sent before the wait: buffered
    local p, received = ctx:wait_for_signal("empty")        -- no payload: nil, not lost
    got.empty_received = received
    got.empty_is_nil = (p == nil)
    got.second = ctx:wait_for_signal("step")                -- per-name cursor, log order
    local t, r2 = ctx:wait_for_signal("never", { timeout = 0.5 })
    got.timed_out = (t == nil and r2 == false)
    got.third = ctx:wait_for_signal("step", { timeout = 30 }) -- signal wins over its timer
    return got
end)

workflow.define("Child", function(ctx, input)
    if input.fail then error("child says no") end
    return { doubled = input.n * 2, child = ctx.workflow_id }
end)

workflow.define("Parent", function(ctx, input)
    local ok_result = ctx:start_child_workflow("Child", { workflow_id = ctx.workflow_id .. "-ok", input = { n = 21 } })
    local ok, err = pcall(function()
        return ctx:start_child_workflow("Child", { workflow_id = ctx.workflow_id .. "-bad", input = { fail = true } })
    end)
    return { child = ok_result, failed = not ok, error = tostring(err) }
end)

workflow.define("Looper", function(ctx, input)
    local n = (input and input.n) or 0
    if n < 2 then return ctx:continue_as_new({ n = n + 1 }) end
    return { final = n }
end)

workflow.define("SelfCancel", function(ctx, input)
    ctx:execute_activity("greet", { name = "x" })
    ctx:cancel("handler decided to stop")
end)

workflow.define("WaitForever", function(ctx, input)
    local state = { waiting = true }
    ctx:register_query("s", function() return state end)
    ctx:wait_for_signal("never")
    return "unreachable"
end)

workflow.define("Retries", function(ctx, input)
    local r = ctx:execute_activity("flaky", { fail_times = 2 },
        { max_attempts = 3, initial_interval_secs = 0.1, backoff_coefficient = 1 })
    local ok, err = pcall(function()
        return ctx:execute_activity("always_fails", {}, { max_attempts = 2, initial_interval_secs = 0.1 })
    end)
    return { flaky = r, failed = not ok, error = tostring(err) }
end)

workflow.activity("greet", function(ctx, input) return "hello " .. input.name end)

workflow.activity("flaky", function(ctx, input)
    if ctx.attempt <= input.fail_times then error("flaky attempt " .. ctx.attempt) end
    return { attempt = ctx.attempt }
end)

workflow.activity("always_fails", function(ctx, input)
    error("nope on attempt " .. ctx.attempt)
end)

workflow.listen({ queue = env.get("QUEUE"), eager = env.get("EAGER") ~= "0" })
