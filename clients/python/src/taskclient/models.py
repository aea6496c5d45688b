"""The API's models as the client sees them: what it answers (`Task`, `Run`, ...) and what a create sends.

Each response model mirrors a schema of the API's OpenAPI document (`Task` is `ScheduleView`, `Run` is
`RunView`, ...), field for field and type for type; tests/client/test_drift.py fails when they drift
apart. Unknown fields are ignored, so an API that grows a field does not break a client that lags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TaskStatus = Literal[
    "scheduled", "paused", "running", "retrying", "succeeded", "failed", "rejected", "missed", "cancelled", "ended"
]
RunOutcome = Literal["succeeded", "failed", "rejected", "expired", "skipped", "timed_out", "undelivered"]
TaskKind = Literal["one-time", "recurring"]
#: What `list(status=...)` filters on: a task's state in the ledger.
ListStatus = Literal["scheduled", "paused", "succeeded", "failed", "rejected", "missed", "cancelled", "ended"]


class _Answer(BaseModel):
    """A model of an API answer: read-only, tolerant of fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class DeliveryRetry(BaseModel):
    """EventBridge Scheduler's retries of a failed *delivery* (the API's `RetryPolicy`; 0..185, 60..86400)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int | None = None
    max_event_age_seconds: int | None = None


class RetryPolicyView(_Answer):
    """The delivery retry policy a task's schedule carries."""

    max_attempts: int
    max_event_age_seconds: int


class RunError(_Answer):
    """Why a run failed or was rejected: the error's type and its message (redacted by the API)."""

    type: str
    message: str


class Run(_Answer):
    """One occurrence of a task and what the callback's invocations of it did (the API's `RunView`)."""

    scheduled_time: datetime | None
    attempts: int
    outcome: RunOutcome | None
    status_code: int | None = None
    final: bool
    first_started_at: datetime | None = None
    last_started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    replays: int = 0
    result: Any = None
    result_bytes: int | None = None
    result_preview: str | None = None
    error: RunError | None = None


class LastRun(_Answer):
    """The latest run of a task, in brief."""

    scheduled_time: datetime | None = None
    outcome: RunOutcome | None = None
    status_code: int | None = None
    attempts: int | None = None
    final: bool | None = None
    finished_at: datetime | None = None
    reason: str | None = None


class Task(_Answer):
    """A task for its whole life: its request, its schedule's timing and state, its latest runs (`ScheduleView`)."""

    task_id: str
    schedule_name: str
    schedule_arn: str
    group: str
    kind: TaskKind
    expression: str
    timezone: str
    state: str | None
    next_run_at: datetime | None
    start_at: datetime | None = None
    end_at: datetime | None = None
    user_id: int | str | None = None
    action: str | None = None
    data: dict[str, Any] | None = None
    retry: RetryPolicyView | None = None
    flexible_window_minutes: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    status: TaskStatus | None = None
    reason: str | None = None
    run_count: int = 0
    last_run: LastRun | None = None
    runs: list[Run] = Field(default_factory=list)
    owner: str | None = None


class TaskSummary(_Answer):
    """A task as a listing shows it (`ScheduleSummary`): no data and no runs; `get` the task for those."""

    task_id: str
    schedule_name: str
    schedule_arn: str
    group: str
    state: str | None
    status: TaskStatus | None = None
    kind: TaskKind | None = None
    expression: str | None = None
    timezone: str | None = None
    next_run_at: datetime | None = None
    user_id: int | str | None = None
    action: str | None = None
    run_count: int = 0
    last_run: LastRun | None = None
    owner: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class TaskPage(_Answer):
    """A page of a listing (`SchedulePage`); the client follows `cursor` for you."""

    items: list[TaskSummary]
    cursor: str | None


class RunPage(_Answer):
    """A page of a task's runs, newest first (`RunPage`); the client follows `cursor` for you."""

    items: list[Run]
    cursor: str | None


class BatchItemResult(_Answer):
    """One item of a batch: the status and body its own create would have had (`BatchItemResult`)."""

    index: int
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        """Whether the item is scheduled (201 created, or 200: the same request again)."""
        return self.status in (200, 201)

    @property
    def task(self) -> Task | None:
        """The task, when the item is scheduled."""
        return Task.model_validate(self.body) if self.ok else None


class BatchResult(_Answer):
    """One result per item, in the order given, and the counts (`BatchResponse`)."""

    items: list[BatchItemResult]
    created: int
    existing: int
    failed: int


class Health(_Answer):
    """Liveness, and the actions the deployment can schedule (`HealthResponse`)."""

    status: Literal["ok"]
    service: str
    actions: list[str]


class FieldError(_Answer):
    """One field error of a 422: where (`loc`), what (`msg`) and its kind (`type`); never the input itself."""

    loc: tuple[str | int, ...] = ()
    msg: str = ""
    type: str = ""


