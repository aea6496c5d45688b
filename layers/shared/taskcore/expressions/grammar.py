"""The grammar of EventBridge Scheduler's three expressions: parsed into values, refused with a message that says why.

The rules each form follows are in the package's docstring (`taskcore.expressions`).
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal, TypeAlias

MIN_YEAR = 1970
MAX_YEAR = 2199

_FORMS = "at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(minutes hours day-of-month month day-of-week year)"
_MONTH_NAMES = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTH_FULL = {i: name for i, name in enumerate(calendar.month_name) if name}


class ExpressionError(ValueError):
    """A schedule expression or time zone that EventBridge Scheduler would refuse; the message says why."""


# --------------------------------------------------------------------------------------------------------------
# The parsed forms
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AtExpression:
    """``at(yyyy-mm-ddThh:mm:ss)``: fires once, at ``moment`` on the wall clock of the schedule's time zone."""

    moment: datetime  # naive wall-clock time, in the schedule's timezone; whole seconds
    kind: Literal["at"] = field(default="at", init=False)

    @property
    def expression(self) -> str:
        """The canonical text, e.g. ``at(2030-01-01T09:00:00)``: what to send as ``ScheduleExpression``."""
        return _format_naive_at(self.moment)

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class RateExpression:
    """``rate(value unit)``: fires every ``value`` ``unit`` of absolute time (a day is 24 hours)."""

    value: int
    unit: Literal["minutes", "hours", "days"]  # normalised to the plural
    kind: Literal["rate"] = field(default="rate", init=False)

    @property
    def interval(self) -> timedelta:
        return timedelta(**{self.unit: self.value})

    @property
    def expression(self) -> str:
        """``rate(1 minute)`` / ``rate(5 minutes)``: valid for EventBridge Scheduler and for EventBridge rules."""
        return f"rate({self.value} {self.unit[:-1] if self.value == 1 else self.unit})"

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class DaysOfMonth:
    """The day-of-month field (when it is not ``?``): plain days, ``L``, ``LW`` or ``nW``."""

    days: tuple[int, ...] = ()  # 1..31, sorted; a day the month lacks never matches
    last_day: bool = False  # L
    last_weekday: bool = False  # LW
    nearest_weekday: int | None = None  # nW: the weekday nearest day n, within the month

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        """The days of ``year``-``month`` that this field selects, ascending."""
        length = calendar.monthrange(year, month)[1]
        if self.last_day:
            return (length,)
        if self.last_weekday:
            return (_nearest_weekday(year, month, length, length),)
        if self.nearest_weekday is not None:
            if self.nearest_weekday > length:
                return ()
            return (_nearest_weekday(year, month, self.nearest_weekday, length),)
        return self.days[: bisect_left(self.days, length + 1)]


@dataclass(frozen=True)
class DaysOfWeek:
    """The day-of-week field (when it is not ``?``), 1 = SUN ... 7 = SAT: plain days, ``dL`` or ``d#n``."""

    days: tuple[int, ...] = ()  # 1..7, sorted
    last_of_month: int | None = None  # dL: the last such weekday of the month
    nth: tuple[int, int] | None = None  # (d, n) for d#n: the n-th such weekday of the month

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        """The days of ``year``-``month`` that this field selects, ascending."""
        length = calendar.monthrange(year, month)[1]
        first_dow = _aws_weekday(date(year, month, 1))

        def first(dow: int) -> int:
            return 1 + (dow - first_dow) % 7

        if self.last_of_month is not None:
            day = first(self.last_of_month)
            return (day + 7 * ((length - day) // 7),)
        if self.nth is not None:
            dow, n = self.nth
            day = first(dow) + 7 * (n - 1)
            return (day,) if day <= length else ()
        return tuple(sorted(d for dow in self.days for d in range(first(dow), length + 1, 7)))


@dataclass(frozen=True)
class CronExpression:
    """``cron(minutes hours day-of-month month day-of-week year)``, each field expanded.

    Exactly one of ``days_of_month`` and ``days_of_week`` is ``None`` (the field written ``?``).
    """

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: DaysOfMonth | None
    months: tuple[int, ...]
    days_of_week: DaysOfWeek | None
    years: tuple[int, ...]
    fields: str  # the six fields as written, single-spaced
    kind: Literal["cron"] = field(default="cron", init=False)

    @property
    def expression(self) -> str:
        """The canonical text (fields single-spaced, as written): what to send as ``ScheduleExpression``."""
        return f"cron({self.fields})"

    def __str__(self) -> str:
        return self.expression

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        """The days of ``year``-``month`` on which this expression fires (before hours and minutes)."""
        return _days_in(self.days_of_month or self.days_of_week, year, month)


@lru_cache(maxsize=4096)
def _days_in(rule: DaysOfMonth | DaysOfWeek | None, year: int, month: int) -> tuple[int, ...]:
    if rule is None:  # the parser sets exactly one of the two day fields
        raise ValueError("a cron expression needs a day-of-month or a day-of-week rule")
    return rule.days_in(year, month)


Expression: TypeAlias = AtExpression | RateExpression | CronExpression


# --------------------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------------------

_AT_BODY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})")
_DIGITS = re.compile(r"[0-9]+")
_RATE_UNITS: dict[str, Literal["minutes", "hours", "days"]] = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
}


