"""assay.workflow.speculate: when a worker runs a workflow on with an activity result, and
what it does with the engine's answer (the worker state is a plain table; no engine)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

PRELUDE = r"""
local ctxmod = require("assay.workflow.ctx")
local speculate = require("assay.workflow.speculate")
local lru = require("assay.workflow.cache")

local dispatched, spawned = {}, {}
local w = {
    stopping = false, inflight = {}, wf_active = 0, max_wf = 4, worker_id = "w1",
    cache = lru.new(10, function(_, run) run:close() end),
    stats = { speculations = 0, speculations_refused = 0 },
    commands_extra = function(batch) return { eager_activities = { queue = "q", max = 3 } } end,
    dispatch_workflow = function(_, t) dispatched[#dispatched + 1] = t.workflow_id end,
    run_activities = function(_, list) for _, a in ipairs(list) do spawned[#spawned + 1] = a.id end end,
}

-- Two sequential activities, then the sum: the shape speculation is for.
local function chain(ctx, input)
    local a = ctx:execute_activity("step", 1)
    local b = ctx:execute_activity("step", 2)
    return { sum = a.n + b.n, first = a }
end

-- A run that has seen WorkflowStarted (seq 1) and whose batch scheduled activity 1.
local function cached_run(id)
    local run = ctxmod.new_run({ workflow_id = id, run_id = "r", workflow_type = "chain", input = {} }, chain)
    run:apply({ { seq = 1, event_type = "WorkflowStarted", payload = {} } })
    local batch = run:step()
    speculate.note_batch(run, batch)
    w.cache:put(id, run)
    return run, batch
end
"""


def run(lua: Callable[[str], Any], body: str) -> Any:
    """Run ``body`` after the prelude; its returned table comes back through JSON."""
    return json.loads(lua(PRELUDE + "return json.encode((function()\n" + body + "\nend)())"))


def test_result_runs_the_workflow_on_and_accepted_batch_keeps_the_run(lua: Callable[[str], Any]) -> None:
    out = run(lua, r"""
        local run, first = cached_run("wf1")
        local spec = speculate.begin(w, { workflow_id = "wf1", seq = 1, name = "step" }, { n = 10 })
        local during = { inflight = w.inflight["wf1"] ~= nil, active = w.wf_active, cached = w.cache:get("wf1") ~= nil }
        speculate.finish(w, "wf1", spec, { accepted = true, seq = 3, activity_tasks = { { id = 77 } } })
        local again = w.cache:get("wf1")
        return { first = first[1], fields = spec.fields, during = during, after_active = w.wf_active,
                 inflight = w.inflight["wf1"] ~= nil, same_run = again == run, spec_act = again.spec_act,
                 spec_after = again.spec_after, last_seq = again.last_seq, spawned = spawned,
                 stats = w.stats }
    """)
    assert out["first"]["type"] == "ScheduleActivity" and out["first"]["seq"] == 1
    fields = out["fields"]
    assert fields["worker_id"] == "w1" and fields["after_seq"] == 1
    assert [(c["type"], c["seq"], c["input"]) for c in fields["commands"]] == [("ScheduleActivity", 2, 2)]
    assert fields["eager_activities"] == {"queue": "q", "max": 3}
    # While the engine decides, the run is out of the cache and the workflow is in flight.
    assert out["during"] == {"inflight": True, "active": 1, "cached": False}
    assert out["after_active"] == 0 and out["inflight"] is False
    # Accepted: the same run is cached again, now waiting on activity 2 after seq 3.
    assert out["same_run"] is True and out["spec_act"] == 2 and out["spec_after"] == 3 and out["last_seq"] == 3
    assert out["spawned"] == [77]
    assert out["stats"]["speculations"] == 1 and out["stats"]["speculations_refused"] == 0


def test_refused_batch_drops_the_run_and_releases_queued_tasks(lua: Callable[[str], Any]) -> None:
    out = run(lua, r"""
        cached_run("wf2")
        local spec = speculate.begin(w, { workflow_id = "wf2", seq = 1, name = "step" }, { n = 1 })
        -- A task of the same workflow claimed meanwhile waits behind the speculation.
        table.insert(w.inflight["wf2"], { workflow_id = "wf2" })
        speculate.finish(w, "wf2", spec, { accepted = false })
        return { cached = w.cache:get("wf2") ~= nil, dispatched = dispatched, active = w.wf_active,
                 inflight = w.inflight["wf2"] ~= nil, stats = w.stats }
    """)
    assert out["cached"] is False  # its state ran ahead of what the engine recorded
    assert out["dispatched"] == ["wf2"]
    assert out["active"] == 0 and out["inflight"] is False
    assert out["stats"]["speculations_refused"] == 1


def test_only_a_run_waiting_on_exactly_this_activity_speculates(lua: Callable[[str], Any]) -> None:
    out = run(lua, r"""
        cached_run("wf3")
        local other_seq = speculate.begin(w, { workflow_id = "wf3", seq = 2, name = "step" }, 1)
        local still_cached = w.cache:get("wf3") ~= nil
        w.inflight["wf3"] = {}
        local in_flight = speculate.begin(w, { workflow_id = "wf3", seq = 1, name = "step" }, 1)
        w.inflight["wf3"] = nil
        local unknown = speculate.begin(w, { workflow_id = "nope", seq = 1, name = "step" }, 1)
        local not_json = speculate.begin(w, { workflow_id = "wf3", seq = 1, name = "step" }, { f = print })
        return { other_seq = other_seq == nil, still_cached = still_cached, in_flight = in_flight == nil,
                 unknown = unknown == nil, not_json = not_json == nil, cached = w.cache:get("wf3") ~= nil,
                 active = w.wf_active }
    """)
    assert out == {"other_seq": True, "still_cached": True, "in_flight": True, "unknown": True,
                   "not_json": True, "cached": True, "active": 0}


def test_the_run_sees_the_result_as_json_gives_it_back(lua: Callable[[str], Any]) -> None:
    out = run(lua, r"""
        cached_run("wf4")
        local spec = speculate.begin(w, { workflow_id = "wf4", seq = 1, name = "step" }, { n = 3, empty = {} })
        speculate.finish(w, "wf4", spec, { accepted = true, seq = 3 })
        local spec2 = speculate.begin(w, { workflow_id = "wf4", seq = 2, name = "step" }, { n = 4 })
        return spec2.fields.commands[1]
    """)
    assert out["type"] == "CompleteWorkflow"
    assert out["result"]["sum"] == 7
    # What a replay would see: the result decoded from JSON, not the worker's own table.
    assert out["result"]["first"]["n"] == 3
