-- Hello, workflow: the smallest worker. Start the engine, run this, start a workflow:
--   assay serve --port 8080 &
--   assay run examples/hello/worker.lua &
--   assay workflow start --type Hello --queue hello --input '{"name":"Ada"}'
local workflow = require("assay.workflow")

workflow.connect(env.get("ASSAY_ENGINE_URL") or "http://127.0.0.1:8080",
    { token = env.get("ASSAY_API_KEY") })

workflow.define("Hello", function(ctx, input)
    local name = (input and input.name) or "world"
    local greeting = ctx:execute_activity("greet", { name = name })
    ctx:sleep(1)  -- a durable timer: survives worker restarts
    return { greeting = greeting }
end)

workflow.activity("greet", function(ctx, input)
    log.info("greeting " .. input.name)
    return "Hello, " .. input.name .. "!"
end)

workflow.listen({ queue = env.get("ASSAY_QUEUE") or "hello" })
