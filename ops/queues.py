"""An SQS queue's messages, read without losing them: held invisible while a reader works, then released."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

__all__ = ["QueuedMessage", "delete_message", "held_messages", "queue_name"]


def queue_name(arn: str) -> str:
    """`arn:aws:sqs:region:account:name` -> `name`."""
    return arn.rsplit(":", 1)[-1]


@dataclass
class QueuedMessage:
    """A message read from a dead-letter queue (held invisible until released or deleted)."""

    queue: str
    queue_url: str
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)
    receive_count: int = 1

    def json_body(self) -> Any:
        """The body parsed as JSON (None when it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def _message(queue: str, url: str, raw: dict[str, Any]) -> QueuedMessage:
    """One message of a ReceiveMessage answer, its string attributes and receive count read."""
    return QueuedMessage(
        queue=queue,
        queue_url=url,
        message_id=raw["MessageId"],
        receipt_handle=raw["ReceiptHandle"],
        body=raw.get("Body", ""),
        attributes={
            key: str(value.get("StringValue", "")) for key, value in (raw.get("MessageAttributes") or {}).items()
        },
        receive_count=int((raw.get("Attributes") or {}).get("ApproximateReceiveCount", 1)),
    )


@contextmanager
def held_messages(client: Any, queue: str, url: str, *, hold_seconds: int = 60) -> Iterator[list[QueuedMessage]]:
    """Every message in the queue, hidden from other readers; those not deleted are released on exit."""
    messages: list[QueuedMessage] = []
    seen: set[str] = set()
    while True:
        batch = client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=hold_seconds,
            MessageAttributeNames=["All"],
            AttributeNames=["ApproximateReceiveCount"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for raw in fresh:
            seen.add(raw["MessageId"])
            messages.append(_message(queue, url, raw))
    try:
        yield messages
    finally:
        for message in messages:
            # A message deleted meanwhile (redriven) has nothing to release.
            with suppress(Exception):
                client.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
                )


def delete_message(client: Any, message: QueuedMessage) -> None:
    """Remove a message for good (after a successful redrive)."""
    client.delete_message(QueueUrl=message.queue_url, ReceiptHandle=message.receipt_handle)
