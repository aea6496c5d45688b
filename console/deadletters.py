"""Dead letters in the console: listed, replayed and discarded by the console's own server, with the
operator's credentials (locally: the local cloud's), through the same code as `make dlq` / `make redrive`
(`ops`: the operations that run against any AWS).

The scheduler API gets no SQS or invoke permission for this (docs/console.md says why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ops.ledger_copy import LedgerCopy
from ops.letters import DeadLetter, LetterKind, held_letters
from ops.replay import (
    HOLD_MARGIN_SECONDS,
    LAMBDA_LONGEST_TIMEOUT_SECONDS,
    REPLAY_CONCURRENCY,
    Invoker,
    Replay,
    discard,
    replay_all,
)

#: The console's words for the three kinds of queue.
KINDS = {
    LetterKind.INVOCATION: "Lambda gave up (CallbackFailureQueue)",
    LetterKind.DELIVERY: "Scheduler could not deliver (ScheduleDeliveryDLQ)",
    LetterKind.REJECTED: "Rejected by the callback (RejectedTaskQueue)",
}


class DeadLetterDesk:
    """The three queues of one stack (local or deployed) and the callback to replay into.

    `queues` are (queue name or URL, kind) pairs; `sqs` makes the SQS client; `invoker` makes the Invoker
    (both made on first use, with the credentials of the process). Replays run a few at a time, each letter
    held for `hold_seconds` while its replay runs (default: as long as any Lambda invocation can take).
    """

    def __init__(
        self,
        queues: Iterable[tuple[str, str]],
        *,
        sqs: Callable[[], Any],
        invoker: Callable[[], Invoker],
        where: str,
        hold_seconds: int = LAMBDA_LONGEST_TIMEOUT_SECONDS + HOLD_MARGIN_SECONDS,
        ledger: Callable[[], LedgerCopy | None] = lambda: None,
    ) -> None:
        self.queues = list(queues)
        #: The task ledger, for a failure record without its payload (ops.ledger_copy); made on first replay.
        self._ledger = ledger
        self.where = where
        self._sqs = sqs
        self._invoker = invoker
        self._hold_seconds = hold_seconds
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The SQS client (made once)."""
        if self._client is None:
            self._client = self._sqs()
        return self._client

    def letters(self) -> list[DeadLetter]:
        """Every dead letter now (read, then released at once for other readers)."""
        with held_letters(self.client, self.queues) as found:
            return found

    def replay(self, kind: str | None = None, message_id: str | None = None) -> list[Replay]:
        """Replay one letter (kind and message id) or all of them (None); each deleted only if its replay succeeded."""
        invoke = self._invoker()
        with held_letters(self.client, self.queues) as found:
            chosen = _chosen(found, kind, message_id)
            return replay_all(
                chosen,
                invoke,
                client=self.client,
                concurrency=REPLAY_CONCURRENCY,
                hold_seconds=self._hold_seconds,
                ledger=self._ledger(),
            )

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
