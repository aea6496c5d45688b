"""The schedule engine: task requests in, schedules out, and back again. Knows nothing of HTTP or boto3.

It owns what a request means: the plan (which expression, zone and first run, as of now), the
request's fingerprint, the listing cursor, the batch's backoff and the PATCH merge. Every failure is
one of the domain errors in `scheduler_app.errors`; EventBridge Scheduler itself is behind
`scheduler_app.eventbridge`.

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
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from scheduler_app.errors import (
    InvalidSchedule,
    PayloadTooLarge,
    ScheduleConflict,
    ScheduleExists,
    ScheduleNotFound,
    SchedulerError,
    Throttled,
)
from scheduler_app.eventbridge import EventBridgeSchedules, ScheduleSpec, StoredSchedule
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
from taskcore.proxy import build_target_input, substitute_context_attributes

logger = Logger(child=True)

T = TypeVar("T")

_TICK = timedelta(microseconds=1)
#: "The StartDate you specify cannot be earlier than 5 minutes ago" (CreateSchedule / UpdateSchedule).
START_DATE_GRACE = timedelta(minutes=5)
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


def plan_schedule(request: ScheduleRequest, now: datetime, *, check_start: bool = True) -> Plan:
    """Turn the request's timing into an expression as of `now`; refuse times that have passed."""
    if request.delay_seconds is not None or request.delay_minutes is not None:
        seconds = request.delay_seconds or (request.delay_minutes or 0) * 60
        return _one_time(_ceil_second(now + timedelta(seconds=seconds)))
    if request.run_at is not None:
        if request.run_at <= now:
            raise InvalidSchedule(
                f"run_at: {request.run_at.isoformat()} is in the past (now is {_z(now)}); give a future time or a delay"
            )
        return _one_time(_ceil_second(request.run_at))
    return _recurring(request, now, check_start=check_start)


def _one_time(moment: datetime) -> Plan:
    return Plan(expression=format_at(moment), timezone="UTC", one_time=True, next_run_at=moment)


def _recurring(request: ScheduleRequest, now: datetime, *, check_start: bool) -> Plan:
    text = request.cron or request.rate or ""
    zone = request.timezone or "UTC"
    # Whole seconds in UTC, what the API stores: the start rounded up and the end down, so a
    # schedule never runs earlier or later than asked.
    start = _ceil_second(request.start_at) if request.start_at is not None else None
    end = _whole_seconds(request.end_at)
    _check_window(start, end, now, check_start=check_start)
    # Strictly after a moment before now: a rate() without start_at first runs at its creation (AWS:
    # "starts invoking the target immediately"), which is now, in whole seconds.
    first = next_fire_time(
        parse_expression(text), after=now - _TICK, timezone=zone, start=start, end=end, created_at=now
    )
    if first is None:
        window = f" before end_at {end.isoformat()}" if end is not None else ""
        raise InvalidSchedule(f"{text} in {zone} never fires after now ({_z(now)}){window}; nothing would run")
    return Plan(expression=text, timezone=zone, one_time=False, next_run_at=first, start=start, end=end)


def _check_window(start: datetime | None, end: datetime | None, now: datetime, *, check_start: bool) -> None:
    if end is not None and end <= now:
        raise InvalidSchedule(
            f"end_at: {end.isoformat()} is in the past (now is {_z(now)}); the schedule would never run"
        )
    if start is not None and check_start and start < now - START_DATE_GRACE:
        raise InvalidSchedule(
            f"start_at: {start.isoformat()} is more than 5 minutes in the past (now is {_z(now)}); "
            "EventBridge Scheduler refuses that; give a later start_at or none"
        )


