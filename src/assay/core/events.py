"""History event types (past tense). The value is the text stored and sent on the wire."""

from __future__ import annotations

import re
from enum import StrEnum


class EventType(StrEnum):
    WORKFLOW_STARTED = "WorkflowStarted"
    WORKFLOW_COMPLETED = "WorkflowCompleted"
    WORKFLOW_FAILED = "WorkflowFailed"
    WORKFLOW_CANCELLED = "WorkflowCancelled"
    WORKFLOW_CANCEL_REQUESTED = "WorkflowCancelRequested"
    WORKFLOW_TERMINATED = "WorkflowTerminated"
    WORKFLOW_TIMED_OUT = "WorkflowTimedOut"
    WORKFLOW_CONTINUED_AS_NEW = "WorkflowContinuedAsNew"
    WORKFLOW_AWAITING_SIGNAL = "WorkflowAwaitingSignal"
    ACTIVITY_SCHEDULED = "ActivityScheduled"
    ACTIVITY_COMPLETED = "ActivityCompleted"
    ACTIVITY_FAILED = "ActivityFailed"
    TIMER_SCHEDULED = "TimerScheduled"
    TIMER_FIRED = "TimerFired"
    SIGNAL_RECEIVED = "SignalReceived"
    SIDE_EFFECT_RECORDED = "SideEffectRecorded"
    CHILD_WORKFLOW_STARTED = "ChildWorkflowStarted"
    CHILD_WORKFLOW_COMPLETED = "ChildWorkflowCompleted"
    CHILD_WORKFLOW_FAILED = "ChildWorkflowFailed"
    SEARCH_ATTRIBUTES_UPSERTED = "SearchAttributesUpserted"


_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def stream_name(event_type: str) -> str:
    """SSE frame name for an event type: ``WorkflowStarted`` -> ``workflow_started``."""
    return _CAMEL_BOUNDARY.sub("_", event_type).lower()
