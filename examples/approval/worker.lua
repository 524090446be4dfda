-- Approval-gated deploy with live state (the seed's example), plus the dashboard's Steps
-- tab: the `pipeline_state` query returns `steps[]` with canonical statuses.
--   assay run examples/approval/worker.lua &
--   assay workflow start --type ApproveAndDeploy --queue deploys --id deploy-1234 \
--       --input '{"git_sha":"abc123","target_env":"staging"}'
--   assay workflow state deploy-1234 pipeline_state
--   assay workflow signal deploy-1234 approve '{"by":"alice"}'
local workflow = require("assay.workflow")

workflow.connect(env.get("ASSAY_ENGINE_URL") or "http://127.0.0.1:8080",
    { token = env.get("ASSAY_TOKEN") or env.get("ASSAY_API_KEY") })

-- Timestamps come from the replay-safe side_effect, so every replay shows the same ones.
local function now_iso(ctx, label)
    return ctx:side_effect("clock:" .. label, function() return os.date("!%Y-%m-%dT%H:%M:%SZ") end)
end

workflow.define("ApproveAndDeploy", function(ctx, input)
    local state = {
        stage = "build", progress = 0, status = "running", current_step = 1,
        steps = {
            { name = "Build", status = "running" },
            { name = "Approval", status = "waiting", actions = { "approve" } },
            { name = "Deploy", status = "waiting" },
        },
        log = {},
    }
    ctx:register_query("pipeline_state", function() return state end)
    local function note(step, msg) state.log[#state.log + 1] = { step = step, msg = msg } end

    state.steps[1].started_at = now_iso(ctx, "build-start")
    local artifact = ctx:execute_activity("build", { ref = input.git_sha })
    state.steps[1].status, state.steps[1].completed_at = "done", now_iso(ctx, "build-done")
    note(1, "built " .. artifact.image)

    state.stage = "awaiting_approval"; state.progress = 0.33
    state.current_step = 2
    state.steps[2].status, state.steps[2].started_at = "running", now_iso(ctx, "approval-start")
    local approval = ctx:wait_for_signal("approve")
    state.steps[2].status, state.steps[2].completed_at = "done", now_iso(ctx, "approval-done")
    note(2, "approved by " .. tostring(approval.by))

    state.stage = "deploying"; state.progress = 0.66
    state.current_step = 3
    state.steps[3].status, state.steps[3].started_at = "running", now_iso(ctx, "deploy-start")
    ctx:upsert_search_attributes({ approver = approval.by })
    local result = ctx:execute_activity("deploy", {
        image = artifact.image, env = input.target_env, approver = approval.by,
    })
    state.steps[3].status, state.steps[3].completed_at = "done", now_iso(ctx, "deploy-done")
    note(3, "deployed to " .. input.target_env)

    state.stage = "done"; state.progress = 1.0; state.status = "done"
    return result
end)

workflow.activity("build", function(ctx, input)
    sleep(0.2)  -- stands in for the real build
    return { image = "registry.example.com/app:" .. input.ref }
end)

workflow.activity("deploy", function(ctx, input)
    sleep(0.2)  -- stands in for the rollout
    return { env = input.env, image = input.image, approver = input.approver, status = "deployed" }
end)

workflow.listen({ queue = env.get("ASSAY_QUEUE") or "deploys" })
