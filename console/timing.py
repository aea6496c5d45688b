"""A task's next fire times, from taskcore's own expression engine (the API's and the dispatcher's)."""

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


def _instant(value: Any) -> datetime | None:
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
            start=_instant(task.get("start_at")),
            end=_instant(task.get("end_at")),
            created_at=_instant(task.get("created_at")),
        )
        if moment is None:
            break
        found.append(FireTime(moment.astimezone(zone), moment.astimezone(UTC)))
        after = moment
    return found
