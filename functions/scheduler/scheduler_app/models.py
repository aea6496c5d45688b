"""The scheduler API's request models (a create, a merge patch); their examples feed the OpenAPI document.

The response models are in scheduler_app.responses.

Timing rules that need no clock (exactly one timing, the AWS expression grammar, IANA zones,
ranges) live here; rules relative to "now" (a time in the past, an expression that never fires)
live in the engine, which owns the clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, cast

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from scheduler_app.errors import InvalidSchedule
from taskcore.envelope import TaskEnvelope, TaskId, require_whole_number
from taskcore.errors import describe_errors, error_list
from taskcore.expressions import CronExpression, RateExpression, parse_expression, parse_timezone

ONE_TIME_FIELDS = ("delay_seconds", "delay_minutes", "run_at")
RECURRING_FIELDS = ("cron", "rate")
TIMING_FIELDS = (*ONE_TIME_FIELDS, *RECURRING_FIELDS)
RECURRING_ONLY_FIELDS = ("timezone", "start_at", "end_at")

#: One year: further out, give `run_at`. (Also keeps `now + delay` far from datetime's range.)
MAX_DELAY_SECONDS = 366 * 86_400
MAX_DELAY_MINUTES = MAX_DELAY_SECONDS // 60


def require_iso_time(value: Any) -> Any:
    """Only ISO 8601 text is a time here: pydantic would read a JSON number as epoch seconds."""
    if isinstance(value, (bool, int, float)):
        raise ValueError(
            "give an ISO 8601 time with its UTC offset, e.g. 2030-01-01T09:00:00+09:00 "
            f"(got the number {str(value).lower()}; epoch seconds are not accepted)"
        )
    return value


def new_task_id() -> str:
    """A fresh task id for a request that gave none (32 hex characters)."""
    return uuid.uuid4().hex


def _expression(value: str, kind: type[CronExpression | RateExpression], keyword: str) -> str:
    """Parse `value` (with or without its `keyword(...)`) as `kind`; the canonical text, e.g. `rate(1 minute)`."""
    text = value.strip()
    parsed = parse_expression(text if "(" in text else f"{keyword}({text})")
    if not isinstance(parsed, kind):
        raise ValueError(f"expected a {keyword}(...) expression, got {value!r}")
    return parsed.expression


class RetryPolicy(BaseModel):
    """How EventBridge Scheduler retries a failed *delivery* (throttling, a missing function, IAM)."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int | None = Field(
        default=None, ge=0, le=185, description="MaximumRetryAttempts, 0..185; default from configuration (185)"
    )
    max_event_age_seconds: int | None = Field(
        default=None, ge=60, le=86_400, description="MaximumEventAgeInSeconds, 60..86400; default from configuration"
    )


