"""Rendering: tables people can read, machine formats that parse back unchanged."""

from __future__ import annotations

import io
import json
from datetime import timezone

import pytest
import yaml

from assay.cli.output import Column, Output, cell_text, human_time, iso_time, truncate

NOW = 1_700_000_000.0
COLUMNS = (
    Column("ID", "id", max_width=12),
    Column("STATUS", "status", kind="status", max_width=10),
    Column("CREATED", "created_at", kind="time"),
    Column("INPUT", "input", kind="json", max_width=20),
)
ROWS = [
    {"id": "wf-1", "status": "RUNNING", "created_at": NOW - 120, "input": {"a": 1}},
    {"id": "wf-long-identifier-xyz", "status": "FAILED", "created_at": None, "input": None},
]


def _out(fmt: str, *, color: bool = False, tty: bool = False) -> tuple[Output, io.StringIO]:
    buf = io.StringIO()
    return Output(fmt, stream=buf, is_tty=tty, color=color, now=lambda: NOW, tz=timezone.utc), buf


@pytest.mark.parametrize(
    ("delta", "text"),
    [(0, "just now"), (30, "30s ago"), (120, "2 min ago"), (7200, "2 h ago"),
     (3 * 86400, "3 d ago"), (-300, "in 5 min")],
)
def test_human_time(delta, text):
    assert human_time(NOW - delta, NOW) == text


def test_human_time_falls_back_to_iso_after_a_week_and_dash_for_none():
    assert human_time(NOW - 30 * 86400, NOW, timezone.utc) == "2023-10-15 22:13:20"
    assert human_time(None, NOW) == "-"


def test_iso_time_in_given_zone():
    assert iso_time(0, timezone.utc) == "1970-01-01 00:00:00"


def test_cell_text_and_truncate():
    assert cell_text(None) == "-"
    assert cell_text(True) == "true"
    assert cell_text({"a": [1, 2]}) == '{"a":[1,2]}'
    assert cell_text("two\nlines") == "two lines"
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"


def test_table_is_aligned_humanised_truncated_and_plain():
    out, buf = _out("table")
    out.rows(ROWS, COLUMNS)
    lines = buf.getvalue().splitlines()
    assert lines[0].split() == ["ID", "STATUS", "CREATED", "INPUT"]
    assert lines[1].split() == ["wf-1", "RUNNING", "2", "min", "ago", '{"a":1}']
    assert lines[2].split()[0] == "wf-long-ide…"
    assert lines[2].split()[1:] == ["FAILED", "-", "-"]
    # aligned: every column starts at the same offset on every line
    starts = [line.index(word) for line, word in zip(lines, ["STATUS", "RUNNING", "FAILED"])]
    assert len(set(starts)) == 1
    assert "\x1b[" not in buf.getvalue()
    assert all(line == line.rstrip() for line in lines)


def test_status_is_coloured_only_when_asked():
    out, buf = _out("table", color=True, tty=True)
    out.rows(ROWS, COLUMNS)
    assert "\x1b[" in buf.getvalue()


def test_empty_table_prints_the_header_only():
    out, buf = _out("table")
    out.rows([], COLUMNS)
    assert buf.getvalue().split() == ["ID", "STATUS", "CREATED", "INPUT"]


def test_json_list_is_the_engine_records_unchanged():
    out, buf = _out("json")
    out.rows(ROWS, COLUMNS)
    assert json.loads(buf.getvalue()) == ROWS


def test_jsonl_list_is_one_object_per_line():
    out, buf = _out("jsonl")
    out.rows(ROWS, COLUMNS)
    assert [json.loads(line) for line in buf.getvalue().splitlines()] == ROWS


def test_yaml_list_parses_back():
    out, buf = _out("yaml")
    out.rows(ROWS, COLUMNS)
    assert yaml.safe_load(buf.getvalue()) == ROWS


def test_record_table_is_key_value_with_times():
    out, buf = _out("table")
    out.record({"id": "wf-1", "status": "COMPLETED", "created_at": 0.0, "result": {"n": 1}})
    lines = buf.getvalue().splitlines()
    assert lines[0].split() == ["id", "wf-1"]
    assert lines[1].split() == ["status", "COMPLETED"]
    assert lines[2].startswith("created_at") and "1970-01-01 00:00:00 (" in lines[2]
    assert lines[3].split() == ["result", '{"n":1}']


def test_record_table_truncates_long_values():
    out, buf = _out("table")
    out.record({"input": "x" * 500})
    line = buf.getvalue().splitlines()[0]
    assert line.endswith("…") and len(line) < 200


@pytest.mark.parametrize("fmt", ["json", "jsonl", "yaml"])
def test_record_machine_formats_parse_back(fmt):
    record = {"id": "wf-1", "input": {"a": [1, None]}, "created_at": 1.5}
    out, buf = _out(fmt)
    out.record(record)
    parsed = yaml.safe_load(buf.getvalue()) if fmt == "yaml" else json.loads(buf.getvalue())
    assert parsed == record
    if fmt == "jsonl":
        assert buf.getvalue().count("\n") == 1


def test_action_is_a_sentence_in_table_and_an_envelope_otherwise():
    out, buf = _out("table")
    out.action("wf-1 terminated", {"status": "FAILED"})
    assert buf.getvalue() == "wf-1 terminated\n"
    out, buf = _out("json")
    out.action("wf-1 terminated", {"status": "FAILED"})
    assert json.loads(buf.getvalue()) == {
        "ok": True, "message": "wf-1 terminated", "result": {"status": "FAILED"}}


def test_stream_lines_have_fixed_columns():
    cols = (Column("SEQ", "seq", max_width=5, justify="right"), Column("TYPE", "t", max_width=8),
            Column("P", "p"))
    out, buf = _out("table")
    out.stream_header(cols)
    out.stream_item({"seq": 1, "t": "Started", "p": {"x": 1}}, cols)
    out.stream_item({"seq": 12, "t": "VeryLongEventName", "p": None}, cols)
    assert buf.getvalue().splitlines() == [
        "  SEQ  TYPE      P",
        "    1  Started   {\"x\":1}",
        "   12  VeryLon…  -",
    ]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_stream_json_is_one_line_per_item(fmt):
    out, buf = _out(fmt)
    out.stream_header(COLUMNS)
    out.stream_item({"seq": 1}, COLUMNS)
    out.stream_item({"seq": 2}, COLUMNS)
    assert [json.loads(line) for line in buf.getvalue().splitlines()] == [{"seq": 1}, {"seq": 2}]


def test_stream_yaml_is_a_document_per_item():
    out, buf = _out("yaml")
    out.stream_item({"seq": 1}, COLUMNS)
    out.stream_item({"seq": 2}, COLUMNS)
    assert list(yaml.safe_load_all(buf.getvalue())) == [{"seq": 1}, {"seq": 2}]
