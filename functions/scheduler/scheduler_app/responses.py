"""The scheduler API's response models: a task, a listing row, a run, a page, a batch's results, health.

scheduler_app.views builds them from the engine's records; their examples feed the OpenAPI document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ScheduleKind = Literal["one-time", "recurring"]


class RetryPolicyView(BaseModel):
    """The retry policy a schedule carries."""

    max_attempts: int
    max_event_age_seconds: int


#: taskcore.states.TaskState's words (tests/unit/test_state_machine.py keeps them equal).
TaskStatus = Literal[
    "scheduled", "paused", "running", "retrying", "succeeded", "failed", "rejected", "missed", "cancelled", "ended"
]
#: taskcore.states.RunOutcome's recorded words (`duplicate` is the outcome line's only).
RunOutcome = Literal["succeeded", "failed", "rejected", "expired", "skipped", "timed_out", "undelivered"]


class RunError(BaseModel):
    """Why a run failed or was rejected: the error's type and its message, redacted (never the task's data)."""

    type: str
    message: str


class RunView(BaseModel):
    """One occurrence of a task and what the callback's invocations of it did."""

    scheduled_time: datetime | None = Field(description="The occurrence; null for an invocation without one")
    attempts: int = Field(description="The callback's invocations of this occurrence (Lambda's retries, redrives)")
    outcome: RunOutcome | None
    status_code: int | None = None
    final: bool = Field(description="True when nothing retries it any more: it succeeded, was rejected, or failed last")
    first_started_at: datetime | None = None
    last_started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = Field(default=None, description="Of the last invocation")
    replays: int = Field(default=0, description="Duplicate deliveries answered with the stored result")
    result: Any = Field(default=None, description="The action's result (null when too large: see result_preview)")
    result_bytes: int | None = None
    result_preview: str | None = Field(default=None, description="The start of a result too large to keep")
    error: RunError | None = None


class LastRun(BaseModel):
    """The latest run, in brief."""

    scheduled_time: datetime | None = None
    outcome: RunOutcome | None = None
    status_code: int | None = None
    attempts: int | None = None
    final: bool | None = None
    finished_at: datetime | None = None
    reason: str | None = Field(default=None, description="Why it did not succeed, when it did not")


class RunPage(BaseModel):
    """A page of a task's runs, newest first; pass `cursor` back for the next (null on the last page)."""

    items: list[RunView]
    cursor: str | None


class ScheduleView(BaseModel):
    """A task: its request, its schedule's timing and state, and what its runs did (from the task ledger)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "task_id": "payment-reminder-42",
                    "schedule_name": "payment-reminder-42",
                    "schedule_arn": (
                        "arn:aws:scheduler:ap-northeast-2:123456789012:schedule/scheduled-tasks-tasks/payment-reminder-42"
                    ),
                    "group": "scheduled-tasks-tasks",
                    "kind": "one-time",
                    "expression": "at(2030-01-01T00:30:00)",
                    "timezone": "UTC",
                    "state": "ENABLED",
                    "next_run_at": "2030-01-01T00:30:00Z",
                    "user_id": 456,
                    "action": "send_notification",
                    "data": {"message": "Your payment expires soon"},
                    "retry": {"max_attempts": 185, "max_event_age_seconds": 86400},
                }
            ]
        }
    )

    task_id: str
    schedule_name: str
    schedule_arn: str
    group: str
    kind: ScheduleKind
    expression: str
    timezone: str
    state: str | None = Field(description="ENABLED or DISABLED while the task has a schedule; null once it has none")
    next_run_at: datetime | None = Field(
        description="Next time it runs, in UTC; null when it will not run again or is paused"
    )
    start_at: datetime | None = None
    end_at: datetime | None = None
    user_id: int | str | None = None
    action: str | None = None
    data: dict[str, Any] | None = None
    retry: RetryPolicyView | None = None
    flexible_window_minutes: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    status: TaskStatus | None = Field(
        default=None,
        description=(
            "Where the task is (docs/architecture.md, the state machine): scheduled or paused while it has a "
            "schedule; running or retrying while a delivered one-time occurrence's attempts go on; then how it ended"
        ),
    )
    reason: str | None = Field(
        default=None,
        description="Why it is retrying, failed, was rejected or missed: the last run's error, or the ending's",
    )
    run_count: int = Field(default=0, description="Occurrences run so far")
    last_run: LastRun | None = None
    runs: list[RunView] = Field(default_factory=list, description="The latest runs, newest first (at most 5)")
    owner: str | None = Field(default=None, description="The IAM principal that created the task (docs/security.md)")


class ScheduleSummary(BaseModel):
    """One task in a list, from the task ledger's index (GET the task for its data and runs)."""

    task_id: str
    schedule_name: str
    schedule_arn: str
    group: str
    state: str | None = Field(description="ENABLED or DISABLED while the task has a schedule, else null")
    status: TaskStatus | None = None
    kind: ScheduleKind | None = None
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


class SchedulePage(BaseModel):
    """A page of schedules; pass `cursor` back to get the next one (null on the last page)."""

    items: list[ScheduleSummary]
    cursor: str | None


class BatchRequest(BaseModel):
    """Up to 100 create requests; each is validated and answered on its own."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"task_id": "reminder-1", "user_id": 1, "action": "send_notification", "delay_minutes": 10},
                        {
                            "task_id": "report-daily",
                            "user_id": 0,
                            "action": "generate_daily_report",
                            "cron": "cron(0 9 * * ? *)",
                            "timezone": "Asia/Seoul",
                        },
                    ]
                }
            ]
        },
    )

    items: Annotated[list[Any], Field(min_length=1, max_length=100, description="Each item is a create request")]


class BatchItemResult(BaseModel):
    """The outcome of one batch item: the status and body its own POST would have had."""

    index: int
    status: int
    body: dict[str, Any]


class BatchResponse(BaseModel):
    """One result per item, in the order given."""

    items: list[BatchItemResult]
    created: int
    existing: int
    failed: int


class HealthResponse(BaseModel):
    """Liveness, and the actions this deployment can schedule."""

    status: Literal["ok"]
    service: str
    actions: list[str] = Field(description="The registered actions (their data schemas are in /openapi.json)")


__all__ = [
    "BatchItemResult",
    "BatchRequest",
    "BatchResponse",
    "HealthResponse",
    "LastRun",
    "RetryPolicyView",
    "RunError",
    "RunPage",
    "RunView",
    "SchedulePage",
    "ScheduleSummary",
    "ScheduleView",
]
