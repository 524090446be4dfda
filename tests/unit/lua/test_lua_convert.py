"""Lua <-> JSON conversion rules (assay.lua.convert)."""

from __future__ import annotations

import json

import pytest

from assay.lua.errors import ConversionError, LuaScriptError
from assay.lua.runtime import Runtime


def encode(lua, expr: str) -> object:
    return json.loads(lua(f"return json.encode({expr})"))


def test_empty_table_is_an_object_unless_marked(lua) -> None:
    assert lua("return json.encode({})") == "{}"
    assert lua("return json.encode(json.array())") == "[]"
    assert lua("return json.encode(json.array({}))") == "[]"
    assert lua("return json.encode({a = {}, b = json.array()})") == '{"a":{},"b":[]}'


def test_sequences_become_arrays(lua) -> None:
    assert encode(lua, "{1, 'two', true, 4.5}") == [1, "two", True, 4.5]
    assert encode(lua, "{{1}, {x = 1}}") == [[1], {"x": 1}]


def test_arrays_with_holes_become_objects_with_string_keys(lua) -> None:
    assert encode(lua, "{1, nil, 3}") == {"1": 1, "3": 3}
    assert encode(lua, "{[2] = 'b'}") == {"2": "b"}


def test_marked_arrays_fill_holes_with_null(lua) -> None:
    assert encode(lua, "json.array({1, nil, 3})") == [1, None, 3]


def test_mixed_keys_become_objects(lua) -> None:
    assert encode(lua, "{1, 2, x = 'y'}") == {"1": 1, "2": 2, "x": "y"}
    assert encode(lua, "{[1.5] = 'f'}") == {"1.5": "f"}


def test_boolean_keys_are_refused(lua) -> None:
    with pytest.raises(LuaScriptError, match="json.encode: unsupported table key type: boolean"):
        lua("return json.encode({[true] = 1})")


def test_keys_are_sorted(lua) -> None:
    assert lua("return json.encode({b = 1, a = 2, c = 3})") == '{"a":2,"b":1,"c":3}'


def test_integers_stay_integers_and_large_ones_exact(lua) -> None:
    assert lua("return json.encode({math.maxinteger, math.mininteger, 3, 3.0})") == (
        "[9223372036854775807,-9223372036854775808,3,3.0]"
    )
    assert lua("return math.type(json.parse('9223372036854775807'))") == "integer"
    assert lua("return json.parse('9223372036854775807') == math.maxinteger")
    # Beyond 64 bits JSON integers become floats, as in the original.
    assert lua("return math.type(json.parse('18446744073709551616'))") == "float"
    assert lua("return math.type(json.parse('2.0'))") == "float"


def test_nan_and_infinity_are_refused(lua) -> None:
    with pytest.raises(LuaScriptError, match="cannot encode -?nan as JSON number"):
        lua("return json.encode({0/0 > 0 and 1 or 0/0})")
    with pytest.raises(LuaScriptError, match="cannot encode inf"):
        lua("return json.encode(math.huge)")


def test_nil_and_null(lua) -> None:
    assert lua("return json.encode(nil)") == "null"
    assert lua("return json.encode(json.null)") == "null"
    assert lua("return json.encode({a = json.null, b = nil})") == '{"a":null}'
    assert lua("return json.parse('{\"a\": null}').a == nil")
    assert lua("return json.parse('{\"a\": null}', {null = json.null}).a == json.null")
    assert lua("return json.encode(json.parse('[1,null,3]', {null = json.null}))") == "[1,null,3]"


def test_parsed_arrays_round_trip_even_when_empty(lua) -> None:
    assert lua("return json.encode(json.parse('{\"a\":[],\"b\":{}}'))") == '{"a":[],"b":{}}'


def test_cycles_are_detected(lua) -> None:
    with pytest.raises(LuaScriptError, match="cycle detected"):
        lua("local t = {} t.self = t return json.encode(t)")


def test_shared_tables_are_not_cycles(lua) -> None:
    assert lua("local s = {1} return json.encode({a = s, b = s})") == '{"a":[1],"b":[1]}'


def test_functions_are_refused(lua) -> None:
    with pytest.raises(LuaScriptError, match="unsupported Lua type for JSON: function"):
        lua("return json.encode({f = print})")


def test_converter_python_api(rt: Runtime) -> None:
    value = rt.convert.to_lua({"a": [1, 2, {"b": None}], "big": 2**63, "n": None})
    back = rt.convert.to_python(value)
    assert back == {"a": [1, 2, {}], "big": float(2**63)}
    with pytest.raises(ConversionError, match="^where: cycle"):
        t = rt.lua.eval("(function() local t = {} t[1] = t return t end)()")
        rt.convert.to_python(t, where="where")


def test_json_parse_errors(lua) -> None:
    with pytest.raises(LuaScriptError, match=r"test.lua:1: json.parse: "):
        lua("local v = json.parse('{oops') return v")
    with pytest.raises(LuaScriptError, match="json.parse"):
        lua("return json.parse('NaN')")
