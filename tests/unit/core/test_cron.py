"""Cron parsing and next-fire arithmetic (assay.core.cron). No disk beyond tzdata, no network."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from assay.core.cron import (
    MACROS,
    CronError,
    CronExpression,
    InvalidTimezone,
    next_fire_after,
    parse_cron,
    validate_timezone,
)
from assay.errors import InvalidInput


def utc(*args: int) -> float:
    """UTC epoch seconds for (year, month, day[, hour, minute, second])."""
    return datetime(*args, tzinfo=timezone.utc).timestamp()  # type: ignore[misc]


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def fires(expr: str, after: float, n: int, tz: str = "UTC") -> list[str | None]:
    out: list[str | None] = []
    t: float | None = after
    for _ in range(n):
        assert t is not None
        t = next_fire_after(expr, tz, t)
        out.append(iso(t))
    return out


# --- field syntax -----------------------------------------------------------------------


def test_every_second_is_strictly_after() -> None:
    assert fires("* * * * * *", utc(2024, 1, 1, 12, 0, 0), 2) == ["2024-01-01 12:00:01", "2024-01-01 12:00:02"]


def test_fractional_after_rounds_to_next_whole_second() -> None:
    assert iso(next_fire_after("* * * * * *", "UTC", utc(2024, 1, 1) + 0.5)) == "2024-01-01 00:00:01"
    assert iso(next_fire_after("* * * * * *", "UTC", utc(2024, 1, 1) - 0.5)) == "2024-01-01 00:00:00"


def test_seed_example_every_minute_on_second_zero() -> None:
    assert fires("0 * * * * *", utc(2024, 1, 1, 12, 0, 30), 2) == ["2024-01-01 12:01:00", "2024-01-01 12:02:00"]
    # An instant that is itself a fire time is not returned again.
    assert iso(next_fire_after("0 * * * * *", "UTC", utc(2024, 1, 1, 12, 1))) == "2024-01-01 12:02:00"


def test_seed_example_daily_at_two() -> None:
    assert fires("0 0 2 * * *", utc(2024, 1, 1, 3), 2) == ["2024-01-02 02:00:00", "2024-01-03 02:00:00"]


def test_seconds_field() -> None:
    assert fires("15,45 * * * * *", utc(2024, 1, 1), 3) == [
        "2024-01-01 00:00:15",
        "2024-01-01 00:00:45",
        "2024-01-01 00:01:15",
    ]


def test_lists_ranges_and_steps() -> None:
    assert parse_cron("0 0,30 * * * *").minutes == (0, 30)
    assert parse_cron("0 0 9-17 * * *").hours == tuple(range(9, 18))
    assert parse_cron("*/15 * * * * *").seconds == (0, 15, 30, 45)
    assert parse_cron("0 5/20 * * * *").minutes == (5, 25, 45)
    assert parse_cron("10-30/10 * * * * *").seconds == (10, 20, 30)
    assert parse_cron("0 0 1-3,12,20-22/2 * * *").hours == (1, 2, 3, 12, 20, 22)
    assert parse_cron("0 0 0 */10 * *").days_of_month == (1, 11, 21, 31)
    assert fires("0 0 9-10 * * *", utc(2024, 1, 1, 9, 30), 3) == [
        "2024-01-01 10:00:00",
        "2024-01-02 09:00:00",
        "2024-01-02 10:00:00",
    ]


def test_month_names_any_case_and_full() -> None:
    assert parse_cron("0 0 0 1 JAN,jul *").months == (1, 7)
    assert parse_cron("0 0 0 1 January-March *").months == (1, 2, 3)
    assert parse_cron("0 0 0 1 mar/3 *").months == (3, 6, 9, 12)
    assert fires("0 0 0 1 JUN *", utc(2024, 1, 1), 2) == ["2024-06-01 00:00:00", "2025-06-01 00:00:00"]


def test_day_of_week_numbers_are_one_to_seven_with_one_sunday() -> None:
    wednesday = utc(2024, 1, 3)
    assert iso(next_fire_after("0 0 0 * * 1", "UTC", wednesday)) == "2024-01-07 00:00:00"  # Sunday
    assert iso(next_fire_after("0 0 0 * * 2", "UTC", wednesday)) == "2024-01-08 00:00:00"  # Monday
    assert iso(next_fire_after("0 0 0 * * 7", "UTC", wednesday)) == "2024-01-06 00:00:00"  # Saturday
    assert parse_cron("0 0 0 * * SUN").days_of_week == (1,)
    assert parse_cron("0 0 0 * * sat").days_of_week == (7,)


def test_day_of_week_names_and_ranges() -> None:
    assert parse_cron("0 0 9 * * MON-FRI").days_of_week == (2, 3, 4, 5, 6)
    assert parse_cron("0 0 9 * * Monday,Friday").days_of_week == (2, 6)
    # Fri 2024-01-05 10:00 -> next weekday morning is Monday.
    assert iso(next_fire_after("0 0 9 * * MON-FRI", "UTC", utc(2024, 1, 5, 10))) == "2024-01-08 09:00:00"


def test_day_of_week_range_may_wrap() -> None:
    assert parse_cron("0 0 0 * * SAT-SUN").days_of_week == (1, 7)
    assert parse_cron("0 0 0 * * FRI-MON").days_of_week == (1, 2, 6, 7)
    assert fires("0 0 0 * * SAT-SUN", utc(2024, 1, 3), 3) == [
        "2024-01-06 00:00:00",
        "2024-01-07 00:00:00",
        "2024-01-13 00:00:00",
    ]


def test_question_mark_means_any_in_day_fields() -> None:
    assert parse_cron("0 0 0 ? * MON").days_of_month == tuple(range(1, 32))
    assert parse_cron("0 0 0 1 * ?").days_of_week == tuple(range(1, 8))
    assert iso(next_fire_after("0 0 0 15 * ?", "UTC", utc(2024, 1, 1))) == "2024-01-15 00:00:00"


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    # Friday the 13th: 2024-09-13 and 2024-12-13.
    assert fires("0 0 0 13 * FRI", utc(2024, 1, 1), 2) == ["2024-09-13 00:00:00", "2024-12-13 00:00:00"]


def test_year_field_is_honoured() -> None:
    assert iso(next_fire_after("0 0 0 1 1 * 2030", "UTC", utc(2024, 6, 1))) == "2030-01-01 00:00:00"
    assert next_fire_after("0 0 0 1 1 * 2030", "UTC", utc(2030, 1, 1)) is None
    assert fires("0 0 12 1 1 * 2025-2026", utc(2024, 1, 1), 3) == ["2025-01-01 12:00:00", "2026-01-01 12:00:00", None]
    assert parse_cron("0 0 0 1 1 * 2030,2040/5").years == (2030, 2040, 2045, 2050, 2055, 2060, 2065, 2070, 2075,
                                                            2080, 2085, 2090, 2095)
    assert parse_cron("0 0 0 1 1 * *").years is None
    assert parse_cron("0 0 0 1 1 *").years is None


def test_last_day_of_year_rolls_over() -> None:
    assert fires("59 59 23 31 12 *", utc(2024, 12, 31, 23, 59, 59), 1) == ["2025-12-31 23:59:59"]
    assert iso(next_fire_after("0 0 0 * * *", "UTC", utc(2024, 12, 31, 23, 59, 59))) == "2025-01-01 00:00:00"


def test_day_31_skips_short_months() -> None:
    assert fires("0 0 0 31 * *", utc(2024, 1, 31), 2) == ["2024-03-31 00:00:00", "2024-05-31 00:00:00"]


# --- leap years ---------------------------------------------------------------------------


def test_feb_29_fires_only_in_leap_years() -> None:
    assert fires("0 0 12 29 2 *", utc(2024, 3, 1), 2) == ["2028-02-29 12:00:00", "2032-02-29 12:00:00"]
    # 2100 is not a leap year: after 2096 comes 2104.
    assert iso(next_fire_after("0 0 0 29 FEB *", "UTC", utc(2096, 3, 1))) == "2104-02-29 00:00:00"


def test_feb_29_on_a_monday() -> None:
    assert iso(next_fire_after("0 0 0 29 2 MON", "UTC", utc(2024, 1, 1))) == "2044-02-29 00:00:00"


def test_feb_29_with_only_common_years_never_fires() -> None:
    with pytest.raises(CronError, match="never fires"):
        parse_cron("0 0 0 29 2 * 2025")


@pytest.mark.parametrize("expr", ["0 0 0 30 2 *", "0 0 0 31 4,6,9,11 *", "0 0 0 31 FEB ?"])
def test_impossible_dates_are_rejected(expr: str) -> None:
    with pytest.raises(CronError, match="never fires"):
        parse_cron(expr)


# --- macros ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("macro", "expected"),
    [
        ("@yearly", "2025-01-01 00:00:00"),
        ("@annually", "2025-01-01 00:00:00"),
        ("@monthly", "2024-02-01 00:00:00"),
        ("@weekly", "2024-01-07 00:00:00"),  # Sunday
        ("@daily", "2024-01-04 00:00:00"),
        ("@midnight", "2024-01-04 00:00:00"),
        ("@hourly", "2024-01-03 11:00:00"),
        ("@DAILY", "2024-01-04 00:00:00"),
    ],
)
def test_macros(macro: str, expected: str) -> None:
    assert iso(next_fire_after(macro, "UTC", utc(2024, 1, 3, 10, 30))) == expected  # a Wednesday


def test_macros_are_six_field_expressions() -> None:
    for text in MACROS.values():
        assert len(text.split()) == 6
        parse_cron(text)
    assert str(parse_cron(" @daily ")) == "@daily"


# --- time zones -------------------------------------------------------------------------------


def test_berlin_wall_clock_follows_dst() -> None:
    assert iso(next_fire_after("0 0 2 * * *", "Europe/Berlin", utc(2024, 1, 10))) == "2024-01-10 01:00:00"  # CET
    assert iso(next_fire_after("0 0 2 * * *", "Europe/Berlin", utc(2024, 7, 9, 12))) == "2024-07-10 00:00:00"  # CEST


def test_new_york_wall_clock_follows_dst() -> None:
    assert iso(next_fire_after("0 0 9 * * MON-FRI", "America/New_York", utc(2024, 1, 10))) == "2024-01-10 14:00:00"
    assert iso(next_fire_after("0 0 9 * * MON-FRI", "America/New_York", utc(2024, 7, 10))) == "2024-07-10 13:00:00"


def test_day_boundaries_are_local() -> None:
    # 23:30 UTC on Friday 5 Jan is already Saturday 00:30 in Berlin.
    assert iso(next_fire_after("0 0 1 * * SAT", "Europe/Berlin", utc(2024, 1, 5, 23, 30))) == "2024-01-06 00:00:00"
    # Tokyo has no DST and is 9 hours ahead.
    assert iso(next_fire_after("0 0 8 1 * *", "Asia/Tokyo", utc(2024, 1, 1))) == "2024-01-31 23:00:00"


def test_utc_spellings_are_equivalent() -> None:
    after = utc(2024, 1, 1, 5)
    expected = next_fire_after("0 0 9 * * *", "UTC", after)
    for tz in ("utc", "Utc", "", None, "Etc/UTC"):
        assert next_fire_after("0 0 9 * * *", tz, after) == expected


def test_accepts_a_zoneinfo_and_a_parsed_expression() -> None:
    cron = parse_cron("0 0 2 * * *")
    assert isinstance(cron, CronExpression)
    assert cron.next_after(utc(2024, 1, 10), ZoneInfo("Europe/Berlin")) == utc(2024, 1, 10, 1)
    assert next_fire_after(cron, "Europe/Berlin", utc(2024, 1, 10)) == utc(2024, 1, 10, 1)


# --- DST: spring forward (gap is skipped) ---------------------------------------------------


def test_berlin_spring_forward_skips_the_missing_time() -> None:
    # 2024-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    assert fires("0 30 2 * * *", utc(2024, 3, 30, 12), 2, "Europe/Berlin") == [
        "2024-04-01 00:30:00",
        "2024-04-02 00:30:00",
    ]


def test_berlin_spring_forward_neighbours_still_fire() -> None:
    assert iso(next_fire_after("0 0 3 * * *", "Europe/Berlin", utc(2024, 3, 30, 12))) == "2024-03-31 01:00:00"
    assert iso(next_fire_after("0 59 1 * * *", "Europe/Berlin", utc(2024, 3, 30, 12))) == "2024-03-31 00:59:00"
    # Hourly: 01:00 CET then 03:00 CEST, consecutive UTC hours.
    assert fires("0 0 * * * *", utc(2024, 3, 30, 23, 30), 3, "Europe/Berlin") == [
        "2024-03-31 00:00:00",
        "2024-03-31 01:00:00",
        "2024-03-31 02:00:00",
    ]


def test_new_york_spring_forward_skips_the_missing_time() -> None:
    # 2024-03-10: 02:00 EST jumps to 03:00 EDT.
    assert fires("0 30 2 * * *", utc(2024, 3, 9, 6), 2, "America/New_York") == [
        "2024-03-09 07:30:00",
        "2024-03-11 06:30:00",
    ]


def test_every_second_through_the_gap() -> None:
    after = utc(2024, 3, 31, 0, 59, 59)  # 01:59:59 CET
    assert iso(next_fire_after("* * * * * *", "Europe/Berlin", after)) == "2024-03-31 01:00:00"  # 03:00:00 CEST


def test_a_whole_skipped_day() -> None:
    # Samoa skipped 30 December 2011 (UTC-10 to UTC+14 at midnight).
    after = datetime(2011, 12, 29, 12, 0, tzinfo=ZoneInfo("Pacific/Apia")).timestamp()
    nxt = next_fire_after("0 0 12 * * *", "Pacific/Apia", after)
    assert nxt is not None
    local = datetime.fromtimestamp(nxt, ZoneInfo("Pacific/Apia"))
    assert (local.year, local.month, local.day, local.hour) == (2011, 12, 31, 12)


# --- DST: fall back (repeated time fires once, first occurrence) --------------------------------


def test_berlin_fall_back_fires_once_at_first_occurrence() -> None:
    # 2024-10-27: 03:00 CEST goes back to 02:00 CET; 02:30 happens at 00:30 and 01:30 UTC.
    assert fires("0 30 2 * * *", utc(2024, 10, 26, 12), 2, "Europe/Berlin") == [
        "2024-10-27 00:30:00",
        "2024-10-28 01:30:00",
    ]


def test_berlin_fall_back_hourly_does_not_repeat_the_hour() -> None:
    assert fires("0 0 * * * *", utc(2024, 10, 26, 23, 30), 3, "Europe/Berlin") == [
        "2024-10-27 00:00:00",  # 02:00 CEST
        "2024-10-27 02:00:00",  # 03:00 CET (02:00 CET, the repeat, does not fire)
        "2024-10-27 03:00:00",
    ]


def test_after_inside_the_second_pass_of_a_repeated_hour() -> None:
    after = utc(2024, 10, 27, 1, 15)  # 02:15 CET, second pass
    assert iso(next_fire_after("0 30 2 * * *", "Europe/Berlin", after)) == "2024-10-28 01:30:00"
    assert iso(next_fire_after("0 */15 * * * *", "Europe/Berlin", after)) == "2024-10-27 02:00:00"


def test_new_york_fall_back_fires_once() -> None:
    # 2024-11-03: 02:00 EDT goes back to 01:00 EST.
    assert fires("0 30 1 * * *", utc(2024, 11, 2, 12), 2, "America/New_York") == [
        "2024-11-03 05:30:00",  # 01:30 EDT
        "2024-11-04 06:30:00",  # 01:30 EST next day
    ]


def test_fire_times_are_strictly_increasing_across_transitions() -> None:
    zone = ZoneInfo("Europe/Berlin")
    expr = parse_cron("0 */20 * * * *")
    for start in (utc(2024, 3, 30), utc(2024, 10, 26)):
        t = start
        seen_local: set[datetime] = set()
        for _ in range(3 * 72):
            nxt = expr.next_after(t, zone)
            assert nxt is not None and nxt > t
            local = datetime.fromtimestamp(nxt, zone).replace(tzinfo=None)
            assert local.minute % 20 == 0 and local.second == 0
            assert local not in seen_local  # each wall time fires at most once
            seen_local.add(local)
            t = nxt


# --- invalid input ------------------------------------------------------------------------------


def test_five_fields_are_rejected_with_the_six_field_equivalent() -> None:
    with pytest.raises(CronError) as err:
        parse_cron("*/5 * * * *")
    assert "use '0 */5 * * * *' (6 fields: seconds first)" in str(err.value)


def test_five_field_suggestion_translates_unix_day_numbers() -> None:
    with pytest.raises(CronError, match=r"use '0 0 9 \* \* MON-FRI'"):
        parse_cron("0 9 * * 1-5")
    with pytest.raises(CronError, match=r"use '0 0 0 \* \* SUN'"):
        parse_cron("0 0 * * 0")
    with pytest.raises(CronError, match=r"use '0 0 0 \* \* SUN,SAT'"):
        parse_cron("0 0 * * 7,6")
    with pytest.raises(CronError, match=r"use '0 0 \*/2 \* \* \*/2'"):
        parse_cron("0 */2 * * */2")


def test_five_field_suggestion_warns_about_and_semantics() -> None:
    with pytest.raises(CronError, match="both to match"):
        parse_cron("0 0 13 * 5")


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("* * * *", "expected 6 or 7 fields"),
        ("0 0 0 1 1 * 2030 x", "expected 6 or 7 fields"),
        ("60 * * * * *", "seconds: 60 is out of range 0-59"),
        ("0 60 * * * *", "minutes: 60 is out of range 0-59"),
        ("0 0 24 * * *", "hours: 24 is out of range 0-23"),
        ("0 0 0 0 * *", "day-of-month: 0 is out of range 1-31"),
        ("0 0 0 32 * *", "day-of-month: 32 is out of range 1-31"),
        ("0 0 0 1 13 *", "month: 13 is out of range 1-12"),
        ("0 0 0 1 0 *", "month: 0 is out of range 1-12"),
        ("0 0 0 * * 8", "day-of-week: 8 is out of range 1-7"),
        ("0 0 0 * * 0", "1-7 with 1=SUN"),
        ("0 0 0 1 1 * 1969", "year: 1969 is out of range 1970-2099"),
        ("0 0 0 1 1 * 2100", "year: 2100 is out of range 1970-2099"),
        ("*/0 * * * * *", "step in '\\*/0' must be a positive whole number"),
        ("*/x * * * * *", "must be a positive whole number"),
        ("0 0 20-2 * * *", "runs backwards; write it as two ranges, e.g. '20-23,0-2'"),
        ("0 ? * * * *", "'\\?' is only allowed in day-of-month and day-of-week"),
        ("0 0 0 1,,2 * *", "empty list item"),
        ("0 0 0 L * *", "L, W or #"),
        ("0 0 0 15W * *", "L, W or #"),
        ("0 0 0 ? * 6L", "L, W or #"),
        ("0 0 0 ? * FRI#3", "L, W or #"),
        ("0 0 0 1 MON *", "month: 'MON' is not a number 1-12 or a name JAN-DEC"),
        ("0 0 0 * * JAN", "1=SUN ... 7=SAT"),
        ("0 abc * * * *", "minutes: 'abc' is not a number 0-59"),
        ("0 -5 * * * *", "minutes: '' is not a number"),
        ("@every 5m", "unknown cron macro"),
        ("@reboot", "unknown cron macro"),
        ("CRON_TZ=Europe/Berlin 0 0 0 * * *", "TZ= prefix is not supported"),
    ],
)
def test_invalid_expressions(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse_cron(expr)


def test_non_string_expression() -> None:
    with pytest.raises(CronError, match="must be a string"):
        parse_cron(None)  # type: ignore[arg-type]


def test_cron_error_is_invalid_input_with_stable_code() -> None:
    with pytest.raises(InvalidInput) as err:
        next_fire_after("0 0 *", "UTC", 0.0)
    assert isinstance(err.value, CronError)
    assert err.value.code == "invalid_cron"
    assert "0 0 *" in err.value.message


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_after_is_rejected(bad: float) -> None:
    with pytest.raises(CronError):
        next_fire_after("* * * * * *", "UTC", bad)


def test_out_of_range_after_is_rejected() -> None:
    with pytest.raises(CronError, match="out of range"):
        next_fire_after("* * * * * *", "UTC", 1e20)


# --- validate_timezone ---------------------------------------------------------------------------


def test_validate_timezone_accepts_utc_and_iana_names() -> None:
    assert validate_timezone("UTC").key == "UTC"
    assert validate_timezone("utc").key == "UTC"
    assert validate_timezone(None).key == "UTC"
    assert validate_timezone("").key == "UTC"
    assert validate_timezone("Europe/Berlin").key == "Europe/Berlin"
    assert validate_timezone(" America/New_York ").key == "America/New_York"


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "Europe", "../../etc/passwd", "/etc/localtime", "Berlin"])
def test_validate_timezone_rejects_unknown_names(name: str) -> None:
    with pytest.raises(InvalidTimezone) as err:
        validate_timezone(name)
    assert isinstance(err.value, InvalidInput)
    assert err.value.code == "invalid_timezone"
    assert f"invalid timezone: {name!r}" in err.value.message
    assert "Europe/Berlin" in err.value.message  # shows what a good name looks like


def test_validate_timezone_rejects_non_strings() -> None:
    with pytest.raises(InvalidTimezone):
        validate_timezone(42)  # type: ignore[arg-type]


def test_next_fire_after_rejects_a_bad_zone() -> None:
    with pytest.raises(InvalidTimezone):
        next_fire_after("0 0 0 * * *", "Nowhere/Town", 0.0)


# --- efficiency guards -----------------------------------------------------------------------------


def test_far_future_year_is_found_quickly() -> None:
    assert iso(next_fire_after("0 0 0 1 1 * 2099", "UTC", 0.0)) == "2099-01-01 00:00:00"


def test_many_consecutive_fires() -> None:
    t = utc(2024, 1, 1)
    for _ in range(2000):
        nxt = next_fire_after("*/7 * * * * *", "America/New_York", t)
        assert nxt is not None and timedelta(seconds=0) < timedelta(seconds=nxt - t) <= timedelta(seconds=7)
        t = nxt


# --- cross-check against a brute-force scan of every UTC second -----------------------------------


def brute_force_next(cron: CronExpression, zone: ZoneInfo, after: int, limit: int) -> float | None:
    """Walk real instants; a wall time fires on its first occurrence only.

    The zones used have whole-minute offsets, so only UTC seconds in ``cron.seconds`` are tried.
    """
    for t in range(after + 1, after + limit):
        if t % 60 not in cron.seconds:
            continue
        local = datetime.fromtimestamp(t, zone)
        weekday_cron = (local.weekday() + 1) % 7 + 1  # Python Mon=0 -> cron MON=2
        if (
            local.fold == 0
            and local.second in cron.seconds
            and local.minute in cron.minutes
            and local.hour in cron.hours
            and local.day in cron.days_of_month
            and local.month in cron.months
            and weekday_cron in cron.days_of_week
        ):
            return float(t)
    return None


@pytest.mark.parametrize("expr", ["0 */7 * * * *", "30 15,45 1-3 * * *", "0 0 2 * * *", "*/20 59 1,2 * * *"])
@pytest.mark.parametrize(
    ("tz", "transition"),
    [
        ("Europe/Berlin", utc(2024, 3, 31, 1)),
        ("Europe/Berlin", utc(2024, 10, 27, 1)),
        ("America/New_York", utc(2024, 3, 10, 7)),
        ("America/New_York", utc(2024, 11, 3, 6)),
    ],
)
def test_matches_brute_force_around_transitions(expr: str, tz: str, transition: float) -> None:
    cron, zone = parse_cron(expr), ZoneInfo(tz)
    for offset in range(-3 * 3600, 2 * 3600, 1111):
        after = int(transition) + offset
        expected = brute_force_next(cron, zone, after, limit=50 * 3600)
        assert expected is not None
        assert cron.next_after(after, zone) == expected, (expr, tz, iso(after))
