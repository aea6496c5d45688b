"""The events Lambda accepts for an asynchronous invoke, its functions' EventInvokeConfig, and the record an
invocation that failed for good leaves at its on-failure destination (`localcloud.lambda_service` runs them)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localcloud.queues import DeadLetterEnding
from localcloud.template import LOCAL_ACCOUNT, LOCAL_REGION, event_invoke_config
from taskcore.states import timestamp

#: A Lambda entry point: `lambda_handler(event, context)`.
Handler = Callable[[Any, Any], Any]

#: Local stand-ins for Lambda's ~1 min and ~2 min between async retries.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0)

#: What an event that waited in Lambda's queue past its maximum age reports (it never ran).
EVENT_AGE_ERROR: dict[str, Any] = {
    "errorType": "EventAgeExceeded",
    "errorMessage": "the event waited in Lambda's queue longer than MaximumEventAgeInSeconds",
}

#: An invocation that failed for good goes to the function's on-failure destination (CallbackFailureQueue).
INVOCATION_ENDING = DeadLetterEnding(
    component="lambda",
    failure="invocation failed for good",
    no_queue="no on-failure destination",
    commands="make dlq / make redrive",
    sent_counter="invocations_dead_lettered",
    dropped_counter="invocations_dropped",
)


@dataclass(frozen=True)
class InvokeConfig:
    """A function's EventInvokeConfig (template.yaml): retries, event age, on-failure destination."""

    max_retry_attempts: int = 2
    max_event_age_seconds: int = 21_600
    on_failure_arn: str | None = None

    @classmethod
    def from_template(cls, logical_id: str) -> InvokeConfig:
        """The function's EventInvokeConfig as template.yaml declares it (Lambda's defaults where it is silent)."""
        raw = event_invoke_config(logical_id)
        on_failure = (raw.get("DestinationConfig") or {}).get("OnFailure") or {}
        return cls(
            max_retry_attempts=int(raw.get("MaximumRetryAttempts", 2)),
            max_event_age_seconds=int(raw.get("MaximumEventAgeInSeconds", 21_600)),
            on_failure_arn=on_failure.get("Destination"),
        )


def unqualified(function_arn: str) -> str:
    """`arn:aws:lambda:r:a:function:name[:alias|version]` -> the ARN without the qualifier."""
    return ":".join(function_arn.split(":")[:7])


def function_arn(name: str, *, region: str = LOCAL_REGION, account: str = LOCAL_ACCOUNT) -> str:
    """The local ARN of a function."""
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


@dataclass
class Invocation:
    """One event that Lambda accepted, across its attempts."""

    event: Any
    function_arn: str
    received_at: datetime
    scheduled_time: datetime | None = None
    label: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    attempts: int = 0


def pending_entry(invocation: Invocation, retry_at: datetime | None) -> dict[str, Any]:
    """An accepted event as `--persist` keeps it (restored by `LambdaService.restore_pending`)."""
    return {
        "event": invocation.event,
        "function_arn": invocation.function_arn,
        "received_at": invocation.received_at.isoformat(),
        "scheduled_time": invocation.scheduled_time.isoformat() if invocation.scheduled_time else None,
        "label": invocation.label,
        "request_id": invocation.request_id,
        "attempts": invocation.attempts,
        "retry_at": retry_at.isoformat() if retry_at is not None else None,
    }


def invocation_record(
    invocation: Invocation, error: dict[str, Any], *, condition: str, now: datetime
) -> dict[str, Any]:
    """The record Lambda sends to an on-failure destination (SQS: as the message body)."""
    qualifier = invocation.function_arn.split(":")[7] if invocation.function_arn.count(":") >= 7 else "$LATEST"
    return {
        "version": "1.0",
        "timestamp": timestamp(now),
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{unqualified(invocation.function_arn)}:{qualifier}",
            "condition": condition,
            "approximateInvokeCount": invocation.attempts,
        },
        "requestPayload": invocation.event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error,
    }
