"""The endings no invocation of the callback can write, written in the task ledger by the recorder.

An occurrence can end where no attempt of the callback is left to say so: Lambda gave up on it (its
retries exhausted, or the event older than MaximumEventAgeInSeconds), EventBridge Scheduler could not
deliver it, its schedule vanished without a run, or a recurring task went past its end. `EndingsLedger`
writes each of them, as the callback's own end write would have:

- the run item (`RUN#<scheduled time>`): outcome (`failed`, `timed_out`, `expired`, `undelivered`), final,
  the reason (type and redacted message), the attempts Lambda made when the run item has none yet; never over
  a recorded success (a redrive that succeeded, a duplicate that did);
- the task item: for a one-time task still live, its final state (`failed`, or `missed`), the reason, its
  expiry, and the owner's quota slot and the sweep's keys released; for a recurring task, its last run.

Each write is conditional and repeatable: the same ending written twice (an SQS message received again) leaves
the same items. Two UpdateItems, not a transaction: a task item that is no longer live (cancelled, or ended by
its own run) keeps its state while the run is still recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from callback_app.backoff import retrying
from taskcore.ledger import (
    MAX_ERROR_CHARACTERS,
    TASK_SK,
    Expression,
    n,
    request_pointer_key,
    s,
    state_key,
    text_of,
    to_json,
)
from taskcore.states import RunOutcome, TaskState, TimingKind, timestamp


@dataclass(frozen=True)
class Ending:
    """How an occurrence ended where no attempt could write it."""

    #: The task's partition (`TASK#…`) and the run's sort key (`RUN#…`).
    pk: str
    run_sk: str
    outcome: RunOutcome
    #: `Type: message`, already redacted.
    error_type: str
    error_message: str
    at: datetime
    kind: TimingKind | None = None
    scheduled_time: str | None = None
    #: What Lambda or Scheduler says it attempted (recorded when the run item has no count of its own).
    attempts: int | None = None

    @property
    def reason(self) -> str:
        return f"{self.error_type}: {self.error_message}" if self.error_message else self.error_type

    @property
    def task_state(self) -> TaskState:
        """The state it ends a one-time task in: every ending the recorder writes is a failure."""
        return TaskState.FAILED


class EndingsLedger:
    """The recorder's and the sweep's writes to the task ledger (a low-level DynamoDB client)."""

    def __init__(self, client: Any, table_name: str, *, retention_seconds: int) -> None:
        self.client = client
        self.table_name = table_name
        self.retention_seconds = retention_seconds

    # -- what a failure record or a dead letter ends ----------------------------------------------------------------

    def record(self, ending: Ending) -> bool:
        """Write the ending on the run and its task; False when the run had already succeeded (nothing written)."""
        if not self._record_run(ending):
            return False
        summary = {
            "scheduled_time": ending.scheduled_time,
            "outcome": ending.outcome,
            "attempts": ending.attempts,
            "final": True,
            "finished_at": timestamp(ending.at),
            "reason": ending.reason,
        }
        if ending.kind == TimingKind.RECURRING:
            update = Expression().set("last_run", s(to_json(summary))).set("updated_at", s(timestamp(ending.at)))
            self._update_task(ending.pk, update, live_only=False)
        else:
            self.end_task(ending.pk, ending.task_state, ending.reason, ending.at, last_run=summary)
        return True

    def _record_run(self, ending: Ending) -> bool:
        from botocore.exceptions import ClientError

        update = Expression()
        update.set("task_id", s(ending.pk.rsplit("#", 1)[-1])).set("outcome", s(ending.outcome))
        update.set("final", {"BOOL": True}).set("status_code", n(500))
        update.set("error_type", s(ending.error_type[:200]))
        update.set("error_message", s(ending.error_message[:MAX_ERROR_CHARACTERS]))
        update.set_default("finished_at", s(timestamp(ending.at))).set("ended_by", s("recorder"))
        update.set("expiration", n(self._expiry(ending.at))).set_default("attempts", n(ending.attempts or 0))
        if ending.scheduled_time is not None:
            update.set("scheduled_time", s(ending.scheduled_time))
        update.remove("status")  # no attempt of it is running any more
        outcome = update.name("outcome")
        condition = f"attribute_not_exists({outcome}) OR {outcome} <> {update.value(s(RunOutcome.SUCCEEDED))}"
        try:
            retrying(
                self.client.update_item,
                TableName=self.table_name,
                Key={"pk": s(ending.pk), "sk": s(ending.run_sk)},
                UpdateExpression=update.update(),
                ConditionExpression=condition,
                **update.placeholders(),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- what the sweep ends -------------------------------------------------------------------------------------------

    def end_task(
        self, pk: str, state: TaskState, reason: str, at: datetime, *, last_run: dict[str, Any] | None = None
    ) -> bool:
        """End a live task in `state` with `reason`: its retention starts, its quota slot and sweep keys go.

        False when the task was no longer live (cancelled, ended by its run, never in the ledger): unchanged.
        """
        update = Expression().set("state", s(state)).set("state_key", s(state_key(state)))
        update.set("reason", s(reason[:MAX_ERROR_CHARACTERS])).set("updated_at", s(timestamp(at)))
        update.set("expiration", n(self._expiry(at)))
        if last_run is not None:
            update.set("last_run", s(to_json(last_run)))
        update.remove("live_owner_key").remove("due_shard").remove("due_at")
        return self._update_task(pk, update, live_only=True)

    def forget_due(self, pk: str, state: str) -> bool:
        """Take a task out of the sweep's index (it is over, or only a resume can end it); False if it changed."""
        update = Expression().remove("due_shard").remove("due_at")
        name = update.name("state")
        return self._update_task(pk, update, live_only=False, condition=f"{name} = {update.value(s(state))}")

    def has_run(self, pk: str) -> bool:
        """Whether any occurrence of the task has a run item (an attempt started, or an ending was recorded)."""
        response = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :run)",
            ExpressionAttributeValues={":pk": s(pk), ":run": s("RUN#")},
            Limit=1,
            ConsistentRead=True,
        )
        return bool(response.get("Items"))

    def run_of_request(self, request_id: str) -> tuple[str, str, str | None] | None:
        """(task partition, run sort key, kind) of a Lambda request's pointer item, or None."""
        item = self.client.get_item(TableName=self.table_name, Key=request_pointer_key(request_id)).get("Item")
        if not item:
            return None
        pk, run = text_of(item, "task_pk"), text_of(item, "run_sk")
        return (pk, run, text_of(item, "kind")) if pk and run else None

    def task_item(self, pk: str) -> dict[str, Any] | None:
        """The task item, as DynamoDB returns it (consistent), or None."""
        item = self.client.get_item(TableName=self.table_name, Key={"pk": s(pk), "sk": s(TASK_SK)}, ConsistentRead=True)
        found: dict[str, Any] | None = item.get("Item")
        return found

    def _update_task(self, pk: str, update: Expression, *, live_only: bool, condition: str | None = None) -> bool:
        from botocore.exceptions import ClientError

        if condition is None:
            condition = f"attribute_exists({update.name('pk')})"
            if live_only:
                state = update.name("state")
                live = ", ".join(update.value(s(one)) for one in (TaskState.SCHEDULED, TaskState.PAUSED))
                condition = f"{condition} AND {state} IN ({live})"
        try:
            retrying(
                self.client.update_item,
                TableName=self.table_name,
                Key={"pk": s(pk), "sk": s(TASK_SK)},
                UpdateExpression=update.update(),
                ConditionExpression=condition,
                **update.placeholders(),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _expiry(self, moment: datetime) -> int:
        return int(moment.timestamp()) + self.retention_seconds


__all__ = ["Ending", "EndingsLedger"]
