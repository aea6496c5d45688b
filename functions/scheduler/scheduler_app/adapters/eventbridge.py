"""EventBridge Scheduler as this API uses it: the real `SchedulesPort`, the only module that speaks boto3 for schedules.

It builds CreateSchedule/UpdateSchedule requests from a `ScheduleSpec`, reads GetSchedule back into
a `StoredSchedule`, and translates every AWS error into one of the
domain errors of `scheduler_app.errors`: AWS's own message (it names role ARNs and the account id)
is logged here and never answered. The engine (`scheduler_app.engine`) never sees boto3.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from scheduler_app.errors import (
    InvalidSchedule,
    ScheduleConflict,
    ScheduleExists,
    ScheduleNotFound,
    ScheduleQuotaFull,
    SchedulerError,
    Throttled,
    UpstreamError,
)
from scheduler_app.records import ScheduleSpec, StoredSchedule, group_schedule_arn
from taskcore.states import ScheduleState

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

logger = Logger(child=True)

#: Codes that mean "slow down". Scheduler's rate quotas answer ServiceQuotaExceededException too
#: (EventBridge Scheduler User Guide, "Troubleshooting quotas"), but so does its quota on the number of
#: schedules in the account, which no wait clears: `schedule_count_full` tells the two apart.
THROTTLING_CODES = frozenset({"ThrottlingException", "ServiceQuotaExceededException"})
#: The error carries only a Message (botocore's model: no QuotaCode, no ServiceCode), so its words decide.
#: A rate ("Rate exceeded", "requests per second", "throttled", "TPS") is throttling, whatever else it says.
RATE_WORDS = re.compile(r"\brate\b|throttl|per second|\btps\b|too many requests|slow down", re.IGNORECASE)
#: The number of schedules: "schedule(s)" with "number", "count", "limit", "maximum" or "quota" either side.
COUNT_WORDS = re.compile(
    r"\bschedules?\b.*\b(number|count|limit|maximum|quota)\b|\b(number|count|limit|maximum|quota)\b.*\bschedules?\b",
    re.IGNORECASE,
)
#: What UpdateSchedule must be sent back to change only the state (it replaces the whole schedule).
KEPT_ON_STATE_CHANGE = (
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


def stored_schedule(described: Mapping[str, Any], group: str) -> StoredSchedule:
    """A schedule as GetSchedule describes it (`raw`: the description itself, to send back on a state change)."""
    target = described.get("Target") or {}
    retry = target.get("RetryPolicy")
    window = described.get("FlexibleTimeWindow") or {}
    return StoredSchedule(
        name=described["Name"],
        arn=described["Arn"],
        group=described.get("GroupName") or group,
        expression=described.get("ScheduleExpression") or "",
        timezone=described.get("ScheduleExpressionTimezone") or "UTC",
        state=ScheduleState(described.get("State") or ScheduleState.ENABLED),
        start=described.get("StartDate"),
        end=described.get("EndDate"),
        created=described.get("CreationDate"),
        modified=described.get("LastModificationDate"),
        description=described.get("Description") or "",
        target_input=target.get("Input"),
        retry=(retry["MaximumRetryAttempts"], retry["MaximumEventAgeInSeconds"]) if retry else None,
        flexible_window_minutes=window.get("MaximumWindowInMinutes") if window.get("Mode") == "FLEXIBLE" else None,
        raw=described,
    )


class EventBridgeSchedules:
    """The schedules of one group, with the stack's target, role and dead-letter queue (a `SchedulesPort`)."""

    def __init__(
        self,
        client: EventBridgeSchedulerClient,
        *,
        group: str,
        target_arn: str,
        role_arn: str,
        dead_letter_arn: str,
        retry_after_seconds: int = 1,
    ) -> None:
        self.client = client
        self.group = group
        self._target_arn = target_arn
        self._role_arn = role_arn
        self._dead_letter_arn = dead_letter_arn
        self._retry_after = retry_after_seconds

    def arn_of(self, name: str) -> str:
        """The ARN a schedule of this group gets: the callback's partition, region and account (same stack)."""
        return group_schedule_arn(self._target_arn, self.group, name)

    def create(self, spec: ScheduleSpec) -> str:
        """Create the schedule; its ARN. Raise ScheduleExists when the name is taken."""
        params = self._params(spec)
        # The same concrete call gets the same token, so a retried create cannot create twice. It covers
        # the computed at() time, so a later identical request (after the one-time schedule ran and
        # deleted itself) is a new call, not a replay of the old one.
        params["ClientToken"] = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
        try:
            response = self.client.create_schedule(**params)
        except ClientError as exc:
            if _code(exc) == "ConflictException":
                raise ScheduleExists(f"a schedule named {spec.name!r} exists in group {self.group!r}") from exc
            raise self._translate(exc, task_id=None) from exc
        except BotoCoreError as exc:
            raise _unreachable("CreateSchedule", exc) from exc
        arn: str = response["ScheduleArn"]
        return arn

    def update(self, spec: ScheduleSpec) -> None:
        """Replace the schedule with `spec` (UpdateSchedule replaces everything)."""
        self._call("update_schedule", spec.name, **self._params(spec))

    def set_state(self, stored: StoredSchedule, state: ScheduleState, *, now: datetime) -> StoredSchedule:
        """Enable or disable the schedule, sending back everything else it has; the schedule as it is now.

        UpdateSchedule answers only the ARN: the description read before, with the new state, changed at `now`.
        """
        kept = {k: stored.raw[k] for k in KEPT_ON_STATE_CHANGE if stored.raw.get(k) is not None}
        self._call("update_schedule", stored.name, Name=stored.name, GroupName=self.group, State=state, **kept)
        return stored_schedule({**stored.raw, "State": state, "LastModificationDate": now}, stored.group)

    def get(self, name: str, *, task_id: str | None = None) -> StoredSchedule:
        """The schedule called `name` (task `task_id`'s, for the errors; default: the name); raise ScheduleNotFound."""
        described = self._call("get_schedule", task_id or name, Name=name, GroupName=self.group)
        return stored_schedule(described, self.group)

    def delete(self, name: str, *, task_id: str | None = None) -> None:
        """Delete the schedule; raise ScheduleNotFound when there is none."""
        self._call("delete_schedule", task_id or name, Name=name, GroupName=self.group)

    def _params(self, spec: ScheduleSpec) -> dict[str, Any]:
        """CreateSchedule/UpdateSchedule parameters of `spec` (no ClientToken)."""
        params: dict[str, Any] = {
            "Name": spec.name,
            "GroupName": self.group,
            "ScheduleExpression": spec.expression,
            "ScheduleExpressionTimezone": spec.timezone,
            "FlexibleTimeWindow": (
                {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": spec.flexible_window_minutes}
                if spec.flexible_window_minutes
                else {"Mode": "OFF"}
            ),
            "Target": {
                "Arn": self._target_arn,
                "RoleArn": self._role_arn,
                "Input": spec.target_input,
                "RetryPolicy": {
                    "MaximumRetryAttempts": spec.max_retry_attempts,
                    "MaximumEventAgeInSeconds": spec.max_event_age_seconds,
                },
                "DeadLetterConfig": {"Arn": self._dead_letter_arn},
            },
            "State": spec.state,
            # One-time schedules delete themselves once they have run; without it they pile up.
            "ActionAfterCompletion": "DELETE" if spec.one_time else "NONE",
            "Description": spec.description,
        }
        if spec.start is not None:
            params["StartDate"] = spec.start
        if spec.end is not None:
            params["EndDate"] = spec.end
        return params

    def _call(self, operation: str, task_id: str | None, **params: Any) -> Any:
        """Call the client; translate its errors. `task_id` names the schedule the call is about."""
        try:
            return getattr(self.client, operation)(**params)
        except ClientError as exc:
            raise self._translate(exc, task_id=task_id) from exc
        except BotoCoreError as exc:
            raise _unreachable(_operation_name(operation), exc) from exc

    def _translate(self, exc: ClientError, *, task_id: str | None) -> SchedulerError:
        """The domain error for an AWS error. AWS's message (ARNs, the account id) is logged, never answered."""
        code, operation = _code(exc), exc.operation_name
        logger.warning(
            "scheduler call failed",
            extra={
                "operation": operation,
                "code": code,
                "aws_message": exc.response.get("Error", {}).get("Message"),
                "aws_request_id": exc.response.get("ResponseMetadata", {}).get("RequestId"),
                "task_id": task_id,
            },
        )
        if code == "ResourceNotFoundException" and task_id is not None:
            return ScheduleNotFound(
                f"no schedule for task {task_id!r} in group {self.group!r} (never created, cancelled, or already run)"
            )
        if code == "ConflictException":
            subject = f"task {task_id!r}" if task_id is not None else "the schedule"
            return ScheduleConflict(f"{subject} is being changed by another request ({code} on {operation}); retry")
        if schedule_count_full(code, operation, exc.response.get("Error", {}).get("Message")):
            logger.error(
                "schedule quota full",
                extra={
                    "error_code": "schedule_quota_full",
                    "operation": operation,
                    "aws_request_id": exc.response.get("ResponseMetadata", {}).get("RequestId"),
                    "task_id": task_id,
                },
            )
            return ScheduleQuotaFull(
                f"EventBridge Scheduler refused {operation}: the account's quota of schedules in this region is "
                f"full ({code}); nothing was created. Retrying does not help: delete unused schedules or ask AWS "
                "for a higher 'Number of schedules' quota"
            )
        if code in THROTTLING_CODES:
            return Throttled(
                f"EventBridge Scheduler is throttling {operation} ({code}); retry later",
                retry_after_seconds=self._retry_after,
            )
        return _answer_for(code, operation)


def schedule_count_full(code: str, operation: str, message: object) -> bool:
    """Whether a ServiceQuotaExceededException is the account's schedule-count quota rather than a rate.

    Only CreateSchedule adds a schedule, and only a message that names the number of schedules and no
    rate counts; anything else stays throttling (docs/api.md, "AWS errors", says why).
    """
    if code != "ServiceQuotaExceededException" or operation != "CreateSchedule" or not isinstance(message, str):
        return False
    return not RATE_WORDS.search(message) and COUNT_WORDS.search(message) is not None


def _answer_for(code: str, operation: str) -> SchedulerError:
    """The error for the codes that name no schedule: what failed, and what to do about it."""
    if code == "ValidationException":
        return InvalidSchedule(
            f"EventBridge Scheduler refused {operation} as invalid ({code}); nothing was created; "
            "the reason is in the scheduler function's log"
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