def parse_expression(text: str) -> Expression:
    """Parse and validate an EventBridge Scheduler schedule expression; raise :class:`ExpressionError` if invalid."""
    if not isinstance(text, str):
        raise ExpressionError(f"a schedule expression must be a string, not {type(text).__name__}")
    if not text.strip():
        raise ExpressionError(f"empty schedule expression; expected {_FORMS}")
    if text != text.strip():
        raise ExpressionError(f"{text!r}: remove the leading/trailing white space")
    keyword, body = _keyword_and_body(text)
    if keyword == "at":
        return _parse_at(text, body)
    if keyword == "rate":
        return _parse_rate(text, body)
    return _parse_cron(text, body)


def _keyword_and_body(text: str) -> tuple[str, str]:
    """``at``, ``rate`` or ``cron`` and what stands between its parentheses."""
    keyword, paren, _ = text.partition("(")
    if not paren or keyword.strip() not in ("at", "rate", "cron"):
        if paren and keyword.strip().lower() in ("at", "rate", "cron"):
            raise ExpressionError(f"{text}: the keyword must be lower case: '{keyword.strip().lower()}(...)'")
        raise ExpressionError(f"{text!r} is not a schedule expression; expected {_FORMS}")
    if keyword != keyword.strip():
        raise ExpressionError(f"{text}: no space is allowed between '{keyword.strip()}' and '('")
    if not text.endswith(")"):
        if ")" in text:
            raise ExpressionError(f"{text}: unexpected text after ')'")
        raise ExpressionError(f"{text}: missing the closing ')'")
    body = text[len(keyword) + 1 : -1]
    if "(" in body or ")" in body:
        raise ExpressionError(f"{text}: unbalanced parentheses; expected one '{keyword}(...)'")
    return keyword, body


def _parse_at(text: str, body: str) -> AtExpression:
    match = _AT_BODY.fullmatch(body)
    if match is None:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})", body, re.ASCII):
            raise ExpressionError(
                f"{text}: at() takes a wall-clock time with no 'Z' or UTC offset; the time zone is given "
                "separately (ScheduleExpressionTimezone, default UTC)"
            )
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+", body, re.ASCII):
            raise ExpressionError(f"{text}: at() takes whole seconds, e.g. at(2030-01-01T09:00:00)")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", body, re.ASCII):
            raise ExpressionError(
                f"{text}: the seconds are required: yyyy-mm-ddThh:mm:ss, e.g. at(2030-01-01T09:00:00)"
            )
        raise ExpressionError(f"{text}: expected at(yyyy-mm-ddThh:mm:ss), e.g. at(2030-01-01T09:00:00)")
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    if year < 1:
        raise ExpressionError(f"{text}: year {year:04d} is not a valid year")
    if not 1 <= month <= 12:
        raise ExpressionError(f"{text}: month {month:02d} is out of range 01-12")
    length = calendar.monthrange(year, month)[1]
    if not 1 <= day <= length:
        raise ExpressionError(f"{text}: day {day:02d} is out of range: {_MONTH_FULL[month]} {year} has {length} days")
    if hour > 23:
        raise ExpressionError(f"{text}: hour {hour:02d} is out of range 00-23")
    if minute > 59:
        raise ExpressionError(f"{text}: minute {minute:02d} is out of range 00-59")
    if second > 59:
        raise ExpressionError(f"{text}: second {second:02d} is out of range 00-59")
    return AtExpression(datetime(year, month, day, hour, minute, second))


