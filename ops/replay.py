"""Replaying dead letters through the callback, and discarding them: one letter, or many a few at a time.

A replay runs the letter's event through an `Invoker` (the caller's way of running the callback: Lambda's
Invoke API on AWS, an execution environment of the local cloud, the entry point in this process) as a
*redrive*: its ClientContext says `{"redrive": true}`, so the callback keeps no second copy of a rejection
the caller already keeps. The letter is deleted only when the replay succeeded (2xx, a replayed duplicate
included); one that is rejected again (4xx), fails or times out stays in its queue, with the reason.

`replay_all` replays a list of letters at most `concurrency` at a time, so a slow letter holds up only its
own slot, and each letter is held (invisible to other readers) for as long as its replay may take.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ops.ledger_copy import LedgerCopy, NoLedgerCopy
from ops.letters import DeadLetter
from ops.queues import delete_message
from taskcore.states import RunOutcome

__all__ = [
    "HOLD_MARGIN_SECONDS",
    "LAMBDA_LONGEST_TIMEOUT_SECONDS",
    "REDRIVE_CUSTOM",
    "REPLAY_CONCURRENCY",
    "InvocationFailed",
    "Invoker",
    "RedriveResult",
    "Replay",
    "discard",
    "replay",
    "replay_all",
]

#: The ClientContext `custom` a redrive invokes with: the callback keeps no copy of a rejection the caller keeps.
REDRIVE_CUSTOM: dict[str, Any] = {"redrive": True}
#: Letters replayed at once by `make redrive` and the console (each in its own execution environment).
REPLAY_CONCURRENCY = 4
#: How long a letter whose replay time is unknown (AWS: the function's Timeout, at most 900 s) stays held.
LAMBDA_LONGEST_TIMEOUT_SECONDS = 900
#: Added to a replay's longest time when holding its letter: the SQS calls around it.
HOLD_MARGIN_SECONDS = 30

#: Runs an event through the callback and returns its proxy response; raises when the invocation failed.
Invoker = Callable[[Any], Any]


class InvocationFailed(RuntimeError):
    """Raise when Lambda reports that the replayed invocation failed (the entry point raised, or timed out)."""


@dataclass(frozen=True)
class Replay:
    """One letter's replay: `succeeded` (2xx, and the letter deleted), `rejected` (4xx) or `failed`; both kept."""

    outcome: RunOutcome
    label: str
    status: int | None = None
    detail: str = ""

    def describe(self) -> str:
        """The line `make redrive` prints, and the console shows."""
        if self.outcome == RunOutcome.SUCCEEDED:
            return f"redriven and deleted: {self.label} (status {self.status})"
        if self.outcome == RunOutcome.REJECTED:
            return f"rejected, message kept: {self.label}: {self.status} {self.detail}"
        return f"failed again, message kept: {self.label}: {self.detail}"


@dataclass
class RedriveResult:
    """How the replays went: only the succeeded ones were deleted."""

    succeeded: int = 0
    rejected: int = 0
    failed: int = 0

    @property
    def kept(self) -> int:
        """Letters still in their queues."""
        return self.rejected + self.failed

    def count(self, replay: Replay) -> None:
        """Add one replay's outcome."""
        setattr(self, replay.outcome.value, getattr(self, replay.outcome.value) + 1)


def replay(
    letter: DeadLetter,
    invoke: Invoker,
    *,
    client: Any,
    hold_seconds: int | None = None,
    ledger: LedgerCopy | None = None,
) -> Replay:
    """Run one letter's event through `invoke`; delete the letter only when the replay succeeded (2xx).

    With `hold_seconds`, the letter is first held that long (its visibility timeout), so that no other
    reader takes it while a long replay runs. A failure record without its payload is replayed with the
    event rebuilt from `ledger` (the task ledger's copy of the request: ops.ledger_copy).
    """
    label = f"task {letter.task_id or '?'} (message {letter.message.message_id})"
    event = letter.event
    if event is None and letter.request_id is not None:
        if ledger is None:
            return Replay(RunOutcome.FAILED, label, detail="the record has no payload, and no task ledger was given")
        try:
            event = ledger.event_of_request(letter.request_id)
        except NoLedgerCopy as exc:
            return Replay(RunOutcome.FAILED, label, detail=str(exc))
    if hold_seconds is not None:
        try:
            client.change_message_visibility(
                QueueUrl=letter.message.queue_url,
                ReceiptHandle=letter.message.receipt_handle,
                VisibilityTimeout=hold_seconds,
            )
        except Exception as exc:  # deleted or taken meanwhile: not ours to replay any more
            detail = f"the letter could not be held for its replay ({type(exc).__name__})"
            return Replay(RunOutcome.FAILED, label, detail=detail)
    try:
        response = invoke(event)
    except Exception as exc:  # the invocation failed (5xx): Lambda would retry it
        return Replay(RunOutcome.FAILED, label, detail=f"{type(exc).__name__}: {exc}")
    status = int(response.get("statusCode", 500)) if isinstance(response, dict) else 500
    if not 200 <= status < 300:
        return Replay(RunOutcome.REJECTED, label, status, _detail(response))
    delete_message(client, letter.message)
    return Replay(RunOutcome.SUCCEEDED, label, status)


def discard(letter: DeadLetter, *, client: Any) -> None:
    """Delete a letter without replaying it (the operator decided the task is not to run)."""
    delete_message(client, letter.message)


def replay_all(
    letters: Sequence[DeadLetter],
    invoke: Invoker,
    *,
    client: Any,
    concurrency: int = REPLAY_CONCURRENCY,
    hold_seconds: int | None = None,
    done: Callable[[Replay], None] | None = None,
    ledger: LedgerCopy | None = None,
) -> list[Replay]:
    """Replay every letter, at most `concurrency` at once; the outcomes in the letters' order.

    `hold_seconds`: how long each letter is held while its replay runs (None: as long as it already is).
    `done` is called with each outcome as it comes (`make redrive` prints it).
    """
    if not letters:
        return []

    def one(letter: DeadLetter) -> Replay:
        outcome = replay(letter, invoke, client=client, hold_seconds=hold_seconds, ledger=ledger)
        if done is not None:
            done(outcome)
        return outcome

    workers = max(1, min(concurrency, len(letters)))
    if workers == 1:  # on this thread: an in-process callback runs its Mangum adapter on this thread's event loop
        return [one(letter) for letter in letters]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replay") as pool:
        return list(pool.map(one, letters))


def _detail(response: Any) -> str:
    try:
        detail = json.loads(response.get("body") or "{}").get("detail")
    except (ValueError, AttributeError):
        return ""
    return detail if isinstance(detail, str) else json.dumps(detail)
