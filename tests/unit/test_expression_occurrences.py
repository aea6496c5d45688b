"""EventBridge Scheduler schedule expressions: when rate() and cron() fire, across DST changes, within start and end.

References for the expected behaviour: the EventBridge Scheduler User Guide ("Schedule types in EventBridge
Scheduler", including its "Daylight savings time" section), the CreateSchedule API reference (ScheduleExpression,
StartDate, EndDate) and the EventBridge cron expression reference.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from taskcore.expressions import fire_times, next_fire_time, parse_expression
from tests.unit.expression_helpers import all_of, next_of, utc

# ---------------------------------------------------------------------------------------------------------------
# rate()
# ---------------------------------------------------------------------------------------------------------------


def test_rate_is_anchored_at_the_creation_time() -> None:
    created = utc(2026, 1, 1, 0, 0, 7)
    assert next_of("rate(5 minutes)", utc(2026, 1, 1, 0, 12), created_at=created) == utc(2026, 1, 1, 0, 15, 7)
    assert next_of("rate(5 minutes)", utc(2026, 1, 1, 0, 15, 7), created_at=created) == utc(2026, 1, 1, 0, 20, 7)


def test_rate_first_occurrence_is_the_anchor_itself() -> None:
    """ "If you do not provide a StartDate for a rate-based schedule, your schedule starts invoking the target
    immediately"; with a StartDate, it "set[s] the first occurrence of the schedule"."""
    created = utc(2026, 1, 1, 12)
    assert next_of("rate(1 hour)", created - timedelta(microseconds=1), created_at=created) == created
    start = utc(2026, 2, 1, 9, 30)
    assert next_of("rate(1 hour)", created, created_at=created, start=start) == start


def test_rate_is_anchored_at_the_creation_time_in_whole_seconds() -> None:
    created = utc(2026, 1, 1, 12, 0, 0, 250_000)  # a creation time has sub-seconds; occurrences have none

    assert next_of("rate(5 minutes)", created - timedelta(microseconds=1), created_at=created) == utc(
        2026, 1, 1, 12, 0, 1
    )
    assert next_of("rate(5 minutes)", utc(2026, 1, 1, 12, 0, 1), created_at=created) == utc(2026, 1, 1, 12, 5, 1)


def test_rate_with_a_start_is_anchored_at_the_start() -> None:
    occurrences = all_of(
        "rate(2 hours)", utc(2026, 1, 1), utc(2026, 1, 2), created_at=utc(2025, 12, 1, 0, 17), start=utc(2026, 1, 1, 9)
    )
    assert occurrences == [utc(2026, 1, 1, 9), utc(2026, 1, 1, 11), utc(2026, 1, 1, 13)] + [
        utc(2026, 1, 1, h) for h in (15, 17, 19, 21, 23)
    ]


def test_rate_without_an_anchor_counts_from_after() -> None:
    assert next_of("rate(10 minutes)", utc(2026, 1, 1, 0, 3)) == utc(2026, 1, 1, 0, 13)


def test_rate_window_keeps_its_phase_without_an_anchor() -> None:
    occurrences = all_of("rate(10 minutes)", utc(2026, 1, 1, 0, 3), utc(2026, 1, 1, 1))
    assert occurrences == [utc(2026, 1, 1, 0, m) for m in (13, 23, 33, 43, 53)]


def test_rate_stops_at_the_end_date_inclusive() -> None:
    created = utc(2026, 1, 1)
    end = utc(2026, 1, 1, 0, 30)
    assert all_of("rate(15 minutes)", created - timedelta(seconds=1), utc(2026, 1, 2), created_at=created, end=end) == [
        utc(2026, 1, 1, 0, 0),
        utc(2026, 1, 1, 0, 15),
        utc(2026, 1, 1, 0, 30),
    ]
    assert next_of("rate(15 minutes)", end, created_at=created, end=end) is None


def test_rate_in_days_is_24_hours_even_across_a_dst_change() -> None:
    """ "days represents a 24-hour duration on the clock" (User Guide, Daylight savings time)."""
    created = utc(2026, 3, 6, 14)  # 09:00 EST
    in_new_york = all_of("rate(1 day)", created, utc(2026, 3, 10, 14), "America/New_York", created_at=created)
    assert in_new_york == [utc(2026, 3, d, 14) for d in (7, 8, 9, 10)]
    assert in_new_york == all_of("rate(1 day)", created, utc(2026, 3, 10, 14), "UTC", created_at=created)


# ---------------------------------------------------------------------------------------------------------------
# cron(): next occurrences
# ---------------------------------------------------------------------------------------------------------------


