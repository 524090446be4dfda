--- assay.workflow.ctx: one workflow execution held in memory, and the `ctx` its handler sees.
---
--- A Run owns the handler coroutine and an index of the history applied so far. The
--- handler runs until it reaches a call whose outcome is not in the index (the frontier);
--- there it yields the commands the engine must carry out and stays suspended. When new
--- events arrive (`Run:apply`), `Run:step` resumes it: each waiting call re-checks the index
--- and either returns or yields again. The same code serves both paths:
---   * full replay: a fresh Run, the whole history applied, then step (cached results are
---     returned without yielding until the frontier);
---   * sticky resume: the cached Run, only the new events applied, then step.
---
--- Non-blocking calls (`side_effect`, `upsert_search_attributes`) do not wait for the
--- engine: their commands are queued and sent with the next batch, which the engine
--- applies in one transaction, so a crash before that batch simply re-runs them.
---
--- Determinism guard: where history recorded what the code asks now (an activity name at an
--- activity seq, a timer duration, a side-effect name, a child type), a mismatch stops the
--- run with a nondeterminism error (`Run.nondeterminism`) and no commands.

local M = {}

-- Raised (as the error value) at the frontier once the engine asked for cancellation.
local CANCELLED = setmetatable({}, { __tostring = function() return "workflow cancelled" end })
M.CANCELLED = CANCELLED

local BLOCK, TERMINAL = {}, {}  -- private yield tags: only this module's driver sees them

local Run = {}
Run.__index = Run

local function new_index()
    return {
        acts = {}, act_sched = {},          -- activity seq -> {ok, value|err}; -> name
        fired = {}, timer_sched = {},       -- timer seq -> TimerFired event seq; -> duration
        signals = {},                       -- name -> array of {seq, payload} in log order
        awaiting = {},                      -- "name\0timer_seq" -> true (WaitForSignal seen)
        side = {},                          -- side-effect seq -> {name, value} (nil cached too)
        children = {}, child_type = {},     -- child id -> {ok, value|err}; -> workflow_type
        upserts = 0,                        -- SearchAttributesUpserted events seen
        cancel = false, cancel_reason = nil,
    }
end

