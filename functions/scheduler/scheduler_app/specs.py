"""What a plan becomes: the schedule to make and the task record to keep. Pure: no clock, no I/O.

The stack's settings enter as `Limits` (the retry defaults, the largest Input); a schedule's ARN is
passed in, so nothing here asks an adapter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from scheduler_app.errors import PayloadTooLarge
from scheduler_app.models import ScheduleRequest
from scheduler_app.namespaces import TaskAddress
from scheduler_app.planning import Plan
from scheduler_app.records import ScheduleSpec, TaskRecord
from scheduler_app.responses import RetryPolicyView
from scheduler_app.settings import SchedulerSettings
from taskcore.proxy import build_target_input, substitute_context_attributes
from taskcore.states import ScheduleState, TaskState, timestamp

#: Worst-case values of the context attributes, to size `Target.Input` as it is delivered.
LONGEST_SCHEDULED_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
LONGEST_EXECUTION_ID = str(uuid.UUID(int=0))
LONGEST_ATTEMPT = 185


@dataclass(frozen=True)
class Limits:
    """What the stack's settings bound a schedule by."""

    #: MIN_SCHEDULE_INTERVAL_SECONDS: the closest two runs of a recurring schedule may come.
    min_interval_seconds: int
    #: MAX_TARGET_INPUT_BYTES: the largest `Target.Input`, as delivered.
    max_target_input_bytes: int
    #: SCHEDULE_MAX_RETRY_ATTEMPTS / SCHEDULE_MAX_EVENT_AGE_SECONDS: the retry policy a request leaves out.
    default_max_retry_attempts: int
    default_max_event_age_seconds: int

    @classmethod
    def of(cls, settings: SchedulerSettings) -> Limits:
        return cls(
            min_interval_seconds=settings.min_schedule_interval_seconds,
            max_target_input_bytes=settings.max_target_input_bytes,
            default_max_retry_attempts=settings.default_max_retry_attempts,
            default_max_event_age_seconds=settings.default_max_event_age_seconds,
        )


def retry_policy(request: ScheduleRequest, limits: Limits) -> RetryPolicyView:
    """The request's retry policy, the stack's defaults where it gives none."""
    given = request.retry
    attempts = given.max_attempts if given is not None else None
    age = given.max_event_age_seconds if given is not None else None
    return RetryPolicyView(
        max_attempts=attempts if attempts is not None else limits.default_max_retry_attempts,
        max_event_age_seconds=age if age is not None else limits.default_max_event_age_seconds,
    )


def schedule_spec(
    request: ScheduleRequest,
    plan: Plan,
    digest: str,
    *,
    state: ScheduleState,
    address: TaskAddress,
    arn: str,
    limits: Limits,
    quota_slot: str | None = None,
) -> ScheduleSpec:
    """The schedule the request becomes at `address` (whose ARN is `arn`); refuse an Input that is too large.

    `quota_slot`: the owner's quota slot the task's create tries first (its event's `X-Task-Quota`: taskcore.quota).
    """
    target_input = build_target_input(request.envelope(), kind=plan.kind, scope=address.scope, quota_slot=quota_slot)
    check_input_size(target_input, arn=arn, limit=limits.max_target_input_bytes)
    retry = retry_policy(request, limits)
    return ScheduleSpec(
        name=address.schedule_name,
        expression=plan.expression,
        timezone=plan.timezone,
        one_time=plan.one_time,
        target_input=target_input,
        max_retry_attempts=retry.max_attempts,
        max_event_age_seconds=retry.max_event_age_seconds,
        # The action name only: `data` is the user's and stays in the Input.
        description=f"task {request.action}; request-sha256:{digest}",
        state=state,
        flexible_window_minutes=request.flexible_window_minutes,
        start=plan.start,
        end=plan.end,
    )


def check_input_size(target_input: str, *, arn: str, limit: int) -> None:
    """Refuse an Input that Lambda could not take once the scheduler fills in its context attributes."""
    delivered = substitute_context_attributes(
        target_input,
        schedule_arn=arn,
        scheduled_time=LONGEST_SCHEDULED_TIME,
        execution_id=LONGEST_EXECUTION_ID,
        attempt=LONGEST_ATTEMPT,
    )
    size = len(delivered.encode("utf-8"))
    if size > limit:
        raise PayloadTooLarge(
            f"the task's event would be {size} bytes; "
            f"an asynchronous Lambda invocation takes at most {limit} bytes. "
            "Keep large data elsewhere (e.g. S3) and pass a reference in data"
        )


def task_record(
    request: ScheduleRequest,
    plan: Plan,
    digest: str,
    *,
    created: datetime,
    now: datetime,
    address: TaskAddress,
    arn: str,
    state: TaskState = TaskState.SCHEDULED,
    owner: str | None = None,
) -> TaskRecord:
    """The task's record: the request, its plan and fingerprint, created at `created`, written at `now`."""
    return TaskRecord(
        task_id=request.task_id,
        state=state,
        kind=plan.kind,
        expression=plan.expression,
        timezone=plan.timezone,
        created_at=timestamp(created),
        updated_at=timestamp(now),
        fingerprint=digest,
        user_id=request.user_id,
        action=request.action,
        request=request.model_dump(mode="json", exclude_none=True),
        start_at=None if plan.start is None else timestamp(plan.start),
        end_at=None if plan.end is None else timestamp(plan.end),
        schedule_arn=arn,
        owner=owner,
        scope=address.scope,
    )
