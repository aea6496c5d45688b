"""The cron grammar: six fields, each checked character by character and expanded, refused with a message that says why.

`parse_cron` is what `taskcore.expressions.grammar.parse_expression` calls for ``cron(...)``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from taskcore.expressions.forms import MAX_YEAR, MIN_YEAR, CronExpression, DaysOfMonth, DaysOfWeek, ExpressionError

#: A whole number, as every numeric token of the three forms is written.
DIGITS = re.compile(r"[0-9]+")
_MONTH_NAMES = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    allowed: str  # the special characters the field accepts, as the AWS table lists them
    names: dict[str, int] | None = None
    name_hint: str = ""

    def value(self, token: str, fail: _Fail) -> int:
        if DIGITS.fullmatch(token):
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


def parse_cron(text: str, body: str) -> CronExpression:
    """``cron(body)`` parsed, or :class:`ExpressionError` naming the field and what is wrong with it."""
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
    if not step_text or not DIGITS.fullmatch(step_text) or int(step_text) == 0:
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
        if not DIGITS.fullmatch(number):
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
    if not DIGITS.fullmatch(nth_text) or not 1 <= int(nth_text) <= 5:
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
