"""moto's DynamoDB `TransactWriteItems`, made fit for the local cloud.

moto 5 backs up every table a transaction touches with `copy.deepcopy(table)` before it writes, to
restore it if the transaction is cancelled. That is O(table size) per transaction (the callback
records every run in one transaction, so `make dev` would slow down with every task it has run),
and not safe while another thread of moto's server writes the same table ("dictionary changed size
during iteration", seen under the local cloud's concurrent execution environments).

`install()` keeps moto's own transaction logic and changes two things around it:

- the backup copies the table's item index (references) and deep-copies only the items the
  transaction names, which is all a cancelled transaction can have changed;
- every DynamoDB write of the backend (and the backup) holds one lock, so a copy never races a write.

tests/localcloud/test_moto_transactions.py checks the rollback, the thread safety, and the moto
internals this relies on (it fails when they change).
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: Held by every DynamoDB write of moto's backend in this process.
LOCK = threading.RLock()
#: The backend methods that change items.
WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
_MARK = "_localcloud_serialised"


def install() -> None:
    """Patch moto's DynamoDB backend (once per process)."""
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, _MARK, False):
        return
    for name in WRITES:
        setattr(backend, name, _serialised(getattr(backend, name)))
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with LOCK, _cheap_backups(models, self, transact_items):
            original(self, transact_items)

    setattr(transact_write_items, _MARK, True)
    transact_write_items.__wrapped__ = original  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return method(*args, **kwargs)

    setattr(call, _MARK, True)
    call.__wrapped__ = method  # type: ignore[attr-defined]
    call.__name__ = method.__name__
    call.__doc__ = method.__doc__
    return call


@contextmanager
def _cheap_backups(models: Any, backend: Any, transact_items: list[dict[str, Any]]) -> Iterator[None]:
    """While moto's transaction runs, its `copy.deepcopy(table)` copies only what the transaction names."""
    touched: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in transact_items:
        op: Any = next(iter(entry.values()), {})
        if isinstance(op, dict) and "TableName" in op:
            touched[op["TableName"]].append(op.get("Key") or op.get("Item") or {})
    tables = {id(table): name for name, table in backend.tables.items()}

    class _Copy:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            name = tables.get(id(value))
            if name is None:
                return copy.deepcopy(value, memo)
            return _table_backup(value, touched.get(name, []))

    real = models.copy
    models.copy = _Copy
    try:
        yield
    finally:
        models.copy = real


def _table_backup(table: Any, keys: list[dict[str, Any]]) -> Any:
    """A copy of `table` to restore after a cancelled transaction: its item index, and copies of `keys`' items."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    backup = copy.copy(table)
    items: Any = defaultdict(dict)
    for hash_value, value in table.items.items():
        items[hash_value] = dict(value) if table.has_range_key else value
    for key in keys:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.has_range_key else None
        item = table.get_item(hash_value, range_value)
        if item is None:
            continue
        if range_value is not None:
            items[hash_value][range_value] = copy.deepcopy(item)
        else:
            items[hash_value] = copy.deepcopy(item)
    backup.items = items
    return backup
