-- Nightly report: a cron schedule starts `NightlyReport` at 02:00 UTC; the workflow
-- gathers figures from several sources in parallel and writes a Markdown report.
--   assay run examples/nightly-report/worker.lua &     # also creates the schedule once
--   assay workflow start --type NightlyReport --queue reports --input '{"lookback_hours":24}'
local workflow = require("assay.workflow")

workflow.connect(env.get("ASSAY_ENGINE_URL") or "http://127.0.0.1:8080",
    { token = env.get("ASSAY_API_KEY") })

local QUEUE = env.get("ASSAY_QUEUE") or "reports"
local OUT_DIR = env.get("REPORT_DIR") or "/tmp"
local SOURCES = { "orders", "signups", "errors" }

workflow.define("NightlyReport", function(ctx, input)
    local hours = (input and input.lookback_hours) or 24
    -- The report's date is read once and recorded, so a replay tomorrow names the same day.
    local day = ctx:side_effect("report-day", function() return os.date("!%Y-%m-%d") end)
    local calls = {}
    for i, source in ipairs(SOURCES) do
        calls[i] = { name = "count_events", input = { source = source, hours = hours },
                     opts = { max_attempts = 5, initial_interval_secs = 2 } }
    end
    local counts = ctx:execute_parallel(calls)
    local figures = {}
    for i, source in ipairs(SOURCES) do figures[source] = counts[i] end
    ctx:upsert_search_attributes({ report_day = day })
    local path = ctx:execute_activity("write_report", { day = day, hours = hours, figures = figures })
    return { day = day, path = path, figures = figures }
end)

-- Stand-in for a query against a metrics store; deterministic per source and window.
workflow.activity("count_events", function(ctx, input)
    local n = 0
    for c in input.source:gmatch(".") do n = n + c:byte() end
    return (n * input.hours) % 1000
end)

workflow.activity("write_report", function(ctx, input)
    local lines = { "# Nightly report " .. input.day, "", "Last " .. input.hours .. " hours:", "" }
    for _, source in ipairs(SOURCES) do
        lines[#lines + 1] = string.format("- %s: %d", source, input.figures[source])
    end
    local path = OUT_DIR .. "/nightly-report-" .. input.day .. ".md"
    local f = assert(io.open(path, "w"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    return path
end)

-- Create the schedule on first start (6-field cron: seconds first).
if env.get("SKIP_SCHEDULE") ~= "1" and workflow.schedules.describe("nightly-report") == nil then
    workflow.schedules.create({
        name = "nightly-report", workflow_type = "NightlyReport", cron_expr = "0 0 2 * * *",
        timezone = "UTC", task_queue = QUEUE, input = { lookback_hours = 24 },
    })
    log.info("created schedule nightly-report (02:00 UTC daily)")
end

workflow.listen({ queue = QUEUE })
