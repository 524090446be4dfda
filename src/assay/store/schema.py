"""The tables, declared once for SQLite and PostgreSQL (SQLAlchemy Core metadata).

Flags are small integers (0/1) on both backends so the hand-written hot-path SQL is the same
text for both. JSON values are TEXT on SQLite; the PostgreSQL part turns
``search_attributes`` into JSONB with a GIN index (see ``postgres.py``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

schema_version = Table(
    "assay_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
)

namespaces = Table(
    "namespaces",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("created_at", Float, nullable=False),
)

workflows = Table(
    "workflows",
    metadata,
    Column("id", String(400), primary_key=True),
    Column("namespace", String(200), nullable=False),
    Column("run_id", String(100), nullable=False),
    Column("workflow_type", String(400), nullable=False),
    Column("task_queue", String(400), nullable=False),
    Column("status", String(20), nullable=False),
    Column("input", Text),
    Column("result", Text),
    Column("error", Text),
    Column("parent_id", String(400)),
    Column("search_attributes", Text),
    Column("continued_from", String(400)),
    Column("continued_to", String(400)),
    Column("archived_at", Float),
    Column("archive_uri", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("completed_at", Float),
    # Event seq counter: the next event gets last_seq + 1 inside the same transaction.
    Column("last_seq", Integer, nullable=False, server_default=text("0")),
    # Dispatch state of the workflow task.
    Column("needs_dispatch", SmallInteger, nullable=False, server_default=text("0")),
    Column("lease_owner", String(100)),
    Column("lease_token", String(64)),
    Column("lease_expires_at", Float),
    # Sticky execution: which worker last replayed the workflow, up to which seq.
    Column("sticky_worker", String(100)),
    Column("sticky_seq", Integer),
    # When a cancel was requested of a RUNNING workflow (the worker gets a grace period).
    Column("cancel_requested_at", Float),
)
Index("ix_workflows_ns_created", workflows.c.namespace, workflows.c.created_at)
Index("ix_workflows_parent", workflows.c.parent_id)
Index("ix_workflows_status", workflows.c.namespace, workflows.c.status)
Index(
    "ix_workflows_dispatch",
    workflows.c.namespace,
    workflows.c.task_queue,
    workflows.c.needs_dispatch,
    workflows.c.updated_at,
)
Index("ix_workflows_lease", workflows.c.lease_expires_at)
Index("ix_workflows_lease_owner", workflows.c.lease_owner)  # live active_tasks per worker

events = Table(
    "workflow_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("workflow_id", String(400), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("payload", Text),
    Column("timestamp", Float, nullable=False),
    UniqueConstraint("workflow_id", "seq", name="uq_events_workflow_seq"),
)

activities = Table(
    "workflow_activities",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("workflow_id", String(400), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("namespace", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", String(400), nullable=False),
    Column("task_queue", String(400), nullable=False),
    Column("input", Text),
    Column("status", String(20), nullable=False),
    Column("result", Text),
    Column("error", Text),
    Column("attempt", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("initial_interval_secs", Float, nullable=False),
    Column("backoff_coefficient", Float, nullable=False),
    Column("start_to_close_secs", Float, nullable=False),
    Column("heartbeat_timeout_secs", Float),
    Column("claimed_by", String(100)),
    Column("scheduled_at", Float, nullable=False),
    Column("started_at", Float),
    Column("completed_at", Float),
    Column("last_heartbeat", Float),
    # When a RUNNING attempt times out: min(start + start_to_close, heartbeat + heartbeat_timeout).
    Column("deadline_at", Float),
    Column("cancel_requested", SmallInteger, nullable=False, server_default=text("0")),
    UniqueConstraint("workflow_id", "seq", name="uq_activities_workflow_seq"),
)
Index("ix_activities_claim", activities.c.namespace, activities.c.task_queue, activities.c.status, activities.c.scheduled_at)
Index("ix_activities_deadline", activities.c.status, activities.c.deadline_at)
Index("ix_activities_claimed_by", activities.c.claimed_by)  # live active_tasks per worker

timers = Table(
    "workflow_timers",
    metadata,
    Column("workflow_id", String(400), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("fire_at", Float, nullable=False),
    Column("fired", SmallInteger, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("workflow_id", "seq"),
)
Index("ix_timers_due", timers.c.fired, timers.c.fire_at)

# Idempotency keys for commands that have no row of their own (side effects, signal waits).
command_keys = Table(
    "workflow_command_keys",
    metadata,
    Column("workflow_id", String(400), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(500), nullable=False),
    PrimaryKeyConstraint("workflow_id", "key"),
)

snapshots = Table(
    "workflow_snapshots",
    metadata,
    # One row per workflow (the latest); the original kept one per event count forever.
    Column("workflow_id", String(400), ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True),
    Column("event_seq", Integer, nullable=False),
    Column("state", Text),
    Column("created_at", Float, nullable=False),
)

schedules = Table(
    "workflow_schedules",
    metadata,
    Column("namespace", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("workflow_type", String(400), nullable=False),
    Column("cron_expr", String(200), nullable=False),
    Column("timezone", String(100), nullable=False),
    Column("input", Text),
    Column("task_queue", String(400), nullable=False),
    Column("overlap_policy", String(40), nullable=False),
    Column("paused", SmallInteger, nullable=False, server_default=text("0")),
    Column("last_run_at", Float),
    Column("next_run_at", Float),
    Column("last_workflow_id", String(400)),
    Column("buffered", SmallInteger, nullable=False, server_default=text("0")),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("namespace", "name"),
)
Index("ix_schedules_due", schedules.c.paused, schedules.c.next_run_at)

workers = Table(
    "workflow_workers",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("namespace", String(200), nullable=False),
    Column("identity", String(400), nullable=False),
    Column("task_queue", String(400), nullable=False),
    Column("workflows", Text),
    Column("activities", Text),
    Column("max_concurrent_workflows", Integer, nullable=False),
    Column("max_concurrent_activities", Integer, nullable=False),
    Column("active_tasks", Integer, nullable=False, server_default=text("0")),
    Column("last_heartbeat", Float, nullable=False),
    Column("registered_at", Float, nullable=False),
)
Index("ix_workers_ns", workers.c.namespace, workers.c.task_queue)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("prefix", String(40), nullable=False),
    Column("label", String(400)),
    Column("created_at", Float, nullable=False),
)
Index("ix_api_keys_prefix", api_keys.c.prefix)

engine_lock = Table(
    "engine_lock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("instance_id", String(100), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("last_heartbeat", Float, nullable=False),
)
