"""Cron expressions for schedules: parse, validate, and compute the next fire instant.

Pure: no clock (time is passed in), no randomness. The only outside read is the system time
zone database, through ``zoneinfo``.

Format (the seed's and the original engine's, Quartz-like), fields separated by whitespace::

    seconds  minutes  hours  day-of-month  month  day-of-week  [year]
    0-59     0-59     0-23   1-31          1-12   1-7          1970-2099
                                           JAN-DEC SUN-SAT

Decisions, each chosen for compatibility with the original engine and stated once here:

- Day-of-week numbers are **1-7 with 1 = SUN** (2 = MON ... 7 = SAT), as in Quartz and the
  Rust ``cron`` crate the original used. ``0`` is rejected (it means Sunday in 5-field Unix
  cron, and a silent reinterpretation would shift every other number by one). Names
  (``MON``, ``monday``) are accepted everywhere and are the recommended spelling. A
  day-of-week range may wrap (``SAT-SUN``, ``FRI-MON``); other ranges may not.
- Day-of-month and day-of-week are **AND-ed** when both are restricted
  (``0 0 0 13 * FRI`` = Friday the 13th), unlike Unix cron's OR. ``?`` equals ``*`` and is
  allowed in those two fields only.
- ``L``, ``W`` and ``#`` are not supported; they are rejected with a clear message.
- Daylight saving time, evaluated in the schedule's IANA zone:
  a local time inside a spring-forward gap does not exist and is **skipped** (no fire that
  day for a daily ``0 30 2 * * *`` in Europe/Berlin on the last Sunday of March), as the
  Temporal server and the original engine do. A local time repeated by a fall-back fires
  **once, at its first occurrence** (Temporal fires both; we do not, so a daily job never
  runs twice). Consequence: a sub-hourly schedule pauses during the repeated hour; use UTC
  for interval-like schedules.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assay.errors import InvalidInput

__all__ = [
    "MACROS",
    "MAX_YEAR",
    "MIN_YEAR",
    "CronError",
    "CronExpression",
    "InvalidTimezone",
    "next_fire_after",
    "parse_cron",
    "validate_timezone",
]

MIN_YEAR = 1970
MAX_YEAR = 2099

# With no year field the search looks this far ahead. The Gregorian calendar (weekdays
# included) repeats every 400 years, so a date pattern absent from that span never occurs.
_SEARCH_YEARS = 400

MACROS: Mapping[str, str] = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * SUN",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_FULL = ("JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST",
               "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # index + 1 = cron number
_DAY_FULL = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")

_MONTH_NAMES = {n: i + 1 for names in (_MONTHS, _MONTH_FULL) for i, n in enumerate(names)}
_DAY_NAMES = {n: i + 1 for names in (_DAYS, _DAY_FULL) for i, n in enumerate(names)}

_UNSUPPORTED = re.compile(r"#|^L|^\d*L$|^\d+W$|^LW$")


class CronError(InvalidInput):
    """A cron expression that cannot be parsed, or can never fire."""

    code = "invalid_cron"


class InvalidTimezone(InvalidInput):
    """A time zone name that is neither ``UTC`` nor a known IANA zone."""

    code = "invalid_timezone"


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: Mapping[str, int] | None = None
    question: bool = False  # '?' accepted
    wraps: bool = False  # 'a-b' with a > b wraps around


_SECONDS = _FieldSpec("seconds", 0, 59)
_MINUTES = _FieldSpec("minutes", 0, 59)
_HOURS = _FieldSpec("hours", 0, 23)
_DOM = _FieldSpec("day-of-month", 1, 31, question=True)
_MONTH = _FieldSpec("month", 1, 12, names=_MONTH_NAMES)
_DOW = _FieldSpec("day-of-week", 1, 7, names=_DAY_NAMES, question=True, wraps=True)
_YEAR = _FieldSpec("year", MIN_YEAR, MAX_YEAR)


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed cron expression. Build with :func:`parse_cron`.

    Value sets are sorted tuples. ``days_of_week`` uses cron numbering (1 = SUN ... 7 = SAT);
    ``years`` is None when the expression has no year restriction.
    """

    source: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]
    years: tuple[int, ...] | None

    def __str__(self) -> str:
        return self.source

    def next_after(self, after_utc_epoch: float, tz: str | ZoneInfo | None = "UTC") -> float | None:
        """First fire instant strictly after ``after_utc_epoch``, as UTC epoch seconds.

        Evaluated on the wall clock of ``tz`` with the DST rules in the module docstring.
        Returns None when the expression never fires again (only possible with a year field).
        """
        zone = tz if isinstance(tz, ZoneInfo) else validate_timezone(tz)
        if not math.isfinite(after_utc_epoch):
            raise CronError(f"cannot compute a fire time after {after_utc_epoch!r}")
        try:
            start = datetime.fromtimestamp(math.floor(after_utc_epoch), zone)
        except (OverflowError, OSError, ValueError) as exc:
            raise CronError(f"time {after_utc_epoch!r} is out of range") from exc
        # Every candidate is a whole local second after the one holding `after`.
        local = start.replace(tzinfo=None, fold=0) + timedelta(seconds=1)
        for candidate in self._local_candidates(local):
            # fold=0 picks the first occurrence of a repeated wall time, so it fires once.
            instant = candidate.replace(tzinfo=zone).timestamp()
            if instant <= after_utc_epoch:
                continue  # `after` sits in the second pass of a repeated hour
            if datetime.fromtimestamp(instant, zone).replace(tzinfo=None) != candidate:
                continue  # the wall time falls in a DST gap: it does not exist, skip it
            return instant
        return None

    def _local_candidates(self, start: datetime) -> Iterator[datetime]:
        """Matching naive wall times >= ``start``, in increasing order."""
        first_day = start.date()
        for day in self._matching_dates(first_day):
            bounded = day == first_day
            for h in self.hours:
                if bounded and h < start.hour:
                    continue
                h_bounded = bounded and h == start.hour
                for m in self.minutes:
                    if h_bounded and m < start.minute:
                        continue
                    m_bounded = h_bounded and m == start.minute
                    for s in self.seconds:
                        if m_bounded and s < start.second:
                            continue
                        yield datetime(day.year, day.month, day.day, h, m, s)

    def _matching_dates(self, start: date) -> Iterator[date]:
        """Dates >= ``start`` matching day-of-month AND month AND day-of-week AND year."""
        if self.years is None:
            years: Iterator[int] | range = range(start.year, min(start.year + _SEARCH_YEARS, 9999) + 1)
        else:
            years = (y for y in self.years if y >= start.year)
        weekdays = {(n - 2) % 7 for n in self.days_of_week}  # cron 1=SUN -> Python 6
        for y in years:
            for m in self.months:
                if (y, m) < (start.year, start.month):
                    continue
                first = start.day if (y, m) == (start.year, start.month) else 1
                last = calendar.monthrange(y, m)[1]
                for d in self.days_of_month:
                    if d > last:
                        break
                    if d >= first and date(y, m, d).weekday() in weekdays:
                        yield date(y, m, d)


