"""EventBridge Scheduler schedule expressions, the grammar: what is accepted; what is refused, and the message why.

References for the expected behaviour: the EventBridge Scheduler User Guide ("Schedule types in EventBridge
Scheduler", including its "Daylight savings time" section), the CreateSchedule API reference (ScheduleExpression,
StartDate, EndDate) and the EventBridge cron expression reference.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskcore.expressions import AtExpression, Expression, ExpressionError, RateExpression, parse_expression
from tests.unit.expression_helpers import all_of, cron, utc

# ---------------------------------------------------------------------------------------------------------------
# Grammar: what is accepted
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "at(2030-01-01T09:00:00)",
        "at(2030-12-31T23:59:59)",
        "at(2028-02-29T00:00:00)",
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(1 day)",
        "rate(7 days)",
        "cron(0 9 * * ? *)",
        "cron(0 10 * * ? *)",
        "cron(15 12 * * ? *)",
        "cron(0 18 ? * MON-FRI *)",
        "cron(0 8 1 * ? *)",
        "cron(0/15 * * * ? *)",
        "cron(*/5 * * * ? *)",
        "cron(10-40/10 * * * ? *)",
        "cron(0/10 * ? * MON-FRI *)",
        "cron(0/5 8-17 ? * MON-FRI *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0 9 ? * MON#1 *)",
        "cron(15 10 ? * 6L 2022-2023)",
        "cron(15 10 ? * FRIL 2022-2030)",
        "cron(15 10 ? * monL *)",
        "cron(0 18 ? * L *)",
        "cron(0 18 L * ? *)",
        "cron(0 18 LW * ? *)",
        "cron(0 18 15W * ? *)",
        "cron(0 18 31W * ? *)",
        "cron(0 0 1 JAN,APR,JUL,OCT ? *)",
        "cron(30 0 1 JAN-APR,JUL-OCT/2,DEC ? *)",
        "cron(0 0 1 1-12/3 ? *)",
        "cron(0 1-7/2,11-23/2 * * ? *)",
        "cron(0,5 7/12 ? * 1,5,7 2020-2021,2028-2199)",
        "cron(0 12 1 1 ? 2020/3)",
        "cron(0 9 * * ? 1970-2199)",
        "cron(0 22-2 * * ? *)",
        "cron(0 9 ? * FRI-MON *)",
        "cron(0 9 ? * mon-fri *)",
        "cron(0 9 1 jan ? *)",
        "cron(0 09 01 01 ? *)",
        "cron(0  9 * * ?  *)",
    ],
)
def test_valid_expressions_are_accepted(text: str) -> None:
    expr = parse_expression(text)
    assert expr.kind in ("at", "rate", "cron")


def test_at_expression_keeps_its_wall_clock_time_and_seconds() -> None:
    expr = parse_expression("at(2030-01-01T09:00:30)")
    assert expr == AtExpression(datetime(2030, 1, 1, 9, 0, 30))
    assert expr.kind == "at"
    assert str(expr) == "at(2030-01-01T09:00:30)"


@pytest.mark.parametrize(
    ("text", "value", "unit", "interval"),
    [
        ("rate(1 minute)", 1, "minutes", timedelta(minutes=1)),
        ("rate(5 minutes)", 5, "minutes", timedelta(minutes=5)),
        ("rate(1 hour)", 1, "hours", timedelta(hours=1)),
        ("rate(2 hours)", 2, "hours", timedelta(hours=2)),
        ("rate(1 day)", 1, "days", timedelta(days=1)),
        ("rate(30 days)", 30, "days", timedelta(days=30)),
    ],
)
def test_rate_units_are_normalised_to_the_plural(text: str, value: int, unit: str, interval: timedelta) -> None:
    expr = parse_expression(text)
    assert isinstance(expr, RateExpression)
    assert (expr.kind, expr.value, expr.unit, expr.interval) == ("rate", value, unit, interval)
    assert expr.expression == text


@pytest.mark.parametrize(
    ("text", "canonical"), [("rate(1 minutes)", "rate(1 minute)"), ("rate(5 hour)", "rate(5 hours)")]
)
def test_rate_unit_number_need_not_agree_with_the_value_for_the_scheduler(text: str, canonical: str) -> None:
    """The Scheduler API reference lists minute|minutes|hour|hours|day|days with no agreement rule, and its User
    Guide writes rate(1 days); the singular-for-1 rule is legacy EventBridge rules'. The rendered form obeys both."""
    expr = parse_expression(text)
    assert isinstance(expr, RateExpression)
    assert expr.expression == canonical


