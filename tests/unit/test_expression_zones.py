"""EventBridge Scheduler schedule expressions: time zones, and at() read on the wall clock of its zone.

References for the expected behaviour: the EventBridge Scheduler User Guide ("Schedule types in EventBridge
Scheduler", including its "Daylight savings time" section), the CreateSchedule API reference (ScheduleExpression,
StartDate, EndDate) and the EventBridge cron expression reference.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskcore.expressions import (
    AtExpression,
    ExpressionError,
    fire_times,
    format_at,
    local_to_utc,
    next_fire_time,
    parse_expression,
    parse_timezone,
)
from tests.unit.expression_helpers import next_of, utc

# ---------------------------------------------------------------------------------------------------------------
# Time zones
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", "Asia/Seoul", "America/New_York", "Europe/Berlin", "Etc/GMT+5"])
def test_iana_time_zones_are_accepted(name: str) -> None:
    assert parse_timezone(name) == ZoneInfo(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("asia/seoul", "did you mean 'Asia/Seoul'?"),
        ("KST", "unknown time zone 'KST'"),
        ("+09:00", "unknown time zone '+09:00'"),
        ("localtime", "unknown time zone 'localtime'"),
        ("../etc/passwd", "unknown time zone '../etc/passwd'"),
        ("", "the time zone must be an IANA name"),
    ],
)
def test_unknown_time_zones_are_rejected(name: str, message: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse_timezone(name)
    assert message in str(raised.value)


def test_unknown_time_zone_message_names_the_zone() -> None:
    with pytest.raises(ExpressionError) as raised:
        parse_timezone("Mars/Olympus")
    assert str(raised.value) == "unknown time zone 'Mars/Olympus'; use an IANA name such as 'UTC' or 'Asia/Seoul'"


def test_next_fire_time_rejects_an_unknown_time_zone() -> None:
    with pytest.raises(ExpressionError, match="unknown time zone 'Mars/Olympus'"):
        next_of("cron(0 9 * * ? *)", utc(2026, 1, 1), "Mars/Olympus")


# ---------------------------------------------------------------------------------------------------------------
# at()
# ---------------------------------------------------------------------------------------------------------------


def test_at_is_read_on_the_wall_clock_of_its_time_zone() -> None:
    assert next_of("at(2030-01-01T09:00:00)", utc(2026, 1, 1), "Asia/Seoul") == utc(2030, 1, 1, 0, 0)
    assert next_of("at(2030-01-01T09:00:00)", utc(2026, 1, 1), "America/New_York") == utc(2030, 1, 1, 14, 0)
    assert next_of("at(2030-07-01T09:00:00)", utc(2026, 1, 1), "America/New_York") == utc(2030, 7, 1, 13, 0)


def test_at_keeps_its_seconds() -> None:
    assert next_of("at(2030-01-01T09:00:30)", utc(2026, 1, 1)) == utc(2030, 1, 1, 9, 0, 30)


def test_at_fires_once_and_not_when_it_is_not_after_after() -> None:
    expr = parse_expression("at(2030-01-01T09:00:00)")
    assert next_fire_time(expr, after=utc(2030, 1, 1, 8, 59, 59)) == utc(2030, 1, 1, 9)
    assert next_fire_time(expr, after=utc(2030, 1, 1, 9)) is None
    assert next_fire_time(expr, after=utc(2031, 1, 1)) is None
    assert list(fire_times(expr, after=utc(2029, 1, 1), until=utc(2031, 1, 1))) == [utc(2030, 1, 1, 9)]


def test_at_ignores_start_and_end_as_the_scheduler_does() -> None:
    """ "EventBridge Scheduler ignores StartDate [and EndDate] for one-time schedules" (CreateSchedule)."""
    found = next_of("at(2030-01-01T09:00:00)", utc(2026, 1, 1), start=utc(2031, 1, 1), end=utc(2027, 1, 1))
    assert found == utc(2030, 1, 1, 9)


def test_at_in_a_skipped_wall_time_never_fires() -> None:
    assert next_of("at(2026-03-08T02:30:00)", utc(2026, 1, 1), "America/New_York") is None


def test_at_in_a_repeated_wall_time_fires_at_the_first_one() -> None:
    # 01:30 on 2026-11-01 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    assert next_of("at(2026-11-01T01:30:00)", utc(2026, 1, 1), "America/New_York") == utc(2026, 11, 1, 5, 30)
    assert next_of("at(2026-11-01T01:30:00)", utc(2026, 11, 1, 5, 30), "America/New_York") is None


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (utc(2030, 1, 1, 9), "at(2030-01-01T09:00:00)"),
        (utc(2030, 1, 1, 9, 0, 59, 999_999), "at(2030-01-01T09:00:59)"),
        (datetime(2030, 1, 1, 18, 30, 5, tzinfo=ZoneInfo("Asia/Seoul")), "at(2030-01-01T09:30:05)"),
    ],
)
def test_format_at_writes_the_utc_time_with_its_seconds(moment: datetime, text: str) -> None:
    assert format_at(moment) == text


def test_format_at_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_at(datetime(2030, 1, 1))


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2198, 12, 31), timezones=st.just(UTC)))
def test_format_at_round_trips_through_parse_and_next_fire_time(moment: datetime) -> None:
    expr = parse_expression(format_at(moment))
    assert isinstance(expr, AtExpression)
    assert next_fire_time(expr, after=moment - timedelta(seconds=1)) == moment.replace(microsecond=0)


def test_times_beyond_what_datetime_can_hold_never_fire() -> None:
    assert next_of("at(9999-12-31T23:59:59)", utc(2026, 1, 1), "America/New_York") is None
    assert next_of("at(0001-01-01T00:00:00)", utc(1, 1, 1), "Asia/Seoul") is None
    assert next_of("rate(1 day)", datetime.max.replace(tzinfo=UTC) - timedelta(hours=1)) is None
    assert next_of("cron(* * * * ? *)", datetime.max.replace(tzinfo=UTC)) is None


def test_local_to_utc_takes_a_naive_wall_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_to_utc(utc(2030, 1, 1), "UTC")


def test_local_to_utc_applies_the_dst_rules() -> None:
    assert local_to_utc(datetime(2026, 3, 8, 2, 30), "America/New_York") is None
    assert local_to_utc(datetime(2026, 11, 1, 1, 30), "America/New_York") == utc(2026, 11, 1, 5, 30)


def test_the_zone_list_is_read_from_disk_once_per_process() -> None:
    # available_timezones() walks the whole tzdata tree (~50 ms); the dispatcher checks a zone per schedule.
    from taskcore.expressions import zones

    zones._zone_names.cache_clear()
    for _ in range(3):
        parse_timezone("Asia/Seoul")

    assert zones._zone_names.cache_info().misses == 1
