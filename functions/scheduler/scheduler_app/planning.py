"""What a request means, as of a given `now`: pure functions, no clock, no I/O.

- `fingerprint`: the request, normalised and hashed: equal for requests that mean the same schedule.
- `plan_schedule`: the request's timing as an EventBridge Scheduler expression, zone and window, with its
  first run; a time that has passed, or an expression that never fires again, is refused.
- `check_interval` / `closest_occurrences`: a recurring schedule whose runs come too close is refused.
- `plan_of_record`: the plan a claimed task was made with (to finish its schedule on the same request again).
- `request_fields`: the create request an existing schedule stands for (what a PATCH merges into).
- `status_filter`: the ledger state a listing's `state`/`status` ask for.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler_app.errors import InvalidSchedule, ScheduleConflict
from scheduler_app.models import ScheduleRequest
from scheduler_app.records import StoredSchedule, TaskRecord
from taskcore.expressions import (
    AtExpression,
    Expression,
    ExpressionError,
    RateExpression,
    fire_times,
    format_at,
    local_to_utc,
    next_fire_time,
    parse_expression,
)
from taskcore.states import TASK_STATE_OF_SCHEDULE, ScheduleState, TaskState, TimingKind

_TICK = timedelta(microseconds=1)
#: "The StartDate you specify cannot be earlier than 5 minutes ago" (CreateSchedule / UpdateSchedule).
START_DATE_GRACE = timedelta(minutes=5)
#: How far ahead, and over how many occurrences, a recurring schedule's closest two are looked for.
INTERVAL_HORIZON = timedelta(days=400)
INTERVAL_OCCURRENCES = 2_000


@dataclass(frozen=True)
class Plan:
    """What a request becomes in EventBridge Scheduler terms, as of `now`."""

    expression: str
    timezone: str
    one_time: bool
    next_run_at: datetime | None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def kind(self) -> TimingKind:
        return TimingKind.ONE_TIME if self.one_time else TimingKind.RECURRING


def fingerprint(request: ScheduleRequest) -> str:
    """sha256 of the request, normalised: equal for requests that mean the same schedule.

    A delay is kept as a delay (the same "in 30 minutes" asked twice is the same request), minutes
    become seconds, instants become UTC, and omitted options stay omitted (so a change of the
    configured defaults does not turn a retry into a conflict). The text hashed is fixed for good:
    changing it would turn every retry of an existing task into a conflict.
    """
    timing: dict[str, Any]
    if request.delay_seconds is not None or request.delay_minutes is not None:
        timing = {"delay_seconds": request.delay_seconds or (request.delay_minutes or 0) * 60}
    elif request.run_at is not None:
        timing = {"run_at": _canonical_instant(request.run_at)}
    else:
        timing = {
            "expression": request.cron or request.rate,
            "timezone": request.timezone or "UTC",
            "start_at": _canonical_instant(request.start_at),
            "end_at": _canonical_instant(request.end_at),
        }
    canonical = {
        "task_id": request.task_id,
        "user_id": request.user_id,
        "action": request.action,
        "data": request.data,
        "timing": timing,
        "retry": request.retry.model_dump() if request.retry is not None else None,
        "flexible_window_minutes": request.flexible_window_minutes,
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical_instant(moment: datetime | None) -> str | None:
    """An instant as the fingerprint spells it (UTC, microseconds, `+00:00`): not the ledger's format."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def plan_schedule(request: ScheduleRequest, now: datetime, *, check_start: bool = True) -> Plan:
    """Turn the request's timing into an expression as of `now`; refuse times that have passed."""
    if request.delay_seconds is not None or request.delay_minutes is not None:
        seconds = request.delay_seconds or (request.delay_minutes or 0) * 60
        return _one_time(ceil_second(now + timedelta(seconds=seconds)))
    if request.run_at is not None:
        if request.run_at <= now:
            raise InvalidSchedule(
                f"run_at: {request.run_at.isoformat()} is in the past (now is {zulu(now)}); "
                "give a future time or a delay"
            )
        return _one_time(ceil_second(request.run_at))
    return _recurring(request, now, check_start=check_start)


def _one_time(moment: datetime) -> Plan:
    return Plan(expression=format_at(moment), timezone="UTC", one_time=True, next_run_at=moment)


def _recurring(request: ScheduleRequest, now: datetime, *, check_start: bool) -> Plan:
    text = request.cron or request.rate or ""
    zone = request.timezone or "UTC"
    # Whole seconds in UTC, what the API stores: the start rounded up and the end down, so a
    # schedule never runs earlier or later than asked.
    start = ceil_second(request.start_at) if request.start_at is not None else None
    end = whole_seconds(request.end_at)
    _check_window(start, end, now, check_start=check_start)
    # Strictly after a moment before now: a rate() without start_at first runs at its creation (AWS:
    # "starts invoking the target immediately"), which is now, in whole seconds.
    first = next_fire_time(
        parse_expression(text), after=now - _TICK, timezone=zone, start=start, end=end, created_at=now
    )
    if first is None:
        window = f" before end_at {end.isoformat()}" if end is not None else ""
        raise InvalidSchedule(f"{text} in {zone} never fires after now ({zulu(now)}){window}; nothing would run")
    return Plan(expression=text, timezone=zone, one_time=False, next_run_at=first, start=start, end=end)


