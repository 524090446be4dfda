"""The Lua builtins' JSON codec: orjson's speed, the standard library's acceptance rules."""

from __future__ import annotations

import json

import pytest

from assay.lua import jsoncodec


@pytest.mark.parametrize("text", ['{"a":[1,2.5,"é",null,true]}', "[]", "{}", '"x"', "-0.0", "1e300"])
def test_loads_matches_the_standard_library(text):
    assert jsoncodec.loads(text) == json.loads(text)


def test_integers_beyond_64_bits_still_parse():
    # orjson refuses them; the standard library answers (the Lua conversion makes them floats).
    assert jsoncodec.loads("[18446744073709551616]") == [18446744073709551616]


@pytest.mark.parametrize("text", ["[NaN]", "[Infinity]", "[-Infinity]"])
def test_non_json_number_literals_are_refused(text):
    with pytest.raises(ValueError, match="invalid JSON literal"):
        jsoncodec.loads(text)


def test_invalid_text_gets_the_standard_librarys_message():
    with pytest.raises(ValueError, match="Expecting property name enclosed in double quotes"):
        jsoncodec.loads("{bad")


def test_lone_surrogate_escape_is_refused_and_pairs_are_kept():
    with pytest.raises(ValueError, match="lone UTF-16 surrogate"):
        jsoncodec.loads('"\\ud800"')
    assert jsoncodec.loads('"\\ud83d\\ude00"') == "\U0001F600"


def test_byte_order_mark_is_handled_like_the_standard_library():
    with pytest.raises(ValueError):
        jsoncodec.loads("\ufeff[1]")


def test_dumps_is_compact_keeps_non_ascii_and_can_sort():
    assert jsoncodec.dumps({"b": 1, "a": ["é"]}, sort_keys=True) == '{"a":["é"],"b":1}'
    assert json.loads(jsoncodec.dumps({"b": 1, "a": 2})) == {"b": 1, "a": 2}


def test_dumps_falls_back_for_integers_beyond_64_bits():
    assert jsoncodec.dumps_bytes([2**70]) == b"[1180591620717411303424]"


@pytest.mark.parametrize("value", [1e-7, 1e16, 0.1, 5e-324, 1.0, -0.0, 123456789.123])
def test_floats_round_trip_to_the_same_number(value):
    assert json.loads(jsoncodec.dumps([value])) == [value]
