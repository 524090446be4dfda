"""Pure builtins: json/yaml/toml/base64/crypto/regex/template/assert/env/time/os/log."""

from __future__ import annotations

import json
import logging

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from assay.lua.errors import LuaScriptError
from assay.lua.runtime import Runtime, RuntimeOptions


def test_yaml(lua) -> None:
    assert lua("return yaml.parse('a: 1\\nb: [x, y]\\n').b[2]") == "y"
    assert lua("return yaml.encode({b = 1, a = {1, 2}})") == "a:\n- 1\n- 2\nb: 1\n"
    with pytest.raises(LuaScriptError, match="yaml.parse"):
        lua("local v = yaml.parse('a: [') return v")


def test_toml(lua) -> None:
    assert lua("return toml.parse('[server]\\nport = 8080\\n').server.port") == 8080
    assert lua("return toml.parse('d = 1979-05-27T07:32:00Z').d") == "1979-05-27T07:32:00+00:00"
    assert lua("return toml.encode({title = 'x', s = {n = 1}})") == 'title = "x"\n\n[s]\nn = 1\n'
    with pytest.raises(LuaScriptError, match="toml.encode: top level must be a table"):
        lua("local v = toml.encode(1) return v")


def test_base64_is_byte_safe(lua) -> None:
    assert lua("return base64.encode('hello')") == "aGVsbG8="
    assert lua("return base64.decode(base64.encode('\\0\\255\\128%')) == '\\0\\255\\128%'")
    assert lua("return base64.encode('??>', true)") == "Pz8-"
    with pytest.raises(LuaScriptError, match="base64.decode"):
        lua("local v = base64.decode('!!!') return v")


def test_crypto_hash_hmac_random(lua) -> None:
    assert lua("return crypto.hash('abc')").startswith("ba7816bf")
    assert lua("return crypto.hash('abc', 'SHA3-256')").startswith("3a985da7")
    assert lua("return crypto.hmac('key', 'data')") == (
        "5031fe3d989c6d1537a013fa6e739da23463fdaec3b70137d828e36ace221bd0"
    )
    assert lua("return #crypto.hmac('key', 'data', 'sha256', true)") == 32
    value = lua("return crypto.random(40)")
    assert len(value) == 40 and value.isalnum()
    with pytest.raises(LuaScriptError, match="unsupported algorithm: md4"):
        lua("local v = crypto.hash('x', 'md4') return v")
    with pytest.raises(LuaScriptError, match="positive integer"):
        lua("local v = crypto.random(0) return v")


def test_crypto_jwt(rt: Runtime) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    rt.globals["PEM"] = pem
    token, kid, sub = rt.run(
        "local t = crypto.jwt_sign({sub = 'me', n = 1}, PEM, 'rs256', {kid = 'k1'})"
        " local d = crypto.jwt_decode(t) return t, d.header.kid, d.claims.sub",
        "@j.lua",
    )
    assert (kid, sub) == ("k1", "me")
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"])
    assert claims == {"sub": "me", "n": 1}
    hs = rt.run("return crypto.jwt_sign({a = 1}, 'a-secret-that-is-at-least-32-bytes-long', 'HS256')", "@j.lua")[0]
    assert jwt.decode(hs, "a-secret-that-is-at-least-32-bytes-long", algorithms=["HS256"]) == {"a": 1}


def test_regex(lua) -> None:
    assert lua("return regex.match('abc123', '\\\\d+')") is True
    assert lua("local m = regex.find('key=val', '(\\\\w+)=(\\\\w+)') return m.match .. m.groups[2]") == "key=valval"
    assert lua("return regex.find('abc', 'x')") is None
    assert lua("return table.concat(regex.find_all('a1b22c333', '\\\\d+'), ',')") == "1,22,333"
    assert lua("return regex.replace('a1b22', '(?<n>\\\\d+)', '[$n|${1}]$$')") == "a[1|1]$b[22|22]$"
    with pytest.raises(LuaScriptError, match="regex.match: invalid pattern"):
        lua("local v = regex.match('x', '(') return v")