local APPLY = {
    ActivityScheduled = function(ix, p) ix.act_sched[p.activity_seq] = p.name end,
    ActivityCompleted = function(ix, p) ix.acts[p.activity_seq] = { ok = true, value = p.result } end,
    ActivityFailed = function(ix, p) ix.acts[p.activity_seq] = { ok = false, err = p.error } end,
    TimerScheduled = function(ix, p) ix.timer_sched[p.timer_seq] = p.duration_secs or 0 end,
    TimerFired = function(ix, p, e) ix.fired[p.timer_seq] = e.seq end,
    SignalReceived = function(ix, p, e)
        local list = ix.signals[p.signal] or {}
        list[#list + 1] = { seq = e.seq, payload = p.payload }
        ix.signals[p.signal] = list
    end,
    WorkflowAwaitingSignal = function(ix, p)
        ix.awaiting[p.signal .. "\0" .. tostring(p.timer_seq or "")] = true
    end,
    SideEffectRecorded = function(ix, p) ix.side[p.side_effect_seq] = { name = p.name, value = p.value } end,
    ChildWorkflowStarted = function(ix, p) ix.child_type[p.child_workflow_id] = p.workflow_type end,
    ChildWorkflowCompleted = function(ix, p) ix.children[p.child_workflow_id] = { ok = true, value = p.result } end,
    ChildWorkflowFailed = function(ix, p) ix.children[p.child_workflow_id] = { ok = false, err = p.error } end,
    SearchAttributesUpserted = function(ix) ix.upserts = ix.upserts + 1 end,
    WorkflowCancelRequested = function(ix, p)
        ix.cancel = true
        ix.cancel_reason = type(p) == "table" and p.reason or nil
    end,
}

--- Apply history events (ordered by seq); events at or below `last_seq` are skipped.
function Run:apply(events)
    for _, e in ipairs(events) do
        if e.seq > self.last_seq then
            local f = APPLY[e.event_type]
            if f then f(self.ix, e.payload or {}, e) end
            self.last_seq = e.seq
        end
    end
end

-- Record a nondeterminism error and abort the handler. The flag (not the error value)
-- is authoritative, so a handler that swallows errors with pcall cannot hide it.
function Run:mismatch(what, seq, expected, recorded)
    self.nondeterminism = string.format(
        "nondeterminism in workflow '%s' (type %s) at %s seq %s: the code now issues %s but history"
            .. " recorded %s; not submitting anything (fix or revert the workflow code; the task is retried"
            .. " when its lease lapses)",
        self.workflow_id, self.workflow_type, what, tostring(seq), expected, recorded)
    error(self.nondeterminism, 0)
end

-- Wait at the frontier until `ready()`; `commands()` gives what the engine still has to do
-- (only the ones history does not show yet, so re-yields stay cheap and idempotent).
local function wait_until(run, ready, commands)
    while not ready() do
        if run.ix.cancel then error(CANCELLED, 0) end
        coroutine.yield(BLOCK, commands())
    end
end

local function activity_command(seq, name, input, opts)
    opts = opts or {}
    return {
        type = "ScheduleActivity", seq = seq, name = name, input = input,
        task_queue = opts.task_queue,  -- nil: the engine uses the workflow's own queue
        max_attempts = opts.max_attempts,
        initial_interval_secs = opts.initial_interval_secs,
        backoff_coefficient = opts.backoff_coefficient,
        start_to_close_secs = opts.start_to_close_secs,
        heartbeat_timeout_secs = opts.heartbeat_timeout_secs,
    }
end

local function next_activity(run, name)
    if type(name) ~= "string" or name == "" then
        error("ctx:execute_activity: activity name must be a non-empty string", 3)
    end
    run.n_act = run.n_act + 1
    local seq = run.n_act
    local recorded = run.ix.act_sched[seq]
    if recorded ~= nil and recorded ~= name then
        run:mismatch("activity", seq, string.format("ScheduleActivity{name=%q}", name),
            string.format("ActivityScheduled{name=%q}", recorded))
    end
    return seq
end

local function next_timer(run, secs, what)
    if type(secs) ~= "number" or secs < 0 then
        error(what .. ": seconds must be a non-negative number", 3)
    end
    run.n_timer = run.n_timer + 1
    local seq = run.n_timer
    local recorded = run.ix.timer_sched[seq]
    if recorded ~= nil and math.abs(recorded - secs) > 1e-6 then
        run:mismatch("timer", seq, string.format("ScheduleTimer{duration_secs=%s}", secs),
            string.format("TimerScheduled{duration_secs=%s}", recorded))
    end
    return seq
end

local function make_ctx(run, task)
    local ix = run.ix
    local ctx = {
        workflow_id = task.workflow_id, run_id = task.run_id, workflow_type = task.workflow_type,
        namespace = task.namespace, task_queue = task.task_queue,
    }

    function ctx:execute_activity(name, input, opts)
        local seq = next_activity(run, name)
        wait_until(run, function() return ix.acts[seq] ~= nil end, function()
            if ix.act_sched[seq] then return {} end
            return { activity_command(seq, name, input, opts) }
        end)
        local r = ix.acts[seq]
        if r.ok then return r.value end
        error("activity '" .. name .. "' failed: " .. tostring(r.err), 2)
    end

    function ctx:execute_parallel(list)
        if type(list) ~= "table" or #list == 0 then
            error("ctx:execute_parallel: activities must be a non-empty list", 2)
        end
        local seqs = {}
        for i, a in ipairs(list) do seqs[i] = next_activity(run, a.name) end
        wait_until(run, function()
            for _, seq in ipairs(seqs) do
                if ix.acts[seq] == nil then return false end
            end
            return true
        end, function()
            local cmds = {}
            for i, a in ipairs(list) do
                if not ix.act_sched[seqs[i]] then
                    cmds[#cmds + 1] = activity_command(seqs[i], a.name, a.input, a.opts)
                end
            end
            return cmds
        end)
        local results = {}
        for i, a in ipairs(list) do
            local r = ix.acts[seqs[i]]
            if not r.ok then error("activity '" .. a.name .. "' failed: " .. tostring(r.err), 2) end
            results[i] = r.value
        end
        return results
    end

    function ctx:sleep(seconds)
        local seq = next_timer(run, seconds, "ctx:sleep")
        wait_until(run, function() return ix.fired[seq] ~= nil end, function()
            if ix.timer_sched[seq] then return {} end
            return { { type = "ScheduleTimer", seq = seq, duration_secs = seconds } }
        end)
    end

    --- Next `name` signal in log order (payload may be nil: it still counts). With
    --- opts.timeout, nil when the paired timer fired first. Second result: received?
    function ctx:wait_for_signal(name, opts)
        if type(name) ~= "string" or name == "" then
            error("ctx:wait_for_signal: name must be a non-empty string", 2)
        end
        local timeout = opts and opts.timeout
        local tseq = nil
        if timeout ~= nil and timeout > 0 then tseq = next_timer(run, timeout, "ctx:wait_for_signal") end
        local cursor = run.signal_cursor[name] or 0
        local function next_signal()
            local list = ix.signals[name]
            return list and list[cursor + 1]
        end
        wait_until(run, function()
            return next_signal() ~= nil or (tseq ~= nil and ix.fired[tseq] ~= nil)
        end, function()
            local cmds = {}
            if tseq and not ix.timer_sched[tseq] then
                cmds[#cmds + 1] = { type = "ScheduleTimer", seq = tseq, duration_secs = timeout }
            end
            if not ix.awaiting[name .. "\0" .. tostring(tseq or "")] then
                cmds[#cmds + 1] = { type = "WaitForSignal", name = name, timer_seq = tseq }
            end
            return cmds
        end)
        -- Timed wait: whichever of signal and timer has the lower event seq wins.
        local s, fired = next_signal(), tseq and ix.fired[tseq]
        if s and (not fired or s.seq < fired) then
            run.signal_cursor[name] = cursor + 1
            return s.payload, true
        end
        return nil, false
    end

    function ctx:start_child_workflow(workflow_type, opts)
        if not opts or type(opts.workflow_id) ~= "string" or opts.workflow_id == "" then
            error("ctx:start_child_workflow: opts.workflow_id is required (and must be deterministic)", 2)
        end
        local id = opts.workflow_id
        local recorded = ix.child_type[id]
        if recorded ~= nil and recorded ~= workflow_type then
            run:mismatch("child workflow", id, string.format("StartChildWorkflow{workflow_type=%q}", workflow_type),
                string.format("ChildWorkflowStarted{workflow_type=%q}", recorded))
        end
        wait_until(run, function() return ix.children[id] ~= nil end, function()
            if ix.child_type[id] then return {} end
            return { {
                type = "StartChildWorkflow", workflow_type = workflow_type, workflow_id = id,
                input = opts.input, task_queue = opts.task_queue,  -- nil: the parent's queue
            } }
        end)
        local r = ix.children[id]
        if r.ok then return r.value end
        error("child workflow '" .. id .. "' failed: " .. tostring(r.err), 2)
    end

    function ctx:side_effect(name, fn)
        if type(fn) ~= "function" then error("ctx:side_effect: fn must be a function", 2) end
        run.n_side = run.n_side + 1
        local seq = run.n_side
        local rec = ix.side[seq]
        if rec then  -- presence, not value: a recorded nil is a cached nil
            if rec.name ~= name then
                run:mismatch("side effect", seq, string.format("RecordSideEffect{name=%q}", tostring(name)),
                    string.format("SideEffectRecorded{name=%q}", tostring(rec.name)))
            end
            return rec.value
        end
        local value = fn()
        ix.side[seq] = { name = name, value = value }
        run.pending[#run.pending + 1] = { type = "RecordSideEffect", seq = seq, name = name, value = value }
        return value
    end

    function ctx:upsert_search_attributes(patch)
        if type(patch) ~= "table" then error("ctx:upsert_search_attributes: patch must be a table", 2) end
        run.n_upsert = run.n_upsert + 1
        -- The nth call matches the nth SearchAttributesUpserted: already applied on replay.
        if run.n_upsert <= ix.upserts then return end
        run.pending[#run.pending + 1] = { type = "UpsertSearchAttributes", patch = patch }
    end

    function ctx:register_query(name, fn)
        if type(name) ~= "string" or name == "" then error("ctx:register_query: name must be a non-empty string", 2) end
        if type(fn) ~= "function" then error("ctx:register_query: handler must be a function", 2) end
        run.queries[name] = fn
    end

    function ctx:continue_as_new(input)
        coroutine.yield(TERMINAL, { type = "ContinueAsNew", input = input })
        error("ctx:continue_as_new: the run has ended", 2)
    end

    function ctx:cancel(reason)
        coroutine.yield(TERMINAL, { type = "CancelWorkflow", reason = reason and tostring(reason) })
        error("ctx:cancel: the run has ended", 2)
    end

    --- True once the engine asked to cancel this run (lets a handler clean up first).
    function ctx:is_cancel_requested() return ix.cancel end

    return ctx
end

--- A fresh Run for `task` (needs workflow_id, run_id, workflow_type, input ...).
function M.new_run(task, handler)
    local run = setmetatable({
        workflow_id = task.workflow_id, run_id = task.run_id, workflow_type = task.workflow_type,
        last_seq = 0, ix = new_index(), n_act = 0, n_timer = 0, n_side = 0, n_upsert = 0,
        signal_cursor = {}, pending = {}, queries = {}, finished = false, nondeterminism = nil,
    }, Run)
    run.ctx = make_ctx(run, task)
    local input = task.input
    run.co = coroutine.create(function() return handler(run.ctx, input) end)
    return run
end

-- RecordSnapshot from the registered queries; handlers that raise (or return values that
-- cannot be JSON) are left out, as queries are a best-effort read-through.
function Run:snapshot()
    local names = {}
    for name in pairs(self.queries) do names[#names + 1] = name end
    if #names == 0 then return nil end
    table.sort(names)
    local state, any = {}, false
    for _, name in ipairs(names) do
        local ok, value = pcall(self.queries[name])
        if ok and pcall(json.encode, value) then state[name] = value; any = true end
    end
    if not any then return nil end
    return { type = "RecordSnapshot", state = state }
end

--- Resume the handler until it waits or ends. Returns the command batch (snapshot first,
--- then queued side effects/upserts, then what the handler waits on or how it ended), or
--- nil plus the nondeterminism message.
function Run:step()
    local ok, tag, payload = coroutine.resume(self.co)
    if self.nondeterminism then
        self.finished = true
        return nil, self.nondeterminism
    end
    local tail
    if not ok then
        self.finished = true
        if tag == CANCELLED then
            tail = { { type = "CancelWorkflow", reason = self.ix.cancel_reason } }
        else
            tail = { { type = "FailWorkflow", error = tostring(tag) } }
        end
    elseif coroutine.status(self.co) == "dead" then
        self.finished = true
        tail = { { type = "CompleteWorkflow", result = tag } }
    elseif tag == TERMINAL then
        self.finished = true
        tail = { payload }
    elseif tag == BLOCK then
        tail = payload
    else
        self.finished = true
        tail = { { type = "FailWorkflow", error = "workflow handler yielded outside a ctx call" } }
    end
    local batch = {}
    local snap = self:snapshot()
    if snap then batch[1] = snap end
    for _, c in ipairs(self.pending) do batch[#batch + 1] = c end
    self.pending = {}
    for _, c in ipairs(tail) do batch[#batch + 1] = c end
    return batch
end

--- Free the suspended handler (cache eviction).
function Run:close()
    if coroutine.status(self.co) == "suspended" then coroutine.close(self.co) end
end

return M
