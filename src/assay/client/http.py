"""Synchronous management client of the engine's REST API (docs/reference/rest-api.md).

One method per route, each returning the parsed JSON answer. The CLI uses it today; the
Python SDK reuses it later, so nothing here knows about terminals, exit codes or click.

Failures are translated at one choke point (``_request``) into typed errors derived from
``assay.errors.ClientError``; every error carries the HTTP method and URL so a one-line
message can say exactly what failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from assay import __version__
from assay.errors import ClientError, EngineUnreachable

JSON = Any
JSONObject = dict[str, Any]

DEFAULT_ENGINE_URL = "http://127.0.0.1:8080"
API_PREFIX = "/api/v1"
# Extra seconds granted to a long-poll request beyond the wait the engine was asked for,
# so the engine's own "nothing happened" answer arrives before our transport gives up.
LONG_POLL_GRACE_SECS = 10.0
MAX_WAIT_SECS = 60

WORKFLOW_STATUSES = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})


# --- errors ---------------------------------------------------------------------------


class EngineConnectionError(EngineUnreachable):
    """The engine could not be reached at all (refused, DNS, TLS, transport timeout)."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class EngineHTTPError(ClientError):
    """The engine answered with a non-2xx status.

    ``code`` is the engine's stable error code (``not_found``, ``workflow_terminal`` …) or
    ``http_<status>`` when the body was not an ``{"error", "code"}`` object.
    """

    def __init__(self, *, status: int, code: str, message: str, method: str, url: str) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.method = method
        self.url = url

    def __str__(self) -> str:
        return f"{self.method} {self.url}: HTTP {self.status} {self.code}: {self.message}"


class BadRequestError(EngineHTTPError):
    """400, 413 or 422: the engine refused the shape or values of the request."""


class AuthError(EngineHTTPError):
    """401 or 403: missing, wrong or insufficient credentials."""


class NotFoundError(EngineHTTPError):
    """404: unknown workflow, schedule, namespace … (or a route this engine lacks)."""


class ConflictError(EngineHTTPError):
    """409: duplicate id, terminal workflow, stale lease, non-empty namespace."""


class ServerError(EngineHTTPError):
    """5xx: always an engine bug or an overloaded proxy, never the caller's fault."""


class UnexpectedResponse(ClientError):
    """A 2xx answer whose body is not the JSON the contract promises."""

    code = "unexpected_response"

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url

    def __str__(self) -> str:
        return f"{self.method} {self.url}: {self.message}"


