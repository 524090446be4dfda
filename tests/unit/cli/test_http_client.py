"""The management client's one choke point: URLs, encoding and typed errors.

httpx.MockTransport stands in for the network here only to pin the translation of
answers into errors; the CLI's behaviour against a real engine is tested in tests/e2e.
"""

from __future__ import annotations

import json

import httpx
import pytest

from assay.client.http import (
    AuthError,
    BadRequestError,
    ConflictError,
    EngineClient,
    EngineConnectionError,
    EngineHTTPError,
    NotFoundError,
    ServerError,
    UnexpectedResponse,
    api_base,
)
from assay.errors import ClientError, EngineUnreachable


def _client(handler, **kwargs) -> EngineClient:
    return EngineClient("http://engine:8080", transport=httpx.MockTransport(handler), **kwargs)


def test_api_base_accepts_both_prefixes():
    assert api_base("http://h:1") == "http://h:1/api/v1"
    assert api_base("http://h:1/") == "http://h:1/api/v1"
    assert api_base("http://h:1/api/v1") == "http://h:1/api/v1"
    assert api_base("http://h/api/v1/engine/workflow/") == "http://h/api/v1/engine/workflow"


def test_ids_are_one_encoded_path_segment_and_key_is_bearer():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["path"] = request.url.raw_path.decode()
        seen["auth"] = request.headers.get("authorization")
        return httpx.Response(200, json={"id": "a/b c"})

    _client(handler, api_key="k1").get_workflow("a/b c?")
    assert seen == {"path": "/api/v1/workflows/a%2Fb%20c%3F", "auth": "Bearer k1"}


def test_list_sends_filters_and_reads_total():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.url.params)
        return httpx.Response(200, json=[{"id": "x"}], headers={"X-Total-Count": "41"})

    page = _client(handler).list_workflows(
        namespace="ns", status="RUNNING", search_attributes={"env": "prod"}, limit=5
    )
    assert page.items == [{"id": "x"}] and page.total == 41
    assert seen == {"namespace": "ns", "status": "RUNNING", "search_attrs": '{"env": "prod"}',
                    "limit": "5"}


def test_signal_sends_payload_object():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["body"] = json.loads(request.content)
        seen["path"] = request.url.path
        return httpx.Response(200, json={"workflow_id": "w", "signal": "go", "seq": 3})

    assert _client(handler).signal_workflow("w", "go", [1])["seq"] == 3
    assert seen == {"body": {"payload": [1]}, "path": "/api/v1/workflows/w/signal/go"}


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (401, AuthError), (404, NotFoundError), (409, ConflictError),
     (413, BadRequestError), (422, BadRequestError), (500, ServerError), (418, EngineHTTPError)],
)
def test_statuses_map_to_typed_errors(status, cls):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": "nope: x", "code": "some_code"})

    with pytest.raises(cls) as err:
        _client(handler).get_workflow("x")
    exc = err.value
    assert isinstance(exc, ClientError)
    assert (exc.status, exc.code, exc.message) == (status, "some_code", "nope: x")
    assert exc.url == "http://engine:8080/api/v1/workflows/x"
    assert str(exc) == (
        f"GET http://engine:8080/api/v1/workflows/x: HTTP {status} some_code: nope: x")


def test_non_contract_error_bodies_become_one_line():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>\n<b>Bad gateway</b>\n</html>")

    with pytest.raises(ServerError) as err:
        _client(handler).health()
    assert err.value.code == "http_502"
    assert "\n" not in err.value.message


def test_fastapi_detail_is_used_as_message():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    with pytest.raises(NotFoundError, match="HTTP 404 http_404: Not Found"):
        _client(handler).list_schedules()


def test_transport_failure_is_engine_unreachable_naming_the_url():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(EngineConnectionError) as err:
        _client(handler).health()
    assert isinstance(err.value, EngineUnreachable)
    assert "engine unreachable at http://engine:8080/api/v1" in str(err.value)
    assert err.value.url == "http://engine:8080/api/v1/health"


def test_wrong_shape_is_unexpected_response():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"not": "a list"})

    with pytest.raises(UnexpectedResponse, match="expected a JSON array"):
        _client(handler).list_namespaces()


def test_poll_null_is_none_and_long_poll_passes_wait():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, json=None)

    assert _client(handler).poll_workflow_task("q", "w1", wait_secs=99) is None
    assert seen["body"] == {"queue": "q", "worker_id": "w1", "wait_secs": 60}


def test_result_long_poll_query():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.url.params)
        return httpx.Response(200, json={"status": "RUNNING"})

    _client(handler).get_result("w", wait_secs=5.7)
    assert seen == {"wait_secs": "5"}
