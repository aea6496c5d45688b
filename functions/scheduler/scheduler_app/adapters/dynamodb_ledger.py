"""The task ledger on DynamoDB (TaskLedgerTable): the real `TaskLedgerPort`, the only room that speaks boto3 for it.

taskcore.ledger holds the layout both functions share; scheduler_app.adapters.ledger_items turns records into
items and back, scheduler_app.adapters.listing reads the sharded indexes. Here, the operations:

- `claim`: one TransactWriteItems creates the task's STATE and TASK items unless the id is held, and takes a slot
  of the owner's quota (taskcore.quota); when the id is held, DynamoDB returns the STATE item that holds it
  (`ReturnValuesOnConditionCheckFailure`), and the holder is read whole. An item whose `expiration` has passed no
  longer holds its id. A full quota shard: the owner's counters read at once, and another with room tried.
- `read`: one Query of the task's partition, newest first: TASK, TALLY and STATE (which sort after every `RUN#`)
  and its latest runs.
- `runs`: a task's runs, newest first, a page at a time.
- `page`: the shards of one index partition (`ByOwner` for one owner's tasks, `ByState` for one state; `ByUser`
  for one user's is one key), merged; then the page's TALLY items.
- `put` / `set_state` / `forget`: the task changed (PATCH, pause, resume, cancel) or removed (a create whose
  schedule could not be made); a final state gives the quota slot back in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler_app.adapters.ledger_items import (
    TASK_SLACK_SECONDS,
    partition_record,
    run_record,
    state_item,
    task_item,
    task_record,
)
from scheduler_app.adapters.listing import ShardRead, before_of, filters_of, merge, per_shard, read_shards, tallies
from scheduler_app.adapters.quota_slots import shard_with_room, used_of, with_slot
from scheduler_app.errors import InvalidSchedule, SchedulerError, Throttled, UpstreamError, quota_exceeded
from scheduler_app.records import ListFilter, Page, Position, RunRecord, TaskRecord
from taskcore import quota as quotas
from taskcore.ledger import (
    BY_OWNER_INDEX,
    BY_STATE_INDEX,
    BY_USER_INDEX,
    RUN_PREFIX,
    STATE_SK,
    TALLY_SK,
    TASK_SK,
    Expression,
    expired,
    index_shard,
    n,
    owner_keys,
    s,
    state_key,
    state_keys,
    task_pk,
    text_of,
    user_key,
)
from taskcore.states import FINAL_STATES, TaskState, timestamp

#: Tries of a write whose guess (a quota shard, the slot a task holds) was wrong, or that conflicted.
MAX_TRIES = 4


class DynamoDBLedger:
    """The ledger table, for the scheduler API (a `TaskLedgerPort`)."""

    def __init__(self, client: Any, table_name: str, *, retention_seconds: int, retry_after_seconds: int = 1) -> None:
        self.client = client
        self.table_name = table_name
        self.retention_seconds = retention_seconds
        self.retry_after_seconds = retry_after_seconds

    # -- writes -------------------------------------------------------------------------------------------------------

    def claim(self, record: TaskRecord, now: datetime, *, quota: int | None = None) -> TaskRecord | None:
        """Create the task's items; None when created, else the live record that holds the id (nothing written).

        With a `quota` and an owner, the task takes one of the owner's slots in the same transaction: QuotaExceeded
        when every counter of the owner is full.
        """
        owner = record.owner if quota is not None else None
        shard = quotas.preferred_shard(task_pk(record.task_id, record.scope), quota) if owner and quota else None
        for _ in range(MAX_TRIES):
            claimed = with_slot(record, owner, shard)
            cancelled = self._transact(self._claim_items(claimed, now, quota, shard), "TransactWriteItems")
            if cancelled is None:
                return None
            codes = [reason.get("Code") for reason in [*cancelled, {}, {}, {}][:3]]
            if "ConditionalCheckFailed" in codes[:2]:  # the STATE item (or an old layout's TASK item) holds the id
                return self._holder(record, now)
            if codes[2] == "ConditionalCheckFailed" and owner and quota:  # that counter is full: one with room
                shard = shard_with_room(self.counters(owner, quotas.shard_count(quota)), quota)
                if shard is None:
                    raise quota_exceeded(owner, quota)
        raise Throttled("the task ledger kept refusing the create (conflicts); retry", retry_after_seconds=1)

    def _claim_items(
        self, record: TaskRecord, now: datetime, quota: int | None, shard: int | None
    ) -> list[dict[str, Any]]:
        free = "attribute_not_exists(pk) OR #expiration <= :now"  # as `expired` reads it
        values = {":now": n(int(now.timestamp()))}
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": state_item(record),
                    "ConditionExpression": free,
                    "ExpressionAttributeNames": {"#expiration": "expiration"},
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {  # a TASK item of the layout before (with a state) holds the id as a STATE item does
                    "TableName": self.table_name,
                    "Item": task_item(record, retention_seconds=self.retention_seconds),
                    "ConditionExpression": "attribute_not_exists(#state) OR #expiration <= :now",
                    "ExpressionAttributeNames": {"#state": "state", "#expiration": "expiration"},
                    "ExpressionAttributeValues": values,
                }
            },
        ]
        if record.quota_key is not None and quota is not None and shard is not None:
            items.append(
                quotas.take(self.table_name, record.quota_key, quotas.shard_cap(quota, shard), owner=record.owner)
            )
        # A fresh tally (last, so the reasons above keep their positions): an id reused after its task expired must
        # not inherit the old task's run count before TTL deletes its items.
        tally = {"pk": s(task_pk(record.task_id, record.scope)), "sk": s(TALLY_SK), "run_count": n(0)}
        items.append({"Put": {"TableName": self.table_name, "Item": tally}})
        return items

    def _holder(self, record: TaskRecord, now: datetime) -> TaskRecord:
        held, _ = self.read(record.task_id, runs=0, now=now, scope=record.scope)
        if held is None:  # it expired or went between the two requests: a conflict, retried by the caller
            raise Throttled("the task id changed hands while it was claimed; retry", retry_after_seconds=1)
        return held

    def put(self, record: TaskRecord) -> None:
        """Write the task as it is now (PATCH: the new request); its creation, owner, slot and tally stay."""
        update = Expression()
        item = state_item(record)
        for name, value in item.items():
            if name in ("created_at", "created_key"):
                update.set_default(name, value)
            elif name not in ("pk", "sk", "owner", "owner_key", "quota_key"):
                update.set(name, value)  # (a task keeps its owner: a PATCH by an admin does not take it)
        for optional in ("start_at", "end_at", "action", "schedule_arn", "due_shard", "due_at"):
            if optional not in item:  # what the new request no longer has (`{"end_at": null}`, cron -> run_at)
                update.remove(optional)
        request = Expression()  # an Update, not a Put: an old layout's TASK item keeps its owner, tally and state
        written = task_item(record, retention_seconds=self.retention_seconds)
        for name in ("request", "fingerprint", "data_bytes", "expiration"):
            if name in written:
                request.set(name, written[name])
            else:
                request.remove(name)
        self._call(
            "transact_write_items",
            TransactItems=[
                {"Update": self._update_params(record.task_id, update, scope=record.scope, sk=STATE_SK)},
                {"Update": self._update_params(record.task_id, request, scope=record.scope, sk=TASK_SK)},
            ],
        )

    def set_state(
        self, task_id: str, state: TaskState, now: datetime, *, scope: str | None = None, reason: str | None = None
    ) -> None:
        """Change the task's state (pause, resume, cancel); a final state starts its retention, gives its slot back."""
        shard = index_shard(task_pk(task_id, scope))
        if state not in FINAL_STATES:
            update = self._state_update(state, shard, now, reason).remove("expiration")
            self._call("update_item", **self._update_params(task_id, update, scope=scope, sk=STATE_SK))
            return
        expiration = int(now.timestamp()) + self.retention_seconds
        guess: str | None = None
        for _ in range(MAX_TRIES):
            update = self._state_update(state, shard, now, reason).set("expiration", n(expiration))
            update.remove("due_shard").remove("due_at").remove("quota_key")  # off the sweep; the slot given back
            params = self._update_params(task_id, update, scope=scope, sk=STATE_SK)
            params["ConditionExpression"] = quotas.holds_slot(update, guess)
            params |= update.placeholders() | {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
            items = [{"Update": params}, *self._expiring(task_id, scope, expiration)]
            if guess is not None:
                items.append(quotas.give_back(self.table_name, guess))
            cancelled = self._transact(items, "TransactWriteItems")
            if cancelled is None:
                return
            held = cancelled[0] if cancelled else {}
            if held.get("Code") != "ConditionalCheckFailed":
                continue  # a conflict: again
            guess = text_of(held.get("Item") or {}, "quota_key")  # the slot it holds: given back with the write
        raise Throttled("the task ledger kept refusing the change (conflicts); retry", retry_after_seconds=1)

    def _state_update(self, state: TaskState, shard: int, now: datetime, reason: str | None) -> Expression:
        update = Expression().set("state", s(state)).set("state_key", s(state_key(state, shard)))
        update.set("updated_at", s(timestamp(now)))
        if reason is not None:
            update.set("reason", s(reason))
        return update

    def _expiring(self, task_id: str, scope: str | None, expiration: int) -> list[dict[str, Any]]:
        """The TALLY and TASK items given the task's expiry (the TASK item with the slack its copy of the request
        needs: scheduler_app.adapters.ledger_items)."""
        items = []
        for sk, moment in ((TALLY_SK, expiration), (TASK_SK, expiration + TASK_SLACK_SECONDS)):
            update = Expression().set("expiration", n(moment))
            if sk == TASK_SK:  # a TASK item of the layout before issue 20 carries the sweep's keys: off the index
                update.remove("due_shard").remove("due_at")
            items.append({"Update": self._update_params(task_id, update, scope=scope, sk=sk)})
        return items

    def forget(self, task_id: str, fingerprint: str, *, scope: str | None = None) -> None:
        """Remove a task this request claimed (its schedule could not be made), unless another request's; its slot
        goes back."""
        guess: str | None = None
        for _ in range(MAX_TRIES):
            names = {"#fingerprint": "fingerprint", "#quota_key": "quota_key"}
            values: dict[str, Any] = {":fingerprint": s(fingerprint)}
            holds = "attribute_not_exists(#quota_key)"
            if guess is not None:
                values[":quota_key"] = s(guess)
                holds = "#quota_key = :quota_key"
            items: list[dict[str, Any]] = [
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": _key(task_id, scope, STATE_SK),
                        "ConditionExpression": f"#fingerprint = :fingerprint AND {holds}",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {"Delete": {"TableName": self.table_name, "Key": _key(task_id, scope, TASK_SK)}},
            ]
            if guess is not None:
                items.append(quotas.give_back(self.table_name, guess))
            cancelled = self._transact(items, "TransactWriteItems")
            if cancelled is None:
                return
            held = (cancelled[0] if cancelled else {}).get("Item") or {}
            if (cancelled[0] if cancelled else {}).get("Code") != "ConditionalCheckFailed":
                continue
            if text_of(held, "fingerprint") != fingerprint:
                return  # another request's (or gone): not ours to remove
            guess = text_of(held, "quota_key")

    def _update_params(self, task_id: str, update: Expression, *, scope: str | None, sk: str) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Key": _key(task_id, scope, sk),
            "UpdateExpression": update.update(),
            **update.placeholders(),
        }

    def _transact(self, items: list[dict[str, Any]], operation: str) -> list[dict[str, Any]] | None:
        """Write `items` in one transaction: None when written, else the cancellation's reasons (by position)."""
        from botocore.exceptions import ClientError

        try:
            self._call("transact_write_items", TransactItems=items, reraise=(ClientError,))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            reasons: list[dict[str, Any]] = list(exc.response.get("CancellationReasons") or [])  # type: ignore[arg-type]
            throttled = any(reason.get("Code") == "ThrottlingError" for reason in reasons)
            if code != "TransactionCanceledException" or throttled:
                raise _unavailable(operation, exc, self.retry_after_seconds, throttled=throttled) from None
            return reasons
        return None

    # -- reads --------------------------------------------------------------------------------------------------------

    def read(
        self, task_id: str, *, runs: int, now: datetime, scope: str | None = None
    ) -> tuple[TaskRecord | None, list[RunRecord]]:
        """The task (in `scope`'s namespace) and its `runs` latest runs, in one Query (strongly consistent)."""
        response = self._call(
            "query",
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": s(task_pk(task_id, scope))},
            ScanIndexForward=False,
            Limit=3 + runs,  # TASK, TALLY, STATE sort after every RUN#
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        own = [i for i in items if not (text_of(i, "sk") or "").startswith(RUN_PREFIX)]
        task = partition_record(own)
        if task is not None and task.expiration is not None and task.expiration <= int(now.timestamp()):
            task = None
        fresh = [i for i in items if not expired(i, int(now.timestamp()))]
        found = [run_record(i) for i in fresh if (text_of(i, "sk") or "").startswith(RUN_PREFIX)]
        return task, found[:runs]

    def runs(
        self, task_id: str, *, limit: int, start: Position | None, now: datetime, scope: str | None = None
    ) -> Page:
        """A page of the task's runs (RunRecord), newest first."""
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :run)",
            "ExpressionAttributeValues": {":pk": s(task_pk(task_id, scope)), ":run": s(RUN_PREFIX)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            params["ExclusiveStartKey"] = start
        response = self._call("query", **params)
        items = [item for item in response.get("Items", []) if not expired(item, int(now.timestamp()))]
        return Page([run_record(i) for i in items], response.get("LastEvaluatedKey"))

    def page(self, wanted: ListFilter, *, limit: int, start: Position | None, now: datetime) -> Page:
        """One page of tasks (TaskRecord), newest first: the shards of one index partition, merged (listing.py)."""
        if wanted.owner is not None:
            index, key, partitions = BY_OWNER_INDEX, "owner_key", owner_keys(wanted.owner)
        elif wanted.user_id is not None:
            index, key, partitions = BY_USER_INDEX, "user_key", [user_key(wanted.user_id)]
        elif wanted.state is not None:
            index, key, partitions = BY_STATE_INDEX, "state_key", state_keys(wanted.state)
        else:
            raise InvalidSchedule("a listing names a user_id or a status")
        names: dict[str, str] = {"#key": key, "#expiration": "expiration"}
        values: dict[str, Any] = {":now": n(int(now.timestamp()))}
        filters = filters_of(
            wanted, names, values, skip_state=index == BY_STATE_INDEX, by_owner=index == BY_OWNER_INDEX
        )
        filters.append("(attribute_not_exists(#expiration) OR #expiration > :now)")
        condition = "#key = :partition"
        before = before_of(start)
        if before is not None:
            names["#created_key"] = "created_key"
            values[":before"] = s(before)
            condition += " AND #created_key < :before"
        each = per_shard(limit, len(partitions))

        def query(partition: str) -> ShardRead:
            response = self._call(
                "query",
                TableName=self.table_name,
                IndexName=index,
                KeyConditionExpression=condition,
                FilterExpression=" AND ".join(filters),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values | {":partition": s(partition)},
                ScanIndexForward=False,
                Limit=each,
            )
            stopped = response.get("LastEvaluatedKey")
            return ShardRead(response.get("Items", []), text_of(stopped, "created_key") if stopped else None)

        entries, following = merge(read_shards(query, partitions), limit)
        tally = tallies(self.client, self.table_name, [text_of(item, "pk") or "" for item in entries])
        rows = [task_record(item, tally=tally.get(text_of(item, "pk") or "", item)) for item in entries]
        return Page(rows, following)

    def count_live(self, owner: str, *, up_to: int) -> int:
        """How many live tasks (scheduled or paused) `owner` has: the sum of its quota counters (one BatchGetItem)."""
        return min(up_to, sum(self.counters(owner, quotas.MAX_SHARDS)))

    def counters(self, owner: str, count: int) -> list[int]:
        """The slots taken of each of the owner's first `count` counters, read consistently in one request."""
        keys = [quotas.counter_key(quotas.slot(owner, shard)) for shard in range(count)]
        response = self._call("batch_get_item", RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}})
        if response.get("UnprocessedKeys"):
            raise Throttled("the task ledger is throttling the quota's counters; retry", retry_after_seconds=1)
        return used_of(keys, response.get("Responses", {}).get(self.table_name, []))

    def _call(self, operation: str, *, reraise: tuple[type[Exception], ...] = (), **params: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**params)
        except reraise:
            raise
        except ClientError as exc:
            raise _unavailable(_operation(operation), exc, self.retry_after_seconds) from None
        except BotoCoreError as exc:
            raise UpstreamError(f"the task ledger is unreachable ({type(exc).__name__}); retry") from None


def _key(task_id: str, scope: str | None, sk: str) -> dict[str, Any]:
    return {"pk": s(task_pk(task_id, scope)), "sk": s(sk)}


#: DynamoDB's words for "too many requests": answered 429 with Retry-After, as the scheduler's own throttling.
THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})


def _unavailable(operation: str, exc: Any, retry_after_seconds: int, *, throttled: bool = False) -> SchedulerError:
    """A ledger failure in AWS's terms (its error code, never its message, which can name the account)."""
    code = exc.response.get("Error", {}).get("Code", "error")
    if code in THROTTLING_CODES or throttled:
        return Throttled(
            f"the task ledger is throttling {operation} ({code}); retry later", retry_after_seconds=retry_after_seconds
        )
    return UpstreamError(f"the task ledger failed {operation} ({code}); retry later")


def _operation(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))
