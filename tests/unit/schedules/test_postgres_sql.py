"""Pure parts of the PostgreSQL backend: SQL translation, search clauses, NOTIFY payloads."""

from __future__ import annotations

import json

from assay.core.events import EventType
from assay.core.model import Event
from assay.store.base import Changes, PublishedEvent
from assay.store.postgres import NOTIFY_LIMIT, PostgresDialect, _payloads, to_pyformat, wake_keys


def test_named_parameters_become_pyformat() -> None:
    assert to_pyformat("SELECT * FROM t WHERE a = :a AND b = :b_2") == (
        "SELECT * FROM t WHERE a = %(a)s AND b = %(b_2)s"
    )


def test_casts_percent_and_literals_survive() -> None:
    sql = "SELECT x::int, :v::jsonb FROM t WHERE s LIKE 'a%' AND k = ':not_a_param' AND p = 5 % 2"
    assert to_pyformat(sql) == (
        "SELECT x::int, %(v)s::jsonb FROM t WHERE s LIKE 'a%%' AND k = ':not_a_param' AND p = 5 %% 2"
    )
    assert to_pyformat("SELECT 'it''s :x'") == "SELECT 'it''s :x'"


def test_search_clause_is_containment_plus_exact_match_for_containers() -> None:
    clause, params = PostgresDialect().search_attribute_clause(0, "env", "prod")
    assert clause == "search_attributes @> :sa_val_0::jsonb" and json.loads(params["sa_val_0"]) == {"env": "prod"}
    clause, params = PostgresDialect().search_attribute_clause(1, "tags", ["a"])
    assert "@>" in clause and "-> :sa_key_1 = :sa_exact_1::jsonb" in clause
    assert params["sa_key_1"] == "tags" and json.loads(params["sa_exact_1"]) == ["a"]


def test_wake_keys_cover_queues_events_results_and_times() -> None:
    changes = Changes()
    changes.workflow_queues.add(("main", "q"))
    changes.activity_queues.add(("main", "a"))
    for seq, event_type in ((1, EventType.WORKFLOW_STARTED), (2, EventType.SIGNAL_RECEIVED)):
        event = Event(workflow_id="w1", seq=seq, event_type=str(event_type), payload=None, timestamp=0.0)
        changes.events.append(PublishedEvent(event=event, namespace="main", status="PENDING"))
    changes.running.append(("w1", "main"))
    changes.finished["w2"] = None
    changes.arm(5.0)
    keys = wake_keys(changes)
    # Events carry the seq range other instances relay to their SSE subscribers; a first
    # claim carries what its workflow_running frame needs.
    assert sorted(map(tuple, keys), key=str) == sorted(
        [("wf", "main", "q"), ("act", "main", "a"), ("events", "w1", 1, 2), ("running", "w1", "main"),
         ("result", "w2"), ("wake_at", 5.0)], key=str
    )
    assert keys.index(["events", "w1", 1, 2]) < keys.index(["running", "w1", "main"])  # relay order


def test_payloads_stay_under_the_notify_limit() -> None:
    keys = [["events", f"workflow-{i:05d}-" + "x" * 80] for i in range(500)]
    payloads = _payloads("origin", keys)
    assert len(payloads) > 1 and all(len(p.encode()) < NOTIFY_LIMIT + 200 for p in payloads)
    assert [k for p in payloads for k in json.loads(p)["k"]] == keys
