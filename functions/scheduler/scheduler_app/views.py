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
from taskcore.states import (
    DELIVERED_STATES,
    FAILED_OUTCOMES,
    SCHEDULE_STATE_OF_TASK,
    ScheduleState,
    TaskState,
    TimingKind,
)

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


def status(record: TaskRecord, upcoming: datetime | None, now: datetime, latest: RunRecord | None = None) -> TaskState:
    """The ledger's state; `running`/`retrying` for a delivered one-time task; `ended` for a recurring one past it."""
    delivered = delivered_status(record, latest)
    if delivered is not None:
        return delivered
    end = when(record.end_at)
    recurring = record.kind == TimingKind.RECURRING
    if record.state == TaskState.SCHEDULED and recurring and upcoming is None and end and end <= now:
        return TaskState.ENDED
    return record.state


def delivered_status(record: TaskRecord, latest: RunRecord | None = None) -> TaskState | None:
    """`running` or `retrying` for a one-time task whose occurrence was delivered and is not over, else None.

    From the run record (`latest`, GET reads it) or the task's last-run summary (all a listing has): an
    attempt started and not ended is `running`; a failed attempt that was not the last is `retrying`.
    """
    if record.state != TaskState.SCHEDULED or record.kind != TimingKind.ONE_TIME:
        return None
    if latest is not None and not latest.final:
        if latest.status == TaskState.RUNNING:
            return TaskState.RUNNING
        if latest.outcome in FAILED_OUTCOMES:
            return TaskState.RETRYING
    brief = record.last_run or {}
    if brief and not brief.get("final") and brief.get("outcome") in FAILED_OUTCOMES:
        return TaskState.RETRYING
    return None


def reason(record: TaskRecord, state: TaskState, latest: RunRecord | None) -> str | None:
    """Why the task is where it is, when that is not where it hoped to be: the ending's words, or the last error."""
    if record.reason:
        return record.reason
    if state in (TaskState.RETRYING, TaskState.FAILED, TaskState.REJECTED, TaskState.RUNNING) and latest is not None:
        return latest.reason
    said = (record.last_run or {}).get("reason")
    return str(said) if said and state in (TaskState.RETRYING, TaskState.FAILED, TaskState.REJECTED) else None


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
    latest = runs[0] if runs else None
    state = status(record, upcoming, now, latest)
    if state in DELIVERED_STATES:
        upcoming = None  # its one occurrence was delivered: nothing runs next but the retries
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
        status=state,
        reason=reason(record, state, latest),
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
    state = status(record, upcoming, now)
    if state in DELIVERED_STATES:
        upcoming = None
    return ScheduleSummary(
        task_id=record.task_id,
        schedule_name=record.address.schedule_name,
        schedule_arn=record.schedule_arn or arn,
        group=group,
        state=SCHEDULE_STATE_OF_TASK.get(record.state),
        status=state,
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
