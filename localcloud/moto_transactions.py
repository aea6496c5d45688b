"""moto's DynamoDB `TransactWriteItems`, made fit for the local cloud.

moto 5 backs up every table a transaction touches with `copy.deepcopy(table)` before it writes, to
restore it if the transaction is cancelled. That is O(table size) per transaction (the callback
records every run in one transaction, so `make dev` would slow down with every task it has run),
and not safe while another thread of moto's server writes the same table ("dictionary changed size
during iteration", seen under the local cloud's concurrent execution environments).

`install()` keeps moto's own transaction logic and changes two things around it:

- instead of copying the tables, it saves a copy of only the items the transaction names (all a
  cancelled transaction can have changed) and puts them back when moto cancels it;
- every DynamoDB write of the backend (and the backup) holds one lock, so a copy never races a write.

`LOCK` is the only lock around these methods, and it is reentrant: a transaction holds it while moto's own
`transact_write_items` calls `put_item`/`update_item`/`delete_item`. Whoever needs moto's writes serialised
(a test that wants DynamoDB's per-item atomicity) uses it, never a second lock of its own around the same
methods: two locks taken in both orders deadlock (tests/reliability/test_concurrent_deliveries.py).

tests/localcloud/test_moto_transactions.py checks the rollback, the thread safety, and the moto
internals this relies on (it fails when they change).
"""

from __future__ import annotations

import copy
import threading
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
        with LOCK:
            saved = _snapshot(self, transact_items)
            with _no_table_copies(models, self):
                try:
                    original(self, transact_items)
                except Exception:
                    _restore(saved)  # moto "restored" the table itself: put back what the transaction named
                    raise

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


Saved = list[tuple[Any, Any, Any, Any]]


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> Saved:
    """Each item the transaction names, as it is now (a deep copy, or None when it does not exist)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: Saved = []
    for entry in transact_items:
        op: Any = next(iter(entry.values()), {})
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        key = (op.get("Key") or op.get("Item")) if table is not None else None
        if table is None or not key or table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.has_range_key else None
        if table.has_range_key and table.range_key_attr not in key:
            continue
        item = table.get_item(hash_value, range_value)
        saved.append((table, hash_value, range_value, copy.deepcopy(item) if item is not None else None))
    return saved


def _restore(saved: Saved) -> None:
    """Put every named item back as it was before the transaction (in reverse, so the first copy wins)."""
    for table, hash_value, range_value, item in reversed(saved):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
            continue
        if item is not None:
            table.items[hash_value][range_value] = item
        elif hash_value in table.items:
            table.items[hash_value].pop(range_value, None)
            if not table.items[hash_value]:
                del table.items[hash_value]


@contextmanager
def _no_table_copies(models: Any, backend: Any) -> Iterator[None]:
    """While moto's transaction runs, its `copy.deepcopy(table)` backup is the table itself (`_snapshot` saved
    what matters), so a cancelled transaction's "restore" changes nothing and `_restore` does the work."""
    tables = {id(table) for table in backend.tables.values()}

    class _Copy:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if id(value) in tables else copy.deepcopy(value, memo)

    real = models.copy
    models.copy = _Copy
    try:
        yield
    finally:
        models.copy = real
