"""The API's views of the task ledger's records: a task (GET), a listing row, a run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scheduler_app.ledger import RunRecord, TaskRecord
from scheduler_app.models import LastRun, RetryPolicyView, RunError, RunView, ScheduleSummary, ScheduleView
from taskcore.expressions import ExpressionError, next_fire_time, parse_expression
from taskcore.ledger import ENDED, PAUSED, SCHEDULED

_TICK = timedelta(microseconds=1)
#: EventBridge Scheduler's state of a task's schedule, by ledger state (none once the task has ended).
SCHEDULE_STATE: dict[str, str] = {SCHEDULED: "ENABLED", PAUSED: "DISABLED"}


def when(text: str | None) -> datetime | None:
    """A ledger timestamp as a datetime (None stays None)."""
    return datetime.fromisoformat(text) if text else None


def next_run(record: TaskRecord, now: datetime) -> datetime | None:
    """When the task runs next: only while it is scheduled, and only if its expression fires again."""
    if record.state != SCHEDULED or not record.expression:
        return None
    try:
        parsed = parse_expression(record.expression)
    except ExpressionError:
        return None
    return next_fire_time(
        parsed,
        after=now - _TICK,  # an occurrence at this very moment is still to come
        timezone=record.timezone,
        start=when(record.start_at),
        end=when(record.end_at),
        created_at=when(record.created_at),
    )


def status(record: TaskRecord, upcoming: datetime | None, now: datetime) -> str:
    """The ledger's state, and `ended` for a recurring task whose end has passed."""
    end = when(record.end_at)
    if record.state == SCHEDULED and record.kind == "recurring" and upcoming is None and end and end <= now:
        return ENDED
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
    record: TaskRecord, runs: list[RunRecord], *, group: str, arn: str, retry: RetryPolicyView | None, now: datetime
) -> ScheduleView:
    """GET's answer from the ledger: the task, its schedule's timing and state, its latest runs."""
    request: dict[str, Any] = record.request or {}
    upcoming = next_run(record, now)
    return ScheduleView(
        task_id=record.task_id,
        schedule_name=record.address.schedule_name,
        schedule_arn=record.schedule_arn or arn,
        group=group,
        kind="recurring" if record.kind == "recurring" else "one-time",
        expression=record.expression,
        timezone=record.timezone,
        state=SCHEDULE_STATE.get(record.state),
        next_run_at=upcoming,
        start_at=when(record.start_at),
        end_at=when(record.end_at),
        user_id=record.user_id,
        action=record.action,
        data=request.get("data"),
        retry=retry,
        flexible_window_minutes=request.get("flexible_window_minutes"),
        created_at=when(record.created_at),
        updated_at=when(record.updated_at),
        status=status(record, upcoming, now),
        run_count=record.run_count,
        last_run=last_run(record),
        runs=[run_view(run) for run in runs],
        owner=record.owner,
    )


def summary(record: TaskRecord, *, group: str, arn: str, now: datetime) -> ScheduleSummary:
    """A listing row, from what the index projects."""
    upcoming = next_run(record, now)
    return ScheduleSummary(
        task_id=record.task_id,
        schedule_name=record.address.schedule_name,
        schedule_arn=record.schedule_arn or arn,
        group=group,
        state=SCHEDULE_STATE.get(record.state),
        status=status(record, upcoming, now),
        kind="recurring" if record.kind == "recurring" else "one-time",
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