def parse_cron(expr: str) -> CronExpression:
    """Parse and validate ``expr``; raise :class:`CronError` with a message naming the problem.

    Accepts 6 or 7 fields (seconds first, optional year) or one of :data:`MACROS`. A 5-field
    Unix expression is rejected with its 6-field equivalent in the message.
    """
    if not isinstance(expr, str):
        raise CronError(f"cron expression must be a string, got {type(expr).__name__}")
    text = expr.strip()
    if not text:
        raise CronError("cron expression is empty")
    if text.startswith("@"):
        macro = MACROS.get(text.lower())
        if macro is None:
            raise CronError(
                f"unknown cron macro {text!r}: expected one of {', '.join(MACROS)}"
            )
        return _parse_fields(text, macro.split())
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        raise CronError(
            f"invalid cron expression {text!r}: a TZ= prefix is not supported; "
            "set the schedule's timezone instead"
        )
    fields = text.split()
    if len(fields) == 5:
        raise CronError(_five_field_message(text, fields))
    if len(fields) not in (6, 7):
        raise CronError(
            f"invalid cron expression {text!r}: expected 6 or 7 fields "
            f"(seconds minutes hours day-of-month month day-of-week [year]), got {len(fields)}"
        )
    return _parse_fields(text, fields)


def _parse_fields(source: str, fields: list[str]) -> CronExpression:
    specs = (_SECONDS, _MINUTES, _HOURS, _DOM, _MONTH, _DOW, _YEAR)
    values: list[tuple[int, ...]] = []
    for spec, raw in zip(specs, fields, strict=False):
        try:
            values.append(_parse_field(spec, raw))
        except CronError as exc:
            raise CronError(f"invalid cron expression {source!r}: {exc.message}") from None
    years = values[6] if len(fields) == 7 and fields[6] != "*" else None
    cron = CronExpression(source, *values[:6], years=years)
    if next(cron._matching_dates(date(MIN_YEAR, 1, 1)), None) is None:
        raise CronError(
            f"invalid cron expression {source!r}: it never fires "
            "(no date matches its day-of-month, month, day-of-week and year together)"
        )
    return cron


