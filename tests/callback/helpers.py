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
) -> dict[str, Any]:
    """The event the callback receives for one delivery of one occurrence (None: a direct invocation).

    `kind` is the `X-Task-Kind` the scheduler API puts on its schedules; None for one made elsewhere.
    `scope` is the `X-Task-Scope` it puts on an owner's task under `Isolation=owner` (None: none).
    """
    envelope = TaskEnvelope.model_construct(task_id=task_id, user_id=user_id, action=action, data=data or {})
    target_input = build_target_input(envelope, kind=kind, scope=scope)
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


def ledger_partition(
    table_name: str, task_id: str, scope: str | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The task ledger's items for one task (in its owner's `scope`), as plain values: the task item, and its runs
    oldest first."""
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    from taskcore.ledger import TASK_SK, task_pk

    decode = TypeDeserializer().deserialize
    response = boto3.client("dynamodb").query(
        TableName=table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": task_pk(task_id, scope)}},
        ConsistentRead=True,
    )
    items = [{k: decode(v) for k, v in item.items()} for item in response["Items"]]
    task = next((item for item in items if item["sk"] == TASK_SK), None)
    return task, [item for item in items if item["sk"] != TASK_SK]


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