def _error_class(status: int) -> type[EngineHTTPError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status >= 500:
        return ServerError
    if status in (400, 413, 422):
        return BadRequestError
    return EngineHTTPError


# --- helpers --------------------------------------------------------------------------


def api_base(engine_url: str) -> str:
    """The REST root for a user-supplied engine URL.

    Users type the server's address (``http://host:8080``); a URL that already names an
    API prefix (either of the two the engine serves) is used as given.
    """
    url = engine_url.rstrip("/")
    if url.endswith(API_PREFIX) or url.endswith(API_PREFIX + "/engine/workflow"):
        return url
    return url + API_PREFIX


def _seg(value: str) -> str:
    # Ids and names are user data: "a/b" or "x?y" must stay one path segment.
    return quote(value, safe="")


def _clamp_wait(wait_secs: float) -> int:
    return max(0, min(MAX_WAIT_SECS, int(wait_secs)))


@dataclass(frozen=True)
class Page:
    """One page of a list answer plus the total the engine reported (``X-Total-Count``)."""

    items: list[JSONObject]
    total: int | None


# --- the client -----------------------------------------------------------------------


class EngineClient:
    """Blocking client of one engine. Thread-compatible, not thread-safe; close it when done.

    ``transport`` is the test seam (httpx.MockTransport, WSGI …); production uses the
    default network transport.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_ENGINE_URL,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = api_base(base_url)
        self.timeout = timeout
        headers = {"User-Agent": f"assay-cli/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The single choke point: every route goes through here, so every failure is typed.
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: JSON = None,
        send_body: bool = False,
        timeout: float | None = None,
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        url = f"{self.base_url}{path}"
        try:
            response = self._http.request(
                method,
                path,
                params=clean or None,
                json=body if send_body else None,
                timeout=timeout if timeout is not None else self.timeout,
            )
        except httpx.HTTPError as exc:
            cause = str(exc) or type(exc).__name__
            raise EngineConnectionError(
                f"engine unreachable at {self.base_url}: {cause}", method=method, url=url
            ) from exc
        url = str(response.request.url)
        if response.is_success:
            return response
        code, message = _parse_error_body(response)
        raise _error_class(response.status_code)(
            status=response.status_code, code=code, message=message, method=method, url=url
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> JSON:
        response = self._call(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise UnexpectedResponse(
                f"answer is not JSON: {response.text[:120]!r}",
                method=method,
                url=str(response.request.url),
            ) from exc

    def _object(self, method: str, path: str, **kwargs: Any) -> JSONObject:
        value = self._request(method, path, **kwargs)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise UnexpectedResponse(
                f"expected a JSON object, got {type(value).__name__}",
                method=method,
                url=self.base_url + path,
            )
        return value

    def _array(self, method: str, path: str, **kwargs: Any) -> list[JSONObject]:
        value = self._request(method, path, **kwargs)
        if not isinstance(value, list):
            raise UnexpectedResponse(
                f"expected a JSON array, got {type(value).__name__}",
                method=method,
                url=self.base_url + path,
            )
        return value

    # --- workflows ------------------------------------------------------------------

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
        wait = _clamp_wait(wait_secs)
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
        return self._object("GET", f"/workflows/{_seg(workflow_id)}")

    def get_result(self, workflow_id: str, *, wait_secs: float = 0) -> JSONObject:
        """GET /workflows/{id}/result; with ``wait_secs`` the engine holds the request until
        the run is terminal or the wait ends (then the answer still shows the live status)."""
        wait = _clamp_wait(wait_secs)
        return self._object(
            "GET",
            f"/workflows/{_seg(workflow_id)}/result",
            params={"wait_secs": wait or None},
            timeout=self.timeout + wait if wait else None,
        )

    def get_events(
        self, workflow_id: str, *, after_seq: int | None = None, wait_secs: float = 0
    ) -> list[JSONObject]:
        """GET /workflows/{id}/events ordered by seq; ``wait_secs`` long-polls for newer ones."""
        wait = _clamp_wait(wait_secs)
        return self._array(
            "GET",
            f"/workflows/{_seg(workflow_id)}/events",
            params={"after_seq": after_seq, "wait_secs": wait or None},
            timeout=wait + LONG_POLL_GRACE_SECS if wait else None,
        )

    def signal_workflow(self, workflow_id: str, name: str, payload: JSON = None) -> JSONObject:
        return self._object(
            "POST",
            f"/workflows/{_seg(workflow_id)}/signal/{_seg(name)}",
            body={"payload": payload},
            send_body=True,
        )

    def cancel_workflow(self, workflow_id: str, *, reason: str | None = None) -> JSONObject:
        return self._object(
            "POST",
            f"/workflows/{_seg(workflow_id)}/cancel",
            body={"reason": reason} if reason is not None else {},
            send_body=True,
        )

    def terminate_workflow(self, workflow_id: str, *, reason: str | None = None) -> JSONObject:
        return self._object(
            "POST",
            f"/workflows/{_seg(workflow_id)}/terminate",
            body={"reason": reason} if reason is not None else {},
            send_body=True,
        )

    def list_children(self, workflow_id: str) -> list[JSONObject]:
        return self._array("GET", f"/workflows/{_seg(workflow_id)}/children")

    def continue_as_new(
        self, workflow_id: str, *, input: JSON = None, new_workflow_id: str | None = None
    ) -> JSONObject:
        body: JSONObject = {}
        if input is not None:
            body["input"] = input
        if new_workflow_id is not None:
            body["workflow_id"] = new_workflow_id
        return self._object(
            "POST", f"/workflows/{_seg(workflow_id)}/continue-as-new", body=body, send_body=True
        )

    def get_state(self, workflow_id: str, name: str | None = None) -> JSONObject:
        """GET /workflows/{id}/state[/{name}]: the latest query snapshot."""
        path = f"/workflows/{_seg(workflow_id)}/state"
        return self._object("GET", path + (f"/{_seg(name)}" if name else ""))

    def schedule_activity(self, workflow_id: str, activity: JSONObject) -> JSONObject:
        return self._object(
            "POST", f"/workflows/{_seg(workflow_id)}/activities", body=activity, send_body=True
        )

    def get_activity(self, activity_id: int | str) -> JSONObject:
        return self._object("GET", f"/activities/{_seg(str(activity_id))}")

    # --- worker protocol (used by the SDK and by tests that play a worker) ------------

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
        wait = _clamp_wait(wait_secs)
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
            f"/workflow-tasks/{_seg(workflow_id)}/commands",
            body=body,
            send_body=True,
        )

    def heartbeat_workflow_task(
        self, workflow_id: str, worker_id: str, lease_token: str
    ) -> JSONObject:
        body = {"worker_id": worker_id, "lease_token": lease_token}
        return self._object(
            "POST", f"/workflow-tasks/{_seg(workflow_id)}/heartbeat", body=body, send_body=True
        )

    def poll_activity_task(
        self, queue: str, worker_id: str, *, namespace: str | None = None, wait_secs: float = 0
    ) -> JSONObject | None:
        wait = _clamp_wait(wait_secs)
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
            "POST", f"/tasks/{_seg(str(activity_id))}/complete", body=body, send_body=True
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
            "POST", f"/tasks/{_seg(str(activity_id))}/fail", body=body, send_body=True
        )

    def heartbeat_activity(
        self, activity_id: int | str, details: JSON = None, *, attempt: int | None = None
    ) -> JSONObject:
        body: JSONObject = {"details": details}
        if attempt is not None:
            body["attempt"] = attempt
        return self._object(
            "POST", f"/tasks/{_seg(str(activity_id))}/heartbeat", body=body, send_body=True
        )

    # --- schedules --------------------------------------------------------------------

    def create_schedule(self, schedule: JSONObject) -> JSONObject:
        """POST /schedules with ``{name, workflow_type, cron_expr, namespace?, timezone?,
        input?, task_queue?, overlap_policy?}``."""
        return self._object("POST", "/schedules", body=schedule, send_body=True)

    def list_schedules(self, *, namespace: str | None = None) -> list[JSONObject]:
        return self._array("GET", "/schedules", params={"namespace": namespace})

    def get_schedule(self, name: str, *, namespace: str | None = None) -> JSONObject:
        return self._object("GET", f"/schedules/{_seg(name)}", params={"namespace": namespace})

    def patch_schedule(
        self, name: str, patch: JSONObject, *, namespace: str | None = None
    ) -> JSONObject:
        return self._object(
            "PATCH",
            f"/schedules/{_seg(name)}",
            params={"namespace": namespace},
            body=patch,
            send_body=True,
        )

    def pause_schedule(self, name: str, *, namespace: str | None = None) -> JSONObject:
        return self._object(
            "POST", f"/schedules/{_seg(name)}/pause", params={"namespace": namespace}
        )

    def resume_schedule(self, name: str, *, namespace: str | None = None) -> JSONObject:
        return self._object(
            "POST", f"/schedules/{_seg(name)}/resume", params={"namespace": namespace}
        )

    def delete_schedule(self, name: str, *, namespace: str | None = None) -> JSONObject:
        return self._object(
            "DELETE", f"/schedules/{_seg(name)}", params={"namespace": namespace}
        )

    # --- namespaces, queues, meta -----------------------------------------------------

    def create_namespace(self, name: str) -> JSONObject:
        return self._object("POST", "/namespaces", body={"name": name}, send_body=True)

    def list_namespaces(self) -> list[JSONObject]:
        return self._array("GET", "/namespaces")

    def get_namespace(self, name: str) -> JSONObject:
        return self._object("GET", f"/namespaces/{_seg(name)}")

    def delete_namespace(self, name: str) -> JSONObject:
        return self._object("DELETE", f"/namespaces/{_seg(name)}")

    def queue_stats(self, *, namespace: str | None = None) -> list[JSONObject]:
        return self._array("GET", "/queues", params={"namespace": namespace})

    def health(self) -> JSONObject:
        return self._object("GET", "/health")

    def version(self) -> JSONObject:
        return self._object("GET", "/version")


def _parse_error_body(response: httpx.Response) -> tuple[str, str]:
    """The engine's ``{"error", "code"}``; anything else (a proxy page, FastAPI's
    ``{"detail"}``) is reduced to one readable line."""
    fallback_code = f"http_{response.status_code}"
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:200]
        return fallback_code, text or response.reason_phrase
    if isinstance(body, dict):
        message = body.get("error") or body.get("detail") or body.get("message")
        code = body.get("code") if isinstance(body.get("code"), str) else fallback_code
        if message is not None:
            return code, message if isinstance(message, str) else str(message)
    return fallback_code, " ".join(response.text.split())[:200]