def test_cron_fields_are_expanded() -> None:
    expr = cron("cron(0/15 9-17/4 ? JAN,JUL MON-FRI 2030-2032)")
    assert expr.kind == "cron"
    assert expr.minutes == (0, 15, 30, 45)
    assert expr.hours == (9, 13, 17)
    assert expr.days_of_month is None
    assert expr.months == (1, 7)
    assert expr.days_of_week is not None
    assert expr.days_of_week.days == (2, 3, 4, 5, 6)
    assert expr.years == (2030, 2031, 2032)
    assert str(expr) == "cron(0/15 9-17/4 ? JAN,JUL MON-FRI 2030-2032)"


@pytest.mark.parametrize(
    ("text", "minutes", "hours"),
    [
        ("cron(*/20 * * * ? *)", (0, 20, 40), tuple(range(24))),
        ("cron(5/20 0 * * ? *)", (5, 25, 45), (0,)),
        ("cron(10-40/10 0 * * ? *)", (10, 20, 30, 40), (0,)),
        ("cron(15/65 0 * * ? *)", (15,), (0,)),
        ("cron(50-10/5 22-2 * * ? *)", (0, 5, 10, 50, 55), (0, 1, 2, 22, 23)),
        ("cron(0,30,0 1,1 * * ? *)", (0, 30), (1,)),
    ],
)
def test_cron_steps_ranges_and_lists_expand_like_quartz(
    text: str, minutes: tuple[int, ...], hours: tuple[int, ...]
) -> None:
    expr = cron(text)
    assert (expr.minutes, expr.hours) == (minutes, hours)


def test_a_range_that_ends_below_its_start_wraps_around() -> None:
    expr = cron("cron(0 9 ? * FRI-MON *)")
    assert expr.days_of_week is not None
    assert expr.days_of_week.days == (1, 2, 6, 7)
    assert cron("cron(0 9 30-2 * ? *)").days_of_month == cron("cron(0 9 1,2,30,31 * ? *)").days_of_month


def test_star_in_one_day_field_with_question_mark_in_the_other_means_every_day() -> None:
    every_day = [utc(2026, 1, d, 9) for d in range(1, 8)]
    assert all_of("cron(0 9 * * ? *)", utc(2025, 12, 31, 9), utc(2026, 1, 7, 9)) == every_day
    assert all_of("cron(0 9 ? * * *)", utc(2025, 12, 31, 9), utc(2026, 1, 7, 9)) == every_day


