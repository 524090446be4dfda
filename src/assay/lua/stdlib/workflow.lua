--- assay.workflow: Lua client of the assay workflow engine (`assay serve`).
---
--- Two roles in one module:
---   * worker: `connect`, `define` (workflow handlers), `activity` (activity handlers),
---     `listen` (serve tasks until SIGINT/SIGTERM);
---   * management (REST parity): `start`, `signal`, `describe`, `cancel`, `terminate`,
---     `list`, `get_events`, `get_state`, `list_children`, `continue_as_new`, and the
---     sub-tables `schedules`, `namespaces`, `workers`, `queues`.
---
--- Usage:
---   local workflow = require("assay.workflow")
---   workflow.connect("http://127.0.0.1:8080", { token = env.get("ASSAY_TOKEN") })
---   workflow.define("Hello", function(ctx, input)
---       return ctx:execute_activity("greet", { name = input.name })
---   end)
---   workflow.activity("greet", function(ctx, input) return "hello " .. input.name end)
---   workflow.listen({ queue = "default" })
---
--- The replay model, sticky execution and the determinism guard are described in
--- docs/lua-workflow.md and in the sub-modules: assay.workflow.ctx (replay context),
--- assay.workflow.task (one workflow task), assay.workflow.worker (loops),
--- assay.workflow.activity, assay.workflow.client (REST), assay.workflow.api (HTTP seam).

local api = require("assay.workflow.api")
local client = require("assay.workflow.client")

local M = {}

local registry = { workflows = {}, activities = {} }

--- Point the client at an engine and check it answers: GET /health must be 200.
--- opts: { token = "<api key or JWT>" } (sent as `Authorization: Bearer <token>`).
function M.connect(url, opts)
    if type(url) ~= "string" or url == "" then
        error("workflow.connect: url must be a non-empty string", 2)
    end
    local token = opts and opts.token
    if token == "" then token = nil end
    api.configure(url, token)
    local ok, status, data, raw = pcall(api.call, "GET", "/health")
    if not ok then
        error("workflow.connect: cannot reach engine at " .. url .. ": " .. tostring(status), 2)
    end
    if status ~= 200 then
        error(api.failure("connect", status, data, raw), 2)
    end
    log.info("connected to workflow engine at " .. api.url)
end

--- Register a workflow type: handler(ctx, input) -> result.
function M.define(name, handler)
    if type(name) ~= "string" or name == "" then error("workflow.define: name must be a non-empty string", 2) end
    if type(handler) ~= "function" then error("workflow.define: handler must be a function", 2) end
    registry.workflows[name] = handler
end

--- Register an activity: handler(ctx, input) -> result (ctx:heartbeat(details?) inside).
function M.activity(name, handler)
    if type(name) ~= "string" or name == "" then error("workflow.activity: name must be a non-empty string", 2) end
    if type(handler) ~= "function" then error("workflow.activity: handler must be a function", 2) end
    registry.activities[name] = handler
end

--- Serve workflow and activity tasks until SIGINT/SIGTERM, then drain and return.
--- opts: { queue = "default", namespace = "main", identity?, max_concurrent_workflows = 10,
---         max_concurrent_activities = 20, poll_wait_secs = 25, heartbeat_secs = 10,
---         max_backoff_secs = 10, sticky_cache_size = 500 }
function M.listen(opts)
    return require("assay.workflow.worker").listen(registry, opts)
end

-- Management role: every function of assay.workflow.client, sub-tables included.
for name, value in pairs(client) do
    M[name] = value
end

return M
