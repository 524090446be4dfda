"""Rendering of engine answers: ``table`` for people, ``json``/``jsonl``/``yaml`` for scripts.

Machine formats print the engine's JSON unchanged (lists as arrays, records as objects),
so their shapes are the REST contract's and stay stable. Action commands (signal, cancel,
delete …) print ``{"ok": true, "message": "...", "result": <engine answer>}``.

Tables are for reading: aligned columns, human times ("2 min ago"), status in colour on a
terminal only, long cells cut with an ellipsis, single records as key/value rows.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal, TextIO

import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

Kind = Literal["text", "time", "status", "json"]

STATUS_STYLES = {
    "PENDING": "yellow",
    "RUNNING": "cyan",
    "COMPLETED": "green",
    "FAILED": "red",
    "CANCELLED": "magenta",
    "TIMED_OUT": "red",
}
# Record keys shown as times in key/value tables (the REST contract sends epoch floats).
TIME_KEYS = frozenset(
    {
        "created_at", "updated_at", "completed_at", "archived_at", "timestamp",
        "last_heartbeat", "registered_at", "scheduled_at", "started_at", "last_run_at",
        "next_run_at", "lease_expires_at", "next_attempt_at",
    }
)
RECORD_VALUE_WIDTH = 100
WIDE = 10_000  # console width when not a terminal: never wrap, our max widths still cut


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: Kind = "text"
    max_width: int | None = 40
    justify: Literal["left", "right"] = "left"


# --- pure formatting helpers ------------------------------------------------------------


def human_time(ts: float | None, now: float, tz: tzinfo | None = None) -> str:
    """"12s ago", "5 min ago", "3 h ago", "in 2 min"; older than a week: local ISO time."""
    if ts is None:
        return "-"
    delta = now - ts
    ahead = delta < 0
    secs = abs(delta)
    if secs < 5:
        return "just now"
    if secs < 60:
        amount = f"{int(secs)}s"
    elif secs < 3600:
        amount = f"{int(secs // 60)} min"
    elif secs < 86400:
        amount = f"{int(secs // 3600)} h"
    elif secs < 7 * 86400:
        amount = f"{int(secs // 86400)} d"
    else:
        return iso_time(ts, tz)
    return f"in {amount}" if ahead else f"{amount} ago"


def iso_time(ts: float, tz: tzinfo | None = None) -> str:
    moment = datetime.fromtimestamp(ts, tz) if tz else datetime.fromtimestamp(ts).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def cell_text(value: Any) -> str:
    """One table cell: null as '-', JSON values compact, never a line break."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    else:
        text = str(value)
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text


def truncate(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def lookup(row: Mapping[str, Any], key: str) -> Any:
    """``a.b`` walks into nested objects (e.g. ``payload.reason``)."""
    value: Any = row
    for part in key.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def to_json(data: Any, *, compact: bool = False) -> str:
    if compact:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(data, indent=2, ensure_ascii=False)


def to_yaml(data: Any, *, document: bool = False) -> str:
    text = yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=WIDE
    )
    return ("---\n" + text) if document else text


# --- the renderer -------------------------------------------------------------------------