def _parse_rate(text: str, body: str) -> RateExpression:
    parts = body.split()
    if len(parts) != 2:
        raise ExpressionError(f"{text}: expected rate(value unit), e.g. rate(5 minutes)")
    value_text, unit_text = parts
    if not _DIGITS.fullmatch(value_text):
        raise ExpressionError(f"{text}: the value must be a positive integer, got {value_text!r}")
    value = int(value_text)
    if value == 0:
        raise ExpressionError(f"{text}: the value must be a positive integer, got 0")
    unit = _RATE_UNITS.get(unit_text)
    if unit is None:
        hint = ""
        lowered = unit_text.lower()
        if lowered in _RATE_UNITS:
            hint = f" (units are lower case: '{lowered}')"
        elif lowered in ("week", "weeks"):
            hint = f" (for weeks use days, e.g. rate({value * 7} days))"
        elif lowered in ("second", "seconds", "sec", "secs", "s"):
            hint = " (the smallest unit is the minute)"
        elif lowered in ("month", "months", "year", "years"):
            hint = " (for calendar months or years use cron(...))"
        raise ExpressionError(f"{text}: unknown unit {unit_text!r}; use minute(s), hour(s) or day(s){hint}")
    try:
        timedelta(**{unit: value})
    except OverflowError:
        raise ExpressionError(f"{text}: the value {value} is too large") from None
    return RateExpression(value, unit)


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    allowed: str  # the special characters the field accepts, as the AWS table lists them
    names: dict[str, int] | None = None
    name_hint: str = ""

    def value(self, token: str, fail: _Fail) -> int:
        if _DIGITS.fullmatch(token):
            number = int(token)
            if not self.low <= number <= self.high:
                raise fail(f"{self.name} value {number} is out of range {self.low}-{self.high}")
            return number
        if self.names is not None and token.upper() in self.names:
            return self.names[token.upper()]
        expected = self.name_hint or f"{self.low}-{self.high}"
        raise fail(f"{token!r} is not a valid {self.name} value (expected {expected})")


