"""Create: claim the task id in the ledger, then make its schedule (claim-then-create).

validate -> plan (pure) -> policy (namespace, quota) -> ledger (one conditional write) -> schedules
(CreateSchedule) -> view. The same request again finds the claim and is answered with the task
(nothing new is scheduled, also after it ran); when the claim's schedule was never made (a crash
between the two writes) and the task is still to run, it makes it then (the same ClientToken: once).
A schedule older than the ledger holding the name is adopted by the same request.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Logger

from scheduler_app.engine.context import Context
from scheduler_app.errors import (
    InvalidSchedule,
    ScheduleConflict,
    ScheduleExists,
    ScheduleNotFound,
    ScheduleQuotaFull,
    Throttled,
)
from scheduler_app.models import ScheduleRequest
from scheduler_app.namespaces import TaskAddress
from scheduler_app.planning import Plan, check_interval, fingerprint, plan_of_record, plan_schedule
from scheduler_app.records import ScheduleSpec, TaskRecord
from scheduler_app.responses import ScheduleView
from scheduler_app.specs import schedule_spec, task_record
from scheduler_app.views import next_run, schedule_view
from taskcore.ledger import task_pk
from taskcore.quota import preferred_shard, slot
from taskcore.states import ScheduleState, TaskState

logger = Logger(child=True)

#: The runs GET shows with the task (one Query reads them with it).
RECENT_RUNS = 5


@dataclass(frozen=True)
class Created:
    """What a create answers: the task, and whether this request scheduled it (201) or found it (200)."""

    view: ScheduleView
    created: bool


def create(ctx: Context, request: ScheduleRequest) -> Created:
    """Schedule the task; `created` is False for the same request again (the task as it is now)."""
    digest = fingerprint(request)
    address = ctx.owners.home(request.task_id)  # the caller's own namespace under owner isolation
    try:
        plan, spec = _planned(ctx, request, digest, address)
    except InvalidSchedule:
        # The same request again, after its time passed: the task, not a refusal.
        held = ctx.owners.held(request.task_id, ctx.now)
        if held is None or held.fingerprint != digest:
            raise
        return _claimed(ctx, request, held, digest)
    # Its own task made before owner isolation was turned on holds the id too (a retry across the switch).
    held = ctx.owners.made_before(request.task_id, ctx.now)
    if held is not None:
        return _claimed(ctx, request, held, digest)
    arn = ctx.schedules.arn_of(address.schedule_name)
    record = task_record(
        request, plan, digest, created=ctx.now, now=ctx.now, address=address, arn=arn, owner=ctx.caller.principal
    )
    # One transaction: the id claimed and, for an owned task, a slot of its owner's quota taken (or QuotaExceeded).
    held = ctx.ledger.claim(record, ctx.now, quota=_quota(ctx))
    if held is not None:
        return _claimed(ctx, request, held, digest)
    adopted = _make(ctx, request, spec, digest, address)
    if adopted is not None:
        return Created(adopted, created=False)
    logger.info(
        "schedule created",
        extra={
            "task_id": request.task_id,
            "action": request.action,
            "expression": plan.expression,
            "timezone": plan.timezone,
        },
    )
    return Created(ctx.task_view(record, []), created=True)


def _quota(ctx: Context) -> int | None:
    """The live tasks the caller may have (None: nobody to count: no principal, `make dev` without one)."""
    return ctx.settings.max_active_schedules_per_owner if ctx.caller.principal is not None else None


def _planned(ctx: Context, request: ScheduleRequest, digest: str, address: TaskAddress) -> tuple[Plan, ScheduleSpec]:
    """The plan as of now and the schedule it becomes; refuse what cannot be scheduled (nothing is written)."""
    plan = plan_schedule(request, ctx.now)
    check_interval(plan, ctx.now, minimum_seconds=ctx.settings.min_schedule_interval_seconds)
    owner, cap = ctx.caller.principal, _quota(ctx)
    preferred = slot(owner, preferred_shard(task_pk(address.task_id, address.scope), cap)) if owner and cap else None
    spec = schedule_spec(  # refuses an oversized task
        request,
        plan,
        digest,
        state=ScheduleState.ENABLED,
        address=address,
        arn=ctx.schedules.arn_of(address.schedule_name),
        limits=ctx.limits,
        quota_slot=preferred,
    )
    return plan, spec


def _make(
    ctx: Context, request: ScheduleRequest, spec: ScheduleSpec, digest: str, address: TaskAddress
) -> ScheduleView | None:
    """Make the claimed task's schedule; the adopted schedule's view when an older one holds the name."""
    try:
        ctx.schedules.create(spec)
    except ScheduleExists:  # a schedule older than the ledger (or the guide's) holds the name
        return _adopt(ctx, request, digest, address)
    except (InvalidSchedule, Throttled, ScheduleQuotaFull):
        # Refused: nothing was scheduled, so the id stays free. (After a timeout or a 5xx the schedule may
        # exist: the claim stays, and the same request again completes it.)
        ctx.ledger.forget(request.task_id, digest, scope=address.scope)
        raise
    return None


def _claimed(ctx: Context, request: ScheduleRequest, held: TaskRecord, digest: str) -> Created:
    """The task id is held: the same request gets the task (its schedule made if it never was), else 409."""
    if not ctx.caller.may_see(held.owner):  # another owner's: say no more than that the id is taken
        raise ScheduleConflict(f"task_id {request.task_id!r} is taken; use another task_id")
    if held.fingerprint != digest:
        raise _conflict(request.task_id, held)
    if held.state == TaskState.SCHEDULED and _still_to_run(ctx, held):
        if _finish(ctx, request, held, digest):
            return Created(ctx.task_view(held, []), created=True)
    else:
        logger.info("same request again: the task returned", extra={"task_id": request.task_id})
    record, runs = ctx.ledger.read(request.task_id, runs=RECENT_RUNS, now=ctx.now, scope=held.scope)
    return Created(ctx.task_view(record or held, runs), created=False)


def _conflict(task_id: str, held: TaskRecord) -> ScheduleConflict:
    if held.ended:
        return ScheduleConflict(
            f"task {task_id!r} was used by a different request (it is {held.state}); "
            "its id stays reserved until its records expire: use another task_id"
        )
    return ScheduleConflict(
        f"task {task_id!r} is already scheduled by a different request; PATCH it to change it, or DELETE it first"
    )


def _finish(ctx: Context, request: ScheduleRequest, held: TaskRecord, digest: str) -> bool:
    """Make the schedule a claim never got (the same fingerprint: the same request); False when it exists."""
    spec = schedule_spec(
        request,
        plan_of_record(held),
        digest,
        state=ScheduleState.ENABLED,
        address=held.address,
        arn=ctx.schedules.arn_of(held.address.schedule_name),
        limits=ctx.limits,
        quota_slot=held.quota_key,
    )
    try:
        ctx.schedules.create(spec)
    except ScheduleExists:
        return False
    logger.info("schedule of a claimed task made on its retry", extra={"task_id": request.task_id})
    return True


def _still_to_run(ctx: Context, held: TaskRecord) -> bool:
    """Whether a claimed task can still fire: a recurring one before its end, a one-time one before its time."""
    if held.request is None:
        return False  # not made by this API (the callback recorded a schedule made elsewhere)
    return next_run(held, ctx.now) is not None


def _adopt(ctx: Context, request: ScheduleRequest, digest: str, address: TaskAddress) -> ScheduleView:
    """A schedule made before the ledger holds the name: the same request keeps it (and its new record)."""
    try:
        stored = ctx.schedules.get(address.schedule_name, task_id=request.task_id)
    except ScheduleNotFound:  # it ran or was cancelled between the two calls
        ctx.ledger.forget(request.task_id, digest, scope=address.scope)
        raise ScheduleConflict(f"task {request.task_id!r} changed while it was being scheduled; retry") from None
    if stored.fingerprint != digest:
        ctx.ledger.forget(request.task_id, digest, scope=address.scope)
        raise ScheduleConflict(
            f"task {request.task_id!r} is already scheduled by a different request; "
            "PATCH it to change it, or DELETE it first"
        )
    logger.info("same request again: existing schedule returned", extra={"task_id": request.task_id})
    return schedule_view(stored, ctx.now)
