--- assay.workflow.client: the management role (REST parity). Mixed into `assay.workflow`.
---
--- Every function returns the decoded JSON answer, `nil` where documented for a 404, and
--- raises `workflow.<fn> failed: HTTP <status>: <engine message>` otherwise.

local api = require("assay.workflow.api")

local M = {}
local esc, q, expect = api.escape, api.query, api.expect
local OK, CREATED = api.OK, api.CREATED

local function wf_path(id, suffix)
    if type(id) ~= "string" or id == "" then
        error("workflow id must be a non-empty string", 3)
    end
    return "/workflows/" .. esc(id) .. (suffix or "")
end

local function ns_of(opts)
    return (opts and opts.namespace) or "main"
end

--- Start a workflow: opts { workflow_type, workflow_id?, input?, task_queue? ("default"),
--- namespace?, search_attributes?, wait_secs? } -> { workflow_id, run_id, status }.
--- With `wait_secs` (up to 60) the engine answers once the run ended or the wait ran out,
--- adding `result`, `error` and `completed_at`: start and outcome in one request.
function M.start(opts)
    if type(opts) ~= "table" or not opts.workflow_type then
        error("workflow.start: opts.workflow_type is required", 2)
    end
    local wait = opts.wait_secs
    if wait ~= nil and (type(wait) ~= "number" or wait < 0) then
        error("workflow.start: opts.wait_secs must be a number >= 0", 2)
    end
    local body = {
        workflow_type = opts.workflow_type,
        workflow_id = opts.workflow_id,
        input = opts.input,
        task_queue = opts.task_queue or "default",
        namespace = opts.namespace,
        search_attributes = opts.search_attributes,
    }
    if not wait or wait == 0 then
        return expect("start", "POST", "/workflows", body, CREATED)
    end
    wait = math.min(wait, 60)
    local status, data, raw = api.call("POST", "/workflows" .. q({ wait_secs = wait }), body, { timeout = wait + 30 })
    if status ~= 201 then error(api.failure("start", status, data, raw), 2) end
    return data
end

--- Send a signal; payload optional (a signal without payload reaches the workflow as nil).
function M.signal(id, name, payload)
    return expect("signal", "POST", wf_path(id, "/signal/" .. esc(name)), { payload = payload }, OK)
end

--- The workflow record, or nil when the id is unknown.
function M.describe(id)
    return expect("describe", "GET", wf_path(id), nil, OK, true)
end

function M.cancel(id, reason)
    return expect("cancel", "POST", wf_path(id, "/cancel"), { reason = reason }, OK)
end

function M.terminate(id, reason)
    return expect("terminate", "POST", wf_path(id, "/terminate"), { reason = reason }, OK)
end

--- opts { namespace?, status?, type?, search_attrs? (table), limit?, offset? } -> records.
function M.list(opts)
    opts = opts or {}
    local params = {
        namespace = opts.namespace, status = opts.status, type = opts.type,
        limit = opts.limit, offset = opts.offset,
    }
    if opts.search_attrs then params.search_attrs = json.encode(opts.search_attrs) end
    return expect("list", "GET", "/workflows" .. q(params), nil, OK)
end

--- Event history ordered by seq; opts { after_seq?, wait_secs? } for incremental reads.
function M.get_events(id, opts)
    opts = opts or {}
    local path = wf_path(id, "/events") .. q({ after_seq = opts.after_seq, wait_secs = opts.wait_secs })
    return expect("get_events", "GET", path, nil, OK)
end

--- Latest `ctx:register_query` snapshot: without `name` the `{query = value}` table, with
--- `name` that query's value. Second result: the whole answer (event_seq, created_at).
--- nil when no snapshot exists yet (or the query name is unknown).
function M.get_state(id, name)
    local path = wf_path(id, "/state") .. (name and ("/" .. esc(name)) or "")
    local data = expect("get_state", "GET", path, nil, OK, true)
    if data == nil then return nil end
    if name then return data.value, data end
    return data.state, data
end

function M.list_children(id)
    return expect("list_children", "GET", wf_path(id, "/children"), nil, OK)
end

--- Close `id` and start a fresh run (client side); opts { workflow_id? } names the new run.
function M.continue_as_new(id, input, opts)
    return expect("continue_as_new", "POST", wf_path(id, "/continue-as-new"),
        { input = input, workflow_id = opts and opts.workflow_id }, CREATED)
end

-- ── schedules (spec §1.6: namespace as query parameter) ─────────────────────
M.schedules = {}

function M.schedules.create(opts)
    if type(opts) ~= "table" or not opts.name or not opts.workflow_type or not opts.cron_expr then
        error("workflow.schedules.create: name, workflow_type, cron_expr required", 2)
    end
    return expect("schedules.create", "POST", "/schedules", opts, CREATED)
end

function M.schedules.list(opts)
    return expect("schedules.list", "GET", "/schedules" .. q({ namespace = ns_of(opts) }), nil, OK)
end

local function sched_path(name, opts, suffix)
    return "/schedules/" .. esc(name) .. (suffix or "") .. q({ namespace = ns_of(opts) })
end

function M.schedules.describe(name, opts)
    return expect("schedules.describe", "GET", sched_path(name, opts), nil, OK, true)
end

function M.schedules.patch(name, patch, opts)
    return expect("schedules.patch", "PATCH", sched_path(name, opts), patch or {}, OK)
end

function M.schedules.pause(name, opts)
    return expect("schedules.pause", "POST", sched_path(name, opts, "/pause"), nil, OK)
end

function M.schedules.resume(name, opts)
    return expect("schedules.resume", "POST", sched_path(name, opts, "/resume"), nil, OK)
end

function M.schedules.delete(name, opts)
    return expect("schedules.delete", "DELETE", sched_path(name, opts), nil, OK)
end

-- ── namespaces ──────────────────────────────────────────────────────────────
M.namespaces = {}

function M.namespaces.create(name)
    return expect("namespaces.create", "POST", "/namespaces", { name = name }, api.OK_OR_CREATED)
end

function M.namespaces.list()
    return expect("namespaces.list", "GET", "/namespaces", nil, OK)
end

--- Per-namespace counts (total, pending, running, ..., schedules, workers).
function M.namespaces.stats(name)
    return expect("namespaces.stats", "GET", "/namespaces/" .. esc(name), nil, OK)
end

--- Same answer as `stats`, but nil for an unknown namespace (like the other describes).
function M.namespaces.describe(name)
    return expect("namespaces.describe", "GET", "/namespaces/" .. esc(name), nil, OK, true)
end

function M.namespaces.delete(name)
    return expect("namespaces.delete", "DELETE", "/namespaces/" .. esc(name), nil, OK)
end

-- ── workers, queues ─────────────────────────────────────────────────────────
M.workers = {}

function M.workers.list(opts)
    return expect("workers.list", "GET", "/workers" .. q({ namespace = ns_of(opts) }), nil, OK)
end

M.queues = {}

function M.queues.stats(opts)
    return expect("queues.stats", "GET", "/queues" .. q({ namespace = ns_of(opts) }), nil, OK)
end

return M
