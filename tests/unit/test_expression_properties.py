"""EventBridge Scheduler schedule expressions, properties: generated crons and rates against an independent oracle.

References for the expected behaviour: the EventBridge Scheduler User Guide ("Schedule types in EventBridge
Scheduler", including its "Daylight savings time" section), the CreateSchedule API reference (ScheduleExpression,
StartDate, EndDate) and the EventBridge cron expression reference.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from taskcore.expressions import RateExpression, fire_times, local_to_utc, next_fire_time, parse_expression

# ---------------------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------------------

Field = tuple[str, frozenset[int]]


def _terms(low: int, high: int, *, steps: bool = True) -> st.SearchStrategy[Field]:
    """One list item and the values it means, written the ways AWS cron allows."""
    single = st.integers(low, high).map(lambda v: (str(v), frozenset({v})))
    span = st.tuples(st.integers(low, high), st.integers(low, high)).map(sorted)
    ranged = span.map(lambda ab: (f"{ab[0]}-{ab[1]}", frozenset(range(ab[0], ab[1] + 1))))
    if not steps:
        return st.one_of(single, ranged)
    increment = st.integers(1, high - low + 1)
    stepped = st.tuples(st.integers(low, high), increment).map(
        lambda vs: (f"{vs[0]}/{vs[1]}", frozenset(range(vs[0], high + 1, vs[1])))
    )
    star_stepped = increment.map(lambda s: (f"*/{s}", frozenset(range(low, high + 1, s))))
    range_stepped = st.tuples(span, increment).map(
        lambda r: (f"{r[0][0]}-{r[0][1]}/{r[1]}", frozenset(range(r[0][0], r[0][1] + 1, r[1])))
    )
    return st.one_of(single, ranged, stepped, star_stepped, range_stepped)


def _field(low: int, high: int, *, steps: bool = True) -> st.SearchStrategy[Field]:
    lists = st.lists(_terms(low, high, steps=steps), min_size=1, max_size=3).map(
        lambda items: (",".join(t for t, _ in items), frozenset().union(*(v for _, v in items)))
    )
    return st.one_of(st.just(("*", frozenset(range(low, high + 1)))), lists)


def _aws_dow(day: date) -> int:
    return {6: 1, 0: 2, 1: 3, 2: 4, 3: 5, 4: 6, 5: 7}[day.weekday()]


def _weekdays_in(year: int, month: int) -> list[int]:
    return [d for d in range(1, calendar.monthrange(year, month)[1] + 1) if date(year, month, d).weekday() < 5]


DayRule = tuple[str, str, Callable[[date], bool]]


def _plain_dom(field: Field) -> DayRule:
    return (field[0], "?", lambda d: d.day in field[1])


def _plain_dow(field: Field) -> DayRule:
    return ("?", field[0], lambda d: _aws_dow(d) in field[1])


def _nearest_weekday_rule(n: int) -> DayRule:
    def matches(d: date) -> bool:
        if n > calendar.monthrange(d.year, d.month)[1]:
            return False
        return d.day == min(_weekdays_in(d.year, d.month), key=lambda w: abs(w - n))

    return (f"{n}W", "?", matches)


def _last_of_month_rule(dow: int) -> DayRule:
    return ("?", f"{dow}L", lambda d: _aws_dow(d) == dow and (d + timedelta(days=7)).month != d.month)


def _nth_rule(dow: int, n: int) -> DayRule:
    return ("?", f"{dow}#{n}", lambda d: _aws_dow(d) == dow and (d.day - 1) // 7 + 1 == n)


_DAY_RULES: st.SearchStrategy[DayRule] = st.one_of(
    _field(1, 31).map(_plain_dom),
    _field(1, 7, steps=False).map(_plain_dow),
    st.just(("L", "?", lambda d: (d + timedelta(days=1)).month != d.month)),
    st.just(("LW", "?", lambda d: d.day == max(_weekdays_in(d.year, d.month)))),
    st.integers(1, 31).map(_nearest_weekday_rule),
    st.integers(1, 7).map(_last_of_month_rule),
    st.tuples(st.integers(1, 7), st.integers(1, 5)).map(lambda t: _nth_rule(*t)),
    st.just(("?", "L", lambda d: _aws_dow(d) == 7)),
)

_ZONES = st.sampled_from(
    ["UTC", "Asia/Seoul", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia"]
)
_AFTER = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC))


@dataclass(frozen=True)
class _Cron:
    """A generated cron expression and, independently, the values it means."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    day_matches: Callable[[date], bool]

    def __repr__(self) -> str:
        return self.text

    def matches_day(self, day: date) -> bool:
        return day.month in self.months and self.day_matches(day)


