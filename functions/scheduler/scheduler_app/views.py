"""The API's views, built from records: a task from the ledger (GET), a listing row, a run, a schedule as it
exists (one the ledger does not know), and a task as just planned (a create, a PATCH). Pure: `now` is given.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scheduler_app.errors import SchedulerError
from scheduler_app.models import ScheduleRequest, parse_schedule_request
from scheduler_app.planning import Plan, parse_or_none, when
from scheduler_app.records import RunRecord, StoredSchedule, TaskRecord
from scheduler_app.responses import LastRun, RetryPolicyView, RunError, RunView, ScheduleSummary, ScheduleView
from scheduler_app.specs import Limits, retry_policy
from taskcore.expressions import AtExpression, Expression, next_fire_time
from taskcore.states import SCHEDULE_STATE_OF_TASK, ScheduleState, TaskState, TimingKind

_TICK = timedelta(microseconds=1)


def next_run(record: TaskRecord, now: datetime) -> datetime | None:
    """When the task runs next: only while it is scheduled, and only if its expression fires again."""
    if record.state != TaskState.SCHEDULED or not record.expression:
        return None
    parsed = parse_or_none(record.expression)
    if parsed is None:
        return None
    return next_fire_time(
        parsed,
        after=now - _TICK,  # an occurrence at this very moment is still to come
        timezone=record.timezone,
        start=when(record.start_at),
        end=when(record.end_at),
        created_at=when(record.created_at),
    )


def status(record: TaskRecord, upcoming: datetime | None, now: datetime) -> TaskState:
    """The ledger's state, and `ended` for a recurring task whose end has passed."""
    end = when(record.end_at)
    recurring = record.kind == TimingKind.RECURRING
    if record.state == TaskState.SCHEDULED and recurring and upcoming is None and end and end <= now:
        return TaskState.ENDED
    return record.state


def last_run(record: TaskRecord) -> LastRun | None:
    return LastRun.model_validate(record.last_run) if record.last_run else None


def run_view(run: RunRecord) -> RunView:
    error = RunError(type=run.error_type, message=run.error_message or "") if run.error_type else None
    return RunView(
        scheduled_time=when(run.scheduled_time),
        attempts=run.attempts,
        outcome=run.outcome,
        status_code=run.status_code,
        final=run.final,
        first_started_at=when(run.first_started_at),
        last_started_at=when(run.last_started_at),
        finished_at=when(run.finished_at),
        duration_ms=run.duration_ms,
        replays=run.replays,
        result=run.result,
        result_bytes=run.result_bytes,
        result_preview=run.result_preview,
        error=error,
    )


def task_view(
    record: TaskRecord, runs: list[RunRecord], *, group: str, arn: str, limits: Limits, now: datetime
) -> ScheduleView:
    """GET's answer from the ledger: the task, its schedule's timing and state, its latest runs.

    `arn` is the schedule's ARN when the record names none.
    """
    request: dict[str, Any] = record.request or {}
    upcoming = next_run(record, now)
    return ScheduleView(
        task_id=record.task_id,
        schedule_name=record.address.schedule_name,
        schedule_arn=record.schedule_arn or arn,
        group=group,
        kind=TimingKind.RECURRING if record.kind == TimingKind.RECURRING else TimingKind.ONE_TIME,
        expression=record.expression,
        timezone=record.timezone,
        state=SCHEDULE_STATE_OF_TASK.get(record.state),
        next_run_at=upcoming,
        start_at=when(record.start_at),
        end_at=when(record.end_at),
        user_id=record.user_id,
        action=record.action,
        data=request.get("data"),
        retry=_recorded_retry(record, limits),
        flexible_window_minutes=request.get("flexible_window_minutes"),
        created_at=when(record.created_at),
        updated_at=when(record.updated_at),
        status=status(record, upcoming, now),
        run_count=record.run_count,
        last_run=last_run(record),
        runs=[run_view(run) for run in runs],
        owner=record.owner,
    )


def _recorded_retry(record: TaskRecord, limits: Limits) -> RetryPolicyView | None:
    """The retry policy of the request the record keeps; None without one, or for one today's rules refuse."""
    if record.request is None:
        return None
    try:
        request = parse_schedule_request(record.request)
    except SchedulerError:  # a request valid when it was made, refused by today's rules
        return None
    return retry_policy(request, limits)


def summary(record: TaskRecord, *, group: str, arn: str, now: datetime) -> ScheduleSummary:
    """A listing row, from what the index projects."""
    upcoming = next_run(record, now)
    return ScheduleSummary(
        task_id=record.task_id,
        schedule_name=record.address.schedule_name,
        schedule_arn=record.schedule_arn or arn,
        group=group,
        state=SCHEDULE_STATE_OF_TASK.get(record.state),
        status=status(record, upcoming, now),
        kind=TimingKind.RECURRING if record.kind == TimingKind.RECURRING else TimingKind.ONE_TIME,
        expression=record.expression or None,
        timezone=record.timezone,
        next_run_at=upcoming,
        user_id=record.user_id,
        action=record.action,
        run_count=record.run_count,
        last_run=last_run(record),
        owner=record.owner,
        created_at=when(record.created_at),
        updated_at=when(record.updated_at),
    )


def planned_view(
    request: ScheduleRequest,
    plan: Plan,
    *,
    name: str,
    arn: str,
    group: str,
    state: ScheduleState,
    retry: RetryPolicyView,
    created_at: datetime | None,
    updated_at: datetime | None,
) -> ScheduleView:
    """A task as a request just made or changed it (PATCH's answer)."""
    return ScheduleView(
        task_id=request.task_id,
        schedule_name=name,
        schedule_arn=arn,
        group=group,
        kind=plan.kind,
        expression=plan.expression,
        timezone=plan.timezone,
        state=state,
        next_run_at=plan.next_run_at if state == ScheduleState.ENABLED else None,
        start_at=plan.start,
        end_at=plan.end,
        user_id=request.user_id,
        action=request.action,
        data=request.data,
        retry=retry,
        flexible_window_minutes=request.flexible_window_minutes,
        created_at=created_at,
        updated_at=updated_at,
    )


def schedule_view(stored: StoredSchedule, now: datetime) -> ScheduleView:
    """A schedule as it exists (one the ledger does not know, or holds only in part), in the API's terms."""
    task = stored.task
    parsed = parse_or_none(stored.expression)
    one_time = isinstance(parsed, AtExpression) or stored.expression.startswith("at(")
    return ScheduleView(
        task_id=str(task.get("task_id") or stored.name),
        schedule_name=stored.name,
        schedule_arn=stored.arn,
        group=stored.group,
        kind=TimingKind.ONE_TIME if one_time else TimingKind.RECURRING,
        expression=stored.expression,
        timezone=stored.timezone,
        state=stored.state,
        next_run_at=_next_run_of(stored, parsed, now),
        start_at=stored.start,
        end_at=stored.end,
        user_id=task.get("user_id"),
        action=task.get("action"),
        data=task.get("data"),
        retry=RetryPolicyView(max_attempts=stored.retry[0], max_event_age_seconds=stored.retry[1])
        if stored.retry
        else None,
        flexible_window_minutes=stored.flexible_window_minutes,
        created_at=stored.created,
        updated_at=stored.modified,
    )


def _next_run_of(stored: StoredSchedule, parsed: Expression | None, now: datetime) -> datetime | None:
    if parsed is None or stored.state != ScheduleState.ENABLED:
        return None
    return next_fire_time(
        parsed, after=now, timezone=stored.timezone, start=stored.start, end=stored.end, created_at=stored.created
    )
