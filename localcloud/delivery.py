"""Scheduler's side of one delivery: the event Lambda would accept (or the error its Invoke returns), the
backoff of a retryable failure under the schedule's RetryPolicy, and the letter a failure leaves in the
schedule's dead-letter queue with the message attributes Scheduler sets."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from localcloud.lambda_service import Invoke
from localcloud.queues import DeadLetterEnding
from localcloud.schedules import Schedule
from taskcore.limits import LAMBDA_ASYNC_PAYLOAD_BYTES, SQS_MAX_MESSAGE_BYTES
from taskcore.proxy import format_scheduled_time

__all__ = [
    "DELIVERY_ENDING",
    "MAX_DEAD_LETTER_BODY_BYTES",
    "Delivery",
    "DeliveryError",
    "DeliveryFault",
    "dead_letter",
    "prepare",
    "retry_delay",
]

#: The most of a dead-lettered payload that goes into the schedule's DLQ: one SQS message (1 MiB), less room for
#: the message attributes. A larger payload (only an event over Lambda's own limit is) is truncated to it and
#: flagged IS_PAYLOAD_TRUNCATED.
MAX_DEAD_LETTER_BODY_BYTES = SQS_MAX_MESSAGE_BYTES - 8_192
#: A delivery that failed for good goes to the schedule's DeadLetterConfig queue (ScheduleDeliveryDLQ).
DELIVERY_ENDING = DeadLetterEnding(
    component="dispatcher",
    failure="delivery failed for good",
    no_queue="no dead-letter queue",
    commands="make dlq",
    sent_counter="deliveries_dead_lettered",
    dropped_counter="deliveries_dropped",
)


class DeliveryError(Exception):
    """Raise when Scheduler cannot hand an event to its target; `retryable` follows Scheduler's rules."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


#: Tests inject delivery failures (throttling, an outage): (schedule, attempt) -> error or None.
DeliveryFault = Callable[[Schedule, int], DeliveryError | None]


@dataclass
class Delivery:
    """One occurrence on its way to the target, across Scheduler's delivery attempts."""

    schedule: Schedule
    scheduled_time: datetime
    attempt: int = 1
    delete_after: bool = False


def prepare(schedule: Schedule, payload: str, *, lambda_: Invoke, role_arn: str | None) -> Any:
    """The event Lambda would accept, or raise the DeliveryError its Invoke call would have returned."""
    if not lambda_.has_function(schedule.target_arn):
        raise DeliveryError("ResourceNotFoundException", f"Function not found: {schedule.target_arn}", retryable=False)
    if role_arn is not None and schedule.role_arn != role_arn:
        raise DeliveryError(
            "AccessDeniedException",
            f"{schedule.role_arn} is not allowed to invoke {schedule.target_arn} "
            f"(template.yaml grants lambda:InvokeFunction to {role_arn} only)",
            retryable=False,
        )
    size = len(payload.encode("utf-8"))
    if size > LAMBDA_ASYNC_PAYLOAD_BYTES:
        raise DeliveryError(
            "RequestEntityTooLargeException",
            f"{size} bytes exceeds the asynchronous invocation limit of {LAMBDA_ASYNC_PAYLOAD_BYTES}",
            retryable=False,
        )
    try:
        return json.loads(payload)
    except ValueError:
        raise DeliveryError(
            "InvalidRequestContentException", "Could not parse request body into json", retryable=False
        ) from None  # any other JSON value is accepted: the entry point refuses what is not a proxy event


def retry_delay(
    delivery: Delivery, error: DeliveryError, now: datetime, *, base: float, cap: float
) -> tuple[float | None, str | None]:
    """(seconds until Scheduler tries again, None) for a failure its RetryPolicy still covers, else (None, the
    exhausted condition: `MaximumRetryAttempts`, `MaximumEventAgeInSeconds`, or None for a permanent error)."""
    if not error.retryable:
        return None, None
    retries_done = delivery.attempt - 1
    if retries_done >= delivery.schedule.max_retry_attempts:
        return None, "MaximumRetryAttempts"
    delay = min(cap, base * 2**retries_done)
    age_at_retry = (now + timedelta(seconds=delay) - delivery.scheduled_time).total_seconds()
    if age_at_retry > delivery.schedule.max_event_age_seconds:
        return None, "MaximumEventAgeInSeconds"
    return delay, None


def dead_letter(
    delivery: Delivery, payload: str, execution_id: str, error: DeliveryError, condition: str | None
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The letter Scheduler leaves in the schedule's DLQ: (body, message attributes, the fields of its log line)."""
    schedule = delivery.schedule
    truncated = len(payload.encode("utf-8")) > MAX_DEAD_LETTER_BODY_BYTES
    attributes = {
        "ERROR_CODE": error.code,
        "ERROR_MESSAGE": error.message[:1000],
        "EXECUTION_ID": execution_id,
        "IS_PAYLOAD_TRUNCATED": "true" if truncated else "false",
        "RETRY_ATTEMPTS": str(delivery.attempt - 1),
        "SCHEDULED_TIME": format_scheduled_time(delivery.scheduled_time),
        "SCHEDULE_ARN": schedule.arn,
        "TARGET_ARN": schedule.target_arn,
    }
    if condition is not None:
        attributes["EXHAUSTED_RETRY_CONDITION"] = condition
    body = payload
    if truncated:
        body = payload.encode("utf-8")[:MAX_DEAD_LETTER_BODY_BYTES].decode("utf-8", "ignore")
    fields = {
        "schedule": schedule.name,
        "scheduled_time": format_scheduled_time(delivery.scheduled_time),
        "attempts": delivery.attempt,
        "error": str(error),
        "condition": condition,
    }
    return body or "{}", attributes, fields
