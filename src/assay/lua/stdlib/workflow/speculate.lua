--- assay.workflow.speculate: speculative workflow tasks (engine side: store/speculation.py).
---
--- When an activity finishes on this worker and the sticky cache holds its workflow's run
--- suspended on exactly that activity (the run's last batch was that one ScheduleActivity),
--- the worker feeds the result to the run at once and sends the commands it issues with
--- the activity result: one round trip per workflow step instead of two (result, then the
--- workflow task the result wakes, then its commands).
---
--- The run is fed the two events a real workflow task would carry (ActivityScheduled and
--- ActivityCompleted at the seqs that follow the history it has seen), with the result as
--- JSON gives it back, so it reaches the very state a replay would. The engine applies the
--- batch only if nothing else happened to the workflow in between; otherwise it refuses,
--- records the result as usual, and the worker drops the run (its state ran ahead); the
--- workflow task then comes with full history and is replayed.

local M = {}

--- After a batch was applied: remember whether the run now waits on one activity only.
function M.note_batch(run, batch)
    run.spec_act, run.spec_after = nil, nil
    if #batch == 1 and batch[1].type == "ScheduleActivity" then
        run.spec_act, run.spec_after = batch[1].seq, run.last_seq
    end
end

local function release(w, id)
    local queue = w.inflight[id]
    w.inflight[id] = nil
    w.wf_active = w.wf_active - 1
    for _, t in ipairs(queue or {}) do w.dispatch_workflow(w, t) end
end

--- Try to run activity task `t`'s workflow forward with `result` (`encoded`: its JSON text,
--- when the caller has it already). Returns a speculation
--- { fields = <body of workflow_commands>, run, batch } or nil (report the result plainly).
function M.begin(w, t, result, encoded)
    local id = t.workflow_id
    if w.stopping or not id or w.inflight[id] or w.wf_active >= w.max_wf then return nil end
    local run = w.cache:remove(id)
    if not run then return nil end
    if run.busy or run.finished or run.spec_act == nil or run.spec_act ~= t.seq then
        w.cache:put(id, run)
        return nil
    end
    local ok_json, value = pcall(function() return json.parse(encoded or json.encode(result)) end)
    if not ok_json then
        w.cache:put(id, run)
        return nil
    end
    -- From here the run belongs to this speculation, like a workflow task in flight: tasks of
    -- the same workflow claimed meanwhile queue behind it (worker.lua dispatch_workflow).
    w.inflight[id] = {}
    w.wf_active = w.wf_active + 1
    local after = run.spec_after
    run.spec_act, run.spec_after = nil, nil
    run:apply({
        { seq = after + 1, event_type = "ActivityScheduled", payload = { activity_seq = t.seq, name = t.name } },
        { seq = after + 2, event_type = "ActivityCompleted", payload = { activity_seq = t.seq, result = value } },
    })
    run.busy = true
    local ok, batch, nondeterminism = pcall(run.step, run)
    run.busy = false
    if not ok or nondeterminism then
        -- Leave it to a real workflow task (which reports the error or the mismatch).
        run:close()
        release(w, id)
        return nil
    end
    local fields = { worker_id = w.worker_id, after_seq = after, commands = json.array(batch) }
    local extra = w.commands_extra(batch)
    if extra and extra.eager_activities then fields.eager_activities = extra.eager_activities end
    return { fields = fields, run = run, batch = batch }
end

--- Settle speculation `spec` of workflow `id` with the engine's answer (`outcome`: the
--- reply's `workflow_commands`, nil when the request failed).
function M.finish(w, id, spec, outcome)
    local run = spec.run
    if type(outcome) == "table" and outcome.accepted then
        w.stats.speculations = w.stats.speculations + 1
        if run.finished then
            run:close()
        else
            run.last_seq = outcome.seq or run.last_seq
            M.note_batch(run, spec.batch)
            w.cache:put(id, run)
        end
        local acts = outcome.activity_tasks
        if type(acts) == "table" and #acts > 0 then w.run_activities(w, acts) end
    else
        w.stats.speculations_refused = w.stats.speculations_refused + 1
        run:close()
    end
    release(w, id)
end

return M
