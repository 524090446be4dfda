"""`http` against a real local HTTP server on a loopback port."""

from __future__ import annotations

import json
import time

import pytest

from assay.lua.errors import LuaScriptError
from assay.lua.runtime import Runtime


def test_get_returns_status_body_headers(rt: Runtime, http_server: str) -> None:
    rt.globals["URL"] = http_server
    status, body, echo = rt.run(
        "local r = http.get(URL .. '/x?q=1', {headers = {['X-Token'] = 'abc'}})"
        " return r.status, r.body, r.headers['x-echo']",
        "@h.lua",
    )
    assert (status, echo) == (200, "yes")
    sent = json.loads(body)
    assert sent["path"] == "/x?q=1" and sent["headers"]["x-token"] == "abc"


def test_table_bodies_are_sent_as_json(rt: Runtime, http_server: str) -> None:
    rt.globals["URL"] = http_server
    body = rt.run("return http.post(URL .. '/p', {a = 1, list = json.array()}).body", "@h.lua")[0]
    sent = json.loads(body)
    assert sent["method"] == "POST"
    assert json.loads(sent["body"]) == {"a": 1, "list": []}
    assert sent["headers"]["content-type"] == "application/json"


def test_string_bodies_and_user_content_type(rt: Runtime, http_server: str) -> None:
    rt.globals["URL"] = http_server
    for method in ("put", "patch"):
        body = rt.run(
            f"return http.{method}(URL, 'a=1', {{headers = {{['Content-Type'] = 'text/plain'}}}}).body",
            "@h.lua",
        )[0]
        sent = json.loads(body)
        assert sent["method"] == method.upper() and sent["body"] == "a=1"
        assert sent["headers"]["content-type"] == "text/plain"
    assert json.loads(rt.run("return http.delete(URL .. '/d').body", "@h.lua")[0])["method"] == "DELETE"


def test_non_2xx_is_not_an_error(rt: Runtime, http_server: str) -> None:
    rt.globals["URL"] = http_server
    assert rt.run("return http.get(URL .. '/status/503').status", "@h.lua") == [503]


def test_binary_bodies_are_byte_exact(rt: Runtime, http_server: str) -> None:
    rt.globals["URL"] = http_server
    assert rt.run("local b = http.get(URL .. '/binary').body return #b, b:byte(256)", "@h.lua") == [256, 255]


def test_client_objects(rt: Runtime, http_server: str) -> None:
    rt.globals["URL"] = http_server
    body = rt.run(
        "local c = http.client({headers = {Authorization = 'Bearer t'}, timeout = 5})"
        " return c:post(URL .. '/c', 'x').body",
        "@h.lua",
    )[0]
    sent = json.loads(body)
    assert sent["headers"]["authorization"] == "Bearer t" and sent["body"] == "x"
    with pytest.raises(LuaScriptError, match="call client methods with ':'"):
        rt.run("local c = http.client() c.get(URL)", "@h.lua")


def test_transport_failures_and_bad_arguments(rt: Runtime, http_server: str) -> None:
    with pytest.raises(LuaScriptError, match=r"h\.lua:1: http\.get failed: "):
        rt.run("local r = http.get('http://127.0.0.1:1/')", "@h.lua")
    with pytest.raises(LuaScriptError, match="http.get: first argument must be a URL string"):
        rt.run("local r = http.get(42)", "@h.lua")
    rt.globals["URL"] = http_server
    with pytest.raises(LuaScriptError, match="second argument must be a string, table, or nil"):
        rt.run("local r = http.post(URL, true)", "@h.lua")
    with pytest.raises(LuaScriptError, match="http.get failed"):
        rt.run("local r = http.get(URL .. '/slow', {timeout = 0.2})", "@h.lua")


def test_ten_parallel_gets_take_the_time_of_one(rt: Runtime, http_server: str) -> None:
    rt.globals["URL"] = http_server
    started = time.monotonic()
    count = rt.run(
        "local hs = {} for i = 1, 10 do"
        "  hs[i] = async.spawn(function() return http.get(URL .. '/slow/' .. i).status end) end"
        " local n = 0 for _, h in ipairs(hs) do if h:await()[1] == 200 then n = n + 1 end end"
        " return n",
        "@h.lua",
    )
    elapsed = time.monotonic() - started
    assert count == [10]
    assert elapsed < 2.5, f"10 parallel slow GETs took {elapsed:.2f}s"


def test_http_blocks_outside_managed_coroutines(rt: Runtime, http_server: str) -> None:
    rt.globals["URL"] = http_server
    assert rt.lua.execute("return http.get(URL).status") == 200