def test_template(lua) -> None:
    assert lua("return template.render_string('Hi {{ u.name }}{{ nope }}! {% for x in xs %}{{x}}{% endfor %}',"
               " {u = {name = 'ann'}, xs = {1, 2}})") == "Hi ann! 12"
    assert lua("return template.render_string('<{{ s }}>', {s = '&'})") == "<&>"
    with pytest.raises(LuaScriptError, match="template.render_string"):
        lua("local v = template.render_string('{% if %}') return v")


def test_assert_helpers(lua) -> None:
    lua("assert.eq(1, 1.0) assert.ne('a', 'b') assert.gt(2, 1) assert.lt(1, 2)"
        " assert.contains('hello', 'ell') assert.not_nil(false) assert.matches('abc', '^a.c$')"
        " assert(true, 'x')")
    cases = {
        "assert.eq(1, 2)": 'test.lua:1: assert.eq failed: "1" != "2"',
        "assert.eq(2.0, 3)": 'test.lua:1: assert.eq failed: "2" != "3"',
        "assert.eq({}, {})": "assert.eq failed",
        "assert.ne('a', 'a', 'why')": 'assert.ne failed: "a" == "a" - why',
        "assert.gt(1, 2)": "assert.gt failed: 1 is not > 2",
        "assert.lt('a', 2)": "assert.lt: both arguments must be numbers",
        "assert.contains('abc', 'x')": 'assert.contains failed: "abc" does not contain "x"',
        "assert.not_nil(nil, 42)": "assert.not_nil failed: value is nil - 42",
        "assert.matches('abc', '^b')": "assert.matches failed",
        "assert(false, 'plain')": "test.lua:1: plain",
    }
    for code, message in cases.items():
        with pytest.raises(LuaScriptError) as info:
            lua(code)
        assert message in info.value.message, code


def test_env(lua, monkeypatch) -> None:
    monkeypatch.setenv("ASSAY_T_VAR", "v1")
    assert lua("return env.get('ASSAY_T_VAR')") == "v1"
    assert lua("return env.get('ASSAY_T_MISSING')") is None
    lua("env.set('ASSAY_T_VAR', 'v2')")
    assert lua("return env.get('ASSAY_T_VAR')") == "v2"
    lua("env.set('ASSAY_T_VAR', nil)")
    assert lua("return env.get('ASSAY_T_VAR')") is None
    monkeypatch.setenv("ASSAY_T_LIST", "here")
    assert lua("for _, e in ipairs(env.list()) do if e.key == 'ASSAY_T_LIST' then return e.value end end") == "here"


def test_env_overlay_wins(tmp_path) -> None:
    rt = Runtime(RuntimeOptions(env_overlay={"HOME": "/overlay"}, modules_path=tmp_path))
    assert rt.run("return env.get('HOME')", "@e.lua") == ["/overlay"]


def test_time_and_os(lua) -> None:
    assert isinstance(lua("return time()"), float)
    assert lua("return math.type(os.time())") == "integer"
    assert lua("return os.platform()") == "linux"
    assert lua("return #os.hostname() > 0 and #os.arch() > 0")


def test_log_is_structured_on_the_script_logger(lua, caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="assay.script"):
        lua("log.info('hello', {n = 1, who = 'x'}) log.warn(3) log.error('bad') log.debug('dbg')")
    records = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "assay.script"]
    assert records == [
        ("INFO", 'hello n=1 who="x"'),
        ("WARNING", "3"),
        ("ERROR", "bad"),
        ("DEBUG", "dbg"),
    ]
    with pytest.raises(LuaScriptError, match="log.info: message must be a string or number"):
        lua("log.info({})")


def test_json_encode_indent(lua) -> None:
    assert json.loads(lua("return json.encode({a = {1}}, {indent = 2})")) == {"a": [1]}
