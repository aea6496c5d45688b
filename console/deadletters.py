"""Dead letters in the console: listed, replayed and discarded by the console's own server, with the
operator's credentials (locally: the local cloud's), through the same code as `make dlq` / `make redrive`.

The scheduler API gets no SQS or invoke permission for this (docs/console.md says why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from localcloud.dlq import DeadLetter, Invoker, Replay, discard, held_letters, replay

#: The console's words for the three kinds of queue.
KINDS = {
    "invocation": "Lambda gave up (CallbackFailureQueue)",
    "delivery": "Scheduler could not deliver (ScheduleDeliveryDLQ)",
    "rejected": "Rejected by the callback (RejectedTaskQueue)",
}


@dataclass(frozen=True)
class Letter:
    """What the page shows of one dead letter."""

    kind: str
    queue: str
    message_id: str
    task_id: str | None
    action: str | None
    scheduled_time: str | None
    error: str
    attempts: int | None
    condition: str | None


def _row(letter: DeadLetter) -> Letter:
    return Letter(
        kind=letter.kind,
        queue=letter.message.queue,
        message_id=letter.message.message_id,
        task_id=letter.task_id,
        action=letter.action,
        scheduled_time=letter.scheduled_time,
        error=letter.error,
        attempts=letter.attempts,
        condition=letter.condition,
    )


class DeadLetterDesk:
    """The three queues of one stack (local or deployed) and the callback to replay into.

    `queues` are (queue name or URL, kind) pairs; `sqs` makes the SQS client; `invoker` makes the Invoker
    (both made on first use, with the credentials of the process).
    """

    def __init__(
        self,
        queues: Iterable[tuple[str, str]],
        *,
        sqs: Callable[[], Any],
        invoker: Callable[[], Invoker],
        where: str,
    ) -> None:
        self.queues = list(queues)
        self.where = where
        self._sqs = sqs
        self._invoker = invoker
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The SQS client (made once)."""
        if self._client is None:
            self._client = self._sqs()
        return self._client

    def letters(self) -> list[Letter]:
        """Every dead letter now (read, then released at once for other readers)."""
        with held_letters(self.client, self.queues) as found:
            return [_row(letter) for letter in found]

    def replay(self, kind: str | None = None, message_id: str | None = None) -> list[Replay]:
        """Replay one letter (kind and message id) or all of them (None); each deleted only if its replay succeeded."""
        invoke = self._invoker()
        with held_letters(self.client, self.queues) as found:
            return [replay(letter, invoke, client=self.client) for letter in _chosen(found, kind, message_id)]

    def discard(self, kind: str | None = None, message_id: str | None = None) -> int:
        """Delete one letter or all of them without replaying; how many were deleted."""
        with held_letters(self.client, self.queues) as found:
            chosen = _chosen(found, kind, message_id)
            for letter in chosen:
                discard(letter, client=self.client)
            return len(chosen)


def _chosen(found: list[DeadLetter], kind: str | None, message_id: str | None) -> list[DeadLetter]:
    if message_id is None:
        return found
    return [x for x in found if x.message.message_id == message_id and (kind is None or x.kind == kind)]
