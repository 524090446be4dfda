--- assay.workflow.worker: `workflow.listen`, the worker's loops.
---
--- Managed coroutines (async.spawn), all on the runtime's asyncio loop:
---   * a workflow-task poller and an activity-task poller, each long-polling the engine
---     (`wait_secs`) and spawning one coroutine per claimed task, up to the configured
---     concurrency (when full they wait for a running task to finish, never spin);
---   * a housekeeping loop: worker heartbeat every `heartbeat_secs` (re-registering when the
---     engine forgot the worker) and extension of workflow-task leases held for long.
--- While the engine is unreachable the pollers back off (0.5 s doubling to
--- `max_backoff_secs`) and log it; the first successful poll logs the reconnection.
--- On SIGINT/SIGTERM (process.wait_for_shutdown) polling stops, tasks in flight finish,
--- and listen() returns, so `assay run worker.lua` exits 0.

local api = require("assay.workflow.api")
local activity = require("assay.workflow.activity")
local task = require("assay.workflow.task")
local lru = require("assay.workflow.cache")

local M = {}

local function names(t)
    local out = {}
    for name in pairs(t) do out[#out + 1] = name end
    table.sort(out)
    return json.array(out)
end

local function register(w)
    local delay = 0.5
    while true do
        local ok, status, data, raw = pcall(api.call, "POST", "/workers/register", {
            identity = w.identity, queue = w.queue, namespace = w.namespace,
            workflows = names(w.workflows), activities = names(w.activities),
            max_concurrent_workflows = w.max_wf, max_concurrent_activities = w.max_act,
        })
        if ok and status == 200 and type(data) == "table" then
            w.worker_id = data.worker_id
            log.info("workflow worker registered", { worker_id = w.worker_id, queue = w.queue,
                namespace = w.namespace, identity = w.identity })
            return
        end
        if ok then error(api.failure("listen (register)", status, data, raw), 0) end
        log.warn("engine unreachable at " .. api.url .. " (" .. tostring(status) .. "); retrying in " .. delay .. "s")
        sleep(delay)
        delay = math.min(delay * 2, w.max_backoff)
    end
end

-- After a failed poll: wait (backing off) until GET /health answers again. Probing health
-- rather than re-polling means the recovery is noticed at once, not when a 25 s long poll
-- ends. `w.link_down` makes the outage and the recovery logged once, not once per loop.
local function await_engine(w, who, err)
    if not w.link_down then
        w.link_down = true
        log.warn(string.format("engine unreachable (%s poll): %s; reconnecting with backoff", who, tostring(err)))
    end
    local delay = 0.5
    while not w.stopping do
        sleep(delay)
        local ok, status = pcall(api.call, "GET", "/health", nil, { timeout = 5 })
        if ok and status == 200 then
            if w.link_down then
                w.link_down = false
                log.info("reconnected to the engine at " .. api.url)
            end
            return
        end
        log.warn(string.format("engine still unreachable; next attempt in %.1fs", math.min(delay * 2, w.max_backoff)))
        delay = math.min(delay * 2, w.max_backoff)
    end
end

-- Forget finished tasks (awaiting frees the runtime's handle; errors are logged there).
local function reap(w, handles)
    for i = #handles, 1, -1 do
        local h = handles[i]
        if h.done() then
            local ok, err = pcall(h.await)
            if not ok then log.error("task crashed: " .. tostring(err)) end
            table.remove(handles, i)
            if h.workflow_id and w.running[h.workflow_id] == h then w.running[h.workflow_id] = nil end
        end
    end
end

local function poll_loop(w, who, path, limit, handles, start)
    local delay = 0  -- backoff for refused polls
    while not w.stopping do
        reap(w, handles)
        if #handles >= limit then
            async.wait_any(handles)
        else
            local body = { queue = w.queue, namespace = w.namespace, worker_id = w.worker_id,
                wait_secs = w.wait_secs, sticky = (who == "workflow") or nil }
            local ok, status, data, raw = pcall(api.call, "POST", path, body, { timeout = w.wait_secs + 15 })
            if ok and status == 200 then
                delay = 0
                if type(data) == "table" then
                    local prev = data.workflow_id and w.running[data.workflow_id]
                    local h = async.spawn(start, data, prev)
                    handles[#handles + 1] = h
                    if data.workflow_id then  -- remembered so the next task of it waits for this one
                        h.workflow_id = data.workflow_id
                        w.running[data.workflow_id] = h
                    end
                end
            elseif ok then
                -- The engine answers but refuses (auth, validation): log and back off.
                delay = math.min(math.max(delay * 2, 0.5), w.max_backoff)
                log.error(api.failure(who .. " poll", status, data, raw))
                sleep(delay)
            else
                await_engine(w, who, status)
            end
        end
    end
end

local function housekeeping(w)
    local last_beat = time()
    while not w.stopping do
        sleep(w.tick)
        local now = time()
        -- Extend leases of workflow tasks running long (slow side effects, big replays).
        -- Due ones are collected first: the requests yield, and tasks started meanwhile
        -- add keys, which must not happen during a `pairs` traversal.
        local due = {}
        for id, lease in pairs(w.leases) do
            if now >= lease.renew_at then due[#due + 1] = { id = id, lease = lease } end
        end
        for _, d in ipairs(due) do
            d.lease.renew_at = now + d.lease.interval
            local ok, status = pcall(api.call, "POST", "/workflow-tasks/" .. api.escape(d.id) .. "/heartbeat",
                { worker_id = w.worker_id, lease_token = d.lease.token })
            if ok and status == 409 and w.leases[d.id] == d.lease then
                w.leases[d.id] = nil  -- lost: the submit will be refused too
            end
        end
        if now - last_beat >= w.heartbeat_secs then
            last_beat = now
            local ok, status = pcall(api.call, "POST", "/workers/heartbeat", { worker_id = w.worker_id })
            if ok and status == 404 then
                log.warn("engine forgot this worker; registering again")
                pcall(register, w)
            end
        end
    end
end

--- Block serving tasks; see the module comment. `reg` = { workflows = {}, activities = {} }.
function M.listen(reg, opts)
    opts = opts or {}
    if not api.url then error("workflow.listen: call workflow.connect() first", 2) end
    local w = {
        queue = opts.queue or "default", namespace = opts.namespace or "main",
        identity = opts.identity or ("assay-lua@" .. (os.hostname and os.hostname() or "unknown")),
        max_wf = opts.max_concurrent_workflows or 10, max_act = opts.max_concurrent_activities or 20,
        wait_secs = opts.poll_wait_secs or 25, heartbeat_secs = opts.heartbeat_secs or 10,
        max_backoff = opts.max_backoff_secs or 10, tick = 0.5,
        workflows = reg.workflows, activities = reg.activities,
        leases = {}, stats = { sticky_hits = 0, replays = 0 }, stopping = false,
        wf_handles = {}, act_handles = {}, running = {},
    }
    w.cache = lru.new(opts.sticky_cache_size or 500, function(_, run) run:close() end)
    register(w)

    local function run_workflow_task(t, prev)
        -- The next task of a workflow can be claimed before the coroutine that submitted the
        -- previous batch has resumed (both answers are ready together). Waiting for it keeps
        -- the run's tasks in order, so the sticky cache is updated before it is looked up.
        -- (`done` raises once the poller has reaped the handle: then it is finished too.)
        if prev then
            local ok, done = pcall(prev.done)
            if ok and not done then pcall(async.wait_any, { prev }) end
        end
        -- Renew a third of the way through the lease, timed with the local clock (only
        -- the interval depends on the engine's clock, clamped against skew).
        local interval = math.min(math.max(((t.lease_expires_at or 0) - time()) / 3, 0.5), 10)
        w.leases[t.workflow_id] = { token = t.lease_token, interval = interval, renew_at = time() + interval }
        local ok, err = pcall(task.handle, w, t)
        w.leases[t.workflow_id] = nil
        if not ok then log.error("workflow task failed: " .. tostring(err), { workflow_id = t.workflow_id }) end
    end
    local function run_activity_task(t)
        local ok, err = pcall(activity.run, w.activities, t)
        if not ok then log.error("activity task failed: " .. tostring(err), { activity_id = t.id }) end
    end

    local loops = {}
    if next(w.workflows) and w.max_wf > 0 then
        loops[#loops + 1] = async.spawn(poll_loop, w, "workflow", "/workflow-tasks/poll", w.max_wf,
            w.wf_handles, run_workflow_task)
    end
    if next(w.activities) and w.max_act > 0 then
        loops[#loops + 1] = async.spawn(poll_loop, w, "activity", "/tasks/poll", w.max_act,
            w.act_handles, run_activity_task)
    end
    loops[#loops + 1] = async.spawn(housekeeping, w)
    log.info("workflow worker listening", { queue = w.queue, namespace = w.namespace,
        max_concurrent_workflows = w.max_wf, max_concurrent_activities = w.max_act })

    local sig = process.wait_for_shutdown()
    w.stopping = true
    reap(w, w.wf_handles)
    reap(w, w.act_handles)
    log.info(string.format("%s received: stopped polling; finishing %d workflow task(s) and %d activity task(s)",
        sig, #w.wf_handles, #w.act_handles))
    -- Pollers may sit in a long poll; cancelling drops that request (nothing claimed yet).
    for _, h in ipairs(loops) do h.cancel() end
    for _, list in ipairs({ w.wf_handles, w.act_handles }) do
        for _, h in ipairs(list) do pcall(h.await) end
    end
    log.info("workflow worker stopped", { sticky_hits = w.stats.sticky_hits, replays = w.stats.replays })
    return w.stats
end

return M
