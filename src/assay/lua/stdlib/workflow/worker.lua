--- assay.workflow.worker: `workflow.listen`, the worker's loops.
---
--- Managed coroutines (async.spawn), all on the runtime's asyncio loop:
---   * a workflow-task poller and an activity-task poller, each long-polling the engine
---     (`wait_secs`) and spawning one coroutine per claimed task, up to the configured
---     concurrency (when full they wait for a running task to finish, never spin);
---   * a housekeeping loop: worker heartbeat every `heartbeat_secs` (re-registering when the
---     engine forgot the worker) and extension of workflow-task leases held for long.
---   * eager dispatch (docs/reference/rest-api.md "Eager dispatch"): a command batch asks
---     for the activities it schedules on this worker's queue (`eager_activities`) and an
---     activity outcome asks for the workflow task it wakes (`workflow_task`); the engine
---     claims them in the same transaction and returns them, and the worker runs them at
---     once. Both also piggy-back a poll (`next`). Work handed back this way skips the poll
---     round trip; the long polls stay as the fallback (and for work from elsewhere).
---   * per-workflow ordering: at most one coroutine handles the tasks of one workflow. A
---     task of a workflow already in flight (claimed by the poller, handed back by an
---     activity outcome or a piggy-backed poll) is queued for that coroutine, which takes
---     it after it has put the run back in the sticky cache.
--- While the engine is unreachable the pollers back off (0.5 s doubling to
--- `max_backoff_secs`) and log it; the first successful poll logs the reconnection.
--- On SIGINT/SIGTERM (process.wait_for_shutdown) polling stops, tasks in flight finish,
--- and listen() returns, so `assay run worker.lua` exits 0.

local api = require("assay.workflow.api")
local activity = require("assay.workflow.activity")
local task = require("assay.workflow.task")
local lru = require("assay.workflow.cache")
local speculate = require("assay.workflow.speculate")

local M = {}