class Output:
    """Writes one command's result in the chosen format to ``stream``."""

    def __init__(
        self,
        fmt: str,
        *,
        stream: TextIO,
        is_tty: bool,
        color: bool | None = None,
        width: int | None = None,
        now: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
    ) -> None:
        self.format = fmt
        self.stream = stream
        self.is_tty = is_tty
        self.color = is_tty if color is None else color
        if width is None:
            width = shutil.get_terminal_size((120, 24)).columns if is_tty else WIDE
        self.width = width
        self._now = now
        self._tz = tz

    # lists ------------------------------------------------------------------------------

    def rows(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> None:
        if self.format != "table":
            self._machine(list(rows), stream_items=True)
            return
        table = Table(
            box=None, pad_edge=False, show_edge=False, header_style="bold" if self.color else None
        )
        for col in columns:
            table.add_column(
                col.header,
                no_wrap=True,
                overflow="ellipsis",
                max_width=col.max_width,
                justify=col.justify,
            )
        now = self._now()
        for row in rows:
            table.add_row(*(self._cell(lookup(row, c.key), c, now) for c in columns))
        self._print(table)

    def _cell(self, value: Any, column: Column, now: float) -> Text:
        if column.kind == "time":
            text = human_time(value if isinstance(value, (int, float)) else None, now, self._tz)
            return Text(text)
        text = truncate(cell_text(value), column.max_width)
        if column.kind == "status" and self.color:
            return Text(text, style=STATUS_STYLES.get(str(value), ""))
        return Text(text)

    # single records -----------------------------------------------------------------------

    def record(self, record: Mapping[str, Any]) -> None:
        if self.format != "table":
            self._machine(dict(record))
            return
        table = Table(box=None, pad_edge=False, show_edge=False, show_header=False)
        table.add_column("key", style="bold" if self.color else None, no_wrap=True)
        table.add_column("value", no_wrap=True, overflow="ellipsis")
        now = self._now()
        for key, value in record.items():
            table.add_row(key, self._record_value(key, value, now))
        self._print(table)

    def _record_value(self, key: str, value: Any, now: float) -> Text:
        if key in TIME_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
            return Text(f"{iso_time(value, self._tz)} ({human_time(value, now, self._tz)})")
        text = truncate(cell_text(value), RECORD_VALUE_WIDTH)
        if key == "status" and self.color:
            return Text(text, style=STATUS_STYLES.get(str(value), ""))
        return Text(text)

    # actions ------------------------------------------------------------------------------

    def action(self, message: str, result: Any = None) -> None:
        """A sentence for people; ``{"ok", "message", "result"}`` for scripts."""
        if self.format == "table":
            self._write(message + "\n")
        else:
            self._machine({"ok": True, "message": message, "result": result})

    # streaming (events --follow) ----------------------------------------------------------

    def stream_header(self, columns: Sequence[Column]) -> None:
        if self.format == "table":
            header = self.stream_line({c.key: c.header for c in columns}, columns, header=True)
            self._write(header + "\n")

    def stream_item(self, item: Mapping[str, Any], columns: Sequence[Column]) -> None:
        """One item of an open-ended stream: a fixed-width line, or one JSON/YAML document.

        A pretty JSON array cannot be streamed, so ``json`` streams as ``jsonl``.
        """
        if self.format == "table":
            self._write(self.stream_line(item, columns) + "\n")
        elif self.format == "yaml":
            self._write(to_yaml(dict(item), document=True))
        else:
            self._write(to_json(dict(item), compact=True) + "\n")
        self.stream.flush()

    def stream_line(
        self, item: Mapping[str, Any], columns: Sequence[Column], *, header: bool = False
    ) -> str:
        # Streams cannot measure later rows, so every column but the last is fixed width.
        now = self._now()
        parts: list[str] = []
        for index, col in enumerate(columns):
            raw = item.get(col.key) if header else lookup(item, col.key)
            if header:
                text = str(raw)
            elif col.kind == "time":
                text = human_time(raw if isinstance(raw, (int, float)) else None, now, self._tz)
            else:
                text = cell_text(raw)
            width = col.max_width or 12
            text = truncate(text, width)
            if index == len(columns) - 1:
                parts.append(text)
            elif col.justify == "right":
                parts.append(text.rjust(width))
            else:
                parts.append(text.ljust(width))
            if not header and col.kind == "status" and self.color:
                style = STATUS_STYLES.get(str(raw))
                if style:
                    parts[-1] = _ansi(parts[-1], style)
        return "  ".join(parts).rstrip()

    # plumbing -----------------------------------------------------------------------------

    def _machine(self, data: Any, *, stream_items: bool = False) -> None:
        if self.format == "jsonl":
            items: Iterable[Any] = data if (stream_items and isinstance(data, list)) else [data]
            self._write("".join(to_json(item, compact=True) + "\n" for item in items))
        elif self.format == "yaml":
            self._write(to_yaml(data))
        else:
            self._write(to_json(data) + "\n")

    def _print(self, renderable: Table) -> None:
        buffer = io.StringIO()
        console = Console(
            file=buffer,
            force_terminal=self.color,
            no_color=not self.color,
            color_system="standard" if self.color else None,
            width=self.width,
            highlight=False,
            soft_wrap=False,
            emoji=False,
            markup=False,
        )
        console.print(renderable)
        # rich pads every cell to its column width; trailing blanks only hurt `grep`/`cut`.
        lines = buffer.getvalue().splitlines()
        self._write("".join(line.rstrip() + "\n" for line in lines))

    def _write(self, text: str) -> None:
        self.stream.write(text)


_ANSI = {"yellow": 33, "cyan": 36, "green": 32, "red": 31, "magenta": 35}


def _ansi(text: str, style: str) -> str:
    code = _ANSI.get(style)
    return f"\x1b[{code}m{text}\x1b[0m" if code else text