def test_daily_0900_in_seoul_is_midnight_utc() -> None:
    assert next_of("cron(0 9 * * ? *)", utc(2025, 12, 31, 23, 59, 59), "Asia/Seoul") == utc(2026, 1, 1, 0, 0)
    assert next_of("cron(0 9 * * ? *)", utc(2026, 1, 1, 0, 0), "Asia/Seoul") == utc(2026, 1, 2, 0, 0)
    assert all_of("cron(0 9 * * ? *)", utc(2026, 1, 1), utc(2026, 1, 4), "Asia/Seoul") == [
        utc(2026, 1, 2),
        utc(2026, 1, 3),
        utc(2026, 1, 4),
    ]


def test_next_fire_time_is_strictly_after_after() -> None:
    assert next_of("cron(0 9 * * ? *)", utc(2026, 1, 1, 9)) == utc(2026, 1, 2, 9)
    assert next_of("cron(0 9 * * ? *)", utc(2026, 1, 1, 8, 59, 59, 999_999)) == utc(2026, 1, 1, 9)
    assert next_of("cron(* * * * ? *)", utc(2026, 1, 1, 9, 0, 30)) == utc(2026, 1, 1, 9, 1)


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        # L: the last day of the month (February in a leap year and not)
        ("cron(0 12 L * ? *)", utc(2028, 2, 1), utc(2028, 2, 29, 12)),
        ("cron(0 12 L * ? *)", utc(2026, 2, 1), utc(2026, 2, 28, 12)),
        ("cron(0 12 L * ? *)", utc(2026, 4, 30, 12), utc(2026, 5, 31, 12)),
        # W: the weekday nearest the day, within the month
        ("cron(0 12 15W * ? *)", utc(2026, 8, 1), utc(2026, 8, 14, 12)),  # Sat 15 Aug -> Fri 14
        ("cron(0 12 15W * ? *)", utc(2026, 3, 1), utc(2026, 3, 16, 12)),  # Sun 15 Mar -> Mon 16
        ("cron(0 12 15W * ? *)", utc(2026, 1, 1), utc(2026, 1, 15, 12)),  # Thu 15 Jan
        ("cron(0 12 1W * ? *)", utc(2026, 8, 1), utc(2026, 8, 3, 12)),  # Sat 1 Aug -> Mon 3 (not Jul 31)
        ("cron(0 12 30W * ? *)", utc(2025, 11, 1), utc(2025, 11, 28, 12)),  # Sun 30 Nov -> Fri 28 (not Dec 1)
        ("cron(0 12 31W * ? *)", utc(2026, 4, 1), utc(2026, 5, 29, 12)),  # no 31 Apr; Sun 31 May -> Fri 29
        # LW: the last weekday of the month
        ("cron(0 12 LW * ? *)", utc(2026, 5, 1), utc(2026, 5, 29, 12)),  # Sun 31 May -> Fri 29
        ("cron(0 12 LW * ? *)", utc(2026, 1, 1), utc(2026, 1, 30, 12)),  # Sat 31 Jan -> Fri 30
        ("cron(0 12 LW * ? *)", utc(2026, 3, 1), utc(2026, 3, 31, 12)),  # Tue 31 Mar
        # #: the n-th weekday of the month
        ("cron(0 9 ? * 2#1 *)", utc(2026, 1, 1), utc(2026, 1, 5, 9)),  # first Monday
        ("cron(0 9 ? * MON#1 *)", utc(2026, 1, 5, 9), utc(2026, 2, 2, 9)),
        ("cron(0 9 ? * 3#2 *)", utc(2026, 1, 1), utc(2026, 1, 13, 9)),  # second Tuesday
        ("cron(0 9 ? * 6#5 *)", utc(2026, 1, 1), utc(2026, 1, 30, 9)),  # fifth Friday
        ("cron(0 9 ? * 6#5 *)", utc(2026, 1, 30, 9), utc(2026, 5, 29, 9)),  # Feb-Apr 2026 have four Fridays
        # dL: the last such weekday of the month
        ("cron(0 9 ? * 5L *)", utc(2026, 1, 1), utc(2026, 1, 29, 9)),  # last Thursday
        ("cron(0 9 ? * 6L *)", utc(2026, 1, 1), utc(2026, 1, 30, 9)),  # last Friday
        ("cron(0 9 ? * FRIL *)", utc(2026, 1, 30, 9), utc(2026, 2, 27, 9)),
        ("cron(15 10 ? * 6L 2022-2023)", utc(2022, 1, 1), utc(2022, 1, 28, 10, 15)),
        # L alone in day-of-week: the last day of the week, Saturday
        ("cron(0 9 ? * L *)", utc(2026, 1, 1), utc(2026, 1, 3, 9)),
        # weekdays, names, wrap-around
        ("cron(0 18 ? * MON-FRI *)", utc(2026, 1, 2, 18), utc(2026, 1, 5, 18)),  # Fri evening -> Mon
        ("cron(0 9 ? * SAT-SUN *)", utc(2026, 1, 1), utc(2026, 1, 3, 9)),  # wraps: SAT..SUN is the weekend
        ("cron(0 22-2 * * ? *)", utc(2026, 1, 1, 2, 30), utc(2026, 1, 1, 22)),
        # years
        ("cron(0 12 1 1 ? 2027,2029)", utc(2027, 6, 1), utc(2029, 1, 1, 12)),
        ("cron(0 12 1 1 ? 2020/3)", utc(2026, 1, 1), utc(2026, 1, 1, 12)),  # 2020, 2023, 2026, 2029, ...
        ("cron(0 12 1 1 ? 2020/3)", utc(2026, 1, 1, 12), utc(2029, 1, 1, 12)),
        ("cron(0 0 1 JAN ? 2030-2031)", utc(1990, 1, 1), utc(2030, 1, 1)),
        ("cron(59 23 31 12 ? *)", utc(2199, 12, 31, 23, 58), utc(2199, 12, 31, 23, 59)),
        # months
        ("cron(0 0 1 JAN,APR,JUL,OCT ? *)", utc(2026, 1, 1), utc(2026, 4, 1)),
        ("cron(0 0 1 */5 ? *)", utc(2026, 1, 1), utc(2026, 6, 1)),
        # Feb 29
        ("cron(0 0 29 2 ? *)", utc(2026, 3, 1), utc(2028, 2, 29)),
        ("cron(0 0 29 2 ? *)", utc(2096, 3, 1), utc(2104, 2, 29)),  # 2100 is not a leap year
    ],
)
def test_cron_next_occurrence(text: str, after: datetime, expected: datetime) -> None:
    assert next_of(text, after) == expected


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("cron(0 0 31 2 ? *)", utc(2026, 1, 1)),  # February 31st
        ("cron(0 0 30 2 ? *)", utc(1970, 1, 1)),
        ("cron(0 0 31 4,6,9,11 ? *)", utc(2026, 1, 1)),
        ("cron(0 0 ? 2 1#5 2026-2027)", utc(2026, 1, 1)),  # no fifth Sunday in those Februaries
        ("cron(0 0 * * ? 2020)", utc(2026, 1, 1)),  # year range exhausted
        ("cron(59 23 31 12 ? *)", utc(2199, 12, 31, 23, 59)),  # nothing after 2199
        ("cron(* * * * ? *)", utc(2200, 1, 1)),
    ],
)
def test_cron_that_never_fires_again_returns_none(text: str, after: datetime) -> None:
    assert next_of(text, after) is None


