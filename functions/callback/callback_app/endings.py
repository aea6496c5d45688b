"""The endings no invocation of the callback can write, written in the task ledger by the recorder.

An occurrence can end where no attempt of the callback is left to say so: Lambda gave up on it (its
retries exhausted, or the event older than MaximumEventAgeInSeconds), EventBridge Scheduler could not
deliver it, its schedule vanished without a run, or a recurring task went past its end. `EndingsLedger`
writes each of them, as the callback's own end write would have:

- the run item (`RUN#<scheduled time>`): outcome (`failed`, `timed_out`, `expired`, `undelivered`), final,
  the reason (type and redacted message), the attempts Lambda made when the run item has none yet; never over
  a recorded success (a redrive that succeeded, a duplicate that did);
- the task: for a one-time task still live, in one transaction, its STATE item's final state (`failed`, or
  `missed`), the reason, its expiry, its quota slot and the sweep's keys removed; its TALLY item's last run and
  expiry; and the owner's quota counter given back (taskcore.quota). For a recurring task, its TALLY's last run.

Each write is conditional and repeatable: the same ending written twice (an SQS message received again) leaves
the same items, and gives a quota slot back once: the STATE item's update holds only while the task is live and
holds the slot named (first none, then the `quota_key` its refusal returns). The run's write and the task's are
separate: a task that is no longer live (cancelled, or ended by its own run) keeps its state while the run is
still recorded.

A task written by the layout before issue 20 (one TASK item holding its state, no STATE item) is ended on that
TASK item, as it was then; the STATE item's refusal (no item) says so, so a task of today's layout pays nothing
for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from callback_app.backoff import retrying
from taskcore.ledger import (
    MAX_ERROR_CHARACTERS,
    STATE_SK,
    TALLY_SK,
    TASK_SK,
    Expression,
    index_shard,
    n,
    request_pointer_key,
    s,
    state_key,
    text_of,
    to_json,
)
from taskcore.quota import give_back, holds_slot
from taskcore.states import RunOutcome, TaskState, TimingKind, timestamp

#: The states a task can still be ended from.
LIVE = (TaskState.SCHEDULED, TaskState.PAUSED)
#: Tries of an ending's transaction (a wrong guess of the quota slot, or a conflict, costs one).
MAX_WRITES = 5


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
        if ending.kind == TimingKind.RECURRING:  # what runs change: its TALLY (the listing row stays as it is)
            update = Expression().set("last_run", s(to_json(summary))).set("updated_at", s(timestamp(ending.at)))
            self.client.update_item(**self._update(ending.pk, TALLY_SK, update))
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

        One transaction: STATE, TALLY, and the quota slot the STATE item holds given back. False when the task was
        no longer live (cancelled, ended by its run, never in the ledger): unchanged.
        """
        from botocore.exceptions import ClientError

        slot: str | None = None  # the guess: no slot; a refusal says which one the task holds
        for _ in range(MAX_WRITES):
            try:
                retrying(
                    self.client.transact_write_items, TransactItems=self._ending(pk, state, reason, at, last_run, slot)
                )
            except ClientError as exc:
                found = _state_of_refusal(exc)
                if found is None:  # another write of the task at the same moment: again
                    continue
                if not found:  # no STATE item: a task of the layout before this one, or none
                    return self._end_old_task(pk, state, reason, at, last_run)
                if text_of(found, "state") not in LIVE or text_of(found, "quota_key") == slot:
                    return False
                slot = text_of(found, "quota_key")
                continue
            return True
        raise RuntimeError(f"the ending of {pk!r} kept conflicting under {MAX_WRITES} writes")

    def _ending(
        self,
        pk: str,
        state: TaskState,
        reason: str,
        at: datetime,
        last_run: dict[str, Any] | None,
        slot: str | None,
    ) -> list[dict[str, Any]]:
        """The ending's transaction items: [STATE, TALLY, the counter given back] (reasons are read by position)."""
        update = Expression().set("state", s(state)).set("state_key", s(state_key(state, index_shard(pk))))
        update.set("reason", s(reason[:MAX_ERROR_CHARACTERS])).set("updated_at", s(timestamp(at)))
        update.set("expiration", n(self._expiry(at)))
        update.remove("quota_key").remove("due_shard").remove("due_at")
        condition = f"{self._live(update)} AND {holds_slot(update, slot)}"
        items = [{"Update": self._update(pk, STATE_SK, update, condition=condition)}]
        tally = Expression().set("expiration", n(self._expiry(at)))
        if last_run is not None:
            tally.set("last_run", s(to_json(last_run))).set("updated_at", s(timestamp(at)))
        items.append({"Update": self._update(pk, TALLY_SK, tally)})
        if slot is not None:
            items.append(give_back(self.table_name, slot))
        return items

    def _end_old_task(
        self, pk: str, state: TaskState, reason: str, at: datetime, last_run: dict[str, Any] | None
    ) -> bool:
        """End a task of the layout before this one on its one TASK item (no quota counter: it held none)."""
        update = Expression().set("state", s(state)).set("state_key", s(state_key(state, index_shard(pk))))
        update.set("reason", s(reason[:MAX_ERROR_CHARACTERS])).set("updated_at", s(timestamp(at)))
        update.set("expiration", n(self._expiry(at)))
        if last_run is not None:
            update.set("last_run", s(to_json(last_run)))
        update.remove("live_owner_key").remove("due_shard").remove("due_at")
        return self._write(self._update(pk, TASK_SK, update, condition=self._live(update)))

    def forget_due(self, pk: str, state: str, *, sk: str = STATE_SK) -> bool:
        """Take a task out of the sweep's index (it is over, or only a resume can end it); False if it changed.

        `sk`: the item the index holds (STATE; TASK for a task of the layout before this one).
        """
        update = Expression().remove("due_shard").remove("due_at")
        name = update.name("state")
        return self._write(self._update(pk, sk, update, condition=f"{name} = {update.value(s(state))}"))

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
        """The task's STATE item (consistent), or, for a task of the layout before this one, its TASK item holding
        the state; None when neither is there."""
        key = {"pk": s(pk), "sk": s(STATE_SK)}
        found: dict[str, Any] | None = self.client.get_item(
            TableName=self.table_name, Key=key, ConsistentRead=True
        ).get("Item")
        if found is not None:
            return found
        key["sk"] = s(TASK_SK)
        old = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return old if old is not None and "state" in old else None

    @staticmethod
    def _live(update: Expression) -> str:
        """The condition that the item is there and live (scheduled or paused)."""
        state = update.name("state")
        live = ", ".join(update.value(s(one)) for one in LIVE)
        return f"attribute_exists({update.name('pk')}) AND {state} IN ({live})"

    def _update(self, pk: str, sk: str, update: Expression, *, condition: str | None = None) -> dict[str, Any]:
        """An UpdateItem's parameters (and a transaction's Update): the item as it was returned when refused."""
        found: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"pk": s(pk), "sk": s(sk)},
            "UpdateExpression": update.update(),
            **update.placeholders(),
        }
        if condition is not None:
            found["ConditionExpression"] = condition
            found["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return found

    def _write(self, update: dict[str, Any]) -> bool:
        """One conditional UpdateItem; False when its condition refused it."""
        from botocore.exceptions import ClientError

        try:
            retrying(self.client.update_item, **update)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _expiry(self, moment: datetime) -> int:
        return int(moment.timestamp()) + self.retention_seconds


def _state_of_refusal(exc: Any) -> dict[str, Any] | None:
    """The STATE item an ending's refused transaction returned ({} when there is none); None for a conflict (write
    again). Anything else is raised."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        raise exc
    reasons = exc.response.get("CancellationReasons") or [{}]
    if "TransactionConflict" in [str(one.get("Code")) for one in reasons]:
        return None
    if reasons[0].get("Code") != "ConditionalCheckFailed":
        raise exc
    found: dict[str, Any] = reasons[0].get("Item") or {}
    return found


__all__ = ["LIVE", "MAX_WRITES", "Ending", "EndingsLedger"]