class ScheduleRequest(TaskEnvelope):
    """Schedule a task: the envelope (`task_id`, `user_id`, `action`, `data`) and exactly one timing."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "task_id": "payment-reminder-42",
                    "user_id": 456,
                    "action": "send_notification",
                    "data": {"notification_type": "payment_expiration", "message": "Your payment expires soon"},
                    "delay_minutes": 30,
                }
            ]
        },
    )

    task_id: TaskId = Field(default_factory=new_task_id)
    # Validated even when omitted: an action whose model requires fields must not get `{}` silently.
    data: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, examples=[{"message": "Your payment expires soon"}]
    )

    delay_seconds: int | None = Field(
        default=None, ge=1, le=MAX_DELAY_SECONDS, description="One-time: run in N seconds (rounded up to the second)"
    )
    delay_minutes: int | None = Field(
        default=None, ge=1, le=MAX_DELAY_MINUTES, description="One-time: run in N minutes"
    )
    run_at: AwareDatetime | None = Field(
        default=None, description="One-time: ISO 8601 with a UTC offset", examples=["2030-01-01T09:00:00+09:00"]
    )
    cron: str | None = Field(
        default=None,
        description="Recurring: AWS cron, 6 fields (`?` in one day field)",
        examples=["cron(0 9 * * ? *)"],
    )
    rate: str | None = Field(
        default=None, description="Recurring: rate(N minute|minutes|hour|hours|day|days)", examples=["rate(5 minutes)"]
    )
    timezone: str | None = Field(
        default=None, description="Recurring: IANA zone of the cron expression (default UTC)", examples=["Asia/Seoul"]
    )
    start_at: AwareDatetime | None = Field(default=None, description="Recurring: first moment it may run")
    end_at: AwareDatetime | None = Field(default=None, description="Recurring: last moment it may run")
    retry: RetryPolicy | None = None
    flexible_window_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="Deliver within this window after each time (default: exactly on time)"
    )

    @field_validator("delay_seconds", "delay_minutes", mode="before")
    @classmethod
    def _whole_number(cls, value: Any, info: ValidationInfo) -> Any:
        return value if value is None else require_whole_number(value, str(info.field_name).removeprefix("delay_"))

    @field_validator("run_at", "start_at", "end_at", mode="before")
    @classmethod
    def _iso_time(cls, value: Any) -> Any:
        return require_iso_time(value)

    @field_validator("cron")
    @classmethod
    def _cron_expression(cls, value: str | None) -> str | None:
        return None if value is None else _expression(value, CronExpression, "cron")

    @field_validator("rate")
    @classmethod
    def _rate_expression(cls, value: str | None) -> str | None:
        return None if value is None else _expression(value, RateExpression, "rate")

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse_timezone(value)
        return value

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleRequest:
        given = [name for name in TIMING_FIELDS if getattr(self, name) is not None]
        if len(given) != 1:
            found = "none" if not given else " and ".join(given)
            raise ValueError(
                "give exactly one timing: delay_seconds, delay_minutes or run_at (one-time), "
                f"or cron or rate (recurring); got {found}"
            )
        if given[0] in ONE_TIME_FIELDS:
            self._no_recurring_fields()
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise ValueError(f"end_at ({self.end_at.isoformat()}) must be after start_at ({self.start_at.isoformat()})")
        return self

    def _no_recurring_fields(self) -> None:
        extra = [name for name in RECURRING_ONLY_FIELDS if getattr(self, name) is not None]
        if extra:
            raise ValueError(
                f"{' and '.join(extra)} {'applies' if len(extra) == 1 else 'apply'} only to recurring "
                "schedules (cron or rate); "
                "for a one-time schedule give run_at with its UTC offset"
            )

    def envelope(self) -> TaskEnvelope:
        """The task this schedule delivers."""
        return TaskEnvelope(task_id=self.task_id, user_id=self.user_id, action=self.action, data=self.data)


def parse_schedule_request(raw: Any) -> ScheduleRequest:
    """Validate one create request from untyped JSON (batch items, merged PATCHes); raise InvalidSchedule."""
    if not isinstance(raw, Mapping):
        raise InvalidSchedule(f"expected a JSON object, got {type(raw).__name__}")
    try:
        return ScheduleRequest.model_validate(raw)
    except ValidationError as exc:
        # Located as a create's are: in the body (for a PATCH, the body merged into the task's request).
        located = [{**error, "loc": ("body", *error.get("loc", ()))} for error in exc.errors()]
        raise InvalidSchedule(describe_errors(exc), errors=error_list(located)) from None


#: What identifies a task: a PATCH may repeat these members but not change them.
IDENTITY_FIELDS = ("task_id", "user_id", "action")


def _nullable(field: FieldInfo) -> Any:
    """The field's type or null, with its constraints (ranges, lengths)."""
    nullable = cast(Any, field.annotation) | None
    return Annotated[(nullable, *field.metadata)] if field.metadata else nullable


def _patch_model() -> type[BaseModel]:
    """The PATCH body's schema: every create member but the identity, optional and nullable (for OpenAPI).

    Derived from ScheduleRequest, so each member keeps its type, range and description. The body is
    validated as a merge patch (`merge_patch`) and the merged request as a create, not by this model.
    """
    fields: dict[str, Any] = {
        name: (_nullable(field), Field(None, description=field.description))
        for name, field in ScheduleRequest.model_fields.items()
        if name not in IDENTITY_FIELDS
    }
    return create_model(
        "SchedulePatch",
        __config__=ConfigDict(
            extra="forbid",
            json_schema_extra={
                "description": (
                    "A JSON Merge Patch (RFC 7396) of the task's create request: members given replace, "
                    "null removes, objects (data, retry) merge member by member. A new timing replaces the old one."
                ),
                "examples": [
                    {"cron": "cron(30 8 ? * MON-FRI *)", "timezone": "Asia/Seoul"},
                    {"data": {"message": "new text", "language": None}},
                ],
            },
        ),
        **fields,
    )


SchedulePatch = _patch_model()


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 MergePatch(target, patch): members replace, null removes, objects merge recursively."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def patch_changes(body: Any) -> dict[str, Any]:
    """The members a PATCH body changes; raise InvalidSchedule for a body that is no merge patch."""
    if not isinstance(body, Mapping):
        raise InvalidSchedule("a merge patch is a JSON object of the members to change")
    if not body:
        raise InvalidSchedule(
            "nothing to change: give data, a timing, timezone, start_at, end_at, retry or flexible_window_minutes"
        )
    return dict(body)


def apply_patch(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The create request after `changes`: a new timing first clears the old one, then the merge patch."""
    for name in IDENTITY_FIELDS:
        if name in changes and changes[name] != current.get(name):
            raise InvalidSchedule(f"{name}: cannot be changed by PATCH; DELETE the task and create it again")
    document = dict(current)
    new_timing = [name for name in TIMING_FIELDS if changes.get(name) is not None]
    if new_timing:
        for name in TIMING_FIELDS:
            document.pop(name, None)
        if new_timing[0] in ONE_TIME_FIELDS:  # a one-time schedule has no zone or window of its own
            for name in RECURRING_ONLY_FIELDS:
                document.pop(name, None)
    merged: dict[str, Any] = merge_patch(document, changes)
    return merged


__all__ = [
    "RetryPolicy",
    "SchedulePatch",
    "ScheduleRequest",
    "apply_patch",
    "merge_patch",
    "parse_schedule_request",
    "patch_changes",
]
