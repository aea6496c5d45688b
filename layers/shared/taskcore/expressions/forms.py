"""The parsed forms of EventBridge Scheduler's three expressions, and the error that refuses one.

`taskcore.expressions.grammar` makes them from text; the rules each form follows are in the package's
docstring (`taskcore.expressions`).
"""

from __future__ import annotations

import calendar
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal, TypeAlias

MIN_YEAR = 1970
MAX_YEAR = 2199


class ExpressionError(ValueError):
    """A schedule expression or time zone that EventBridge Scheduler would refuse; the message says why."""


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
