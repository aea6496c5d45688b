"""Callback test helpers: a spy action, and deliveries built the way EventBridge Scheduler makes them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from taskcore.envelope import TaskEnvelope
from taskcore.proxy import build_target_input, delivered_event
from taskcore.registry import TaskContext, TaskRejected

OCCURRENCE = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
GROUP_ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/scheduled-tasks-local-tasks"


class AnyData(BaseModel):
    """Free-form data for the test actions."""

    model_config = ConfigDict(extra="allow")


class ActionSpy:
    """Records each run of the test action; `behaviour` decides what a run does."""

    def __init__(self) -> None:
        self.runs: list[TaskContext] = []
        self.behaviour: Callable[[AnyData, TaskContext], dict[str, Any] | None] = lambda data, task: {
            "echo": data.model_dump()
        }

    def __call__(self, data: AnyData, task: TaskContext) -> dict[str, Any] | None:
        self.runs.append(task)
        return self.behaviour(data, task)


def reject(data: AnyData, task: TaskContext) -> None:
    """A `behaviour` that rejects the task permanently."""
    raise TaskRejected("the payment was already refunded")


def delivery(
    task_id: str = "task-1",
    *,
    action: str = "spy",
    data: dict[str, Any] | None = None,
    user_id: int | str = 456,
    scheduled: datetime | None = OCCURRENCE,
    attempt: int = 1,
    kind: str | None = "one-time",
    scope: str | None = None,
    quota: str | None = None,
) -> dict[str, Any]:
    """The event the callback receives for one delivery of one occurrence (None: a direct invocation).

    `kind` is the `X-Task-Kind` the scheduler API puts on its schedules; None for one made elsewhere.
    `scope` is the `X-Task-Scope` it puts on an owner's task under `Isolation=owner` (None: none).
    `quota` is the `X-Task-Quota` it puts on an owned task: the quota slot its create tried first (None: none).
    """
    envelope = TaskEnvelope.model_construct(task_id=task_id, user_id=user_id, action=action, data=data or {})
    target_input = build_target_input(envelope, kind=kind, scope=scope, quota_slot=quota)
    if scheduled is None:
        event: dict[str, Any] = json.loads(target_input)
        event["headers"] = {"content-type": "application/json"}
        return event
    return delivered_event(
        target_input, schedule_arn=f"{GROUP_ARN}/{task_id}", scheduled_time=scheduled, attempt=attempt
    )


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    """The decoded JSON body of a proxy response."""
    decoded: dict[str, Any] = json.loads(response["body"])
    return decoded


def ledger_items(table_name: str, task_id: str, scope: str | None = None) -> dict[str, dict[str, Any]]:
    """Every item of one task's partition of the ledger (in its owner's `scope`), by sort key, as plain values."""
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    from taskcore.ledger import task_pk

    decode = TypeDeserializer().deserialize
    response = boto3.client("dynamodb").query(
        TableName=table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": task_pk(task_id, scope)}},
        ConsistentRead=True,
    )
    return {item["sk"]["S"]: {k: decode(v) for k, v in item.items()} for item in response["Items"]}


def ledger_partition(
    table_name: str, task_id: str, scope: str | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """One task as a listing shows it, and its runs oldest first.

    The task is its STATE item (state, kind, the index keys, the quota slot) with the TALLY item's `run_count`
    and `last_run` (what runs change), as the listing reads them; None when the partition has neither item.
    """
    from taskcore.ledger import RUN_PREFIX, STATE_SK, TALLY_SK

    items = ledger_items(table_name, task_id, scope)
    state, tally = items.get(STATE_SK), items.get(TALLY_SK)
    runs = [item for sk, item in sorted(items.items()) if sk.startswith(RUN_PREFIX)]
    if state is None and tally is None:
        return None, runs
    counted = {name: value for name, value in (tally or {}).items() if name in ("run_count", "last_run")}
    return {**(state or {}), **counted}, runs


#: The quota slot a test task holds (taskcore.quota.slot's form: 16 hex digits of the owner, its shard).
SLOT = "0123456789abcdef#3"


def put_task(
    table_name: str,
    task_id: str,
    *,
    state: str = "scheduled",
    kind: str = "one-time",
    data: dict[str, Any] | None = None,
    user_id: int | str = 456,
    quota: str | None = SLOT,
    scope: str | None = None,
    old_layout: bool = False,
) -> None:
    """A task in the ledger as the scheduler API's create writes it (taskcore.ledger's layout), without the API.

    TASK (the request, `data` included), STATE (the listing row, its index keys and its quota slot `quota`, whose
    counter then holds 1) and TALLY (no run yet). `old_layout`: one TASK item holding everything, as the layout
    before issue 20 wrote it (no STATE, no TALLY, no counter).
    """
    import boto3

    from taskcore.ledger import (
        STATE_SK,
        TALLY_SK,
        TASK_SK,
        created_key,
        index_shard,
        owner_key,
        state_key,
        task_pk,
        to_json,
        user_key,
    )
    from taskcore.quota import counter_key

    client = boto3.client("dynamodb")
    pk = task_pk(task_id, scope)
    shard = index_shard(pk)
    created = "2026-11-30T00:00:00Z"
    request = {"task_id": task_id, "user_id": user_id, "action": "spy", "data": data or {}}
    row = {
        "task_id": {"S": task_id},
        "action": {"S": "spy"},
        "user_id": {"S": to_json(user_id)},
        "user_key": {"S": user_key(user_id)},
        "kind": {"S": kind},
        "state": {"S": state},
        "state_key": {"S": state_key(state, shard)},
        "owner": {"S": "arn:aws:iam::123456789012:role/backend"},
        "owner_key": {"S": owner_key("arn:aws:iam::123456789012:role/backend", shard)},
        "created_at": {"S": created},
        "created_key": {"S": created_key(created, task_id)},
        "schedule_arn": {"S": f"{GROUP_ARN}/{task_id}"},
        "due_shard": {"S": "DUE#1"},
        "due_at": {"S": "2030-01-01T00:05:00Z"},
    }
    task = {"pk": {"S": pk}, "sk": {"S": TASK_SK}, "request": {"S": to_json(request)}}
    if old_layout:
        client.put_item(TableName=table_name, Item={**task, **row, "run_count": {"N": "0"}})
        return
    client.put_item(TableName=table_name, Item=task)
    holds = {"quota_key": {"S": quota}} if quota is not None else {}
    client.put_item(TableName=table_name, Item={"pk": {"S": pk}, "sk": {"S": STATE_SK}, **row, **holds})
    client.put_item(TableName=table_name, Item={"pk": {"S": pk}, "sk": {"S": TALLY_SK}, "run_count": {"N": "0"}})
    if quota is not None:
        client.update_item(
            TableName=table_name,
            Key=counter_key(quota),
            UpdateExpression="ADD used :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )


def quota_used(table_name: str, quota: str = SLOT) -> int | None:
    """The `used` of a quota slot's counter (None: no counter item)."""
    import boto3

    from taskcore.quota import counter_key

    item = boto3.client("dynamodb").get_item(TableName=table_name, Key=counter_key(quota), ConsistentRead=True)
    found = item.get("Item")
    return int(found["used"]["N"]) if found else None


