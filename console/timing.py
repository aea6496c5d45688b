"""A task's next fire times, from taskcore's own expression engine (the API's and the dispatcher's), and how the
console writes a moment: to the second, with its zone, and how far off it is ("in 3 min", "2 min ago")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from taskcore.expressions import ExpressionError, next_fire_time, parse_expression, parse_timezone


@dataclass(frozen=True)
class FireTime:
    """One occurrence, on the schedule's wall clock and in UTC."""

    local: datetime
    utc: datetime


def instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def next_fire_times(task: Mapping[str, Any], *, now: datetime, count: int = 5) -> list[FireTime]:
    """The next `count` occurrences after `now` (fewer when the schedule ends); raises ExpressionError."""
    expression = task.get("expression")
    if not isinstance(expression, str):
        raise ExpressionError("the API gave no expression for this task")
    zone_name = task.get("timezone") or "UTC"
    zone: ZoneInfo = parse_timezone(str(zone_name))
    parsed = parse_expression(expression)
    found: list[FireTime] = []
    after = now
    while len(found) < count:
        moment = next_fire_time(
            parsed,
            after=after,
            timezone=zone,
            start=instant(task.get("start_at")),
            end=instant(task.get("end_at")),
            created_at=instant(task.get("created_at")),
        )
        if moment is None:
            break
        found.append(FireTime(moment.astimezone(zone), moment.astimezone(UTC)))
        after = moment
    return found


def wall_clock(value: Any, zone_name: str) -> str:
    """An instant as a `datetime-local` value on `zone_name`'s wall clock (2030-01-01T09:00:00), '' when none."""
    moment = instant(value)
    if moment is None:
        return ""
    return moment.astimezone(parse_timezone(zone_name or "UTC")).strftime("%Y-%m-%dT%H:%M:%S")


def relative(moment: datetime, now: datetime) -> str:
    """How far `moment` is from `now`: "in 45 s", "3 min ago", "in 2 h 5 min", "in 3 days"."""
    seconds = round((moment - now).total_seconds())
    size = abs(seconds)
    if size < 1:
        return "now"
    if size < 60:
        amount = f"{size} s"
    elif size < 3600:
        amount = f"{size // 60} min"
    elif size < 2 * 86400:
        hours, minutes = divmod(size // 60, 60)
        amount = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    else:
        amount = f"{size // 86400} days"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def moment_text(value: Any, now: datetime) -> tuple[str, str, str] | None:
    """(ISO 8601 in UTC, "2026-12-07 12:51:51 UTC", "in 3 min") for an API time; None when it is not one."""
    moment = instant(value)
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc.strftime("%Y-%m-%d %H:%M:%S UTC"), relative(utc, now)