# ---------------------------------------------------------------------------------------------------------------
# Grammar: what is refused, and the message says why
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # not an expression at all
        ("", "empty schedule expression"),
        ("every tuesday", "'every tuesday' is not a schedule expression; expected at("),
        ("0 9 * * ? *", "is not a schedule expression"),
        ("weekly(1)", "is not a schedule expression"),
        ("CRON(0 9 * * ? *)", "the keyword must be lower case"),
        ("cron (0 9 * * ? *)", "no space is allowed between 'cron' and '('"),
        ("cron(0 9 * * ? *", "missing the closing ')'"),
        ("cron(0 9 * * ? *) daily", "unexpected text after ')'"),
        (" rate(5 minutes)", "leading/trailing white space"),
        # cron: field count
        ("cron(0 9 * *)", "expected 6 fields (minutes hours day-of-month month day-of-week year), got 4"),
        ("cron(0 9 * * ?)", "got 5; AWS cron has a year field"),
        ("cron(0 0 9 * * ? *)", "got 7; AWS cron has no seconds field"),
        ("cron()", "got 0"),
        # cron: the two day fields
        ("cron(0 9 * * * *)", "day-of-month and day-of-week cannot both be set; use '?' in one of them"),
        ("cron(0 9 1 * MON *)", "day-of-month and day-of-week cannot both be set; use '?' in one of them"),
        ("cron(0 9 ? * ? *)", "day-of-month and day-of-week cannot both be '?'"),
        ("cron(0 ? * * ? *)", "hours '?': '?' is only allowed in day-of-month or day-of-week"),
        ("cron(0 9 1 * ?,MON *)", "day-of-week '?,MON': '?' must stand alone"),
        ("at(\uff12\uff10\uff13\uff10-01-01T09:00:00)", "expected at(yyyy-mm-ddThh:mm:ss)"),  # full-width digits
        # cron: out-of-range values
        ("cron(60 9 * * ? *)", "minutes value 60 is out of range 0-59"),
        ("cron(0 24 * * ? *)", "hours value 24 is out of range 0-23"),
        ("cron(0 9 0 * ? *)", "day-of-month value 0 is out of range 1-31"),
        ("cron(0 9 32 * ? *)", "day-of-month value 32 is out of range 1-31"),
        ("cron(0 9 1 13 ? *)", "month value 13 is out of range 1-12"),
        ("cron(0 9 ? * 8 *)", "day-of-week value 8 is out of range 1-7"),
        ("cron(0 9 ? * 0 *)", "day-of-week value 0 is out of range 1-7"),
        ("cron(0 9 * * ? 1969)", "year value 1969 is out of range 1970-2199"),
        ("cron(0 9 * * ? 2200)", "year value 2200 is out of range 1970-2199"),
        ("cron(0 9 32W * ? *)", "day-of-month value 32 is out of range 1-31"),
        # cron: names
        ("cron(0 9 1 JANUARY ? *)", "unknown month name 'JANUARY'; use JAN-DEC or 1-12"),
        ("cron(0 9 1 JAN-DECEMBER ? *)", "unknown month name 'DECEMBER'"),
        ("cron(0 9 ? * MONDAY *)", "unknown day-of-week name 'MONDAY'; use SUN-SAT or 1-7 (1 = SUN)"),
        ("cron(0 9 ? * MON-FRY *)", "unknown day-of-week name 'FRY'"),
        ("cron(x 9 * * ? *)", "minutes 'x': 'x' is not allowed in this field"),
        ("cron(0 9 1 JAN1 ? *)", "'JAN1' is not a valid month value (expected JAN-DEC or 1-12)"),
        # cron: steps, ranges and lists
        ("cron(*/0 9 * * ? *)", "minutes '*/0': bad step '*/0': the increment after '/' must be a positive integer"),
        ("cron(0/ 9 * * ? *)", "bad step '0/'"),
        ("cron(/5 9 * * ? *)", "bad step '/5': '/' needs a start before it"),
        ("cron(*/x 9 * * ? *)", "minutes '*/x': 'x' is not allowed"),
        ("cron(0/5/2 9 * * ? *)", "bad step '0/5/2'"),
        ("cron(0 9 ? * MON/2 *)", "day-of-week 'MON/2': '/' is not allowed in this field"),
        ("cron(5- 9 * * ? *)", "minutes '5-': incomplete range '5-'"),
        ("cron(-5 9 * * ? *)", "incomplete range '-5'"),
        ("cron(1-2-3 9 * * ? *)", "incomplete range '1-2-3'"),
        ("cron(1,,2 9 * * ? *)", "minutes '1,,2': empty item in the list"),
        ("cron(*,5 9 * * ? *)", "'*' cannot be combined with other values in a list"),
        ("cron(0 9 * * ? 2030-2020)", "the year range '2030-2020' runs backwards"),
        # cron: # and L and W
        ("cron(0 9 ? * 2#6 *)", "day-of-week '2#6': the occurrence after '#' must be 1-5"),
        ("cron(0 9 ? * 2#0 *)", "the occurrence after '#' must be 1-5"),
        ("cron(0 9 ? * 2# *)", "the occurrence after '#' must be 1-5"),
        ("cron(0 9 ? * #2 *)", "'#' must join a single weekday and an occurrence"),
        ("cron(0 9 ? * 8#1 *)", "day-of-week value 8 is out of range 1-7"),
        ("cron(0 9 ? * 3#1,6#3 *)", "with '#' the field holds a single expression"),
        ("cron(0 9 ? * 2-3#1 *)", "'#' must join a single weekday and an occurrence"),
        ("cron(0 9 1#2 * ? *)", "day-of-month '1#2': '#' is not allowed in this field"),
        ("cron(0 9 3L * ? *)", "day-of-month '3L': 'L' stands alone (the last day of the month) or as 'LW'"),
        ("cron(0 9 L-3 * ? *)", "'L-n' offsets are not part of the AWS cron syntax"),
        ("cron(0 9 L,15 * ? *)", "'L' stands alone"),
        ("cron(0 9 ? * L-2 *)", "'L-n' offsets are not part of the AWS cron syntax"),
        ("cron(0 9 ? * 6L,2 *)", "'L' cannot be combined with lists or ranges"),
        ("cron(0 9 ? * L6 *)", "'L' must follow a single weekday"),
        ("cron(0 9 ? * 9L *)", "day-of-week value 9 is out of range 1-7"),
        ("cron(0 9 W * ? *)", "'W' must follow a single day number"),
        ("cron(0 9 1-5W * ? *)", "'W' must follow a single day number"),
        ("cron(0 9 W15 * ? *)", "'W' must come last"),
        ("cron(0 9 ? * 1W *)", "day-of-week '1W': 'W' is not allowed in this field"),
        ("cron(0 9 ? * MON-FRIL *)", "day-of-week 'MON-FRIL': 'L' cannot be combined"),
        ("cron(L 9 * * ? *)", "minutes 'L': 'L' is not allowed in this field"),
        ("cron(0 9 * L ? *)", "month 'L': 'L' is not allowed in this field"),
        ("cron(0 9 * * ? 2030L)", "year '2030L': 'L' is not allowed"),
        # at()
        ("at(2030-02-30T09:00:00)", "day 30 is out of range: February 2030 has 28 days"),
        ("at(2030-02-29T09:00:00)", "February 2030 has 28 days"),
        ("at(2030-13-01T09:00:00)", "month 13 is out of range 01-12"),
        ("at(2030-01-01T24:00:00)", "hour 24 is out of range 00-23"),
        ("at(2030-01-01T09:60:00)", "minute 60 is out of range 00-59"),
        ("at(2030-01-01T09:00:60)", "second 60 is out of range 00-59"),
        ("at(2030-01-01T09:00)", "the seconds are required"),
        ("at(2030-01-01T09:00:00Z)", "no 'Z' or UTC offset; the time zone is given separately"),
        ("at(2030-01-01T09:00:00+09:00)", "no 'Z' or UTC offset"),
        ("at(2030-01-01T09:00:00.5)", "at() takes whole seconds"),
        ("at(2030-01-01 09:00:00)", "expected at(yyyy-mm-ddThh:mm:ss)"),
        ("at(tomorrow)", "expected at(yyyy-mm-ddThh:mm:ss)"),
        ("at(0000-01-01T09:00:00)", "year 0000 is not a valid year"),
        # rate()
        ("rate(0 minutes)", "rate(0 minutes): the value must be a positive integer, got 0"),
        ("rate(-5 minutes)", "the value must be a positive integer, got '-5'"),
        ("rate(1.5 hours)", "the value must be a positive integer, got '1.5'"),
        (
            "rate(5 weeks)",
            "unknown unit 'weeks'; use minute(s), hour(s) or day(s) (for weeks use days, e.g. rate(35 days))",
        ),
        ("rate(30 seconds)", "the smallest unit is the minute"),
        ("rate(1 month)", "for calendar months or years use cron"),
        ("rate(5 Minutes)", "units are lower case"),
        ("rate(5)", "expected rate(value unit)"),
        ("rate(5 minutes please)", "expected rate(value unit)"),
        ("rate(999999999999999 days)", "is too large"),
    ],
)
def test_invalid_expressions_are_rejected_with_a_precise_message(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse_expression(text)
    assert message in str(raised.value)


def test_cron_with_both_day_fields_set_is_rejected() -> None:
    with pytest.raises(ExpressionError) as raised:
        parse_expression("cron(0 9 * * MON *)")
    assert str(raised.value) == (
        "cron(0 9 * * MON *): day-of-month and day-of-week cannot both be set; use '?' in one of them"
    )


def test_expression_error_is_a_value_error() -> None:
    assert issubclass(ExpressionError, ValueError)


def test_a_non_string_is_rejected() -> None:
    with pytest.raises(ExpressionError, match="must be a string, not int"):
        parse_expression(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["at(2030-01-01T09:00:00)", "rate(1 hour)", "rate(3 days)", "cron(0 9 ? * MON-FRI *)"])
def test_str_of_an_expression_is_its_canonical_text(text: str) -> None:
    assert str(parse_expression(text)) == text


_JUNK = st.text(alphabet="0123456789*?/,-#LW JANFEBMONSUTDEYcronatre():T", max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_JUNK, _JUNK.map(lambda s: f"cron({s})"), _JUNK.map(lambda s: f"rate({s})")))
def test_any_text_either_parses_or_raises_expression_error(text: str) -> None:
    parsed: Expression | None = None
    with contextlib.suppress(ExpressionError):  # anything else escapes and fails the test
        parsed = parse_expression(text)
    if parsed is not None:
        assert parse_expression(parsed.expression) == parsed  # the rendered form parses back to the same schedule