class ThrottledKey:
    """DynamoDB (moto) answering every write that names `key` as it answers a hot partition key, `times` times
    (None: until `on` is turned off): a single write `ProvisionedThroughputExceededException`, a transaction
    `TransactionCanceledException` with a `ThrottlingError` reason for each item (localcloud.dynamo_throughput)."""

    WRITES = ("transact_write_items", "update_item", "put_item", "delete_item")

    def __init__(self, key: str, times: int | None = None, *, operations: tuple[str, ...] = WRITES) -> None:
        self.key = key
        self.times = times
        self.operations = operations
        self.on = True
        #: The operation of each request refused, in order.
        self.refused: list[str] = []

    def install(self, monkeypatch: Any) -> ThrottledKey:
        from moto.dynamodb.responses import DynamoHandler

        for name in self.operations:
            monkeypatch.setattr(DynamoHandler, name, self._wrap(getattr(DynamoHandler, name), name))
        return self

    def _wrap(self, method: Any, name: str) -> Any:
        def throttled(handler: Any) -> Any:
            spent = self.times is not None and len(self.refused) >= self.times
            if self.on and not spent and self.key in json.dumps(handler.body):
                self.refused.append(name)
                if name == "transact_write_items":
                    from moto.dynamodb.exceptions import TransactionCanceledException

                    items = handler.body.get("TransactItems", [])
                    raise TransactionCanceledException([("ThrottlingError", "hot key", None) for _ in items])
                from localcloud import dynamo_throughput

                raise dynamo_throughput._throttled([{"reason": "TableWriteKeyRangeThroughputExceeded"}])
            return method(handler)

        throttled.__name__ = method.__name__
        return throttled