def test_sparse_and_impossible_crons_are_computed_without_scanning_minutes() -> None:
    """Field-by-field search: a never-firing cron costs ~230 years x 12 months of day computations, not minutes."""
    expressions = [parse_expression(t) for t in ("cron(0 0 31 2 ? *)", "cron(0 0 29 2 ? *)", "cron(0 0 ? 2 1#5 *)")]
    began = time.perf_counter()
    for _ in range(10):
        for expr in expressions:
            next_fire_time(expr, after=utc(1970, 1, 1), timezone="Europe/Berlin")
    assert time.perf_counter() - began < 1.0


def test_fifth_sunday_of_february_happens_in_leap_years_that_start_on_sunday() -> None:
    assert next_of("cron(0 0 ? 2 1#5 *)", utc(2026, 1, 1)) == utc(2032, 2, 29)


# ---------------------------------------------------------------------------------------------------------------
# cron(): daylight saving time ("skipped" in spring, "runs only once" in the fall)
# ---------------------------------------------------------------------------------------------------------------


def test_new_york_spring_forward_skips_the_missing_wall_time() -> None:
    # 2026-03-08: 02:00 EST -> 03:00 EDT; 02:30 does not exist that day.
    daily = all_of("cron(30 2 * * ? *)", utc(2026, 3, 7), utc(2026, 3, 10), "America/New_York")
    assert daily == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 9, 6, 30)]
    assert next_of("cron(30 2 * * ? *)", utc(2026, 3, 7, 12), "America/New_York") == utc(2026, 3, 9, 6, 30)


