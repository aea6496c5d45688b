"""The schedule engine: task requests in, EventBridge Scheduler schedules out, and back again.

Knows nothing of HTTP. Every failure is one of the domain errors in `scheduler_app.errors`, with a
message that says what is wrong; AWS error codes are translated here and nowhere else.

A task's schedule is named after its task id, in the stack's schedule group, so reading or
cancelling a task is one call and scheduling it twice cannot make two schedules. The schedule's
`Description` carries a fingerprint of the request that created it: the same request again is
answered with the existing schedule, a different one is a conflict.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from scheduler_app.errors import (
    InvalidSchedule,
    PayloadTooLarge,
    ScheduleConflict,
    ScheduleNotFound,
    SchedulerError,
    Throttled,
    UpstreamError,
)
from scheduler_app.models import (
    RetryPolicyView,
    SchedulePage,
    ScheduleRequest,
    ScheduleSummary,
    ScheduleView,
    apply_patch,
    parse_schedule_request,
    patch_changes,
)
from scheduler_app.settings import SchedulerSettings
from taskcore.expressions import (
    AtExpression,
    Expression,
    ExpressionError,
    format_at,
    local_to_utc,
    next_fire_time,
    parse_expression,
)
from taskcore.proxy import build_target_input, substitute_context_attributes, task_fields

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

logger = Logger(child=True)

T = TypeVar("T")

_TICK = timedelta(microseconds=1)
#: "The StartDate you specify cannot be earlier than 5 minutes ago" (CreateSchedule / UpdateSchedule).
START_DATE_GRACE = timedelta(minutes=5)
#: Codes that mean "slow down". Scheduler's rate quotas answer ServiceQuotaExceededException too
#: (EventBridge Scheduler User Guide, "Troubleshooting quotas").
THROTTLING_CODES = frozenset({"ThrottlingException", "ServiceQuotaExceededException"})
FINGERPRINT = re.compile(r"request-sha256:([0-9a-f]{64})")
LAMBDA_ARN = re.compile(r"^arn:(?P<partition>[\w-]+):lambda:(?P<region>[\w-]+):(?P<account>\d+):")
#: Worst-case values of the context attributes, to size `Target.Input` as it is delivered.
_LONGEST_SCHEDULED_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_LONGEST_EXECUTION_ID = str(uuid.UUID(int=0))
_LONGEST_ATTEMPT = 185


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter for throttled batch creates."""

    max_attempts: int = 5
    base_seconds: float = 0.1
    max_seconds: float = 2.0

    def delay(self, retry: int, jitter: float) -> float:
        """Seconds to wait before retry number `retry` (1-based); `jitter` is uniform in [0, 1)."""
        return jitter * min(self.max_seconds, self.base_seconds * 2.0 ** (retry - 1))


@dataclass(frozen=True)
class Plan:
    """What a request becomes in EventBridge Scheduler terms, as of `now`."""

    expression: str
    timezone: str
    one_time: bool
    next_run_at: datetime | None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """One batch item: the schedule (and whether it is new), or the error it met."""

    index: int
    view: ScheduleView | None = None
    created: bool = False
    error: SchedulerError | None = None


