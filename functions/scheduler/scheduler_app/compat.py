"""The guide's API, kept as its code calls it: its create and cancel routes and models, on the same engine.

"The guide" is the user's original guide to this pattern (README: "Where it came from"); code written
against it keeps working: `POST /api/v1/scheduler/schedule` with its `ScheduleTaskRequest`, answered
with its `ScheduleTaskResponse`, and `DELETE /api/v1/scheduler/schedule/{schedule_arn}`. What differs
from the guide (names from the task id, no rounding to a minute, strict input, precise 404/409/429/502)
is listed in docs/guide-compatibility.md. Everything the guide's code touches is in this module.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from scheduler_app.api_errors import errors
from scheduler_app.deps import SchedulerDep
from scheduler_app.errors import ScheduleNotFound
from scheduler_app.models import ScheduleRequest, parse_schedule_request
from taskcore.envelope import require_whole_number

logger = Logger(child=True)

#: The guide's bound on `delay_minutes`: one week.
GUIDE_MAX_DELAY_MINUTES = 10_080


class ScheduleTaskRequest(BaseModel):
    """The guide's request: run `action` for `user_id` in `delay_minutes` minutes."""

    model_config = ConfigDict(
        # The guide's model ignored unknown fields: a stray `run_at` was dropped silently. Refused here.
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "task_id": "task-123",
                    "user_id": 456,
                    "action": "send_notification",
                    "delay_minutes": 30,
                    "data": {"notification_type": "reminder", "message": "Your task is ready"},
                }
            ]
        },
    )

    task_id: str = Field(..., description="Task id; also the schedule's name (1..64 of [0-9A-Za-z_.-])")
    user_id: int = Field(..., description="User id (an integer)")
    action: str = Field(..., description="A registered action")
    delay_minutes: int = Field(..., ge=1, le=GUIDE_MAX_DELAY_MINUTES, description="Delay in minutes (1..10080)")
    data: dict[str, Any] = Field(default_factory=dict, description="The action's data")

    @field_validator("user_id", mode="before")
    @classmethod
    def _integer_user_id(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                "give the user id as a JSON integer, e.g. 456 (the guide's ScheduleTaskRequest.user_id: int)"
            )
        return value

    @field_validator("delay_minutes", mode="before")
    @classmethod
    def _whole_minutes(cls, value: Any) -> Any:
        return require_whole_number(value, "minutes")

    def to_schedule_request(self) -> ScheduleRequest:
        """The same task as a resource-API request (one engine underneath)."""
        return parse_schedule_request(
            {
                "task_id": self.task_id,
                "user_id": self.user_id,
                "action": self.action,
                "data": self.data,
                "delay_minutes": self.delay_minutes,
            }
        )


class ScheduleTaskResponse(BaseModel):
    """The guide's response."""

    success: bool
    message: str
    schedule_arn: str
    task_id: str
    scheduled_in_minutes: int


class CancelScheduleResponse(BaseModel):
    """The guide's cancel response."""

    success: bool
    message: str
    schedule_arn: str


router = APIRouter(prefix="/api/v1/scheduler", tags=["scheduler (guide)"])


@router.post(
    "/schedule",
    operation_id="guideScheduleTask",
    response_model=ScheduleTaskResponse,
    responses=errors(409, 413, 422, 429, 502),
)
async def schedule_task(request: ScheduleTaskRequest, service: SchedulerDep) -> ScheduleTaskResponse:
    """The guide's create: run `action` in `delay_minutes` minutes. The schedule is named after `task_id`."""
    result = service.create(request.to_schedule_request())
    view = result.view
    logger.info(
        "guide task scheduled",
        extra={"task_id": view.task_id, "action": request.action, "new_schedule": result.created},
    )
    return ScheduleTaskResponse(
        success=True,
        message="Task scheduled successfully" if result.created else "Task already scheduled",
        schedule_arn=view.schedule_arn,
        task_id=view.task_id,
        scheduled_in_minutes=request.delay_minutes,
    )


@router.delete(
    "/schedule/{schedule_arn:path}",
    operation_id="guideCancelSchedule",
    response_model=CancelScheduleResponse,
    responses=errors(404, 422, 429, 502),
)
async def cancel_schedule(schedule_arn: str, request: Request, service: SchedulerDep) -> CancelScheduleResponse:
    """The guide's cancel, by schedule ARN: 404 unless it is this stack's schedule, 429/502 when cancelling failed."""
    # Starlette's route pattern ends in `$`, which also matches before a final newline: take the path as sent.
    sent = request.scope["path"].removeprefix(f"{router.prefix}/schedule/")
    try:
        service.delete_by_arn(sent)
    except ScheduleNotFound:
        raise HTTPException(status_code=404, detail="Schedule not found or already executed") from None
    return CancelScheduleResponse(success=True, message="Schedule cancelled successfully", schedule_arn=schedule_arn)
