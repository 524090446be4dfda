"""JSON argument indirection: literal, @file, stdin; errors name the argument and position."""

from __future__ import annotations

import io

import click
import pytest
from click.testing import CliRunner

from assay.cli.invocation import EXIT_USAGE, OperatorCommand
from assay.cli.jsonarg import JsonArg, JsonArgError, parse_json_arg

FILES = {"in.json": '{"a": [1, 2]}', "bad.json": '{\n  "a": 1,\n  "b": \n}'}


def _read(path: str) -> str:
    if path not in FILES:
        raise FileNotFoundError(2, "No such file or directory", path)
    return FILES[path]


def _parse(value: str, stdin: str = "") -> object:
    return parse_json_arg(value, name="--input", read_file=_read, read_stdin=lambda: stdin)


def test_literal_values():
    assert _parse('{"k": "v"}') == {"k": "v"}
    assert _parse("[1, 2]") == [1, 2]
    assert _parse("3") == 3
    assert _parse('"text"') == "text"
    assert _parse("null") is None


def test_at_file_reads_the_file():
    assert _parse("@in.json") == {"a": [1, 2]}


def test_dash_reads_stdin():
    assert _parse("-", stdin='{"from": "stdin"}\n') == {"from": "stdin"}


def test_bad_literal_names_argument_line_and_column():
    with pytest.raises(JsonArgError) as err:
        _parse('{"a": 1,}')
    assert str(err.value).startswith("--input: invalid JSON in the value at line 1, column 9:")


def test_bad_file_names_the_file_and_line():
    match = r"--input: invalid JSON in @bad\.json at line 4, column 1"
    with pytest.raises(JsonArgError, match=match):
        _parse("@bad.json")


def test_bad_stdin_says_stdin():
    with pytest.raises(JsonArgError, match="invalid JSON in stdin at line 1, column 1"):
        _parse("-", stdin="nope")


def test_missing_file_is_reported():
    with pytest.raises(JsonArgError, match="--input: cannot read missing.json: No such file"):
        _parse("@missing.json")


def test_bare_at_is_reported():
    with pytest.raises(JsonArgError, match="'@' must be followed by a file name"):
        _parse("@")


def test_unquoted_string_gets_a_hint():
    with pytest.raises(JsonArgError, match="strings must be quoted"):
        _parse("hello")


# --- as a click parameter (exit code 64, stdin claimed once) ------------------------------


def _command() -> click.Command:
    @click.command(cls=OperatorCommand)
    @click.option("--input", "input_", type=JsonArg(read_file=_read))
    @click.option("--search-attrs", type=JsonArg(object_only=True, read_file=_read))
    @click.argument("payload", required=False, type=JsonArg(read_file=_read))
    def cmd(input_: object, search_attrs: object, payload: object) -> None:
        click.echo(repr((input_, search_attrs, payload)))

    return cmd


def test_click_parameter_decodes_all_forms():
    result = CliRunner().invoke(
        _command(), ["--input", "@in.json", "--search-attrs", "-", "[1]"], input='{"e": 1}'
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "({'a': [1, 2]}, {'e': 1}, [1])"


def test_click_parameter_bad_json_exits_64_naming_the_option():
    result = CliRunner().invoke(_command(), ["--input", "{oops"])
    assert result.exit_code == EXIT_USAGE
    assert "--input: invalid JSON in the value at line 1, column 2" in result.output


def test_positional_payload_is_named_by_its_metavar():
    result = CliRunner().invoke(_command(), ["{oops"])
    assert result.exit_code == EXIT_USAGE
    assert "PAYLOAD: invalid JSON" in result.output


def test_search_attrs_must_be_an_object():
    result = CliRunner().invoke(_command(), ["--search-attrs", "[1]"])
    assert result.exit_code == EXIT_USAGE
    assert "--search-attrs: expected a JSON object" in result.output


def test_stdin_can_feed_only_one_argument():
    result = CliRunner().invoke(_command(), ["--input", "-", "--search-attrs", "-"], input="{}")
    assert result.exit_code == EXIT_USAGE
    assert "stdin is already used by --input" in result.output


def test_injected_stdin_stream_is_used():
    arg = JsonArg(stdin=io.StringIO("[7]"))
    assert arg.convert("-", None, None) == [7]
