"""The callback's side of the task ledger: one write per invocation records the attempt and its outcome.

After the action (outside the idempotent function, so a replayed duplicate still completes the
record), one `TransactWriteItems` updates the task's partition (taskcore.ledger draws it):

- the run item (`RUN#<scheduled time>`): attempts + 1, first/last start, duration, outcome,
  status, the result (bounded) or the error (type and redacted message), whether it was final;
- the TALLY item: the last run's summary, the run count, when it changed, its expiry (what a run changes: small);
- the STATE item: what a task first seen here needs (its id, action, user, kind, `scheduled`, its index keys),
  set only when absent, so a run of a live task rewrites no index entry; and for a one-time task whose run is
  over (succeeded, rejected, or failed on Lambda's last invocation) its final state and expiry, its quota slot
  and its sweep keys removed, on the condition that it holds the slot it is thought to hold, with
- the owner's quota counter given back (taskcore.quota.give_back) when it held one.

The TASK item (the request, up to 64 KiB of data) is never written, checked or read here: a run costs the same
whatever the task's data.

A transaction returns no values, yet the outcome line wants the attempt number: the write is made
conditional on the attempts it expects (0 for a first delivery, 1 for a replay, which is almost
always right). When the guess is wrong, DynamoDB cancels the write and returns the run item as it
is (`ReturnValuesOnConditionCheckFailure`), and the write is made again on what it says: a second
request only for retries and concurrent duplicates (which, colliding, back off and take turns).
The same condition keeps a late failure (a duplicate that found the occurrence in progress) from
overwriting a run that succeeded. The quota slot is guessed the same way: first the event's `X-Task-Quota`
(the slot the create tried first: almost always the one it took), then, after a refusal, the `quota_key` the
STATE item returned; so a slot is given back exactly once however often an ending is written.

A failed write raises: the invocation fails, Lambda retries, the idempotency record replays the
stored result, and the run is recorded then, without running the action again.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from callback_app.backoff import retrying
from callback_app.errors import RunNotRecorded
from callback_app.observability import logger
from callback_app.settings import get_settings
from taskcore.caches import container_cache
from taskcore.ledger import (
    MAX_ERROR_CHARACTERS,
    MAX_STORED_RESULT_BYTES,
    RESULT_PREVIEW_BYTES,
    STATE_SK,
    TALLY_SK,
    Expression,
    bounded,
    created_key,
    index_shard,
    n,
    number_of,
    run_sk,
    s,
    state_key,
    task_pk,
    text_of,
    to_json,
    user_key,
)
from taskcore.quota import give_back, holds_slot
from taskcore.states import RunOutcome, TaskState, TimingKind, timestamp

#: Powertools' own switch for its idempotency, for tests and benchmarks only (docs/operating.md): it turns off
#: every storage write, so the ledger's too. Read here as Powertools' idempotency reads it (its `strtobool`,
#: aws-powertools/powertools-lambda-python#4391), not through Powertools' private `shared` package: y, yes, t,
#: true, on, 1 and n, no, f, false, off, 0, in any case; any other value is a ValueError, as it is there.
IDEMPOTENCY_DISABLED_ENV = "POWERTOOLS_IDEMPOTENCY_DISABLED"
_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")
#: Writes of one invocation's record before giving up (each wrong guess or conflict costs one; from the
#: third on, each waits a random 0-10·2^n ms first, so concurrent duplicates of one occurrence take turns).
MAX_WRITES = 10
#: Where the STATE item's reason is in a cancelled write's reasons ([run, TALLY, STATE, counter]).
_STATE_POSITION = 2


@dataclass(frozen=True)
class Attempt:
    """One invocation of an occurrence, as the ledger records it."""

    task_id: str
    action: str | None
    user_id: Any
    #: None for a schedule that did not say (created before the ledger, or by the guide's code).
    kind: TimingKind | None
    scheduled_time: str | None
    scheduler_attempt: int | None
    started_at: datetime
    finished_at: datetime
    #: Succeeded, failed or rejected (a replayed duplicate is a success, with `replayed`).
    outcome: RunOutcome
    status_code: int
    replayed: bool = False
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    #: The owner's scope (`X-Task-Scope`) of a task in its owner's namespace; None in the shared one.
    scope: str | None = None
    #: This attempt's number when its start write counted it (callback_app.start); None: count it now.
    counted: int | None = None
    #: Whether the occurrence is over, when the ending says so itself (a retry budget exhausted).
    final: bool | None = None
    #: The owner's quota slot the task is thought to hold (the event's `X-Task-Quota`: a guess, checked).
    quota: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What the ledger holds for the occurrence after this invocation."""

    attempts: int
    final: bool