local IDLE_POLL_SECS = 0.05      -- a poll that took longer than this found its queue idle
local REPOLL_PAUSE_SECS = 0.003  -- pause before re-polling an idle queue (see poll_loop)

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
-- Several loops reap (the pollers, housekeeping) and awaiting yields, so the finished
-- handles are taken out of the list first, in one go, and awaited after.
local function reap(handles)
    local finished = {}
    for i = #handles, 1, -1 do
        if handles[i].done() then finished[#finished + 1] = table.remove(handles, i) end
    end
    for _, h in ipairs(finished) do
        local ok, err = pcall(h.await)
        if not ok then log.error("task crashed: " .. tostring(err)) end
    end
end

-- ── running tasks ───────────────────────────────────────────────────────────────────────
-- `w.wf_active` / `w.act_active` count the coroutines that run workflow tasks / activities;
-- they are what the concurrency limits apply to (the handle lists also hold finished
-- coroutines until they are reaped).

local run_activities  -- forward declaration (workflow tasks hand activities back)

-- Eager-dispatch fields for a command batch: the activities it schedules on our queue are
-- claimed for us, but only as many as we have free activity slots (`max`), so eager work
-- never pushes us past max_concurrent_activities (what is left stays PENDING for any
-- poller). Plus a piggy-backed poll for the next workflow task: the coroutine submitting
-- is about to free its slot, so taking one more task keeps us within max_concurrent_workflows.
local function commands_extra(w, batch)
    local extra = nil
    local free = w.max_act - w.act_active
    if w.eager_act and not w.stopping and free > 0 and batch then
        for _, c in ipairs(batch) do
            if c.type == "ScheduleActivity" then
                extra = { eager_activities = { queue = w.queue, namespace = w.namespace, max = free } }
                break
            end
        end
    end
    if w.piggyback and not w.stopping and w.wf_active <= w.max_wf then
        extra = extra or {}
        extra.next = { queue = w.queue, namespace = w.namespace, worker_id = w.worker_id, sticky = true }
    end
    return extra
end

-- Eager-dispatch fields for an activity outcome: the workflow task it wakes, when we run
-- workflows and have a free slot (or that workflow is in flight here already, where its
-- coroutine takes it without a new slot); plus a piggy-backed poll for the next activity
-- (this coroutine's slot is about to be free).
local function outcome_extra(w, task)
    local extra = nil
    if w.eager_wf and not w.stopping
        and (w.wf_active < w.max_wf or (task.workflow_id and w.inflight[task.workflow_id])) then
        extra = { workflow_task = { queue = w.queue, namespace = w.namespace, worker_id = w.worker_id, sticky = true } }
    end
    if w.piggyback and not w.stopping then
        extra = extra or {}
        extra.next = { queue = w.queue, namespace = w.namespace, worker_id = w.worker_id }
    end
    return extra
end

local function run_one_workflow_task(w, t)
    -- Renew a third of the way through the lease, timed with the local clock (only
    -- the interval depends on the engine's clock, clamped against skew).
    local interval = math.min(math.max(((t.lease_expires_at or 0) - time()) / 3, 0.5), 10)
    w.leases[t.workflow_id] = { token = t.lease_token, interval = interval, renew_at = time() + interval }
    local ok, reply = pcall(task.handle, w, t, w.commands_extra)
    w.leases[t.workflow_id] = nil
    if not ok then
        log.error("workflow task failed: " .. tostring(reply), { workflow_id = t.workflow_id })
        return nil
    end
    return reply
end

-- The coroutine of one workflow: handles `t`, then whatever tasks of the same workflow
-- were queued meanwhile, in order. Because the cached run is put back before the next
-- task is taken, a sticky task never finds its run missing (TASK: the poller used to
-- claim the next task while the previous coroutine was still between cache:remove and
-- cache:put, and replayed the whole history).
local function workflow_runner(w, id, t)
    local queue = w.inflight[id]
    while t do
        local reply = run_one_workflow_task(w, t)
        if type(reply) == "table" then
            local acts = reply.activity_tasks
            if type(acts) == "table" and #acts > 0 then run_activities(w, acts) end
            local nxt = reply.next_task
            if type(nxt) == "table" and nxt.workflow_id then
                if nxt.workflow_id == id then
                    queue[#queue + 1] = nxt
                else
                    M.dispatch_workflow(w, nxt)
                end
            end
        end
        t = table.remove(queue, 1)
    end
    w.inflight[id] = nil
    w.wf_active = w.wf_active - 1
end

--- Run a claimed workflow task: in a new coroutine, or queued behind the one already
--- handling that workflow.
function M.dispatch_workflow(w, t)
    local id = t.workflow_id
    local queue = w.inflight[id]
    if queue then
        queue[#queue + 1] = t
        return
    end
    w.inflight[id] = {}
    w.wf_active = w.wf_active + 1
    w.wf_handles[#w.wf_handles + 1] = async.spawn(workflow_runner, w, id, t)
end

-- One activity coroutine: runs `t`, hands the workflow task its outcome woke to the
-- workflow side, and goes on with the activity a piggy-backed poll returned.
local function activity_runner(w, t)
    while t do
        -- Speculative workflow task (speculate.lua): set by the hook if it ran the workflow on.
        local spec = nil
        local hook = w.speculate and function(result, encoded)
            spec = speculate.begin(w, t, result, encoded)
            return spec and spec.fields
        end or nil
        local ok, reply = pcall(activity.run, w.activities, t, w.outcome_extra_for(t), hook)
        if not ok then
            log.error("activity task failed: " .. tostring(reply), { activity_id = t.id })
            reply = nil
        end
        if spec then
            speculate.finish(w, t.workflow_id, spec, type(reply) == "table" and reply.workflow_commands or nil)
        end
        t = nil
        if type(reply) == "table" then
            local wt = reply.workflow_task
            if type(wt) == "table" and wt.workflow_id then M.dispatch_workflow(w, wt) end
            local nxt = reply.next_task
            if type(nxt) == "table" and nxt.id then t = nxt end
        end
    end
    w.act_active = w.act_active - 1
end

function run_activities(w, list)
    -- Already claimed for us: run them all (commands_extra asked for no more than the free
    -- slots, so this only exceeds the limit when a poller filled a slot meanwhile).
    for _, t in ipairs(list) do
        w.act_active = w.act_active + 1
        w.act_handles[#w.act_handles + 1] = async.spawn(activity_runner, w, t)
    end
end

local function poll_loop(w, who, path)
    local delay = 0  -- backoff for refused polls
    local handles = who == "workflow" and w.wf_handles or w.act_handles
    while not w.stopping do
        reap(handles)
        local active, limit
        if who == "workflow" then active, limit = w.wf_active, w.max_wf else active, limit = w.act_active, w.max_act end
        if active >= limit then
            -- Full: wait for a running task to end (handles of finished ones were reaped).
            if #handles > 0 then pcall(async.wait_any, handles) else sleep(0.05) end
        else
            local body = { queue = w.queue, namespace = w.namespace, worker_id = w.worker_id,
                wait_secs = w.wait_secs, sticky = (who == "workflow") or nil }
            local sent = time()
            local ok, status, data, raw = pcall(api.call, "POST", path, body, { timeout = w.wait_secs + 15 })
            if ok and status == 200 then
                delay = 0
                if type(data) == "table" then
                    if who == "workflow" then M.dispatch_workflow(w, data) else run_activities(w, { data }) end
                    -- Let the task just spawned send its first request before this loop
                    -- sends the next long poll: otherwise the poll goes out first and the
                    -- engine handles it before the task's request. When this poll had to
                    -- wait for its task (the queue was idle), the next one would only park,
                    -- so it waits a moment longer, until that first exchange is likely done.
                    -- Work that comes meanwhile is not delayed by more than that moment:
                    -- the poll claims it on arrival, and replies piggy-back the next task.
                    sleep(time() - sent > IDLE_POLL_SECS and REPOLL_PAUSE_SECS or 0)
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
        -- Work handed back eagerly ends while the pollers sit in a long poll: free the
        -- handles of finished coroutines here too.
        reap(w.wf_handles)
        reap(w.act_handles)
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
        leases = {}, stats = { sticky_hits = 0, replays = 0, speculations = 0, speculations_refused = 0 },
        stopping = false,
        wf_handles = {}, act_handles = {}, inflight = {}, wf_active = 0, act_active = 0,
        -- Eager dispatch / piggy-backed polls (on by default; `eager = false` turns both off).
        piggyback = opts.eager ~= false,
    }
    w.eager_act = opts.eager ~= false and next(w.activities) ~= nil and w.max_act > 0
    w.eager_wf = opts.eager ~= false and next(w.workflows) ~= nil and w.max_wf > 0
    -- Speculative workflow tasks need both roles here; `speculate = false` turns them off.
    w.speculate = w.eager_wf and opts.speculate ~= false and next(w.activities) ~= nil and w.max_act > 0
    w.dispatch_workflow, w.run_activities = M.dispatch_workflow, run_activities
    w.commands_extra = function(batch) return commands_extra(w, batch) end
    w.outcome_extra_for = function(t) return function() return outcome_extra(w, t) end end
    w.cache = lru.new(opts.sticky_cache_size or 500, function(_, run) run:close() end)
    register(w)

    local loops = {}
    if next(w.workflows) and w.max_wf > 0 then
        loops[#loops + 1] = async.spawn(poll_loop, w, "workflow", "/workflow-tasks/poll")
    end
    if next(w.activities) and w.max_act > 0 then
        loops[#loops + 1] = async.spawn(poll_loop, w, "activity", "/tasks/poll")
    end
    loops[#loops + 1] = async.spawn(housekeeping, w)
    log.info("workflow worker listening", { queue = w.queue, namespace = w.namespace,
        max_concurrent_workflows = w.max_wf, max_concurrent_activities = w.max_act })

    local sig = process.wait_for_shutdown()
    w.stopping = true
    reap(w.wf_handles)
    reap(w.act_handles)
    log.info(string.format("%s received: stopped polling; finishing %d workflow task(s) and %d activity task(s)",
        sig, #w.wf_handles, #w.act_handles))
    -- Pollers may sit in a long poll; cancelling drops that request (nothing claimed yet).
    for _, h in ipairs(loops) do h.cancel() end
    -- Finishing tasks may hand back more work (no new eager requests are made once
    -- `stopping` is set, but a reply already on its way is still run): drain until empty.
    while #w.wf_handles > 0 or #w.act_handles > 0 do
        for _, list in ipairs({ w.wf_handles, w.act_handles }) do
            while #list > 0 do
                local h = table.remove(list)
                local ok, err = pcall(h.await)
                if not ok then log.error("task crashed: " .. tostring(err)) end
            end
        end
    end
    log.info("workflow worker stopped", { sticky_hits = w.stats.sticky_hits, replays = w.stats.replays,
        speculations = w.stats.speculations, speculations_refused = w.stats.speculations_refused })
    return w.stats
end

return M