def _check_window(start: datetime | None, end: datetime | None, now: datetime, *, check_start: bool) -> None:
    if end is not None and end <= now:
        raise InvalidSchedule(
            f"end_at: {end.isoformat()} is in the past (now is {zulu(now)}); the schedule would never run"
        )
    if start is not None and check_start and start < now - START_DATE_GRACE:
        raise InvalidSchedule(
            f"start_at: {start.isoformat()} is more than 5 minutes in the past (now is {zulu(now)}); "
            "EventBridge Scheduler refuses that; give a later start_at or none"
        )


def closest_occurrences(plan: Plan, now: datetime) -> tuple[datetime, datetime] | None:
    """The two consecutive occurrences closest together within the horizon (a year and DST's changes)."""
    parsed = parse_expression(plan.expression)
    if isinstance(parsed, RateExpression):
        first = plan.next_run_at or now
        return first, first + parsed.interval
    first = (plan.next_run_at or now) - _TICK  # from its first occurrence, however far ahead that is
    times = fire_times(
        parsed, after=first, until=first + INTERVAL_HORIZON, timezone=plan.timezone, start=plan.start, end=plan.end
    )
    previous, closest = None, None
    for moment in itertools.islice(times, INTERVAL_OCCURRENCES):
        if previous is not None and (closest is None or moment - previous < closest[1] - closest[0]):
            closest = (previous, moment)
        previous = moment
    return closest


def check_interval(plan: Plan, now: datetime, *, minimum_seconds: int) -> None:
    """Refuse a recurring schedule whose runs come closer than `minimum_seconds` (MIN_SCHEDULE_INTERVAL_SECONDS)."""
    minimum = timedelta(seconds=minimum_seconds)
    if plan.one_time:
        return
    closest = closest_occurrences(plan, now)
    if closest is not None and closest[1] - closest[0] < minimum:
        gap, most = int((closest[1] - closest[0]).total_seconds()), int(minimum.total_seconds())
        raise InvalidSchedule(
            f"{plan.expression} in {plan.timezone} runs {gap} s apart (at {zulu(closest[0])} and "
            f"{zulu(closest[1])}); this stack allows recurring schedules at most every {most} s"
        )


def plan_of_record(held: TaskRecord) -> Plan:
    """The plan a claimed task's record was made with (its first run is not known any more: None)."""
    return Plan(
        expression=held.expression,
        timezone=held.timezone,
        one_time=held.kind != TimingKind.RECURRING,
        next_run_at=None,
        start=when(held.start_at),
        end=when(held.end_at),
    )


def request_fields(stored: StoredSchedule) -> dict[str, Any]:
    """The create request a schedule stands for, as a dict to merge a PATCH into."""
    task = stored.task
    if not {"task_id", "user_id", "action"} <= task.keys():
        raise ScheduleConflict(f"schedule {stored.name!r} was not created by this API: its Input is not a task")
    fields: dict[str, Any] = {k: task[k] for k in ("task_id", "user_id", "action", "data") if k in task}
    parsed = parse_or_none(stored.expression)
    if isinstance(parsed, AtExpression):
        fields["run_at"] = local_to_utc(parsed.moment, stored.timezone)
    else:
        fields["cron" if stored.expression.startswith("cron(") else "rate"] = stored.expression
        fields.update(timezone=stored.timezone, start_at=stored.start, end_at=stored.end)
    if stored.retry:
        fields["retry"] = {"max_attempts": stored.retry[0], "max_event_age_seconds": stored.retry[1]}
    if stored.flexible_window_minutes is not None:
        fields["flexible_window_minutes"] = stored.flexible_window_minutes
    return fields


def status_filter(state: ScheduleState | str | None, status: str | None) -> TaskState | str | None:
    """The ledger state a listing asks for: `status`, or what the schedule `state` means; both must agree."""
    if state is None:
        return status
    meant = TASK_STATE_OF_SCHEDULE[ScheduleState(state)]
    if status is not None and meant != status:
        raise InvalidSchedule(f"state={state} and status={status} contradict each other; pass one of them")
    return meant


def parse_or_none(expression: str) -> Expression | None:
    """The parsed expression, or None for one this API cannot read."""
    try:
        return parse_expression(expression)
    except ExpressionError:
        return None


def when(text: str | None) -> datetime | None:
    """A ledger timestamp as a datetime (None stays None)."""
    return datetime.fromisoformat(text) if text else None


def ceil_second(moment: datetime) -> datetime:
    """`moment` in UTC, rounded up to the whole second (an `at()` has no sub-seconds; never fire early)."""
    utc = moment.astimezone(UTC)
    whole = utc.replace(microsecond=0)
    return whole if whole == utc else whole + timedelta(seconds=1)


def milliseconds(moment: datetime) -> datetime:
    """`moment` in the ledger's precision, rounded up to the millisecond (never earlier than the clock read)."""
    whole = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return whole if whole == moment else whole + timedelta(milliseconds=1)


def whole_seconds(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(microsecond=0)


def zulu(moment: datetime) -> str:
    """`moment` in UTC to the second, `Z` (how messages name a time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
