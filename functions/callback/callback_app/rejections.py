"""Rejected tasks are kept: the event of every 4xx outcome goes to RejectedTaskQueue with its reason.

A 4xx is permanent (unknown action, invalid data, the action raised TaskRejected), so Lambda does
not retry it and nothing else would keep the event. The record has the shape of Lambda's
on-failure record (`requestContext`, `requestPayload`, `responseContext`, `responsePayload`), so
the same tools read all three dead-letter queues and can replay it once the cause is fixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from callback_app.errors import RejectionQueueNotConfigured
from callback_app.settings import get_settings
from taskcore.caches import container_cache
from taskcore.clients import aws_client
from taskcore.clock import utcnow
from taskcore.limits import SQS_MAX_MESSAGE_BYTES
from taskcore.states import timestamp

#: SQS's largest message (the queue's MaximumMessageSize in template.yaml), less room for the attributes.
MAX_RECORD_BYTES = SQS_MAX_MESSAGE_BYTES - 4_096


@dataclass(frozen=True)
class Rejection:
    """What the entry point knows of a rejected invocation."""

    event: Any
    status: int
    reason: str
    task_id: str | None
    action: str | None
    scheduled_time: str | None
    lambda_attempt: int | None


@dataclass(frozen=True)
class RejectionQueue:
    """RejectedTaskQueue, through the container's SQS client."""

    client: Any
    url: str

    def keep(self, rejection: Rejection, context: Any) -> str:
        """Send the record; returns the message id. Raises whatever SQS raises."""
        body = ""
        for drop in TRUNCATION_STEPS:  # an event too large for SQS could never have run anyway
            # ASCII: SQS refuses a lone surrogate and some control characters; JSON escapes them all.
            body = json.dumps(record(rejection, context, drop=drop), default=str, separators=(",", ":"))
            if len(body) <= MAX_RECORD_BYTES:
                break
        attributes = {
            "TASK_ID": rejection.task_id,
            "ACTION": rejection.action,
            "SCHEDULED_TIME": rejection.scheduled_time,
            "STATUS_CODE": str(rejection.status),
        }
        response = self.client.send_message(
            QueueUrl=self.url,
            MessageBody=body,
            MessageAttributes={
                key: {"DataType": "String", "StringValue": json.dumps(value)[1:-1]}
                for key, value in attributes.items()
                if value
            },
        )
        message_id: str = response["MessageId"]
        return message_id


#: What is left out of the kept event, step by step, until the record fits in one SQS message.
TRUNCATION_STEPS: tuple[tuple[str, ...], ...] = (
    (),
    ("body",),
    ("body", "headers", "multiValueHeaders"),
    ("body", "headers", "multiValueHeaders", "requestContext", "queryStringParameters", "pathParameters"),
)


def record(rejection: Rejection, context: Any, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The record of a rejected invocation, as Lambda writes its on-failure records (`drop`: parts left out)."""
    event = rejection.event
    if drop and isinstance(event, dict):
        event = {key: value for key, value in event.items() if key not in drop}
    return {
        "version": "1.0",
        "timestamp": timestamp(utcnow()),
        "requestContext": {
            "requestId": getattr(context, "aws_request_id", None),
            "functionArn": getattr(context, "invoked_function_arn", None),
            "condition": "Rejected",
            "approximateInvokeCount": rejection.lambda_attempt,
        },
        "requestPayload": event,
        "payloadTruncated": bool(drop),
        "responseContext": {"statusCode": rejection.status},
        "responsePayload": {"detail": rejection.reason},
    }


def is_redrive(context: Any) -> bool:
    """Whether the invoker replays a kept letter (ClientContext `{"custom": {"redrive": true}}`) and keeps it itself."""
    custom = getattr(getattr(context, "client_context", None), "custom", None)
    return isinstance(custom, dict) and custom.get("redrive") is True


@container_cache
def get_rejection_queue() -> RejectionQueue:
    """The queue and its SQS client, built once per container (on the first rejection)."""
    url = get_settings().rejected_task_queue_url
    if not url:
        raise RejectionQueueNotConfigured("REJECTED_TASK_QUEUE_URL is not set; a rejected task would be lost")
    return RejectionQueue(aws_client("sqs", get_settings().client_settings()), url)
