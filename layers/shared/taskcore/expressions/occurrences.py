"""When an expression fires: the next occurrence, or every occurrence in a window, in the schedule's zone."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from taskcore.expressions.forms import MAX_YEAR, AtExpression, CronExpression, Expression, RateExpression
from taskcore.expressions.zones import _require_aware, local_to_utc, parse_timezone


def next_fire_time(
    expr: Expression,
    *,
    after: datetime,
    timezone: str | ZoneInfo = "UTC",
    start: datetime | None = None,
    end: datetime | None = None,
    created_at: datetime | None = None,
) -> datetime | None:
    """The first occurrence strictly after ``after``, as an aware UTC datetime; ``None`` when there is none.

    ``after``, ``start``, ``end`` and ``created_at`` must be timezone-aware. ``timezone`` is the schedule's IANA
    zone, on whose wall clock ``cron`` and ``at`` are read. ``start``/``end`` bound a recurring schedule's
    occurrences (inclusive) and are ignored by ``at()``, as EventBridge Scheduler ignores them for one-time
    schedules. ``created_at`` anchors ``rate()`` when there is no ``start`` (see the module docstring); other forms
    ignore it. ``None`` means: ``at()`` is not after ``after`` (or its wall time does not exist in the zone), the
    end date has passed, or a cron's years are exhausted (nothing fires after 2199).
    """
    zone = timezone if isinstance(timezone, ZoneInfo) else parse_timezone(timezone)
    _require_aware(after, "after")
    for value, name in ((start, "start"), (end, "end"), (created_at, "created_at")):
        if value is not None:
            _require_aware(value, name)
    return _next(expr, after, zone, start, end, created_at)


def fire_times(
    expr: Expression,
    *,
    after: datetime,
    until: datetime,
    timezone: str | ZoneInfo = "UTC",
    start: datetime | None = None,
    end: datetime | None = None,
    created_at: datetime | None = None,
) -> Iterator[datetime]:
    """Every occurrence in ``(after, until]``, ascending, as aware UTC datetimes (see :func:`next_fire_time`)."""
    zone = timezone if isinstance(timezone, ZoneInfo) else parse_timezone(timezone)
    _require_aware(after, "after")
    _require_aware(until, "until")
    for value, name in ((start, "start"), (end, "end"), (created_at, "created_at")):
        if value is not None:
            _require_aware(value, name)
    return _fire_times(expr, after, until, zone, start, end, created_at)


def _fire_times(
    expr: Expression,
    after: datetime,
    until: datetime,
    zone: ZoneInfo,
    start: datetime | None,
    end: datetime | None,
    created_at: datetime | None,
) -> Iterator[datetime]:
    if isinstance(expr, RateExpression):
        # rate() occurrences are anchored: keep the anchor fixed however the window moves.
        created_at = _rate_anchor(after, start, created_at)
    cursor = after
    while True:
        found = _next(expr, cursor, zone, start, end, created_at)
        if found is None or found > until:
            return
        yield found
        cursor = found


def _next(
    expr: Expression,
    after: datetime,
    zone: ZoneInfo,
    start: datetime | None,
    end: datetime | None,
    created_at: datetime | None,
) -> datetime | None:
    after = after.astimezone(UTC)
    if isinstance(expr, AtExpression):
        moment = local_to_utc(expr.moment, zone)
        return moment if moment is not None and moment > after else None
    if isinstance(expr, RateExpression):
        anchor = _rate_anchor(after, start, created_at).astimezone(UTC)
        interval = expr.interval
        try:
            found = anchor if after < anchor else anchor + ((after - anchor) // interval + 1) * interval
        except OverflowError:  # past datetime.max
            return None
    else:
        floor = after
        if start is not None and start.astimezone(UTC) > after:
            floor = start.astimezone(UTC) - timedelta(microseconds=1)  # an occurrence at start itself counts
        found_or_none = _next_cron(expr, zone, floor)
        if found_or_none is None:
            return None
        found = found_or_none
    if end is not None and found > end:
        return None
    return found


def _rate_anchor(after: datetime, start: datetime | None, created_at: datetime | None) -> datetime:
    """The first occurrence of a rate(): the start, else the creation, in whole seconds (rounded up)."""
    anchor = start if start is not None else created_at
    if anchor is None:
        return after
    whole = anchor.replace(microsecond=0)
    return whole if whole == anchor else whole + timedelta(seconds=1)


def _next_cron(cron: CronExpression, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first cron occurrence strictly after the aware ``after``: the next matching wall-clock minute that
    exists in ``zone`` (a skipped wall time is passed over) and, read at its first instant, lies after ``after``
    (so a repeated wall time runs once)."""
    if after.year > MAX_YEAR:
        return None
    cursor = after.astimezone(zone).replace(tzinfo=None)
    while True:
        wall = _next_wall_time(cron, cursor)
        if wall is None:
            return None
        found = local_to_utc(wall, zone)
        if found is not None and found > after:
            return found
        cursor = wall


def _next_wall_time(cron: CronExpression, after: datetime) -> datetime | None:
    """The first naive wall-clock minute strictly after the naive ``after`` that matches every field.

    Searches field by field (year, month, day, hour, minute), so it never walks minute by minute: at most
    230 years x 12 months of cheap day computations when nothing matches (e.g. February 31st).
    """
    t = after.replace(second=0, microsecond=0, fold=0) + timedelta(minutes=1)  # callers stop past MAX_YEAR
    for year in _at_least(cron.years, t.year):
        in_first_year = year == t.year
        for month in _at_least(cron.months, t.month if in_first_year else 1):
            start = t if in_first_year and month == t.month else datetime(year, month, 1)
            found = _first_in_month(cron, start)
            if found is not None:
                return found
    return None


def _first_in_month(cron: CronExpression, start: datetime) -> datetime | None:
    """The first matching minute at or after ``start``, within ``start``'s month."""
    for day in cron.days_in(start.year, start.month):
        if day < start.day:
            continue
        in_first_day = day == start.day
        for hour in _at_least(cron.hours, start.hour if in_first_day else 0):
            in_first_hour = in_first_day and hour == start.hour
            for minute in _at_least(cron.minutes, start.minute if in_first_hour else 0):
                return datetime(start.year, start.month, day, hour, minute)
    return None


def _at_least(values: tuple[int, ...], low: int) -> tuple[int, ...]:
    return values[bisect_left(values, low) :]