class _Fail:
    """Builds an ExpressionError prefixed with the whole expression: ``raise fail(message)``."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, message: str) -> ExpressionError:
        return ExpressionError(f"{self.text}: {message}")


_MINUTES = _Field("minutes", 0, 59, ",-*/")
_HOURS = _Field("hours", 0, 23, ",-*/")
_DOM = _Field("day-of-month", 1, 31, ",-*?/LW")
_MONTHS = _Field("month", 1, 12, ",-*/", _MONTH_NAMES, "JAN-DEC or 1-12")
_DOW = _Field("day-of-week", 1, 7, ",-*?L#", _DAY_NAMES, "SUN-SAT or 1-7 (1 = SUN)")
_YEARS = _Field("year", MIN_YEAR, MAX_YEAR, ",-*/")
_FIELD_ORDER = "minutes hours day-of-month month day-of-week year"


def _parse_cron(text: str, body: str) -> CronExpression:
    fail = _Fail(text)
    parts = body.split()
    if len(parts) != 6:
        raise fail(f"expected 6 fields ({_FIELD_ORDER}), got {len(parts)}{_FIELD_COUNT_HINTS.get(len(parts), '')}")
    minutes_text, hours_text, dom_text, month_text, dow_text, year_text = parts
    for spec, part in ((_MINUTES, minutes_text), (_HOURS, hours_text), (_MONTHS, month_text), (_YEARS, year_text)):
        _check_characters(spec, part, fail)
    _check_day_fields(dom_text, dow_text, fail)
    return CronExpression(
        minutes=_parse_list(_MINUTES, minutes_text, fail),
        hours=_parse_list(_HOURS, hours_text, fail),
        days_of_month=None if dom_text == "?" else _parse_days_of_month(dom_text, fail),
        months=_parse_list(_MONTHS, month_text, fail),
        days_of_week=None if dow_text == "?" else _parse_days_of_week(dow_text, fail),
        years=_parse_list(_YEARS, year_text, fail),
        fields=" ".join(parts),
    )


_FIELD_COUNT_HINTS = {
    5: "; AWS cron has a year field (a Unix crontab has 5 fields): append ' *'",
    7: "; AWS cron has no seconds field",
}


def _check_day_fields(dom_text: str, dow_text: str, fail: _Fail) -> None:
    """Exactly one of day-of-month and day-of-week is set; the other is a lone '?'."""
    _check_characters(_DOM, dom_text, fail)
    _check_characters(_DOW, dow_text, fail)
    for spec, part in ((_DOM, dom_text), (_DOW, dow_text)):
        if "?" in part and part != "?":
            raise fail(f"{spec.name} {part!r}: '?' must stand alone")
    if dom_text == "?" and dow_text == "?":
        raise fail("day-of-month and day-of-week cannot both be '?'; set one of them (e.g. '*' in day-of-month)")
    if dom_text != "?" and dow_text != "?":
        raise fail("day-of-month and day-of-week cannot both be set; use '?' in one of them")


def _check_characters(spec: _Field, part: str, fail: _Fail) -> None:
    allowed = f"numbers and {' '.join(spec.allowed)}" + (
        f", or names {spec.name_hint.split(' or ')[0]}" if spec.names else ""
    )
    for char in part:
        if char.isascii() and (char.isalnum() or char in spec.allowed):
            continue
        if char == "?":
            raise fail(f"{spec.name} {part!r}: '?' is only allowed in day-of-month or day-of-week")
        raise fail(f"{spec.name} {part!r}: {char!r} is not allowed in this field (allowed: {allowed})")
    for run in re.findall(r"[A-Za-z]+", part):
        if _is_name(spec, run, fail):
            continue
        for char in run:
            if char.upper() not in spec.allowed:
                raise fail(f"{spec.name} {part!r}: {char!r} is not allowed in this field (allowed: {allowed})")


def _is_name(spec: _Field, run: str, fail: _Fail) -> bool:
    """Whether a run of letters is one of the field's names (``FRI``, or ``FRIL`` where 'L' is allowed).

    Three letters or more that are no name are refused here; shorter runs are special characters.
    """
    if spec.names is None:
        return False
    letters = run.upper()
    if letters in spec.names or ("L" in spec.allowed and letters.endswith("L") and letters[:-1] in spec.names):
        return True
    if len(letters) >= 3:
        raise fail(f"unknown {spec.name} name {run!r}; use {spec.name_hint}")
    return False


def _parse_list(spec: _Field, part: str, fail: _Fail) -> tuple[int, ...]:
    """A list of values, ranges and steps: ``5``, ``1,5``, ``1-5``, ``*``, ``*/5``, ``0/15``, ``10-40/10``."""
    items = part.split(",")
    values: set[int] = set()
    for item in items:
        if not item:
            raise fail(f"{spec.name} {part!r}: empty item in the list")
        if item == "*" and len(items) > 1:
            raise fail(f"{spec.name} {part!r}: '*' cannot be combined with other values in a list")
        values.update(_parse_item(spec, part, item, fail))
    return tuple(sorted(values))


def _parse_item(spec: _Field, part: str, item: str, fail: _Fail) -> list[int]:
    where = f"{spec.name} {part!r}"
    base, slash, step_text = item.partition("/")
    step = _step(where, item, base, step_text, fail) if slash else 1
    start, stop = _bounds(spec, where, base, fail, stepped=bool(slash))
    if stop < start:  # wraps around, as in Quartz: 22-2 hours is 22, 23, 0, 1, 2
        span = spec.high - spec.low + 1
        return [spec.low + (v - spec.low) % span for v in range(start, stop + span + 1, step)]
    return list(range(start, stop + 1, step))


def _step(where: str, item: str, base: str, step_text: str, fail: _Fail) -> int:
    """The increment after '/' (only where the field allows '/': _check_characters has refused it elsewhere)."""
    if not step_text or not _DIGITS.fullmatch(step_text) or int(step_text) == 0:
        raise fail(f"{where}: bad step {item!r}: the increment after '/' must be a positive integer")
    if not base:
        raise fail(f"{where}: bad step {item!r}: '/' needs a start before it ('*', a value or a range)")
    return int(step_text)


def _bounds(spec: _Field, where: str, base: str, fail: _Fail, *, stepped: bool) -> tuple[int, int]:
    """First and last value of ``*``, ``a-b`` or ``a`` (``a/n`` runs to the field's end)."""
    if base == "*":
        return spec.low, spec.high
    if "-" not in base:
        start = spec.value(base, fail)
        return start, spec.high if stepped else start
    first, _, last = base.partition("-")
    if not first or not last or "-" in last:
        raise fail(f"{where}: incomplete range {base!r}; write it as start-end, e.g. {spec.low}-{spec.high}")
    start, stop = spec.value(first, fail), spec.value(last, fail)
    if stop < start and spec is _YEARS:
        raise fail(f"{where}: the year range {base!r} runs backwards; write the earlier year first")
    return start, stop


def _parse_days_of_month(part: str, fail: _Fail) -> DaysOfMonth:
    where = f"day-of-month {part!r}"
    upper = part.upper()
    if upper.startswith("L-"):
        raise fail(f"{where}: 'L-n' offsets are not part of the AWS cron syntax; use 'L' (the last day of the month)")
    if upper == "L":
        return DaysOfMonth(last_day=True)
    if upper == "LW":
        return DaysOfMonth(last_weekday=True)
    if upper.endswith("W"):
        number = upper[:-1]
        if not _DIGITS.fullmatch(number):
            raise fail(
                f"{where}: 'W' must follow a single day number (e.g. '15W', the weekday nearest the 15th) or 'L'"
            )
        return DaysOfMonth(nearest_weekday=_DOM.value(number, fail))
    if "W" in upper:
        raise fail(f"{where}: 'W' must come last, after a single day number (e.g. '15W') or 'L' ('LW')")
    if "L" in upper:
        raise fail(
            f"{where}: 'L' stands alone (the last day of the month) or as 'LW' (the last weekday); "
            "for the last <weekday> of the month use day-of-week, e.g. '6L' (last Friday)"
        )
    return DaysOfMonth(days=_parse_list(_DOM, part, fail))


def _parse_days_of_week(part: str, fail: _Fail) -> DaysOfWeek:
    where = f"day-of-week {part!r}"
    upper = part.upper()
    if "#" in upper:
        return _parse_nth_weekday(where, upper, fail)
    if "L" in upper:  # no weekday name holds an L
        return _parse_last_weekday(where, upper, fail)
    return DaysOfWeek(days=_parse_list(_DOW, part, fail))


def _parse_nth_weekday(where: str, upper: str, fail: _Fail) -> DaysOfWeek:
    """``d#n``: the n-th weekday d of the month."""
    if "," in upper:
        raise fail(f"{where}: with '#' the field holds a single expression ('3#1,6#3' is two)")
    day_text, _, nth_text = upper.partition("#")
    if not day_text or "-" in day_text or "*" in day_text or "L" in day_text or "#" in nth_text:
        raise fail(f"{where}: '#' must join a single weekday and an occurrence, e.g. '2#1' (first Monday)")
    if not _DIGITS.fullmatch(nth_text) or not 1 <= int(nth_text) <= 5:
        raise fail(f"{where}: the occurrence after '#' must be 1-5 (e.g. '2#1', the first Monday)")
    return DaysOfWeek(nth=(_DOW.value(day_text, fail), int(nth_text)))


def _parse_last_weekday(where: str, upper: str, fail: _Fail) -> DaysOfWeek:
    """``L`` (the last day of the week) or ``dL`` (the last weekday d of the month)."""
    if upper.startswith("L-"):
        raise fail(f"{where}: 'L-n' offsets are not part of the AWS cron syntax; use 'dL', e.g. '6L' (last Friday)")
    if upper == "L":
        return DaysOfWeek(days=(7,))
    if "," in upper or "-" in upper or "*" in upper:
        raise fail(f"{where}: 'L' cannot be combined with lists or ranges; use a single 'dL', e.g. '6L' (last Friday)")
    if not upper.endswith("L") or len(upper) < 2:
        raise fail(f"{where}: 'L' must follow a single weekday, e.g. '6L' or 'FRIL' (the last Friday of the month)")
    return DaysOfWeek(last_of_month=_DOW.value(upper[:-1], fail))


def _format_naive_at(moment: datetime) -> str:
    m = moment
    return f"at({m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d})"


def _aws_weekday(day: date) -> int:
    """AWS numbering: 1 = SUN, 2 = MON, ... 7 = SAT."""
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, day: int, length: int) -> int:
    """The weekday (Mon-Fri) nearest ``day`` without leaving the month (Quartz's ``W``)."""
    dow = _aws_weekday(date(year, month, day))
    if dow == 7:  # Saturday: the Friday before, or the Monday after when the 1st is a Saturday
        return day - 1 if day > 1 else day + 2
    if dow == 1:  # Sunday: the Monday after, or the Friday before when the last day is a Sunday
        return day + 1 if day < length else day - 2
    return day