def _parse_field(spec: _FieldSpec, raw: str) -> tuple[int, ...]:
    chosen: set[int] = set()
    for part in raw.split(","):
        if not part:
            raise CronError(f"{spec.name}: empty list item in {raw!r}")
        chosen.update(_parse_part(spec, part))
    return tuple(sorted(chosen))


def _parse_part(spec: _FieldSpec, part: str) -> list[int]:
    base, slash, step_text = part.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) < 1:
            raise CronError(f"{spec.name}: step in {part!r} must be a positive whole number")
        step = int(step_text)
    if base in ("*", "?"):
        if base == "?" and not spec.question:
            raise CronError(f"{spec.name}: '?' is only allowed in day-of-month and day-of-week")
        start, end = spec.low, spec.high
    elif "-" in base:
        left, _, right = base.partition("-")
        start, end = _parse_value(spec, left), _parse_value(spec, right)
    else:
        start = _parse_value(spec, base)
        end = spec.high if slash else start  # 'a/n' means a, a+n, ... up to the maximum
    if start <= end:
        return list(range(start, end + 1, step))
    if not spec.wraps:
        raise CronError(
            f"{spec.name}: range {base!r} runs backwards; write it as two ranges, "
            f"e.g. '{start}-{spec.high},{spec.low}-{end}'"
        )
    span = list(range(start, spec.high + 1)) + list(range(spec.low, end + 1))
    return span[::step]


def _parse_value(spec: _FieldSpec, token: str) -> int:
    upper = token.upper()
    if spec.names is not None and upper in spec.names:
        return spec.names[upper]
    if not token.isdigit():
        if _UNSUPPORTED.search(upper):
            raise CronError(f"{spec.name}: {token!r} uses L, W or #, which are not supported")
        hint = f"a number {spec.low}-{spec.high}"
        if spec is _MONTH:
            hint += " or a name JAN-DEC"
        elif spec is _DOW:
            hint += " (1=SUN ... 7=SAT) or a name SUN-SAT"
        raise CronError(f"{spec.name}: {token!r} is not {hint}")
    value = int(token)
    if spec is _DOW and value == 0:
        raise CronError(
            "day-of-week: 0 is not valid; days are numbered 1-7 with 1=SUN (2=MON ... 7=SAT), "
            "so write SUN or 1 (names such as MON-FRI avoid the ambiguity)"
        )
    if not spec.low <= value <= spec.high:
        raise CronError(f"{spec.name}: {value} is out of range {spec.low}-{spec.high}")
    return value


def _five_field_message(text: str, fields: list[str]) -> str:
    minute, hour, dom, month, dow = fields

    def unix_day(match: re.Match[str]) -> str:  # Unix numbering: 0 and 7 are Sunday
        n = int(match.group())
        return _DAYS[n % 7] if n <= 7 else match.group()

    dow6 = re.sub(r"(?<![/\d])\d+", unix_day, dow)
    suggestion = " ".join(("0", minute, hour, dom, month, dow6))
    message = (
        f"cron expression {text!r} has 5 fields, but assay cron starts with seconds: "
        f"use {suggestion!r} (6 fields: seconds first)"
    )
    if dom not in ("*", "?") and dow not in ("*", "?"):
        message += (
            "; note that when day-of-month and day-of-week are both set, assay requires both "
            "to match, where 5-field cron fires when either matches"
        )
    return message


def validate_timezone(name: str | None) -> ZoneInfo:
    """The zone for ``name``: ``UTC`` (any case), or a valid IANA name such as ``Europe/Berlin``.

    None or an empty string means UTC. Raises :class:`InvalidTimezone` otherwise.
    """
    if name is None or (isinstance(name, str) and name.strip() == ""):
        return ZoneInfo("UTC")
    if not isinstance(name, str):
        raise InvalidTimezone(f"invalid timezone: {name!r} is not a string")
    key = name.strip()
    if key.upper() == "UTC":
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidTimezone(
            f"invalid timezone: {name!r} (expected 'UTC' or an IANA name such as 'Europe/Berlin')"
        ) from None


def next_fire_after(
    expr: str | CronExpression, tz_name: str | None, after_utc_epoch: float
) -> float | None:
    """First fire instant of ``expr`` strictly after ``after_utc_epoch``, in UTC epoch seconds.

    ``tz_name`` is the IANA zone whose wall clock the expression describes (None or "" =
    UTC). Returns None if the expression never fires again (a year field in the past).
    Raises :class:`CronError` or :class:`InvalidTimezone` on bad input.
    """
    cron = expr if isinstance(expr, CronExpression) else parse_cron(expr)
    return cron.next_after(after_utc_epoch, validate_timezone(tz_name))
