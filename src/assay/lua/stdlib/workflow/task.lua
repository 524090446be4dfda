--- assay.workflow.task: handles one claimed workflow task (sticky resume or full replay).
---
--- Sticky execution: the worker polls with `sticky = true`. When the answer has
--- `history_after_seq > 0` and the cache holds this workflow's run at exactly that seq, only
--- the new events are applied and the suspended handler resumes. Otherwise (cache miss, a
--- run that is busy because an old lease lapsed, another run id) the full history is fetched
--- from `GET /workflows/{id}/events` and replayed in a fresh run. Only events up to what the
--- engine sent with the claim are applied, so the cached run's `last_seq` stays equal to the
--- engine's sticky mark and the next delta fits.

local api = require("assay.workflow.api")
local ctxmod = require("assay.workflow.ctx")
local speculate = require("assay.workflow.speculate")

local M = {}

local function last_seq_of(task)
    local last = task.history_after_seq or 0
    for _, e in ipairs(task.history or {}) do
        if e.seq > last then last = e.seq end
    end
    return last
end

local function full_history(task, upto)
    local status, data, raw = api.call("GET", "/workflows/" .. api.escape(task.workflow_id) .. "/events")
    if status ~= 200 or type(data) ~= "table" then
        error(api.failure("get_events", status, data, raw), 0)
    end
    local events = {}
    for _, e in ipairs(data) do
        if e.seq <= upto then events[#events + 1] = e end
    end
    return events
end

-- Submit a batch; retried while the engine is unreachable (the lease token survives an
-- engine restart). `extra` adds the eager-dispatch fields (`eager_activities`, `next`; see
-- worker.lua). Returns the HTTP status (0: gave up) and, on 200, the decoded reply.
local function submit(w, task, commands, extra)
    local path = "/workflow-tasks/" .. api.escape(task.workflow_id) .. "/commands"
    local body = { worker_id = w.worker_id, lease_token = task.lease_token, commands = json.array(commands) }
    if extra then
        for k, v in pairs(extra) do body[k] = v end
    end
    local delay = 0.5
    for _ = 1, 10 do
        local ok, status, data, raw = pcall(api.call, "POST", path, body)
        if ok then
            if status ~= 200 then
                log.warn("workflow commands not applied", { workflow_id = task.workflow_id, status = status,
                    error = type(data) == "table" and data.error or raw })
                return status, nil
            end
            return status, data
        end
        if tostring(status):find("encode", 1, true) or tostring(status):find("JSON", 1, true) then
            log.error("workflow commands cannot be sent: " .. tostring(status), { workflow_id = task.workflow_id })
            return 0, nil
        end
        log.warn("engine unreachable while submitting commands; retrying in " .. delay .. "s",
            { workflow_id = task.workflow_id })
        sleep(delay)
        delay = math.min(delay * 2, 5)
    end
    return 0, nil
end

local function fail_unknown_type(w, task, extra)
    local _, reply = submit(w, task, { {
        type = "FailWorkflow",
        error = "no workflow handler registered for type: " .. tostring(task.workflow_type),
    } }, extra and extra(nil))
    return reply
end

--- Process `task` for worker state `w` { worker_id, workflows, cache, leases, stats }.
--- `extra(batch)` (optional) gives extra fields for the commands request (eager dispatch).
--- Returns the engine's reply to the batch (a table) when it was applied, else nil.
---
--- The caller guarantees that tasks of one workflow are handled one at a time, in claim
--- order (worker.lua), so the cached run is always back in the cache when the next task of
--- its workflow looks it up.
function M.handle(w, task, extra)
    local id = task.workflow_id
    local handler = w.workflows[task.workflow_type]
    if not handler then return fail_unknown_type(w, task, extra) end

    local upto = last_seq_of(task)
    local run = w.cache:remove(id)
    if run and (run.run_id ~= task.run_id or run.busy) then
        if not run.busy then run:close() end
        run = nil
    end
    if run and task.history_after_seq > 0 and run.last_seq == task.history_after_seq then
        w.stats.sticky_hits = w.stats.sticky_hits + 1
        run:apply(task.history)
    else
        if task.history_after_seq > 0 then
            log.info("sticky cache miss: replaying the full history", { workflow_id = id,
                after_seq = task.history_after_seq, cached_seq = run and run.last_seq or json.null })
        end
        if run then run:close() end
        w.stats.replays = w.stats.replays + 1
        local events = task.history
        if task.history_after_seq > 0 then events = full_history(task, upto) end
        run = ctxmod.new_run(task, handler)
        run:apply(events)
    end

    run.busy = true
    local ok, batch, nondeterminism = pcall(run.step, run)
    run.busy = false
    if not ok then
        nondeterminism = nil
        batch = { { type = "FailWorkflow", error = "worker error while running the handler: " .. tostring(batch) } }
        run.finished = true
    end
    if nondeterminism then
        -- Do not complete, fail or otherwise touch the workflow: stop extending the lease
        -- and let it lapse, so a fixed worker can take the task over.
        w.leases[id] = nil
        log.error("NONDETERMINISM: " .. nondeterminism, { workflow_id = id, run_id = task.run_id })
        run:close()
        return
    end
    local status, reply = submit(w, task, batch, extra and extra(batch))
    if status == 200 and not run.finished then
        speculate.note_batch(run, batch)
        w.cache:put(id, run)
    else
        run:close()
    end
    return reply
end

return M
