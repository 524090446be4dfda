--- assay.workflow.activity: runs one claimed activity task and reports its outcome.
---
--- The handler gets `ctx` { id, workflow_id, name, attempt, max_attempts } and
--- `ctx:heartbeat(details?)`, which reports liveness (needed with heartbeat_timeout_secs)
--- and raises when the engine asks to cancel the activity or no longer runs it.
--- The outcome is posted with the attempt number, so a late answer from an attempt the
--- engine already gave up on is refused (409) instead of overwriting a newer one.

local api = require("assay.workflow.api")

local M = {}

local CANCEL_TEXT = "activity cancellation requested by the engine"

local function make_ctx(task)
    local ctx = {
        id = task.id, workflow_id = task.workflow_id, name = task.name,
        attempt = task.attempt, max_attempts = task.max_attempts,
    }
    function ctx:heartbeat(details)
        local ok, status, data = pcall(api.call, "POST", "/tasks/" .. task.id .. "/heartbeat",
            { details = details, attempt = task.attempt })
        if not ok then
            -- Transient: the engine may be restarting; the next heartbeat will tell.
            log.warn("activity heartbeat failed: " .. tostring(status), { activity_id = task.id })
            return
        end
        if status == 409 or status == 404 then
            error("activity " .. task.id .. " is no longer running on this worker (abandon it)", 2)
        end
        if status == 200 and type(data) == "table" and data.cancel_requested then
            error(CANCEL_TEXT, 2)
        end
    end
    return ctx
end

-- Post the outcome; retry while the engine is unreachable (it keeps the attempt RUNNING).
-- `extra` adds the eager-dispatch fields (`workflow_task`, `next`; see worker.lua).
-- Returns the HTTP status (0: gave up) and the decoded reply on 200.
local function report(path, body, task, extra)
    if extra then
        for k, v in pairs(extra) do body[k] = v end
    end
    local delay = 0.5
    for _ = 1, 12 do
        local ok, status, data, raw = pcall(api.call, "POST", path, body)
        if ok then
            if status ~= 200 and status ~= 409 then
                log.warn("activity outcome rejected", { activity_id = task.id, status = status,
                    error = type(data) == "table" and data.error or raw })
            end
            if status == 200 then return status, data end
            return status, nil
        end
        log.warn("engine unreachable while reporting activity " .. task.id .. "; retrying in " .. delay .. "s")
        sleep(delay)
        delay = math.min(delay * 2, 10)
    end
    return 0
end

--- Execute `task` with the handler from `handlers[task.name]`. `extra()` (optional) gives
--- extra fields for the outcome request; `speculate(result, json_text)` (optional) may return the
--- `workflow_commands` of a speculative workflow task (speculate.lua) to send with a result.
--- Returns the engine's reply (a table) or nil.
function M.run(handlers, task, extra, speculate)
    local handler = handlers[task.name]
    local ok, result
    if not handler then
        ok, result = false, "no activity handler registered for: " .. tostring(task.name)
    else
        ok, result = pcall(handler, make_ctx(task), task.input)
    end
    local base = "/tasks/" .. task.id
    if ok then
        -- A result that cannot be encoded as JSON fails the attempt with that reason.
        local enc_ok, encoded = pcall(json.encode, result)
        if enc_ok then
            local body = { result = result, attempt = task.attempt }
            body.workflow_commands = speculate and speculate(result, encoded) or nil
            local status, reply = report(base .. "/complete", body, task, extra and extra())
            if body.workflow_commands and status ~= 200 and status ~= 409 and status ~= 0 then
                -- The engine refused the request as a whole (say, a command it rejects):
                -- the result must still be recorded, so report it plainly.
                body.workflow_commands = nil
                status, reply = report(base .. "/complete", body, task, nil)
            end
            return reply
        end
        result = "activity result is not JSON-encodable: " .. tostring(encoded)
    end
    local text = tostring(result)
    if text:find(CANCEL_TEXT, 1, true) then
        log.info("activity stopped on cancellation", { activity_id = task.id, name = task.name })
    end
    local _, reply = report(base .. "/fail", { error = text, attempt = task.attempt }, task, extra and extra())
    return reply
end

return M
