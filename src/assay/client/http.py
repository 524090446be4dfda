"""Synchronous management client of the engine's REST API (docs/reference/rest-api.md).

One method per route, each returning the parsed JSON answer. The CLI uses it today; the
Python SDK reuses it later, so nothing here knows about terminals, exit codes or click.

Failures are translated at one choke point (``Transport._call`` in client/transport.py) into
typed errors derived from ``assay.errors.ClientError`` (client/errors.py); every error carries
the HTTP method and URL so a one-line message can say exactly what failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from assay.client.admin_calls import AdminCalls
from assay.client.errors import (  # re-exported (__all__): callers import errors from here
    AuthError,
    BadRequestError,
    ConflictError,
    EngineConnectionError,
    EngineHTTPError,
    NotFoundError,
    ServerError,
    UnexpectedResponse,
)
from assay.client.transport import (  # partly re-exported (__all__)
    API_PREFIX,
    DEFAULT_ENGINE_URL,
    JSON,
    LONG_POLL_GRACE_SECS,
    MAX_WAIT_SECS,
    JSONObject,
    api_base,
    clamp_wait,
    seg,
)
from assay.client.worker_calls import WorkerProtocolCalls

__all__ = [
    "API_PREFIX", "DEFAULT_ENGINE_URL", "JSON", "JSONObject", "LONG_POLL_GRACE_SECS", "MAX_WAIT_SECS",
    "TERMINAL_STATUSES", "WORKFLOW_STATUSES", "AuthError", "BadRequestError", "ConflictError",
    "EngineClient", "EngineConnectionError", "EngineHTTPError", "NotFoundError", "Page", "ServerError",
    "UnexpectedResponse", "api_base",
]

WORKFLOW_STATUSES = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})


@dataclass(frozen=True)
class Page:
    """One page of a list answer plus the total the engine reported (``X-Total-Count``)."""

    items: list[JSONObject]
    total: int | None


class EngineClient(WorkerProtocolCalls, AdminCalls):
    """Blocking client of one engine: one method per route (the workflow routes here, the
    worker protocol and administration in their mixins). Thread-compatible, not
    thread-safe; close it when done.

    ``transport`` is the test seam (httpx.MockTransport, WSGI …); production uses the
    default network transport.
    """


    def start_workflow(
        self,
        workflow_type: str,
        *,
        workflow_id: str | None = None,
        namespace: str | None = None,
        input: JSON = None,
        task_queue: str | None = None,
        search_attributes: JSONObject | None = None,
        wait_secs: float = 0,
    ) -> JSONObject:
        """POST /workflows → ``{workflow_id, run_id, status}``. With ``wait_secs`` the engine
        answers once the run ended or the wait ran out, adding ``result``, ``error`` and
        ``completed_at`` (one request instead of a start and a result long-poll)."""
        body: JSONObject = {"workflow_type": workflow_type}
        optional = {
            "workflow_id": workflow_id,
            "namespace": namespace,
            "input": input,
            "task_queue": task_queue,
            "search_attributes": search_attributes,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        wait = clamp_wait(wait_secs)
        return self._object(
            "POST", "/workflows", body=body, send_body=True, params={"wait_secs": wait or None},
            timeout=self.timeout + wait if wait else None,
        )

    def list_workflows(
        self,
        *,
        namespace: str | None = None,
        status: str | None = None,
        workflow_type: str | None = None,
        search_attributes: JSONObject | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page:
        """GET /workflows, newest first, with the engine's total count when it sends one."""
        params = {
            "namespace": namespace,
            "status": status,
            "type": workflow_type,
            "search_attrs": json.dumps(search_attributes) if search_attributes else None,
            "limit": limit,
            "offset": offset,
        }
        response = self._call("GET", "/workflows", params=params)
        items = response.json()
        if not isinstance(items, list):
            raise UnexpectedResponse(
                "expected a JSON array", method="GET", url=str(response.request.url)
            )
        total = response.headers.get("X-Total-Count")
        return Page(items=items, total=int(total) if total and total.isdigit() else None)

    def get_workflow(self, workflow_id: str) -> JSONObject:
        return self._object("GET", f"/workflows/{seg(workflow_id)}")

    def get_result(self, workflow_id: str, *, wait_secs: float = 0) -> JSONObject:
        """GET /workflows/{id}/result; with ``wait_secs`` the engine holds the request until
        the run is terminal or the wait ends (then the answer still shows the live status)."""
        wait = clamp_wait(wait_secs)
        return self._object(
            "GET",
            f"/workflows/{seg(workflow_id)}/result",
            params={"wait_secs": wait or None},
            timeout=self.timeout + wait if wait else None,
        )

    def get_events(
        self, workflow_id: str, *, after_seq: int | None = None, wait_secs: float = 0
    ) -> list[JSONObject]:
        """GET /workflows/{id}/events ordered by seq; ``wait_secs`` long-polls for newer ones."""
        wait = clamp_wait(wait_secs)
        return self._array(
            "GET",
            f"/workflows/{seg(workflow_id)}/events",
            params={"after_seq": after_seq, "wait_secs": wait or None},
            timeout=wait + LONG_POLL_GRACE_SECS if wait else None,
        )

    def signal_workflow(self, workflow_id: str, name: str, payload: JSON = None) -> JSONObject:
        return self._object(
            "POST",
            f"/workflows/{seg(workflow_id)}/signal/{seg(name)}",
            body={"payload": payload},
            send_body=True,
        )

    def cancel_workflow(self, workflow_id: str, *, reason: str | None = None) -> JSONObject:
        return self._object(
            "POST",
            f"/workflows/{seg(workflow_id)}/cancel",
            body={"reason": reason} if reason is not None else {},
            send_body=True,
        )

    def terminate_workflow(self, workflow_id: str, *, reason: str | None = None) -> JSONObject:
        return self._object(
            "POST",
            f"/workflows/{seg(workflow_id)}/terminate",
            body={"reason": reason} if reason is not None else {},
            send_body=True,
        )

    def list_children(self, workflow_id: str) -> list[JSONObject]:
        return self._array("GET", f"/workflows/{seg(workflow_id)}/children")

    def continue_as_new(
        self, workflow_id: str, *, input: JSON = None, new_workflow_id: str | None = None
    ) -> JSONObject:
        body: JSONObject = {}
        if input is not None:
            body["input"] = input
        if new_workflow_id is not None:
            body["workflow_id"] = new_workflow_id
        return self._object(
            "POST", f"/workflows/{seg(workflow_id)}/continue-as-new", body=body, send_body=True
        )

    def get_state(self, workflow_id: str, name: str | None = None) -> JSONObject:
        """GET /workflows/{id}/state[/{name}]: the latest query snapshot."""
        path = f"/workflows/{seg(workflow_id)}/state"
        return self._object("GET", path + (f"/{seg(name)}" if name else ""))

    def schedule_activity(self, workflow_id: str, activity: JSONObject) -> JSONObject:
        return self._object(
            "POST", f"/workflows/{seg(workflow_id)}/activities", body=activity, send_body=True
        )

    def get_activity(self, activity_id: int | str) -> JSONObject:
        return self._object("GET", f"/activities/{seg(str(activity_id))}")