class ScheduleService:
    """Creates, reads, changes and cancels the schedules of tasks in one schedule group."""

    def __init__(
        self,
        schedules: EventBridgeSchedules,
        settings: SchedulerSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.schedules = schedules
        self._settings = settings
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
        plan = plan_schedule(request, now)
        digest = fingerprint(request)
        try:
            arn = self.schedules.create(self._spec(request, plan, digest, state="ENABLED"))
        except ScheduleExists:
            return self._existing(request, digest), False
        logger.info(
            "schedule created",
            extra={
                "task_id": request.task_id,
                "action": request.action,
                "expression": plan.expression,
                "timezone": plan.timezone,
            },
        )
        return self._planned_view(request, plan, arn=arn, state="ENABLED", created_at=now, updated_at=now), True

    def _existing(self, request: ScheduleRequest, digest: str) -> ScheduleView:
        """The schedule that holds the task id: returned when it came from the same request, else a conflict."""
        try:
            stored = self.schedules.get(request.task_id)
        except ScheduleNotFound:  # it ran or was cancelled between the two calls
            raise ScheduleConflict(f"task {request.task_id!r} changed while it was being scheduled; retry") from None
        if stored.fingerprint != digest:
            raise ScheduleConflict(
                f"task {request.task_id!r} is already scheduled by a different request; "
                "PATCH it to change it, or DELETE it first"
            )
        logger.info("same request again: existing schedule returned", extra={"task_id": request.task_id})
        return self._view(stored)

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
        return self._view(self.schedules.get(task_id))

    def list_schedules(
        self, *, state: str | None = None, prefix: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> SchedulePage:
        """One page of the group's schedules, newest first as the service returns them."""
        token = decode_cursor(cursor, state=state, prefix=prefix) if cursor is not None else None
        listings, following = self.schedules.list_page(state=state, prefix=prefix, limit=limit, token=token)
        items = [
            ScheduleSummary(
                task_id=s.name,
                schedule_name=s.name,
                schedule_arn=s.arn,
                group=s.group,
                state=s.state,
                created_at=s.created,
                updated_at=s.modified,
            )
            for s in listings
        ]
        next_cursor = encode_cursor(following, state=state, prefix=prefix) if following else None
        return SchedulePage(items=items, cursor=next_cursor)

    # -- change ---------------------------------------------------------------------------------

    def update(self, task_id: str, patch: Any) -> ScheduleView:
        """Apply a JSON Merge Patch to the task's create request; the result is validated as a create."""
        changes = patch_changes(patch)
        current = self.schedules.get(task_id)
        request = parse_schedule_request(apply_patch(request_fields(current), changes))
        # A start date already in the past is the schedule's own; only a new one must be recent.
        unchanged_start = request.start_at is not None and request.start_at == current.start
        now = self._clock()
        plan = plan_schedule(request, now, check_start=not unchanged_start)
        spec = self._spec(request, plan, fingerprint(request), state=current.state, name=task_id)
        self.schedules.update(spec)
        logger.info("schedule updated", extra={"task_id": task_id, "changed": sorted(changes)})
        return self._planned_view(
            request, plan, name=task_id, arn=current.arn, state=spec.state, created_at=current.created, updated_at=now
        )

    def pause(self, task_id: str) -> ScheduleView:
        """Disable the schedule: it keeps its settings and does not run until resumed."""
        return self._set_state(task_id, "DISABLED")

    def resume(self, task_id: str) -> ScheduleView:
        """Enable the schedule again."""
        return self._set_state(task_id, "ENABLED")

    def _set_state(self, task_id: str, state: str) -> ScheduleView:
        current = self.schedules.get(task_id)
        if current.state != state:
            self.schedules.set_state(current, state)
            logger.info("schedule state changed", extra={"task_id": task_id, "state": state})
            current = StoredSchedule.from_description(
                {**current.raw, "State": state, "LastModificationDate": self._clock()}, current.group
            )
        return self._view(current)

    # -- cancel ---------------------------------------------------------------------------------

    def delete(self, task_id: str) -> None:
        """Cancel the task's schedule; raise ScheduleNotFound when there is none."""
        self.schedules.delete(task_id)
        logger.info("schedule deleted", extra={"task_id": task_id})

    def delete_by_arn(self, schedule_arn: str) -> None:
        """Cancel a schedule given its ARN (the guide's cancel); raise ScheduleNotFound unless it is one of ours.

        Only an ARN equal, character for character, to this stack's own ARN for that name cancels:
        another region, account, partition or group, or anything appended, names another schedule.
        """
        name = schedule_arn.rsplit("/", 1)[-1]
        if not name or schedule_arn != self.schedules.arn_of(name):
            raise ScheduleNotFound(f"{schedule_arn!r} is not the ARN of a schedule in this stack's group")
        self.delete(name)

    # -- building blocks ------------------------------------------------------------------------

    def _spec(
        self, request: ScheduleRequest, plan: Plan, digest: str, *, state: str, name: str | None = None
    ) -> ScheduleSpec:
        """The schedule the request becomes (the name defaults to the task id); refuse an Input that is too large."""
        name = name or request.task_id
        target_input = build_target_input(request.envelope(), kind="one-time" if plan.one_time else "recurring")
        self._check_input_size(target_input, name)
        retry = self._retry(request)
        return ScheduleSpec(
            name=name,
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

    def _check_input_size(self, target_input: str, name: str) -> None:
        """Refuse an Input that Lambda could not take once the scheduler fills in its context attributes."""
        delivered = substitute_context_attributes(
            target_input,
            schedule_arn=self.schedules.arn_of(name),
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

    def _retry(self, request: ScheduleRequest) -> RetryPolicyView:
        given = request.retry
        attempts = given.max_attempts if given is not None else None
        age = given.max_event_age_seconds if given is not None else None
        return RetryPolicyView(
            max_attempts=attempts if attempts is not None else self._settings.default_max_retry_attempts,
            max_event_age_seconds=age if age is not None else self._settings.default_max_event_age_seconds,
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
            group=self.schedules.group,
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

    def _view(self, stored: StoredSchedule) -> ScheduleView:
        """A schedule as EventBridge Scheduler holds it, in the API's terms."""
        task = stored.task
        parsed = _parse(stored.expression)
        return ScheduleView(
            task_id=str(task.get("task_id") or stored.name),
            schedule_name=stored.name,
            schedule_arn=stored.arn,
            group=stored.group,
            kind="one-time" if isinstance(parsed, AtExpression) or stored.expression.startswith("at(") else "recurring",
            expression=stored.expression,
            timezone=stored.timezone,
            state=stored.state,
            next_run_at=self._next_run(stored, parsed),
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

    def _next_run(self, stored: StoredSchedule, parsed: Expression | None) -> datetime | None:
        if parsed is None or stored.state != "ENABLED":
            return None
        return next_fire_time(
            parsed,
            after=self._clock(),
            timezone=stored.timezone,
            start=stored.start,
            end=stored.end,
            created_at=stored.created,
        )


def request_fields(stored: StoredSchedule) -> dict[str, Any]:
    """The create request a schedule stands for, as a dict to merge a PATCH into."""
    task = stored.task
    if not {"task_id", "user_id", "action"} <= task.keys():
        raise ScheduleConflict(f"schedule {stored.name!r} was not created by this API: its Input is not a task")
    fields: dict[str, Any] = {k: task[k] for k in ("task_id", "user_id", "action", "data") if k in task}
    parsed = _parse(stored.expression)
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