def test_new_york_fall_back_runs_the_repeated_wall_time_once() -> None:
    # 2026-11-01: 02:00 EDT -> 01:00 EST; 01:30 happens at 05:30 UTC and again at 06:30 UTC.
    daily = all_of("cron(30 1 * * ? *)", utc(2026, 10, 31, 12), utc(2026, 11, 2, 12), "America/New_York")
    assert daily == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


def test_new_york_fall_back_does_not_repeat_a_sub_hourly_cron() -> None:
    quarter_hours = all_of("cron(0/15 * * * ? *)", utc(2026, 11, 1, 4), utc(2026, 11, 1, 8), "America/New_York")
    local = [t.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") for t in quarter_hours]
    first_pass = ["00:15", "00:30", "00:45", "01:00", "01:15", "01:30", "01:45"]
    assert local == [*first_pass, "02:00", "02:15", "02:30", "02:45", "03:00"]
    assert quarter_hours[7] - quarter_hours[6] == timedelta(minutes=75)  # the repeated hour is not run again


def test_after_inside_the_repeated_hour_gives_the_next_new_wall_time() -> None:
    # 06:15 UTC is 01:15 EST, the second 01:15 of the day: 01:30 has already run (at 05:30 UTC).
    assert next_of("cron(30 * * * ? *)", utc(2026, 11, 1, 6, 15), "America/New_York") == utc(2026, 11, 1, 7, 30)


def test_berlin_spring_forward_skips_and_fall_back_runs_once() -> None:
    # 2026-03-29: 02:00 CET -> 03:00 CEST. 2026-10-25: 03:00 CEST -> 02:00 CET.
    spring = all_of("cron(30 2 * * ? *)", utc(2026, 3, 28, 12), utc(2026, 3, 31), "Europe/Berlin")
    assert spring == [utc(2026, 3, 30, 0, 30)]
    autumn = all_of("cron(30 2 * * ? *)", utc(2026, 10, 24, 12), utc(2026, 10, 26, 12), "Europe/Berlin")
    assert autumn == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_wall_times_around_the_gap_are_unaffected() -> None:
    hourly = all_of("cron(0 * * * ? *)", utc(2026, 3, 8, 5, 30), utc(2026, 3, 8, 8), "America/New_York")
    # 01:00 EST (06:00 UTC), then 02:00 does not exist, then 03:00 EDT (07:00 UTC), 04:00 EDT (08:00 UTC).
    assert hourly == [utc(2026, 3, 8, 6), utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)]


# ---------------------------------------------------------------------------------------------------------------
# start and end
# ---------------------------------------------------------------------------------------------------------------


def test_cron_occurrences_before_start_are_not_produced_and_start_itself_counts() -> None:
    start = utc(2026, 1, 10, 9)
    assert next_of("cron(0 9 * * ? *)", utc(2026, 1, 1), start=start) == start
    assert next_of("cron(0 9 * * ? *)", utc(2026, 1, 1), start=start + timedelta(seconds=1)) == utc(2026, 1, 11, 9)


def test_cron_occurrences_after_end_are_not_produced_and_end_itself_counts() -> None:
    end = utc(2026, 1, 3, 9)
    assert all_of("cron(0 9 * * ? *)", utc(2026, 1, 1), utc(2026, 2, 1), end=end) == [
        utc(2026, 1, 1, 9),
        utc(2026, 1, 2, 9),
        utc(2026, 1, 3, 9),
    ]
    assert next_of("cron(0 9 * * ? *)", end, end=end) is None


def test_cron_window_in_a_time_zone() -> None:
    occurrences = all_of(
        "cron(0 9 ? * MON-FRI *)",
        utc(2026, 1, 1),
        utc(2026, 12, 31),
        "Asia/Seoul",
        start=utc(2026, 1, 5),
        end=utc(2026, 1, 10),
    )
    assert occurrences == [utc(2026, 1, d, 0) for d in (5, 6, 7, 8, 9)]


def test_aware_datetimes_are_required() -> None:
    expr = parse_expression("cron(0 9 * * ? *)")
    naive = datetime(2026, 1, 1)
    with pytest.raises(ValueError, match="after must be a timezone-aware datetime"):
        next_fire_time(expr, after=naive)
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        next_fire_time(expr, after=utc(2026, 1, 1), start=naive)
    with pytest.raises(ValueError, match="until must be a timezone-aware datetime"):
        fire_times(expr, after=utc(2026, 1, 1), until=naive)


def test_results_are_utc_whatever_the_zone_of_after() -> None:
    after = datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("Asia/Seoul"))
    found = next_of("cron(30 * * * ? *)", after, "Europe/Berlin")
    assert found == utc(2026, 1, 1, 0, 30)
    assert found is not None
    assert found.tzinfo is UTC
