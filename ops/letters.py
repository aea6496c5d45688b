"""Dead letters: the tasks that did not run, read the same way from whichever of the three queues holds them.

- CallbackFailureQueue: the callback raised on every attempt (Lambda's retries exhausted); each message
  is Lambda's invocation record, with the event (`requestPayload`) and the error (`responsePayload`).
- ScheduleDeliveryDLQ: EventBridge Scheduler could not deliver the event at all (wrong target or role,
  bad payload, retries exhausted); the message body is the event, the error is in its attributes.
- RejectedTaskQueue: the callback rejected the task (4xx: unknown action, invalid data, TaskRejected),
  which Lambda never retries; the callback's record has the shape of Lambda's, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from ops.queues import QueuedMessage, held_messages
from taskcore.proxy import task_fields

__all__ = ["DeadLetter", "LetterKind", "describe", "held_letters"]


class LetterKind(StrEnum):
    """Which service gave up on a task, and so which queue holds its letter."""

    #: Lambda gave up: the invocation failed on every attempt (CallbackFailureQueue).
    INVOCATION = "invocation"
    #: Scheduler could not deliver the event (ScheduleDeliveryDLQ).
    DELIVERY = "delivery"
    #: The callback refused the task (RejectedTaskQueue).
    REJECTED = "rejected"


@dataclass
class DeadLetter:
    """One dead-lettered task, whichever queue it is in."""

    message: QueuedMessage
    kind: LetterKind
    event: Any
    task_id: str | None
    action: str | None
    scheduled_time: str | None
    error: str
    attempts: int | None
    condition: str | None
    #: Lambda's request id, for a failure record whose payload Lambda dropped (`event` is then None): the
    #: event is rebuilt from the task ledger's copy of the request when it is replayed (ops.ledger_copy).
    request_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary (`make dlq ARGS=--json`)."""
        return {
            "queue": self.message.queue,
            "message_id": self.message.message_id,
            "kind": self.kind,
            "task_id": self.task_id,
            "action": self.action,
            "scheduled_time": self.scheduled_time,
            "error": self.error,
            "attempts": self.attempts,
            "condition": self.condition,
        }


def describe(message: QueuedMessage, kind: str) -> DeadLetter:
    """Read a dead-letter message of any kind: an invocation record (Lambda's, or the callback's for a
    rejection), else Scheduler's letter, whose body is the event and whose attributes say the error."""
    kind = LetterKind(kind)
    body = message.json_body()
    recorded = kind in (LetterKind.INVOCATION, LetterKind.REJECTED) and isinstance(body, dict)
    request_id = None
    if recorded and ("requestPayload" in body or "requestContext" in body):
        event, failure = body.get("requestPayload"), _record_failure(body, rejected=kind == LetterKind.REJECTED)
        if "requestPayload" not in body:  # Lambda dropped the payload (too large): its request id names the run
            request_id = str((body.get("requestContext") or {}).get("requestId") or "") or None
    else:
        event, failure = (body if body is not None else message.body), _attribute_failure(message.attributes)
    fields = task_fields(event)
    scheduled = fields.scheduled_time
    if scheduled is None and kind == LetterKind.DELIVERY:
        scheduled = message.attributes.get("SCHEDULED_TIME")
    return DeadLetter(
        message,
        kind,
        event,
        fields.task_id,
        fields.action,
        scheduled,
        error=failure.error,
        attempts=failure.attempts,
        condition=failure.condition,
        request_id=request_id,
    )


class _Failure(NamedTuple):
    """How a task failed, as its dead letter says: the error, the attempts made, the condition that ended them."""

    error: str
    attempts: int | None
    condition: str | None


def _record_failure(record: dict[str, Any], *, rejected: bool) -> _Failure:
    """From an invocation record (Lambda's, or the callback's for a rejection, which has its shape)."""
    response = record.get("responsePayload") or {}
    context = record.get("requestContext") or {}
    if rejected:
        status = (record.get("responseContext") or {}).get("statusCode")
        error = f"rejected by the callback ({status}): {response.get('detail', '')}"
    else:
        error = f"{response.get('errorType', 'Error')}: {response.get('errorMessage', '')}"
    return _Failure(error, context.get("approximateInvokeCount"), context.get("condition"))


def _attribute_failure(attributes: dict[str, str]) -> _Failure:
    """From the message attributes Scheduler sets on an undeliverable event (RETRY_ATTEMPTS: retries, not attempts)."""
    error = f"{attributes.get('ERROR_CODE', 'Error')}: {attributes.get('ERROR_MESSAGE', '')}"
    retries = attributes.get("RETRY_ATTEMPTS")
    attempts = int(retries) + 1 if retries and retries.isdigit() else None
    return _Failure(error, attempts, attributes.get("EXHAUSTED_RETRY_CONDITION"))


@contextmanager
def held_letters(
    client: Any, queues: Iterable[tuple[str, str]], *, only: str | None = None
) -> Iterator[list[DeadLetter]]:
    """The dead letters of `queues` ((name or URL, kind) pairs), held until the block ends (deleted ones stay
    deleted). The one reader behind `make dlq`, `make redrive` and the console, locally and on AWS."""
    with ExitStack() as stack:
        found: list[DeadLetter] = []
        for queue, kind in queues:
            if only is not None and kind != only:
                continue
            if "/" in queue:
                name, url = queue.rstrip("/").rsplit("/", 1)[-1], queue
            else:
                name, url = queue, client.get_queue_url(QueueName=queue)["QueueUrl"]
            messages = stack.enter_context(held_messages(client, name, url))
            found.extend(describe(message, kind) for message in messages)
        yield found
