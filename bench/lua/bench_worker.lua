-- The three benchmark workflow kinds of the peers harness (echo, chain, sleep), written with
-- require("assay.workflow"). Started by bench/assay_adapter.py (config assay-lua) with
-- ASSAY_BENCH_URL and ASSAY_BENCH_QUEUE; prints READY once listening.
local workflow = require("assay.workflow")

workflow.connect(env.get("ASSAY_BENCH_URL"))

workflow.activity("echo", function(ctx, input)
    return input
end)

workflow.define("echo", function(ctx, x)
    return ctx:execute_activity("echo", x)
end)

workflow.define("chain", function(ctx, arg)
    local n, record = arg[1], arg[2]
    local total, times = 0, {}
    for i = 0, n - 1 do
        total = total + ctx:execute_activity("echo", i)
        if record then
            -- Wall clock read in workflow code after each step (not replay-stable, which is
            -- what the harness measures; the value only feeds the timing report).
            times[#times + 1] = time()
        end
    end
    return { sum = total, times = json.array(times) }
end)

workflow.define("sleep", function(ctx, seconds)
    local before = ctx:side_effect("t_before", function() return time() end)
    ctx:sleep(seconds)
    local after = ctx:side_effect("t_after", function() return time() end)
    return { before, after }
end)

log.info("READY")
workflow.listen({
    queue = env.get("ASSAY_BENCH_QUEUE"),
    max_concurrent_workflows = 50,
    max_concurrent_activities = 50,
})