def fingerprint(request: ScheduleRequest) -> str:
    """sha256 of the request, normalised: equal for requests that mean the same schedule.

    A delay is kept as a delay (the same "in 30 minutes" asked twice is the same request), minutes
    become seconds, instants become UTC, and omitted options stay omitted (so a change of the
    configured defaults does not turn a retry into a conflict).
    """
    timing: dict[str, Any]
    if request.delay_seconds is not None or request.delay_minutes is not None:
        timing = {"delay_seconds": request.delay_seconds or (request.delay_minutes or 0) * 60}
    elif request.run_at is not None:
        timing = {"run_at": _iso(request.run_at)}
    else:
        timing = {
            "expression": request.cron or request.rate,
            "timezone": request.timezone or "UTC",
            "start_at": _iso(request.start_at),
            "end_at": _iso(request.end_at),
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


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def encode_cursor(token: str, *, state: str | None, prefix: str | None) -> str:
    """An opaque cursor: ListSchedules' NextToken, bound to the filters it was issued for."""
    raw = json.dumps({"t": token, "s": state, "p": prefix}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, state: str | None, prefix: str | None) -> str:
    """The NextToken inside `cursor`; raise InvalidSchedule for a foreign cursor or other filters."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        token = data["t"]
        if not isinstance(token, str) or not token:
            raise TypeError
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidSchedule("cursor: not a cursor this API issued; start again without it") from None
    if data.get("s") != state or data.get("p") != prefix:
        raise InvalidSchedule(
            f"cursor: it was issued for state={data.get('s')!r}, prefix={data.get('p')!r}; "
            "pass the same filters with it, or start again without it"
        )
    return token


class ScheduleService:
    """Creates, reads, changes and cancels the schedules of tasks in one schedule group."""

    def __init__(
        self,
        client: EventBridgeSchedulerClient,
        settings: SchedulerSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._settings = settings
        self._group = settings.schedule_group_name
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self.backoff = Backoff(
            max_attempts=settings.batch_max_attempts,
            base_seconds=settings.batch_backoff_base_seconds,
            max_seconds=settings.batch_backoff_max_seconds,
        )

    # -- create ---------------------------------------------------------------------------------

    def create(self, request: ScheduleRequest) -> tuple[ScheduleView, bool]:
        """Schedule the task; `(schedule, True)` when created, `(existing, False)` for the same request again."""
        now = self._clock()
        plan = self._plan(request, now)
        digest = fingerprint(request)
        params = self._schedule_params(request, plan, digest, state="ENABLED")
        try:
            response = self._client.create_schedule(**params)
        except ClientError as exc:
            if _code(exc) != "ConflictException":
                raise self._translate(exc, task_id=None) from exc
            return self._existing(request, digest), False
        except BotoCoreError as exc:
            raise _unreachable("CreateSchedule", exc) from exc
        logger.info(
            "schedule created",
            extra={
                "task_id": request.task_id,
                "action": request.action,
                "expression": plan.expression,
                "timezone": plan.timezone,
            },
        )
        view = self._planned_view(
            request, plan, arn=response["ScheduleArn"], state="ENABLED", created_at=now, updated_at=now
        )
        return view, True

    def _existing(self, request: ScheduleRequest, digest: str) -> ScheduleView:
        """The schedule that holds the task id: returned when it came from the same request, else a conflict."""
        try:
            schedule = self._get(request.task_id)
        except ScheduleNotFound:  # it ran or was cancelled between the two calls
            raise ScheduleConflict(f"task {request.task_id!r} changed while it was being scheduled; retry") from None
        match = FINGERPRINT.search(schedule.get("Description") or "")
        if match is None or match.group(1) != digest:
            raise ScheduleConflict(
                f"task {request.task_id!r} is already scheduled by a different request; "
                "PATCH it to change it, or DELETE it first"
            )
        logger.info("same request again: existing schedule returned", extra={"task_id": request.task_id})
        return self._view(schedule)

    def create_batch(self, items: Sequence[Any]) -> list[BatchOutcome]:
        """Create every item, a bounded number at a time; throttled items back off and retry.

        A task id given by two items goes to the first: the later ones are conflicts naming it, so the
        outcome never depends on which thread is faster.
        """
        parsed: list[ScheduleRequest | SchedulerError] = []
        first: dict[str, int] = {}
        for index, raw in enumerate(items):
            try:
                request = parse_schedule_request(raw)
            except SchedulerError as exc:
                parsed.append(exc)
                continue
            claimed = first.setdefault(request.task_id, index)
            parsed.append(
                request
                if claimed == index
                else ScheduleConflict(f"task_id {request.task_id!r} is already used by item {claimed} of this batch")
            )
        workers = max(1, min(self._settings.batch_concurrency, len(items)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch") as pool:
            return list(pool.map(self._batch_item, range(len(items)), parsed))

    def _batch_item(self, index: int, item: ScheduleRequest | SchedulerError) -> BatchOutcome:
        if isinstance(item, SchedulerError):
            return BatchOutcome(index=index, error=item)
        try:
            view, created = self.with_backoff(lambda: self.create(item))
        except SchedulerError as exc:
            return BatchOutcome(index=index, error=exc)
        return BatchOutcome(index=index, view=view, created=created)

    def with_backoff(self, call: Callable[[], T]) -> T:
        """`call()`, retried with exponential backoff and full jitter while it is throttled."""
        retry = 0
        while True:
            try:
                return call()
            except Throttled:
                retry += 1
                if retry >= self.backoff.max_attempts:
                    raise
                self._sleep(self.backoff.delay(retry, self._jitter()))

    # -- read -----------------------------------------------------------------------------------

    def get(self, task_id: str) -> ScheduleView:
        """The task's schedule; raise ScheduleNotFound."""
        return self._view(self._get(task_id))

    def list_schedules(
        self, *, state: str | None = None, prefix: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> SchedulePage:
        """One page of the group's schedules, newest first as the service returns them."""
        params: dict[str, Any] = {"GroupName": self._group, "MaxResults": limit}
        if state is not None:
            params["State"] = state
        if prefix is not None:
            params["NamePrefix"] = prefix
        if cursor is not None:
            params["NextToken"] = decode_cursor(cursor, state=state, prefix=prefix)
        response = self._call("list_schedules", None, **params)
        items = [
            ScheduleSummary(
                task_id=s["Name"],
                schedule_name=s["Name"],
                schedule_arn=s["Arn"],
                group=s.get("GroupName") or self._group,
                state=s.get("State") or "ENABLED",
                created_at=s.get("CreationDate"),
                updated_at=s.get("LastModificationDate"),
            )
            for s in response.get("Schedules", [])
        ]
        token = response.get("NextToken")
        return SchedulePage(items=items, cursor=encode_cursor(token, state=state, prefix=prefix) if token else None)

    # -- change ---------------------------------------------------------------------------------

    def update(self, task_id: str, patch: Any) -> ScheduleView:
        """Apply a JSON Merge Patch to the task's create request; the result is validated as a create."""
        changes = patch_changes(patch)
        current = self._get(task_id)
        request = parse_schedule_request(apply_patch(self._request_fields(current), changes))
        # A start date already in the past is the schedule's own; only a new one must be recent.
        unchanged_start = request.start_at is not None and request.start_at == current.get("StartDate")
        now = self._clock()
        plan = self._plan(request, now, check_start=not unchanged_start)
        params = self._schedule_params(
            request, plan, fingerprint(request), state=current.get("State") or "ENABLED", name=task_id
        )
        params.pop("ClientToken")
        self._call("update_schedule", task_id, **params)
        logger.info("schedule updated", extra={"task_id": task_id, "changed": sorted(changes)})
        return self._planned_view(
            request,
            plan,
            name=task_id,
            arn=current["Arn"],
            state=params["State"],
            created_at=current.get("CreationDate"),
            updated_at=now,
        )

    def pause(self, task_id: str) -> ScheduleView:
        """Disable the schedule: it keeps its settings and does not run until resumed."""
        return self._set_state(task_id, "DISABLED")

    def resume(self, task_id: str) -> ScheduleView:
        """Enable the schedule again."""
        return self._set_state(task_id, "ENABLED")

    def _set_state(self, task_id: str, state: str) -> ScheduleView:
        current = self._get(task_id)
        if current.get("State") != state:
            # UpdateSchedule replaces the whole schedule: send back everything it has.
            keys = (
                "ScheduleExpression",
                "ScheduleExpressionTimezone",
                "StartDate",
                "EndDate",
                "Description",
                "FlexibleTimeWindow",
                "Target",
                "ActionAfterCompletion",
                "KmsKeyArn",
            )
            params = {k: current[k] for k in keys if current.get(k) is not None}
            self._call("update_schedule", task_id, Name=task_id, GroupName=self._group, State=state, **params)
            logger.info("schedule state changed", extra={"task_id": task_id, "state": state})
            current = {**current, "State": state, "LastModificationDate": self._clock()}
        return self._view(current)

    # -- cancel ---------------------------------------------------------------------------------

    def delete(self, task_id: str) -> None:
        """Cancel the task's schedule; raise ScheduleNotFound when there is none."""
        self._call("delete_schedule", task_id, Name=task_id, GroupName=self._group)
        logger.info("schedule deleted", extra={"task_id": task_id})

    def delete_by_arn(self, schedule_arn: str) -> None:
        """Cancel a schedule given its ARN (the guide's cancel); raise ScheduleNotFound unless it is one of ours.

        Only an ARN equal, character for character, to this stack's own ARN for that name cancels:
        another region, account, partition or group, or anything appended, names another schedule.
        """
        name = schedule_arn.rsplit("/", 1)[-1]
        if not name or schedule_arn != self._schedule_arn(name):
            raise ScheduleNotFound(f"{schedule_arn!r} is not the ARN of a schedule in this stack's group")
        self.delete(name)

    # -- building blocks ------------------------------------------------------------------------

    def _plan(self, request: ScheduleRequest, now: datetime, *, check_start: bool = True) -> Plan:
        """Turn the request's timing into an expression as of `now`; refuse times that have passed."""
        if request.delay_seconds is not None or request.delay_minutes is not None:
            seconds = request.delay_seconds or (request.delay_minutes or 0) * 60
            moment = _ceil_second(now + timedelta(seconds=seconds))
            return Plan(expression=format_at(moment), timezone="UTC", one_time=True, next_run_at=moment)
        if request.run_at is not None:
            moment = _ceil_second(request.run_at)
            if request.run_at <= now:
                raise InvalidSchedule(
                    f"run_at: {request.run_at.isoformat()} is in the past (now is {_z(now)}); "
                    "give a future time or a delay"
                )
            return Plan(expression=format_at(moment), timezone="UTC", one_time=True, next_run_at=moment)

        text = request.cron or request.rate or ""
        zone = request.timezone or "UTC"
        # Whole seconds in UTC, what the API stores: the start rounded up and the end down, so a
        # schedule never runs earlier or later than asked.
        start = _ceil_second(request.start_at) if request.start_at is not None else None
        end = _whole_seconds(request.end_at)
        if end is not None and end <= now:
            raise InvalidSchedule(
                f"end_at: {end.isoformat()} is in the past (now is {_z(now)}); the schedule would never run"
            )
        if start is not None and check_start and start < now - START_DATE_GRACE:
            raise InvalidSchedule(
                f"start_at: {start.isoformat()} is more than 5 minutes in the past (now is {_z(now)}); "
                "EventBridge Scheduler refuses that; give a later start_at or none"
            )
        # Strictly after a moment before now: a rate() without start_at first runs at its creation (AWS: "starts
        # invoking the target immediately"), which is now, in whole seconds.
        first = next_fire_time(
            parse_expression(text), after=now - _TICK, timezone=zone, start=start, end=end, created_at=now
        )
        if first is None:
            window = f" before end_at {end.isoformat()}" if end is not None else ""
            raise InvalidSchedule(f"{text} in {zone} never fires after now ({_z(now)}){window}; nothing would run")
        return Plan(expression=text, timezone=zone, one_time=False, next_run_at=first, start=start, end=end)

    def _schedule_params(
        self, request: ScheduleRequest, plan: Plan, digest: str, *, state: str, name: str | None = None
    ) -> dict[str, Any]:
        """CreateSchedule/UpdateSchedule parameters (ClientToken included); the name defaults to the task id."""
        name = name or request.task_id
        target_input = build_target_input(request.envelope())
        self._check_input_size(target_input, name)
        retry = self._retry(request)
        params: dict[str, Any] = {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": plan.expression,
            "ScheduleExpressionTimezone": plan.timezone,
            "FlexibleTimeWindow": (
                {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": request.flexible_window_minutes}
                if request.flexible_window_minutes
                else {"Mode": "OFF"}
            ),
            "Target": {
                "Arn": self._settings.callback_function_arn,
                "RoleArn": self._settings.scheduler_role_arn,
                "Input": target_input,
                "RetryPolicy": {
                    "MaximumRetryAttempts": retry.max_attempts,
                    "MaximumEventAgeInSeconds": retry.max_event_age_seconds,
                },
                "DeadLetterConfig": {"Arn": self._settings.scheduler_dlq_arn},
            },
            "State": state,
            # One-time schedules delete themselves once they have run; without it they pile up.
            "ActionAfterCompletion": "DELETE" if plan.one_time else "NONE",
            # The action name only: `data` is the user's and stays in the Input.
            "Description": f"task {request.action}; request-sha256:{digest}",
        }
        if plan.start is not None:
            params["StartDate"] = plan.start
        if plan.end is not None:
            params["EndDate"] = plan.end
        # The same concrete call gets the same token, so a retried create cannot create twice.
        # It covers the computed at() time, so a later identical request (after the one-time
        # schedule ran and deleted itself) is a new call, not a replay of the old one.
        concrete = json.dumps(params, sort_keys=True, default=str).encode()
        params["ClientToken"] = hashlib.sha256(concrete).hexdigest()
        return params

    def _check_input_size(self, target_input: str, task_id: str) -> None:
        """Refuse an Input that Lambda could not take once the scheduler fills in its context attributes."""
        delivered = substitute_context_attributes(
            target_input,
            schedule_arn=self._schedule_arn(task_id),
            scheduled_time=_LONGEST_SCHEDULED_TIME,
            execution_id=_LONGEST_EXECUTION_ID,
            attempt=_LONGEST_ATTEMPT,
        )
        size = len(delivered.encode("utf-8"))
        limit = self._settings.max_target_input_bytes
        if size > limit:
            raise PayloadTooLarge(
                f"the task's event would be {size} bytes; "
                f"an asynchronous Lambda invocation takes at most {limit} bytes. "
                "Keep large data elsewhere (e.g. S3) and pass a reference in data"
            )

    def _schedule_arn(self, name: str) -> str:
        """The ARN a schedule gets: the callback's partition, region and account (same stack)."""
        match = LAMBDA_ARN.match(self._settings.callback_function_arn)
        partition, region, account = (
            (match["partition"], match["region"], match["account"]) if match else ("aws", "", "")
        )
        return f"arn:{partition}:scheduler:{region}:{account}:schedule/{self._group}/{name}"

    def _retry(self, request: ScheduleRequest) -> RetryPolicyView:
        given = request.retry
        return RetryPolicyView(
            max_attempts=(
                given.max_attempts
                if given is not None and given.max_attempts is not None
                else self._settings.default_max_retry_attempts
            ),
            max_event_age_seconds=(
                given.max_event_age_seconds
                if given is not None and given.max_event_age_seconds is not None
                else self._settings.default_max_event_age_seconds
            ),
        )

    def _planned_view(
        self,
        request: ScheduleRequest,
        plan: Plan,
        *,
        arn: str,
        state: str,
        created_at: datetime | None,
        updated_at: datetime | None,
        name: str | None = None,
    ) -> ScheduleView:
        return ScheduleView(
            task_id=request.task_id,
            schedule_name=name or request.task_id,
            schedule_arn=arn,
            group=self._group,
            kind="one-time" if plan.one_time else "recurring",
            expression=plan.expression,
            timezone=plan.timezone,
            state=state,
            next_run_at=plan.next_run_at if state == "ENABLED" else None,
            start_at=plan.start,
            end_at=plan.end,
            user_id=request.user_id,
            action=request.action,
            data=request.data,
            retry=self._retry(request),
            flexible_window_minutes=request.flexible_window_minutes,
            created_at=created_at,
            updated_at=updated_at,
        )

    def _get(self, task_id: str) -> dict[str, Any]:
        response: dict[str, Any] = self._call("get_schedule", task_id, Name=task_id, GroupName=self._group)
        return response

    def _view(self, schedule: Mapping[str, Any]) -> ScheduleView:
        """A schedule as GetSchedule returns it, read back into the API's terms."""
        expression = schedule.get("ScheduleExpression") or ""
        zone = schedule.get("ScheduleExpressionTimezone") or "UTC"
        state = schedule.get("State") or "ENABLED"
        task = _task_fields(schedule)
        target = schedule.get("Target") or {}
        retry = target.get("RetryPolicy")
        window = schedule.get("FlexibleTimeWindow") or {}
        parsed = _parse(expression)
        next_run = None
        if parsed is not None and state == "ENABLED":
            next_run = next_fire_time(
                parsed,
                after=self._clock(),
                timezone=zone,
                start=schedule.get("StartDate"),
                end=schedule.get("EndDate"),
                created_at=schedule.get("CreationDate"),
            )
        return ScheduleView(
            task_id=str(task.get("task_id") or schedule["Name"]),
            schedule_name=schedule["Name"],
            schedule_arn=schedule["Arn"],
            group=schedule.get("GroupName") or self._group,
            kind="one-time" if isinstance(parsed, AtExpression) or expression.startswith("at(") else "recurring",
            expression=expression,
            timezone=zone,
            state=state,
            next_run_at=next_run,
            start_at=schedule.get("StartDate"),
            end_at=schedule.get("EndDate"),
            user_id=task.get("user_id"),
            action=task.get("action"),
            data=task.get("data"),
            retry=(
                RetryPolicyView(
                    max_attempts=retry["MaximumRetryAttempts"], max_event_age_seconds=retry["MaximumEventAgeInSeconds"]
                )
                if retry
                else None
            ),
            flexible_window_minutes=window.get("MaximumWindowInMinutes") if window.get("Mode") == "FLEXIBLE" else None,
            created_at=schedule.get("CreationDate"),
            updated_at=schedule.get("LastModificationDate"),
        )

    def _request_fields(self, schedule: Mapping[str, Any]) -> dict[str, Any]:
        """The create request a schedule stands for, as a dict to merge a PATCH into."""
        task = _task_fields(schedule)
        if not {"task_id", "user_id", "action"} <= task.keys():
            raise ScheduleConflict(
                f"schedule {schedule['Name']!r} was not created by this API: its Input is not a task"
            )
        fields: dict[str, Any] = {k: task[k] for k in ("task_id", "user_id", "action", "data") if k in task}
        expression = schedule.get("ScheduleExpression") or ""
        zone = schedule.get("ScheduleExpressionTimezone") or "UTC"
        parsed = _parse(expression)
        if isinstance(parsed, AtExpression):
            fields["run_at"] = local_to_utc(parsed.moment, zone)
        else:
            fields["cron" if expression.startswith("cron(") else "rate"] = expression
            fields["timezone"] = zone
            fields["start_at"] = schedule.get("StartDate")
            fields["end_at"] = schedule.get("EndDate")
        retry = (schedule.get("Target") or {}).get("RetryPolicy")
        if retry:
            fields["retry"] = {
                "max_attempts": retry.get("MaximumRetryAttempts"),
                "max_event_age_seconds": retry.get("MaximumEventAgeInSeconds"),
            }
        window = schedule.get("FlexibleTimeWindow") or {}
        if window.get("Mode") == "FLEXIBLE":
            fields["flexible_window_minutes"] = window.get("MaximumWindowInMinutes")
        return fields

    def _call(self, operation: str, task_id: str | None, **params: Any) -> Any:
        """Call the client; translate its errors. `task_id` names the schedule the call is about."""
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as exc:
            raise self._translate(exc, task_id=task_id) from exc
        except BotoCoreError as exc:
            raise _unreachable(_operation_name(operation), exc) from exc

    def _translate(self, exc: ClientError, *, task_id: str | None) -> SchedulerError:
        """The domain error for an AWS error. AWS's message (ARNs, the account id) is logged, never answered."""
        code = _code(exc)
        operation = exc.operation_name
        error = exc.response.get("Error", {})
        logger.warning(
            "scheduler call failed",
            extra={
                "operation": operation,
                "code": code,
                "aws_message": error.get("Message"),
                "aws_request_id": exc.response.get("ResponseMetadata", {}).get("RequestId"),
                "task_id": task_id,
            },
        )
        if code == "ResourceNotFoundException" and task_id is not None:
            return ScheduleNotFound(
                f"no schedule for task {task_id!r} in group {self._group!r} (never created, cancelled, or already run)"
            )
        if code == "ConflictException":
            subject = f"task {task_id!r}" if task_id is not None else "the schedule"
            return ScheduleConflict(f"{subject} is being changed by another request ({code} on {operation}); retry")
        if code == "ValidationException" and operation == "ListSchedules":
            return InvalidSchedule(
                f"cursor: EventBridge Scheduler no longer accepts it ({code}); start again without it"
            )
        if code == "ValidationException":
            return InvalidSchedule(
                f"EventBridge Scheduler refused {operation} as invalid ({code}); nothing was created; "
                "the reason is in the scheduler function's log"
            )
        if code in THROTTLING_CODES:
            return Throttled(
                f"EventBridge Scheduler is throttling {operation} ({code}); retry later",
                retry_after_seconds=self._settings.retry_after_seconds,
            )
        if code == "InternalServerException":
            return UpstreamError(f"EventBridge Scheduler failed internally on {operation}; retry later")
        if code == "AccessDeniedException":
            return UpstreamError(
                f"EventBridge Scheduler refused {operation}: the scheduler function is not allowed to ({code}); "
                "its IAM role needs fixing, see its log"
            )
        if code == "ResourceNotFoundException":
            return UpstreamError(
                f"EventBridge Scheduler {operation} failed: something the stack deploys is missing ({code}), "
                "see the scheduler function's log"
            )
        return UpstreamError(f"EventBridge Scheduler {operation} failed ({code or 'an error without a code'})")


def _unreachable(operation: str, exc: BotoCoreError) -> UpstreamError:
    """No answer from AWS (connection, timeout): the message names the error's type, not its endpoint URL."""
    logger.warning("scheduler unreachable", extra={"operation": operation, "error": f"{type(exc).__name__}: {exc}"})
    return UpstreamError(
        f"EventBridge Scheduler could not be reached for {operation} ({type(exc).__name__}); retry later"
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _operation_name(method: str) -> str:
    return "".join(part.title() for part in method.split("_"))


def _parse(expression: str) -> Expression | None:
    try:
        return parse_expression(expression)
    except ExpressionError:
        return None


def _ceil_second(moment: datetime) -> datetime:
    """`moment` in UTC, rounded up to the whole second (an `at()` has no sub-seconds; never fire early)."""
    utc = moment.astimezone(UTC)
    whole = utc.replace(microsecond=0)
    return whole if whole == utc else whole + timedelta(seconds=1)


def _whole_seconds(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(microsecond=0)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _task_fields(schedule: Mapping[str, Any]) -> dict[str, Any]:
    """`task_id`, `user_id`, `action`, `data` from the proxy event in the schedule's Input (empty if absent)."""
    try:
        event = json.loads((schedule.get("Target") or {}).get("Input") or "{}")
    except (ValueError, TypeError):
        return {}
    return dict(task_fields(event).raw)