_MINUTES, _HOURS, _MONTHS = _field(0, 59), _field(0, 23), _field(1, 12)


@st.composite
def _crons(draw: st.DrawFn) -> _Cron:
    minutes, hours, months = draw(_MINUTES), draw(_HOURS), draw(_MONTHS)
    rule = draw(_DAY_RULES)
    text = f"cron({minutes[0]} {hours[0]} {rule[0]} {months[0]} {rule[1]} *)"
    return _Cron(text, minutes[1], hours[1], months[1], rule[2])


def _oracle_next(spec: _Cron, after: datetime, zone: ZoneInfo, horizon_days: int) -> datetime | None:
    """The first occurrence after `after` by brute force over days (within the horizon), from the spec alone."""
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(horizon_days):
        if spec.matches_day(day):
            for hour in sorted(spec.hours):
                for minute in sorted(spec.minutes):
                    wall = datetime(day.year, day.month, day.day, hour, minute)
                    found = local_to_utc(wall, zone)
                    if found is not None and found > after:
                        return found
        day += timedelta(days=1)
    return None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_crons(), after=_AFTER, zone_name=_ZONES)
@example(  # Samoa skipped 2011-12-30: the next local 10:00 is two UTC dates on (found by this test)
    spec=_Cron("cron(0 10 * * ? *)", frozenset({0}), frozenset({10}), frozenset(range(1, 13)), lambda d: True),
    after=datetime(2011, 12, 30, tzinfo=UTC),
    zone_name="Pacific/Apia",
)
def test_next_fire_time_is_the_first_matching_wall_time_after_after(
    spec: _Cron, after: datetime, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    found = next_fire_time(parse_expression(spec.text), after=after, timezone=zone_name)
    # 29 years hold every combination of weekday, month length and leap day that 2000-2099 can produce.
    # The oracle walks local days: give it a few more than the UTC dates span, since a zone can skip a
    # whole local day (Pacific/Apia went from 2011-12-29 to 2011-12-31).
    horizon = 29 * 366 if found is None else min((found.date() - after.date()).days + 5, 3 * 366)
    expected = _oracle_next(spec, after, zone, horizon)
    if found is None or (found - after).days < 3 * 365:
        assert found == expected
    else:
        assert expected is None  # nothing matched in the scanned three years either
    if found is not None:
        assert found > after
        assert found.tzinfo is UTC
        local = found.astimezone(zone)
        assert local.minute in spec.minutes
        assert local.hour in spec.hours
        assert spec.matches_day(local.date())


@settings(max_examples=50, deadline=None)
@given(spec=_crons(), after=_AFTER, zone_name=_ZONES)
def test_fire_times_are_strictly_increasing_and_each_is_the_next(spec: _Cron, after: datetime, zone_name: str) -> None:
    expr = parse_expression(spec.text)
    until = after + timedelta(days=1)
    occurrences = list(fire_times(expr, after=after, until=until, timezone=zone_name))
    assert all(a < b for a, b in itertools.pairwise(occurrences))
    assert all(after < t <= until for t in occurrences)
    previous = after
    for occurrence in occurrences[:20]:
        assert next_fire_time(expr, after=previous, timezone=zone_name) == occurrence
        previous = occurrence
    following = next_fire_time(expr, after=occurrences[-1] if occurrences else after, timezone=zone_name)
    assert following is None or following > until
    walls = [t.astimezone(ZoneInfo(zone_name)).replace(tzinfo=None) for t in occurrences]
    assert len(set(walls)) == len(walls)  # a repeated wall time never runs twice


@settings(max_examples=100, deadline=None)
@given(
    value=st.integers(1, 500),
    unit=st.sampled_from(["minutes", "hours", "days"]),
    created=_AFTER,
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_rate_occurrences_are_whole_intervals_from_the_anchor(
    value: int, unit: str, created: datetime, offset: timedelta
) -> None:
    expr = parse_expression(f"rate({value} {unit})")
    assert isinstance(expr, RateExpression)
    after = created + offset
    found = next_fire_time(expr, after=after, timezone="America/New_York", created_at=created)
    assert found is not None
    assert after < found <= after + expr.interval
    anchor = created.replace(microsecond=0) + (timedelta(seconds=1) if created.microsecond else timedelta(0))
    assert (found - anchor) % expr.interval == timedelta(0)  # the anchor is the creation, in whole seconds
    assert found.microsecond == 0
