"""The schedule engine: task requests in, schedules out, and back again. Knows nothing of HTTP or boto3.

It owns what a request means: the plan (which expression, zone and first run, as of now), the
request's fingerprint, the listing cursor, the batch's backoff and the PATCH merge. Every failure is
one of the domain errors in `scheduler_app.errors`; EventBridge Scheduler itself is behind
`scheduler_app.eventbridge`.

A task's schedule is named after its task id, in the stack's schedule group, so scheduling it
twice cannot make two schedules. The task itself lives in the task ledger (`scheduler_app.ledger`)
for its whole life, with the fingerprint of the request that created it: the same request again is
answered with the task as it is now (also after it ran), a different one is a conflict, until the
task's records expire. The ledger is written first and the schedule second, so a crash between
the two leaves a record without a schedule, which the next identical request completes (`create`).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
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

from scheduler_app import views
from scheduler_app.cursors import CursorSeal, caller_digest
from scheduler_app.errors import (
    ConfigurationError,
    InvalidSchedule,
    PayloadTooLarge,
    QuotaExceeded,
    ScheduleConflict,
    ScheduleExists,
    ScheduleNotFound,
    ScheduleQuotaFull,
    SchedulerError,
    Throttled,
)
from scheduler_app.eventbridge import EventBridgeSchedules, ScheduleSpec, StoredSchedule
from scheduler_app.ledger import ListFilter, TaskLedger, TaskRecord, iso
from scheduler_app.models import (
    RetryPolicyView,
    RunPage,
    SchedulePage,
    ScheduleRequest,
    ScheduleSummary,
    ScheduleView,
    apply_patch,
    parse_schedule_request,
    patch_changes,
)
from scheduler_app.namespaces import TaskAddress
from scheduler_app.ownership import Ownership, acting_for
from scheduler_app.principals import Caller
from scheduler_app.settings import SchedulerSettings
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
from taskcore.ledger import CANCELLED, LIVE_STATES, PAUSED, SCHEDULED
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
#: The runs GET shows with the task (one Query reads them with it).
RECENT_RUNS = 5
#: What `state` (EventBridge's words, the API's first listing filter) means in the ledger's.
SCHEDULE_STATES = {"ENABLED": SCHEDULED, "DISABLED": PAUSED}


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


#: What a listing says of a cursor it cannot read: forged, changed, cut, of another kind, or made with another key.
FOREIGN_CURSOR = "cursor: not a cursor this API issued; start again without it"


def encode_ledger_cursor(position: dict[str, Any], binding: dict[str, Any], *, seal: CursorSeal, caller: str) -> str:
    """An opaque cursor: where the next page starts, bound to the filters and the caller it was issued for.

    Sealed (scheduler_app.cursors): no caller can read the ledger's keys in it or make one of its own.
    """
    return seal.seal({"k": position, "b": binding, "c": caller})


def decode_ledger_cursor(cursor: str, binding: dict[str, Any], *, seal: CursorSeal, caller: str) -> dict[str, Any]:
    """The position inside `cursor`; raise InvalidSchedule for a foreign cursor, another caller's or other filters."""
    data = seal.open(cursor)
    if not isinstance(data, dict) or not isinstance(data.get("k"), dict) or not isinstance(data.get("b"), dict):
        raise InvalidSchedule(FOREIGN_CURSOR)
    if set(data["b"]) != set(binding):  # another kind of listing's (the runs of a task, or the tasks)
        raise InvalidSchedule(FOREIGN_CURSOR)
    if data.get("c") != caller:
        raise InvalidSchedule("cursor: it was issued to another caller; start again without it")
    if data["b"] != binding:
        given = ", ".join(f"{name}={data['b'].get(name)!r}" for name in binding)
        raise InvalidSchedule(
            f"cursor: it was issued for {given}; pass the same filters with it, or start again without it"
        )
    return dict(data["k"])


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
        ledger: TaskLedger,
        *,
        caller: Caller | None = None,
        cursors: Callable[[], CursorSeal] | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.schedules = schedules
        self.ledger = ledger
        self.caller = caller or Caller()
        #: The listing cursors' seal (the stack's key, read on first use); None: listings cannot page.
        self.cursors = cursors
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self.backoff = Backoff(
            max_attempts=settings.batch_max_attempts,
            base_seconds=settings.batch_backoff_base_seconds,
            max_seconds=settings.batch_backoff_max_seconds,
        )

    @property
    def owners(self) -> Ownership:
        """Which task a request addresses, in whose namespace, and whether its caller may act on it."""
        return Ownership(self.caller, self.ledger, self.schedules)

    def acting_for(self, owner: str) -> ScheduleService:
        """This engine for the tasks of `owner` (`?owner=`: an admin's; anyone else may name only itself)."""
        addressed = copy.copy(self)
        addressed.caller = acting_for(self.caller, owner)
        return addressed

    # -- create ---------------------------------------------------------------------------------

    def create(self, request: ScheduleRequest) -> tuple[ScheduleView, bool]:
        """Schedule the task; `(task, True)` when this request scheduled it, `(task, False)` for the same again.

        One conditional write claims the task id in the ledger, then CreateSchedule makes its
        schedule. The same request again finds the claim and answers with the task (nothing new is
        scheduled, also after it ran); when the claim's schedule was never made (a crash between the
        two steps) and the task is still to run, it makes it then (the same ClientToken: once).
        """
        # One reading, in the ledger's precision (milliseconds): the plan, the record and the view agree on it.
        now = _milliseconds(self._clock())
        digest = fingerprint(request)
        address = self.owners.home(request.task_id)  # the caller's own namespace under owner isolation
        try:
            plan = plan_schedule(request, now)
            self._check_interval(plan, now)
            spec = self._spec(request, plan, digest, state="ENABLED", address=address)  # refuses an oversized task
            self._check_quota()
        except (InvalidSchedule, QuotaExceeded):
            # The same request again, after its time passed or its owner's quota filled: the task, not a refusal.
            held = self.owners.held(request.task_id, now)
            if held is None or held.fingerprint != digest:
                raise
            return self._claimed(request, held, digest, now)
        # Its own task made before owner isolation was turned on holds the id too (a retry across the switch).
        held = self.owners.made_before(request.task_id, now)
        if held is not None:
            return self._claimed(request, held, digest, now)
        record = self._record(request, plan, digest, now, address)
        record.owner = self.caller.principal
        held = self.ledger.claim(record, now)
        if held is not None:
            return self._claimed(request, held, digest, now)
        try:
            self.schedules.create(spec)
        except ScheduleExists:  # a schedule older than the ledger (or the guide's) holds the name
            return self._adopt(request, digest, address), False
        except (InvalidSchedule, Throttled, ScheduleQuotaFull):
            # Refused: nothing was scheduled, so the id stays free. (After a timeout or a 5xx the schedule may
            # exist: the claim stays, and the same request again completes it.)
            self.ledger.forget(request.task_id, digest, scope=address.scope)
            raise
        logger.info(
            "schedule created",
            extra={
                "task_id": request.task_id,
                "action": request.action,
                "expression": plan.expression,
                "timezone": plan.timezone,
            },
        )
        return self._task_view(record, [], now=now), True

    def _record(
        self, request: ScheduleRequest, plan: Plan, digest: str, now: datetime, address: TaskAddress
    ) -> TaskRecord:
        return TaskRecord(
            task_id=request.task_id,
            state=SCHEDULED,
            kind="one-time" if plan.one_time else "recurring",
            expression=plan.expression,
            timezone=plan.timezone,
            created_at=iso(now) or "",
            updated_at=iso(now) or "",
            fingerprint=digest,
            user_id=request.user_id,
            action=request.action,
            request=request.model_dump(mode="json", exclude_none=True),
            start_at=iso(plan.start),
            end_at=iso(plan.end),
            schedule_arn=self.schedules.arn_of(address.schedule_name),
            scope=address.scope,
        )

    def _claimed(
        self, request: ScheduleRequest, held: TaskRecord, digest: str, now: datetime
    ) -> tuple[ScheduleView, bool]:
        """The task id is held: the same request gets the task (its schedule made if it never was), else 409."""
        if not self.caller.may_see(held.owner):  # another owner's: say no more than that the id is taken
            raise ScheduleConflict(f"task_id {request.task_id!r} is taken; use another task_id")
        if held.fingerprint != digest:
            if held.ended:
                raise ScheduleConflict(
                    f"task {request.task_id!r} was used by a different request (it is {held.state}); "
                    "its id stays reserved until its records expire: use another task_id"
                )
            raise ScheduleConflict(
                f"task {request.task_id!r} is already scheduled by a different request; "
                "PATCH it to change it, or DELETE it first"
            )
        created = False
        if held.state == SCHEDULED and self._still_to_run(held, now):
            stored = request  # the same fingerprint: the same request the claim was made for
            plan = Plan(
                expression=held.expression,
                timezone=held.timezone,
                one_time=held.kind != "recurring",
                next_run_at=None,
                start=views.when(held.start_at),
                end=views.when(held.end_at),
            )
            try:
                self.schedules.create(self._spec(stored, plan, digest, state="ENABLED", address=held.address))
                created = True
                logger.info("schedule of a claimed task made on its retry", extra={"task_id": request.task_id})
            except ScheduleExists:
                pass
        else:
            logger.info("same request again: the task returned", extra={"task_id": request.task_id})
        if created:
            return self._task_view(held, []), created
        record, runs = self.ledger.read(request.task_id, runs=RECENT_RUNS, now=now, scope=held.scope)
        return self._task_view(record or held, runs), created

    def _check_interval(self, plan: Plan, now: datetime) -> None:
        """Refuse a recurring schedule whose occurrences come closer than MIN_SCHEDULE_INTERVAL_SECONDS."""
        minimum = timedelta(seconds=self._settings.min_schedule_interval_seconds)
        if plan.one_time:
            return
        closest = closest_occurrences(plan, now)
        if closest is not None and closest[1] - closest[0] < minimum:
            gap, most = int((closest[1] - closest[0]).total_seconds()), int(minimum.total_seconds())
            raise InvalidSchedule(
                f"{plan.expression} in {plan.timezone} runs {gap} s apart (at {_z(closest[0])} and "
                f"{_z(closest[1])}); this stack allows recurring schedules at most every {most} s"
            )

    def _check_quota(self) -> None:
        """Refuse a create when its owner already has MAX_ACTIVE_SCHEDULES_PER_OWNER live tasks."""
        owner = self.caller.principal
        if owner is None:  # no principal (a direct invocation, `make dev` without one): nobody to count
            return
        most = self._settings.max_active_schedules_per_owner
        if self.ledger.count_live(owner, up_to=most) >= most:
            raise QuotaExceeded(
                f"{owner} already has {most} active schedules, the most this stack allows "
                "(MaxActiveSchedulesPerOwner); cancel some, or wait for one-time tasks to run"
            )

    def _address(self, task_id: str) -> TaskAddress:
        """Where the caller's task is; under owner isolation one it does not own does not exist for it (404)."""
        return self.owners.address(task_id, self._clock())

    def _still_to_run(self, held: TaskRecord, now: datetime) -> bool:
        """Whether a claimed task can still fire: a recurring one before its end, a one-time one before its time."""
        if held.request is None:
            return False  # not made by this API (the callback recorded a schedule made elsewhere)
        return views.next_run(held, now) is not None

    def _adopt(self, request: ScheduleRequest, digest: str, address: TaskAddress) -> ScheduleView:
        """A schedule made before the ledger holds the name: the same request keeps it (and its new record)."""
        try:
            stored = self.schedules.get(address.schedule_name, task_id=request.task_id)
        except ScheduleNotFound:  # it ran or was cancelled between the two calls
            self.ledger.forget(request.task_id, digest, scope=address.scope)
            raise ScheduleConflict(f"task {request.task_id!r} changed while it was being scheduled; retry") from None
        if stored.fingerprint != digest:
            self.ledger.forget(request.task_id, digest, scope=address.scope)
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
        """The task, for its whole life: one Query of the ledger (task and latest runs).

        A schedule the ledger does not know (made before it, or by the guide's code, and not run
        yet) is read from EventBridge Scheduler instead, as is `data` too large for the ledger.
        """
        now = self._clock()
        # Another owner's task, or a schedule older than the ledger (no owner) for a non-admin: the 404 of none.
        address, record, runs = self.owners.locate(task_id, runs=RECENT_RUNS, now=now)
        if record is None:
            return self._view(self.schedules.get(address.schedule_name, task_id=task_id))
        view = self._task_view(record, runs)
        if record.state in LIVE_STATES and (record.request is None or record.data_bytes is not None):
            try:
                live = self._view(self.schedules.get(address.schedule_name, task_id=task_id))
            except ScheduleNotFound:
                return view
            keep = {"status", "run_count", "last_run", "runs"}
            return live.model_copy(update={name: getattr(view, name) for name in keep})
        return view

    def runs(self, task_id: str, *, limit: int = 20, cursor: str | None = None) -> RunPage:
        """The task's runs, newest first, a page at a time; raise ScheduleNotFound for a task the ledger lacks."""
        scope = self._address(task_id).scope
        now = self._clock()
        binding = {"task": task_id} | ({"scope": scope} if scope is not None else {})
        start = self._decode_cursor(cursor, binding) if cursor is not None else None
        page = self.ledger.runs(task_id, limit=limit, start=start, now=now, scope=scope)
        if not page.items and cursor is None and self.ledger.read(task_id, runs=0, now=now, scope=scope)[0] is None:
            raise ScheduleNotFound(f"no task {task_id!r} in the task ledger (never created, or its records expired)")
        return RunPage(
            items=[views.run_view(run) for run in page.items],
            cursor=self._encode_cursor(page.following, binding) if page.following else None,
        )

    def list_schedules(
        self,
        *,
        state: str | None = None,
        prefix: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        status: str | None = None,
        user_id: int | str | None = None,
        action: str | None = None,
    ) -> SchedulePage:
        """A page of tasks from the ledger, newest first, by user and/or status (live tasks when neither)."""
        status = status_filter(state, status)
        binding = {"user_id": None if user_id is None else str(user_id), "status": status, "action": action}
        binding["prefix"] = prefix
        if not self.caller.sees_all:  # an owner's listing (or an admin's of one owner): for that owner only
            binding["owner"] = self.caller.principal
        position: dict[str, Any] = self._decode_cursor(cursor, binding) if cursor is not None else {"i": 0}
        filters = self._filters(status=status, user_id=user_id, action=action, prefix=prefix)
        index, start = position.get("i", 0), position.get("k") or None
        if not isinstance(index, int) or not 0 <= index < len(filters) or not isinstance(start, dict | None):
            raise InvalidSchedule(FOREIGN_CURSOR)
        items, following = self._walk(filters, index, start, limit)
        return SchedulePage(items=items, cursor=self._encode_cursor(following, binding) if following else None)

    def _encode_cursor(self, position: dict[str, Any], binding: dict[str, Any]) -> str:
        return encode_ledger_cursor(position, binding, seal=self._seal(), caller=caller_digest(self.caller.principal))

    def _decode_cursor(self, cursor: str, binding: dict[str, Any]) -> dict[str, Any]:
        return decode_ledger_cursor(cursor, binding, seal=self._seal(), caller=caller_digest(self.caller.principal))

    def _seal(self) -> CursorSeal:
        if self.cursors is None:
            raise ConfigurationError("no key for the listing cursors: CURSOR_SECRET_ID (template.yaml sets it)")
        return self.cursors()

    def _filters(
        self, *, status: str | None, user_id: int | str | None, action: str | None, prefix: str | None
    ) -> list[ListFilter]:
        """The Queries of a listing, in order, each one index partition.

        One user: one Query of ByUser. Otherwise one state's ByState partition at a time: the live tasks
        (scheduled, then paused) unless a status is named. Under owner isolation the same, on the caller's
        ByOwner partition.
        """
        states: list[str | None] = [status] if status is not None else list(LIVE_STATES)
        if user_id is not None and status is None:
            states = [None]  # every state of the user's (ByUser holds them all, as does ByOwner)
        if not self.caller.sees_all:
            owner = self.caller.principal or ""
            return [ListFilter(owner=owner, user_id=user_id, state=one, action=action, prefix=prefix) for one in states]
        if user_id is not None:
            return [ListFilter(user_id=user_id, state=status, action=action, prefix=prefix)]
        return [ListFilter(state=one, action=action, prefix=prefix) for one in states]

    def _walk(
        self, filters: list[ListFilter], index: int, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[ScheduleSummary], dict[str, Any] | None]:
        """Up to `limit` tasks from `filters[index]` on (from `start`), and where the next page starts."""
        now = self._clock()
        group, arn_of = self.schedules.group, self.schedules.arn_of
        items: list[ScheduleSummary] = []
        while True:
            page = self.ledger.page(filters[index], limit=limit - len(items), start=start, now=now)
            items += [views.summary(r, group=group, arn=arn_of(r.address.schedule_name), now=now) for r in page.items]
            if page.following is not None:
                return items, {"i": index, "k": page.following}
            if index + 1 >= len(filters):
                return items, None
            index, start = index + 1, None  # this state is exhausted: on to the next
            if len(items) >= limit:
                return items, {"i": index}

    # -- change ---------------------------------------------------------------------------------

    def update(self, task_id: str, patch: Any) -> ScheduleView:
        """Apply a JSON Merge Patch to the task's create request; the result is validated as a create.

        The schedule is changed first, then the task's record: a failure between the two is
        repaired by sending the same PATCH again (it merges into the same request).
        """
        changes = patch_changes(patch)
        address = self._address(task_id)
        current = self._schedule_of(address)
        request = parse_schedule_request(apply_patch(request_fields(current), changes))
        # A start date already in the past is the schedule's own; only a new one must be recent.
        unchanged_start = request.start_at is not None and request.start_at == current.start
        now = self._clock()
        plan = plan_schedule(request, now, check_start=not unchanged_start)
        self._check_interval(plan, now)
        digest = fingerprint(request)
        spec = self._spec(request, plan, digest, state=current.state, address=address)
        self.schedules.update(spec)
        record = self._record(request, plan, digest, current.created or now, address)
        record.state, record.updated_at = SCHEDULE_STATES.get(current.state, SCHEDULED), iso(now) or ""
        self.ledger.put(record)
        logger.info("schedule updated", extra={"task_id": task_id, "changed": sorted(changes)})
        view = self._planned_view(
            request, plan, name=spec.name, arn=current.arn, state=spec.state, created_at=current.created, updated_at=now
        )
        return view.model_copy(update={"status": record.state})

    def pause(self, task_id: str) -> ScheduleView:
        """Disable the schedule: it keeps its settings and does not run until resumed."""
        return self._set_state(task_id, "DISABLED")

    def resume(self, task_id: str) -> ScheduleView:
        """Enable the schedule again."""
        return self._set_state(task_id, "ENABLED")

    def _set_state(self, task_id: str, state: str) -> ScheduleView:
        address = self._address(task_id)
        current = self._schedule_of(address)
        if current.state != state:
            self.schedules.set_state(current, state)
            logger.info("schedule state changed", extra={"task_id": task_id, "state": state})
            current = StoredSchedule.from_description(
                {**current.raw, "State": state, "LastModificationDate": self._clock()}, current.group
            )
        # Also when unchanged: it converges.
        self.ledger.set_state(task_id, SCHEDULE_STATES[state], self._clock(), scope=address.scope)
        return self._view(current).model_copy(update={"status": SCHEDULE_STATES[state]})

    def _schedule_of(self, address: TaskAddress) -> StoredSchedule:
        """The task's schedule; for a task that has none any more, a 404 that says what became of it."""
        try:
            return self.schedules.get(address.schedule_name, task_id=address.task_id)
        except ScheduleNotFound as missing:
            record, _ = self.ledger.read(address.task_id, runs=0, now=self._clock(), scope=address.scope)
            if record is not None and record.ended:
                raise ScheduleNotFound(_ended(record)) from None
            raise missing from None

    # -- cancel ---------------------------------------------------------------------------------

    def delete(self, task_id: str) -> None:
        """Cancel the task: schedule deleted, record kept as cancelled; ScheduleNotFound when neither is live."""
        self._cancel(self._address(task_id))

    def _cancel(self, address: TaskAddress) -> None:
        task_id, now = address.task_id, self._clock()
        try:
            self.schedules.delete(address.schedule_name, task_id=task_id)
        except ScheduleNotFound as missing:
            record, _ = self.ledger.read(task_id, runs=0, now=now, scope=address.scope)
            if record is None:
                raise missing from None
            if record.ended:
                raise ScheduleNotFound(_ended(record)) from None
            # A record without its schedule (a one-time task that just fired, or a create cut short): cancelled.
        self.ledger.set_state(task_id, CANCELLED, now, scope=address.scope)
        logger.info("schedule deleted", extra={"task_id": task_id})

    def delete_by_arn(self, schedule_arn: str) -> None:
        """Cancel a schedule given its ARN (the guide's cancel); raise ScheduleNotFound unless it is one of ours.

        Only an ARN equal, character for character, to this stack's own ARN for that name cancels:
        another region, account, partition or group, or anything appended, names another schedule.
        """
        name = schedule_arn.rsplit("/", 1)[-1]
        if not name or schedule_arn != self.schedules.arn_of(name):
            raise ScheduleNotFound(f"{schedule_arn!r} is not the ARN of a schedule in this stack's group")
        if not self.caller.isolated:
            self.delete(name)
            return
        self._cancel(self.owners.of_schedule(name, self._clock()))  # under owner isolation a name is no task id

    # -- building blocks ------------------------------------------------------------------------

    def _spec(
        self, request: ScheduleRequest, plan: Plan, digest: str, *, state: str, address: TaskAddress
    ) -> ScheduleSpec:
        """The schedule the request becomes at `address`; refuse an Input that is too large."""
        name = address.schedule_name
        kind = "one-time" if plan.one_time else "recurring"
        target_input = build_target_input(request.envelope(), kind=kind, scope=address.scope)
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

    def _task_view(self, record: TaskRecord, runs: list[Any], *, now: datetime | None = None) -> ScheduleView:
        request = None
        if record.request is not None:
            try:
                request = parse_schedule_request(record.request)
            except SchedulerError:  # a request valid when it was made, refused by today's rules
                request = None
        return views.task_view(
            record,
            runs,
            group=self.schedules.group,
            arn=self.schedules.arn_of(record.address.schedule_name),
            retry=self._retry(request) if request is not None else None,
            now=now or self._clock(),
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


#: How far ahead, and over how many occurrences, a recurring schedule's closest two are looked for.
INTERVAL_HORIZON = timedelta(days=400)
INTERVAL_OCCURRENCES = 2_000


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


def status_filter(state: str | None, status: str | None) -> str | None:
    """The ledger state a listing asks for: `status`, or what the schedule `state` means; both must agree."""
    if state is None:
        return status
    if status is not None and SCHEDULE_STATES[state] != status:
        raise InvalidSchedule(f"state={state} and status={status} contradict each other; pass one of them")
    return SCHEDULE_STATES[state]


def _ended(record: TaskRecord) -> str:
    """Why an ended task has no schedule, for its 404."""
    if record.state == CANCELLED:
        return f"task {record.task_id!r} was cancelled at {record.updated_at}; it has no schedule any more"
    finished = (record.last_run or {}).get("finished_at") or record.updated_at
    return f"task {record.task_id!r} already ran ({record.state} at {finished}); it has no schedule any more"


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


def _milliseconds(moment: datetime) -> datetime:
    """`moment` in the ledger's precision, rounded up to the millisecond (never earlier than the clock read)."""
    whole = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return whole if whole == moment else whole + timedelta(milliseconds=1)


def _whole_seconds(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(microsecond=0)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