class ErrorBody(_Answer):
    """An error answer: the API's message, its machine-readable code when it sends one, and a 422's field errors."""

    detail: str
    code: str | None = None
    errors: list[FieldError] | None = None


Delay = timedelta | int | float


def _aware(name: str, value: datetime | None) -> str | None:
    """ISO 8601 text with its offset; a naive datetime is refused (the API would not know its zone)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"{name}: give a datetime with its timezone, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name}: {value.isoformat()} has no timezone; give an aware datetime, e.g. datetime.now(UTC) + ..."
        )
    return value.isoformat()


def delay_seconds(delay: Delay) -> int:
    """Whole seconds, rounded up (a task never runs earlier than asked)."""
    if isinstance(delay, bool) or not isinstance(delay, (timedelta, int, float)):
        raise TypeError(f"delay: give a timedelta or a number of seconds, got {type(delay).__name__}")
    seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    return math.ceil(seconds)


class Timing(BaseModel):
    """When a task runs: exactly one of a delay, a time, a cron or a rate (and a recurring task's zone and window).

    `Timing.after(timedelta(minutes=30))`, `Timing.at(datetime(2030, 1, 1, 9, tzinfo=UTC))`,
    `Timing.of(cron="cron(0 9 * * ? *)", timezone="Asia/Seoul")`, `Timing.of(rate="rate(5 minutes)")`.
    The API checks the rest (exactly one timing, the grammar, the zone) and says what is wrong.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    delay_seconds: int | None = None
    run_at: str | None = None
    cron: str | None = None
    rate: str | None = None
    timezone: str | None = None
    start_at: str | None = None
    end_at: str | None = None

    @classmethod
    def of(
        cls,
        *,
        delay: Delay | None = None,
        at: datetime | None = None,
        cron: str | None = None,
        rate: str | None = None,
        timezone: str | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
    ) -> Timing:
        """The timing the keywords of `schedule` and `reschedule` describe; naive datetimes are refused here."""
        return cls(
            delay_seconds=None if delay is None else delay_seconds(delay),
            run_at=_aware("at", at),
            cron=cron,
            rate=rate,
            timezone=timezone,
            start_at=_aware("start_at", start_at),
            end_at=_aware("end_at", end_at),
        )

    @classmethod
    def after(cls, delay: Delay) -> Timing:
        """Once, `delay` from now (a timedelta or seconds, rounded up to the second)."""
        return cls.of(delay=delay)

    @classmethod
    def at(cls, when: datetime) -> Timing:
        """Once, at `when` (an aware datetime)."""
        return cls.of(at=when)

    def fields(self) -> dict[str, Any]:
        """The request members this timing sets."""
        return self.model_dump(exclude_none=True)


class NewTask(BaseModel):
    """One task to create: what `schedule` takes, as a value (`schedule_many` takes a list of them).

    `task_id` is generated when absent, before anything is sent, so a retried create can never schedule twice.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str
    user_id: int | str
    data: Mapping[str, Any] | None = None
    task_id: str | None = None
    timing: Timing
    retry: DeliveryRetry | None = None
    flexible_window_minutes: int | None = None

    @classmethod
    def of(
        cls,
        action: str,
        *,
        user_id: int | str,
        data: Mapping[str, Any] | None = None,
        task_id: str | None = None,
        delay: Delay | None = None,
        at: datetime | None = None,
        cron: str | None = None,
        rate: str | None = None,
        timezone: str | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        retry: DeliveryRetry | None = None,
        flexible_window_minutes: int | None = None,
    ) -> NewTask:
        """The task `schedule` would create with these arguments."""
        timing = Timing.of(
            delay=delay, at=at, cron=cron, rate=rate, timezone=timezone, start_at=start_at, end_at=end_at
        )
        return cls(
            action=action,
            user_id=user_id,
            data=data,
            task_id=task_id,
            timing=timing,
            retry=retry,
            flexible_window_minutes=flexible_window_minutes,
        )

    def body(self, task_id: str) -> dict[str, Any]:
        """The create request's JSON body, with `task_id` (the caller's, or the one generated for it)."""
        body: dict[str, Any] = {"task_id": task_id, "user_id": self.user_id, "action": self.action}
        if self.data is not None:
            body["data"] = dict(self.data)
        body.update(self.timing.fields())
        if self.retry is not None:
            body["retry"] = self.retry.model_dump(exclude_none=True)
        if self.flexible_window_minutes is not None:
            body["flexible_window_minutes"] = self.flexible_window_minutes
        return body


__all__ = [
    "BatchItemResult",
    "BatchResult",
    "DeliveryRetry",
    "ErrorBody",
    "FieldError",
    "Health",
    "LastRun",
    "ListStatus",
    "NewTask",
    "RetryPolicyView",
    "Run",
    "RunError",
    "RunOutcome",
    "RunPage",
    "Task",
    "TaskKind",
    "TaskPage",
    "TaskStatus",
    "TaskSummary",
    "Timing",
]
