"""moto's mutating requests, journaled before they are answered (`--persist`, `localcloud.journal`).

Each wrapped request handler runs moto's own method, then reads what it changed from moto's model (the items a
DynamoDB write named, the queue an SQS send or delete touched, the schedule a Scheduler call named) and records
it in the journal (fsynced) before the answer goes back. DynamoDB writes do so under `moto_transactions.LOCK`
(which every write of moto's backend holds), SQS and Scheduler calls under a lock of their own, so that the
journal's order is the order of the changes. Without a journal (`set_journal(None)`) the wrappers only call moto.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from localcloud.journal import Journal, key_of
from localcloud.template import LOCAL_ACCOUNT, LOCAL_REGION

__all__ = ["install", "set_journal"]

_installed = False
_OTHER = threading.RLock()
_journal: Journal | None = None

_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_SQS_WRITES = ("send_message", "send_message_batch", "delete_message", "delete_message_batch", "purge_queue")
_SCHEDULER_WRITES = ("create_schedule", "update_schedule", "delete_schedule")
_GROUP_WRITES = ("create_schedule_group", "delete_schedule_group")


def set_journal(journal: Journal | None) -> None:
    """Journal moto's changes into `journal` from now on (None: stop)."""
    global _journal
    _journal = journal


def key_attributes(table: str) -> list[str]:
    """A table's key attributes, from moto's model."""
    from moto.dynamodb.models import dynamodb_backends

    model = dynamodb_backends[LOCAL_ACCOUNT][LOCAL_REGION].get_table(table)
    return [name for name in (model.hash_key_attr, model.range_key_attr) if name]


# -- what a request changed ----------------------------------------------------------------------------------------


def _named_keys(body: dict[str, Any], action: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, key or item) for every item a DynamoDB write names."""
    if action in ("put_item", "update_item", "delete_item"):
        yield body["TableName"], body.get("Item") or body.get("Key") or {}
    elif action == "transact_write_items":
        yield from _transaction_keys(body)
    else:
        yield from _batch_keys(body)


def _transaction_keys(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in body.get("TransactItems", []):
        for operation in ("Put", "Update", "Delete"):
            if operation in entry:
                spec = entry[operation]
                yield spec["TableName"], spec.get("Item") or spec.get("Key") or {}


def _batch_keys(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for table, requests in body.get("RequestItems", {}).items():
        for request in requests:
            if "PutRequest" in request:
                yield table, request["PutRequest"]["Item"]
            elif "DeleteRequest" in request:
                yield table, request["DeleteRequest"]["Key"]


def _item_entries(handler: Any, action: str) -> list[dict[str, Any]]:
    backend = handler.dynamodb_backend
    entries = []
    for table, named in _named_keys(handler.body, action):
        attributes = key_attributes(table)
        key = {name: named[name] for name in attributes if name in named}
        item = backend.get_item(table, key)
        entries.append(
            {
                "t": "item",
                "table": table,
                "key": key_of(key, attributes),
                "item": item.to_json()["Attributes"] if item is not None else None,
            }
        )
    return entries


def _queue_entry(handler: Any, action: str) -> list[dict[str, Any]]:
    name = handler._get_queue_name()
    queue = handler.sqs_backend.queues.get(name)
    messages = [
        {
            "id": message.id,
            "body": message.body,
            "attributes": message.message_attributes,
            "sent_timestamp": message.sent_timestamp,
        }
        for message in list(queue._messages if queue is not None else [])
    ]
    return [{"t": "queue", "name": name, "messages": messages}]


def _instant(value: Any) -> Any:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return value


def _schedule_entry(handler: Any, action: str) -> list[dict[str, Any]]:
    from localcloud.persist import SCHEDULE_FIELDS
    from localcloud.schedules import _moto_schedule

    group = handler._get_param("GroupName") or handler._get_param("groupName") or "default"
    name = handler.uri.split("?")[0].split("/")[-1]
    model = _moto_schedule(group, name, account=LOCAL_ACCOUNT, region=LOCAL_REGION)
    record = None
    if model is not None:
        described = model.to_dict()
        kept = {key: _instant(described[key]) for key in SCHEDULE_FIELDS if described.get(key) is not None}
        stamps = [float(model.creation_date), float(model.last_modified_date)]
        record = {"Name": name, "GroupName": group, **kept, "_stamps": stamps}
    return [{"t": "schedule", "group": group, "name": name, "record": record}]


def _group_entry(handler: Any, action: str) -> list[dict[str, Any]]:
    name = handler.uri.split("?")[0].split("/")[-1]
    return [{"t": "group", "name": name, "exists": action == "create_schedule_group"}]


# -- the wrappers --------------------------------------------------------------------------------------------------


def install() -> None:
    """Wrap moto's handlers (once per process; nothing is journaled until `set_journal`)."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.scheduler.responses import EventBridgeSchedulerResponse
    from moto.sqs.responses import SQSResponse

    from localcloud.moto_transactions import LOCK

    global _installed
    if _installed:
        return
    _installed = True
    for names, cls, changes, lock in (
        (_DYNAMODB_WRITES, DynamoHandler, _item_entries, LOCK),
        (_SQS_WRITES, SQSResponse, _queue_entry, _OTHER),
        (_SCHEDULER_WRITES, EventBridgeSchedulerResponse, _schedule_entry, _OTHER),
        (_GROUP_WRITES, EventBridgeSchedulerResponse, _group_entry, _OTHER),
    ):
        for name in names:
            setattr(cls, name, _journaled(getattr(cls, name), name, changes, lock))


def _journaled(
    method: Callable[[Any], Any],
    action: str,
    changes: Callable[[Any, str], list[dict[str, Any]]],
    lock: Any,
) -> Callable[[Any], Any]:
    def journaled(self: Any) -> Any:
        if _journal is None:
            return method(self)
        with lock:
            result = method(self)
            journal = _journal
            if journal is not None:
                journal.record(*changes(self, action))
            return result

    journaled.__name__ = method.__name__
    return journaled
