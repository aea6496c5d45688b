"""The start write: an attempt begins in one transaction, or not at all.

Powertools' idempotency opens an occurrence with one conditional PutItem (the record, INPROGRESS). Here
that Put is one item of a `TransactWriteItems` that also (docs/architecture.md, "The callback's writes"):

- counts the attempt on the run item (`RUN#<scheduled time>`: attempts + 1, last start, the Lambda request
  id, `status` running): every attempt is counted when it starts, so one killed by the timeout is too;
- puts the Lambda request's pointer item (`REQUEST#<request id>` -> the task and its run, with the run's
  expiry), so the recorder can find the run of a failure record Lambda sent without its payload;
- checks the task's STATE item (`STATE`, small: taskcore.ledger) is live: not cancelled, not paused (or absent:
  a schedule made before the ledger, or by the guide's code). A cancel or pause answered by the API before this
  write means the action does not start: `TaskNotLive`, a `skipped` run, an invocation that succeeds (nothing
  retries it). The TASK item (the request, up to 64 KiB of data) is not touched: a ConditionCheck costs what
  the item it checks weighs.

`callback_app.persistence.LedgerPersistenceLayer` is Powertools' `DynamoDBPersistenceLayer` (its documented
extension point: a persistence layer of one's own) with `_put_record` made that transaction. A refused Put
is what Powertools' own `_put_record` makes of it: `IdempotencyItemAlreadyExistsError` with the record as
it is (the item DynamoDB returns, `ReturnValuesOnConditionCheckFailure=ALL_OLD`), so replays and
in-progress duplicates work as before.

A transaction returns no values, so the attempt number comes back as the ledger's end write has always got
it: the run update expects a number of attempts (0, a first delivery), and when the guess is wrong the
cancellation reason carries the run item as it is, and the write is made again on what it says.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from taskcore.ledger import STATE_SK, Expression, n, request_pointer_item, run_sk, s, task_pk
from taskcore.states import TaskState

#: The states in which no attempt of a task starts its action.
NOT_LIVE = (TaskState.CANCELLED, TaskState.PAUSED)


@dataclass
class Start:
    """One attempt's start: where it is counted, and (once it is) its number."""

    ledger_table: str
    task_id: str
    scope: str | None
    scheduled_time: str | None
    scheduler_attempt: int | None
    started_at: str
    request_id: str | None
    expiration: int
    #: The task's timing kind as the schedule says it (X-Task-Kind; None for a schedule that does not say).
    kind: str | None = None
    #: The owner's quota slot the task is thought to hold: the event's `X-Task-Quota`, then what a refused end
    #: transaction said (the ledger's own write after it starts from there).
    quota: str | None = None
    #: The attempts the next write expects the run item to hold.
    expected: int = 0
    #: This attempt's number for the occurrence, once the start write has counted it (None: not counted).
    attempts: int | None = None
    #: The ledger's writes for a success with this result (what the end transaction adds to the COMPLETED
    #: update); and whether that transaction recorded it (else the entry point writes the ledger after).
    end: Callable[[Any], list[dict[str, Any]]] | None = field(default=None, repr=False)
    ended: bool = False
    conflicts: list[str] = field(default_factory=list)

    def run_update(self) -> dict[str, Any]:
        update = Expression()
        started = s(self.started_at)
        update.set("task_id", s(self.task_id)).set_default("first_started_at", started)
        update.set("last_started_at", started).set("status", s("running"))
        update.set("expiration", n(self.expiration))
        if self.request_id:
            update.set("last_request_id", s(self.request_id))
        if self.scheduled_time is not None:
            update.set("scheduled_time", s(self.scheduled_time))
        if self.scheduler_attempt is not None:
            update.set("scheduler_attempt", n(self.scheduler_attempt))
        update.add("attempts", 1)
        attempts = update.name("attempts")
        expected = f"{attempts} = {update.value(n(self.expected))}"
        if self.expected == 0:  # no run item yet, or one the recorder wrote for an occurrence never attempted
            expected = f"attribute_not_exists({attempts}) OR {expected}"
        return {
            "TableName": self.ledger_table,
            "Key": {"pk": s(task_pk(self.task_id, self.scope)), "sk": s(run_sk(self.scheduled_time))},
            "UpdateExpression": update.update(),
            "ConditionExpression": expected,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **update.placeholders(),
        }

    def pointer_put(self) -> dict[str, Any] | None:
        """The request's pointer item (None without a Lambda request id): overwritten by a retry's own."""
        if not self.request_id:
            return None
        item = request_pointer_item(
            self.request_id,
            task_pk=task_pk(self.task_id, self.scope),
            run_sk=run_sk(self.scheduled_time),
            kind=self.kind,
            expiration=self.expiration,
        )
        return {"TableName": self.ledger_table, "Item": item}

    def transact_items(self, put: dict[str, Any]) -> list[dict[str, Any]]:
        """The start transaction: the idempotency record's Put, the run counted, the task checked, the pointer
        (in that order: a cancellation's reasons are read by position, the pointer's never fails a condition)."""
        pointer = self.pointer_put()
        return [
            {"Put": put},
            {"Update": self.run_update()},
            {"ConditionCheck": self.task_check()},
            *([{"Put": pointer}] if pointer else []),
        ]

    def task_check(self) -> dict[str, Any]:
        """The gate: the task's STATE item is not cancelled or paused (or there is none)."""
        return {
            "TableName": self.ledger_table,
            "Key": {"pk": s(task_pk(self.task_id, self.scope)), "sk": s(STATE_SK)},
            "ConditionExpression": "attribute_not_exists(#state) OR NOT (#state IN (:cancelled, :paused))",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":cancelled": s(NOT_LIVE[0]), ":paused": s(NOT_LIVE[1])},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }


_STARTING: ContextVar[Start | None] = ContextVar("callback_app.start", default=None)


def starting(start: Start | None) -> Any:
    """Make `start` the attempt the next idempotency Put of this context opens (a token to `finished`)."""
    return _STARTING.set(start)


def finished(token: Any) -> None:
    _STARTING.reset(token)


def current_start() -> Start | None:
    """The attempt this context is starting (None: none, or no ledger)."""
    return _STARTING.get()


__all__ = ["NOT_LIVE", "Start", "current_start", "finished", "starting"]
