"""What the expression tests share: a UTC moment, a parsed cron, the next and all occurrences of a text."""

from __future__ import annotations

from datetime import UTC, datetime

from taskcore.expressions import CronExpression, fire_times, next_fire_time, parse_expression


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def cron(text: str) -> CronExpression:
    expr = parse_expression(text)
    assert isinstance(expr, CronExpression)
    return expr


def next_of(text: str, after: datetime, timezone: str = "UTC", **kwargs: datetime) -> datetime | None:
    return next_fire_time(parse_expression(text), after=after, timezone=timezone, **kwargs)


def all_of(text: str, after: datetime, until: datetime, timezone: str = "UTC", **kwargs: datetime) -> list[datetime]:
    return list(fire_times(parse_expression(text), after=after, until=until, timezone=timezone, **kwargs))