@dataclass
class _Write:
    """What the next write assumes: the run's attempts so far, and whether a success is already recorded."""

    attempts: int
    keep_success: bool = False
    #: The start write counted this attempt already: the run's attempts stay as they are.
    counted: bool = False
    conflicts: list[str] = field(default_factory=list)
    #: The quota slot the STATE item is expected to hold when a run ends the task (None: none).
    slot: str | None = None


class RunLedger:
    """Records each invocation in the task's partition of the ledger table."""

    def __init__(self, client: Any, table_name: str, *, retention_seconds: int, max_invocations: int) -> None:
        self.client = client
        self.table_name = table_name
        self.retention_seconds = retention_seconds
        self.max_invocations = max_invocations

    def record(self, attempt: Attempt) -> Recorded:
        """Write this invocation; raise RunNotRecorded when the ledger did not take it."""
        from botocore.exceptions import BotoCoreError, ClientError

        write = _write_of(attempt)
        for written in range(MAX_WRITES):
            if written > 1:  # concurrent invocations of one occurrence keep colliding: spread them out
                time.sleep(secrets.randbelow(10 * 2 ** min(written, 5)) / 1000)
            try:
                retrying(self.client.transact_write_items, TransactItems=self._items(attempt, write))
            except ClientError as exc:
                if not self._learn(exc, attempt, write):
                    raise RunNotRecorded(_why(exc)) from exc
                continue
            except BotoCoreError as exc:
                raise RunNotRecorded(_why(exc)) from exc
            return Recorded(attempts=write.attempts + 1, final=self._final(attempt, write.attempts + 1))
        raise RunNotRecorded(f"the run item kept changing under {MAX_WRITES} writes ({', '.join(write.conflicts)})")

    def end_items(self, attempt: Attempt) -> list[dict[str, Any]]:
        """The writes that record `attempt` (counted at its start), for the idempotency record's end transaction."""
        return self._items(attempt, _write_of(attempt))

    def _learn(self, exc: Any, attempt: Attempt, write: _Write) -> bool:
        """After a cancelled write: whether to write again, with what the run item and the STATE item now hold."""
        if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            return False
        reasons = exc.response.get("CancellationReasons") or []
        codes = [str(r.get("Code")) for r in reasons]
        write.conflicts.append("/".join(codes))
        learned = False
        if len(reasons) > _STATE_POSITION and reasons[_STATE_POSITION].get("Code") == "ConditionalCheckFailed":
            # The STATE item holds another quota slot than guessed (or none): it says which.
            write.slot = text_of(reasons[_STATE_POSITION].get("Item") or {}, "quota_key")
            learned = True
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            _learn_run(reasons[0].get("Item") or {}, attempt, write)
            learned = True
        return learned or "TransactionConflict" in codes  # or another invocation of the task wrote at that moment

    def _final(self, attempt: Attempt, attempts: int) -> bool:
        """Whether the occurrence is over: it succeeded, was rejected or skipped, or failed (or timed out) on
        Lambda's last invocation, or its ending says so."""
        if attempt.final is not None:
            return attempt.final
        retried = (RunOutcome.FAILED, RunOutcome.TIMED_OUT)
        return attempt.outcome not in retried or attempts >= self.max_invocations

    def _items(self, attempt: Attempt, write: _Write) -> list[dict[str, Any]]:
        """[run, TALLY, STATE, the quota slot given back]: in that order (a cancellation's reasons are read by
        position). A skipped attempt (the task was cancelled or paused) leaves the task as the API made it."""
        items = [{"Update": self._run_update(attempt, write)}]
        if not write.keep_success and attempt.outcome != RunOutcome.SKIPPED:
            items.append({"Update": self._tally_update(attempt, write)})
            items.append({"Update": self._state_update(attempt, write)})
            if self._ends_task(attempt, write) and write.slot is not None:
                items.append(give_back(self.table_name, write.slot))
        return items

    def _run_update(self, attempt: Attempt, write: _Write) -> dict[str, Any]:
        update = Expression()
        started = s(timestamp(attempt.started_at))
        update.set("task_id", s(attempt.task_id)).set_default("first_started_at", started)
        update.set("last_started_at", started).set("finished_at", s(timestamp(attempt.finished_at)))
        update.set("duration_ms", n(round((attempt.finished_at - attempt.started_at).total_seconds() * 1000, 3)))
        update.set("last_delivery", s("replayed" if attempt.replayed else "ran")).set("status", s("ended"))
        update.set("expiration", n(self._expiry(attempt.finished_at)))
        if attempt.scheduled_time is not None:
            update.set("scheduled_time", s(attempt.scheduled_time))
        if attempt.scheduler_attempt is not None:
            update.set("scheduler_attempt", n(attempt.scheduler_attempt))
        if not write.keep_success:
            update.set("outcome", s(attempt.outcome)).set("status_code", n(attempt.status_code))
            update.set("final", {"BOOL": self._final(attempt, write.attempts + 1)})
            _result_or_error(attempt, update)
        if not write.counted:
            update.add("attempts", 1)
        if attempt.replayed:
            update.add("replays", 1)
        # The attempts this write expects (unless its start counted it); never a success overwritten by a failure.
        attempts = update.name("attempts")
        if write.counted:
            condition = f"attribute_exists({attempts})"
        elif write.attempts == 0:  # no run item yet, or one the recorder wrote for an occurrence never attempted
            condition = f"attribute_not_exists({attempts}) OR {attempts} = {update.value(n(0))}"
        else:
            condition = f"{attempts} = {update.value(n(write.attempts))}"
        if attempt.outcome != RunOutcome.SUCCEEDED and not write.keep_success:
            outcome = update.name("outcome")
            succeeded = update.value(s(RunOutcome.SUCCEEDED))
            condition = f"({condition}) AND (attribute_not_exists({outcome}) OR {outcome} <> {succeeded})"
        return {
            "TableName": self.table_name,
            "Key": {"pk": s(task_pk(attempt.task_id, attempt.scope)), "sk": s(run_sk(attempt.scheduled_time))},
            "UpdateExpression": update.update(),
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **update.placeholders(),
        }

    def _ends_task(self, attempt: Attempt, write: _Write) -> bool:
        """Whether this run ends its task: the only occurrence of a one-time task is over."""
        return self._kind(attempt) == TimingKind.ONE_TIME and self._final(attempt, write.attempts + 1)

    @staticmethod
    def _kind(attempt: Attempt) -> TimingKind:
        return attempt.kind or TimingKind.ONE_TIME  # a schedule that does not say is the guide's kind: one-time

    def _tally_update(self, attempt: Attempt, write: _Write) -> dict[str, Any]:
        """What a run changes: the last run's summary, the run count, when; expiring `retention` after the run that
        ends the task (a live task's tally never expires: a monthly task keeps its count between runs)."""
        finished = timestamp(attempt.finished_at)
        attempts = write.attempts + 1
        summary = {
            "scheduled_time": attempt.scheduled_time,
            "outcome": attempt.outcome,
            "status_code": attempt.status_code,
            "attempts": attempts,
            "final": self._final(attempt, attempts),
            "finished_at": finished,
        }
        if attempt.outcome in (RunOutcome.TIMED_OUT, RunOutcome.FAILED) and attempt.error_message:
            summary["reason"] = attempt.error_message[:MAX_ERROR_CHARACTERS]
        update = Expression().set("last_run", s(to_json(summary))).set("updated_at", s(finished))
        if self._ends_task(attempt, write):
            update.set("expiration", n(self._expiry(attempt.finished_at)))
        if write.attempts == 0:  # the first invocation of this occurrence: one more run
            update.add("run_count", 1)
        return self._update(attempt, TALLY_SK, update)

    def _state_update(self, attempt: Attempt, write: _Write) -> dict[str, Any]:
        """The listing row: set where absent (a task first seen here), and its final state when this run ends it.

        Nothing that changes every run is set here: the indexes project the STATE item, and a run of a live
        task rewrites no index entry.
        """
        finished = timestamp(attempt.finished_at)
        now = s(finished)
        shard = index_shard(task_pk(attempt.task_id, attempt.scope))
        # A task first seen here (its schedule was made by the guide's code, or before the ledger)
        # gets what the event says of it.
        update = Expression().set_default("task_id", s(attempt.task_id)).set_default("action", s(attempt.action or ""))
        update.set_default("user_id", s(to_json(attempt.user_id))).set_default("user_key", s(user_key(attempt.user_id)))
        update.set_default("created_at", now)
        update.set_default("created_key", s(created_key(finished, attempt.task_id, attempt.scope)))
        update.set_default("kind", s(self._kind(attempt)))
        if not self._ends_task(attempt, write):  # a live task keeps its state
            scheduled = TaskState.SCHEDULED
            update.set_default("state", s(scheduled)).set_default("state_key", s(state_key(scheduled, shard)))
            return self._update(attempt, STATE_SK, update)
        # The task's only occurrence is over: so is the task. A run's outcome is the state it ends its one-time
        # task in (a timed-out one: failed); it no longer counts against its owner's quota, nor waits for the sweep.
        state = TaskState.FAILED if attempt.outcome == RunOutcome.TIMED_OUT else TaskState(attempt.outcome)
        update.set("state", s(state)).set("state_key", s(state_key(state, shard))).set("updated_at", now)
        update.set("expiration", n(self._expiry(attempt.finished_at)))
        update.remove("quota_key").remove("due_shard").remove("due_at")
        condition = holds_slot(update, write.slot)
        return self._update(attempt, STATE_SK, update, condition=condition)

    def _update(self, attempt: Attempt, sk: str, update: Expression, *, condition: str | None = None) -> dict[str, Any]:
        """An Update of one of the task's items (its current attributes returned when `condition` refuses it)."""
        found: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"pk": s(task_pk(attempt.task_id, attempt.scope)), "sk": s(sk)},
            "UpdateExpression": update.update(),
            **update.placeholders(),
        }
        if condition is not None:
            found["ConditionExpression"] = condition
            found["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return found

    def _expiry(self, moment: datetime) -> int:
        return int(moment.timestamp()) + self.retention_seconds


def _learn_run(current: dict[str, Any], attempt: Attempt, write: _Write) -> None:
    """What the run item returned by a refusal says: its attempts so far, and whether a success is recorded."""
    if not write.counted:
        write.attempts = number_of(current, "attempts") or 0
    succeeded = RunOutcome.SUCCEEDED
    write.keep_success = attempt.outcome != succeeded and text_of(current, "outcome") == succeeded


def _write_of(attempt: Attempt) -> _Write:
    """What the first write of `attempt` assumes: its start counted it, or (a replay) one attempt before it; and
    the quota slot the event names."""
    if attempt.counted is not None:
        return _Write(attempts=attempt.counted - 1, counted=True, slot=attempt.quota)
    return _Write(attempts=1 if attempt.replayed else 0, slot=attempt.quota)


def _result_or_error(attempt: Attempt, update: Expression) -> None:
    """A success keeps its result (bounded); a failure or a rejection its error; each removes the other."""
    if attempt.outcome == RunOutcome.SUCCEEDED:
        result = bounded(attempt.result, MAX_STORED_RESULT_BYTES, preview=RESULT_PREVIEW_BYTES)
        update.set("result_bytes", n(result.size))
        if result.text is not None:
            update.set("result", s(result.text)).remove("result_preview")
        else:
            update.set("result_preview", s(result.preview or "")).remove("result")
        update.remove("error_type").remove("error_message")
        return
    update.set("error_type", s(attempt.error_type or f"HTTP {attempt.status_code}"))
    update.set("error_message", s((attempt.error_message or "")[:MAX_ERROR_CHARACTERS]))


def _why(exc: BaseException) -> str:
    """The failure in AWS's terms: its error code, never its message (which can name the account)."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return f"{type(exc).__name__}{f' ({code})' if code else ''}"


def idempotency_disabled() -> bool:
    """Whether POWERTOOLS_IDEMPOTENCY_DISABLED turns Powertools' idempotency off (see IDEMPOTENCY_DISABLED_ENV)."""
    value = os.environ.get(IDEMPOTENCY_DISABLED_ENV, "false").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"invalid truth value {value!r}")


@container_cache
def get_run_ledger() -> RunLedger | None:
    """The container's ledger writer; None when TASK_LEDGER_TABLE is not set (runs are then not recorded)."""
    settings = get_settings()
    if not settings.task_ledger_table:
        logger.debug("no task ledger configured: runs are not recorded")
        return None
    if idempotency_disabled():
        return None
    from callback_app.service import get_dynamodb_client

    return RunLedger(
        get_dynamodb_client(),
        settings.task_ledger_table,
        retention_seconds=settings.task_retention_seconds,
        max_invocations=settings.max_invocations,
    )


__all__ = ["Attempt", "Recorded", "RunLedger", "RunNotRecorded", "get_run_ledger", "idempotency_disabled"]
