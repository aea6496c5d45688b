"""Changes: PATCH (a JSON Merge Patch of the create request), pause and resume.

validate (the patch) -> policy (whose task) -> schedules (read it) -> plan (pure) -> schedules (change
it) -> ledger -> view. The schedule is changed first, then the task's record: a failure between the two
is repaired by sending the same request again (a merge patch merges into the same request; the state
changes are idempotent).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from scheduler_app.engine.context import Context
from scheduler_app.errors import ScheduleConflict, ScheduleNotFound
from scheduler_app.models import apply_patch, parse_schedule_request, patch_changes
from scheduler_app.namespaces import TaskAddress
from scheduler_app.planning import check_interval, fingerprint, parse_or_none, plan_schedule, request_fields
from scheduler_app.records import RunRecord, StoredSchedule, TaskRecord
from scheduler_app.responses import ScheduleView
from scheduler_app.specs import retry_policy, schedule_spec, task_record
from scheduler_app.views import delivered_status, planned_view, schedule_view
from taskcore.expressions import AtExpression, local_to_utc
from taskcore.states import TASK_STATE_OF_SCHEDULE, ScheduleState, TaskState, timestamp

logger = Logger(child=True)


def update(ctx: Context, task_id: str, patch: Any) -> ScheduleView:
    """Apply a JSON Merge Patch to the task's create request; the result is validated as a create."""
    changes = patch_changes(patch)
    address = ctx.address(task_id)
    current = schedule_of(ctx, address)
    request = parse_schedule_request(apply_patch(request_fields(current), changes))
    # A start date already in the past is the schedule's own; only a new one must be recent.
    unchanged_start = request.start_at is not None and request.start_at == current.start
    plan = plan_schedule(request, ctx.now, check_start=not unchanged_start)
    check_interval(plan, ctx.now, minimum_seconds=ctx.settings.min_schedule_interval_seconds)
    digest = fingerprint(request)
    arn = ctx.schedules.arn_of(address.schedule_name)
    spec = schedule_spec(
        request,
        plan,
        digest,
        state=current.state,
        address=address,
        arn=arn,
        limits=ctx.limits,
        quota_slot=current.quota_slot,
    )
    ctx.schedules.update(spec)
    state = TASK_STATE_OF_SCHEDULE.get(current.state, TaskState.SCHEDULED)
    record = task_record(
        request, plan, digest, created=current.created or ctx.now, now=ctx.now, address=address, arn=arn, state=state
    )
    ctx.ledger.put(record)
    logger.info("schedule updated", extra={"task_id": task_id, "changed": sorted(changes)})
    view = planned_view(
        request,
        plan,
        name=spec.name,
        arn=current.arn,
        group=ctx.schedules.group,
        state=spec.state,
        retry=retry_policy(request, ctx.limits),
        created_at=current.created,
        updated_at=ctx.now,
    )
    return view.model_copy(update={"status": state.value})


def pause(ctx: Context, task_id: str) -> ScheduleView:
    """Disable the schedule: it keeps its settings and does not run until resumed."""
    return _set_state(ctx, task_id, ScheduleState.DISABLED)


def resume(ctx: Context, task_id: str) -> ScheduleView:
    """Enable the schedule again."""
    return _set_state(ctx, task_id, ScheduleState.ENABLED)


def _set_state(ctx: Context, task_id: str, state: ScheduleState) -> ScheduleView:
    address = ctx.address(task_id)
    current = schedule_of(ctx, address)
    if state == ScheduleState.ENABLED and current.state == ScheduleState.DISABLED:
        missed = missed_while_paused(current, ctx.now)
        if missed is not None:  # its one occurrence passed while it was paused: it will never run
            # The ledger first: a throttled write leaves the schedule (paused) for the retry; the schedule's
            # delete after it cannot make a paused task without a schedule (GET `paused`, resume 404).
            ctx.ledger.set_state(task_id, TaskState.MISSED, ctx.now, scope=address.scope, reason=missed)
            ctx.schedules.delete(address.schedule_name, task_id=task_id)
            logger.info("resumed past its time: missed", extra={"task_id": task_id})
            view = schedule_view(current, ctx.now)
            return view.model_copy(update={"status": TaskState.MISSED.value, "reason": missed, "state": None})
    if current.state != state:
        current = ctx.schedules.set_state(current, state, now=ctx.now)
        logger.info("schedule state changed", extra={"task_id": task_id, "state": state.value})
    # Also when unchanged: it converges.
    task_state = TASK_STATE_OF_SCHEDULE[state]
    ctx.ledger.set_state(task_id, task_state, ctx.now, scope=address.scope)
    return schedule_view(current, ctx.now).model_copy(update={"status": task_state.value})


def missed_while_paused(current: StoredSchedule, now: datetime) -> str | None:
    """Why a paused one-time schedule can no longer run (its time and window passed), else None."""
    parsed = parse_or_none(current.expression)
    if not isinstance(parsed, AtExpression):
        return None
    moment = local_to_utc(parsed.moment, current.timezone or "UTC")
    if moment is None:
        return None
    due = moment + timedelta(minutes=current.flexible_window_minutes or 0)
    if due >= now:
        return None
    return f"paused past its time ({timestamp(moment)}): it missed its only run"


def schedule_of(ctx: Context, address: TaskAddress) -> StoredSchedule:
    """The task's schedule; for a task that has none any more, a 404 that says what became of it.

    A one-time task whose occurrence was delivered and is being retried (or is running) has no schedule
    either, and is not over: a 409 that says so, and what can be done (cancel it: the callback's gate
    then starts no further attempt; or wait).
    """
    try:
        return ctx.schedules.get(address.schedule_name, task_id=address.task_id)
    except ScheduleNotFound as missing:
        record, runs = ctx.ledger.read(address.task_id, runs=1, now=ctx.now, scope=address.scope)
        if record is not None and record.ended:
            raise ScheduleNotFound(ended(record)) from None
        if record is not None:
            latest = runs[0] if runs else None
            if delivered_status(record, latest) is not None:
                raise ScheduleConflict(being_retried(record, latest)) from None
        raise missing from None


def being_retried(record: TaskRecord, latest: RunRecord | None) -> str:
    """What a change of a delivered one-time task is told (409): when it was delivered, where its attempts are."""
    brief = record.last_run or {}
    delivered = (latest.scheduled_time if latest else None) or brief.get("scheduled_time") or "its time"
    attempts = (latest.attempts if latest else None) or brief.get("attempts") or 1
    if delivered_status(record, latest) == TaskState.RUNNING:
        where = f"is running (attempt {attempts})"
    else:
        where = f"is being retried (attempt {attempts} failed)"
    return f"task {record.task_id!r} was delivered at {delivered} and {where}; cancel it, or wait for its outcome"


def ended(record: TaskRecord) -> str:
    """Why an ended task has no schedule, for its 404."""
    if record.state == TaskState.CANCELLED:
        return f"task {record.task_id!r} was cancelled at {record.updated_at}; it has no schedule any more"
    if record.state in (TaskState.MISSED, TaskState.ENDED):  # ended by no run: the sweep, or a resume
        why = f"{record.state} at {record.updated_at}" + (f": {record.reason}" if record.reason else "")
        return f"task {record.task_id!r} has ended ({why}); it has no schedule any more"
    finished = (record.last_run or {}).get("finished_at") or record.updated_at
    return f"task {record.task_id!r} already ran ({record.state} at {finished}); it has no schedule any more"
