"""The worker protocol calls of the client (used by the SDK and by tests that play a worker)."""

from __future__ import annotations

from assay.client.transport import LONG_POLL_GRACE_SECS, JSON, JSONObject, Transport, clamp_wait, seg


class WorkerProtocolCalls(Transport):
    """Register and heartbeat a worker, poll and answer workflow and activity tasks."""

    def register_worker(self, identity: str, queue: str, **fields: JSON) -> JSONObject:
        body = {"identity": identity, "queue": queue, **fields}
        return self._object("POST", "/workers/register", body=body, send_body=True)

    def worker_heartbeat(self, worker_id: str) -> JSONObject:
        body = {"worker_id": worker_id}
        return self._object("POST", "/workers/heartbeat", body=body, send_body=True)

    def list_workers(self, *, namespace: str | None = None) -> list[JSONObject]:
        return self._array("GET", "/workers", params={"namespace": namespace})

    def poll_workflow_task(
        self,
        queue: str,
        worker_id: str,
        *,
        namespace: str | None = None,
        wait_secs: float = 0,
        sticky: bool = False,
    ) -> JSONObject | None:
        """POST /workflow-tasks/poll → a leased task, or None when nothing was claimable."""
        wait = clamp_wait(wait_secs)
        body: JSONObject = {"queue": queue, "worker_id": worker_id, "wait_secs": wait}
        if namespace is not None:
            body["namespace"] = namespace
        if sticky:
            body["sticky"] = True
        value = self._request(
            "POST", "/workflow-tasks/poll", body=body, send_body=True,
            timeout=wait + LONG_POLL_GRACE_SECS,
        )
        return value if isinstance(value, dict) else None

    def submit_commands(
        self, workflow_id: str, worker_id: str, lease_token: str, commands: list[JSONObject]
    ) -> JSONObject:
        body = {"worker_id": worker_id, "lease_token": lease_token, "commands": commands}
        return self._object(
            "POST",
            f"/workflow-tasks/{seg(workflow_id)}/commands",
            body=body,
            send_body=True,
        )

    def heartbeat_workflow_task(
        self, workflow_id: str, worker_id: str, lease_token: str
    ) -> JSONObject:
        body = {"worker_id": worker_id, "lease_token": lease_token}
        return self._object(
            "POST", f"/workflow-tasks/{seg(workflow_id)}/heartbeat", body=body, send_body=True
        )

    def poll_activity_task(
        self, queue: str, worker_id: str, *, namespace: str | None = None, wait_secs: float = 0
    ) -> JSONObject | None:
        wait = clamp_wait(wait_secs)
        body: JSONObject = {"queue": queue, "worker_id": worker_id, "wait_secs": wait}
        if namespace is not None:
            body["namespace"] = namespace
        value = self._request(
            "POST", "/tasks/poll", body=body, send_body=True, timeout=wait + LONG_POLL_GRACE_SECS
        )
        return value if isinstance(value, dict) else None

    def complete_activity(
        self, activity_id: int | str, result: JSON = None, *, attempt: int | None = None
    ) -> JSONObject:
        body: JSONObject = {"result": result}
        if attempt is not None:
            body["attempt"] = attempt
        return self._object(
            "POST", f"/tasks/{seg(str(activity_id))}/complete", body=body, send_body=True
        )

    def fail_activity(
        self,
        activity_id: int | str,
        error: str,
        *,
        attempt: int | None = None,
        non_retryable: bool = False,
    ) -> JSONObject:
        body: JSONObject = {"error": error, "non_retryable": non_retryable}
        if attempt is not None:
            body["attempt"] = attempt
        return self._object(
            "POST", f"/tasks/{seg(str(activity_id))}/fail", body=body, send_body=True
        )

    def heartbeat_activity(
        self, activity_id: int | str, details: JSON = None, *, attempt: int | None = None
    ) -> JSONObject:
        body: JSONObject = {"details": details}
        if attempt is not None:
            body["attempt"] = attempt
        return self._object(
            "POST", f"/tasks/{seg(str(activity_id))}/heartbeat", body=body, send_body=True
        )
