"""The grammar of EventBridge Scheduler's three expressions: parsed into values, refused with a message that says why.

``at(...)`` and ``rate(...)`` are parsed here, ``cron(...)`` by `taskcore.expressions.cron`; the parsed forms are
in `taskcore.expressions.forms`. The rules each form follows are in the package's docstring (`taskcore.expressions`).
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta
from typing import Literal

from taskcore.expressions.cron import DIGITS, parse_cron
from taskcore.expressions.forms import AtExpression, Expression, ExpressionError, RateExpression

_FORMS = "at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(minutes hours day-of-month month day-of-week year)"
_MONTH_FULL = {i: name for i, name in enumerate(calendar.month_name) if name}
_AT_BODY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})")
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
    return parse_cron(text, body)


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
    if not DIGITS.fullmatch(value_text):
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
