"""DynamoDB's per-partition-key throughput, in front of moto (the adverse mode's `dynamodb_*_per_key` knobs).

DynamoDB serves about 1,000 write units and 3,000 read units per second per partition key value, for the
table and for each global secondary index, in on-demand mode too (a "hot key"; throttling reasons
`TableWriteKeyRangeThroughputExceeded`, `IndexWriteKeyRangeThroughputExceeded`, ...). A request over it is
answered as DynamoDB answers it:

- a single request (GetItem, PutItem, UpdateItem, DeleteItem, Query): HTTP 400
  `ProvisionedThroughputExceededException`, with `ThrottlingReasons` (botocore retries it on its own);
- a transaction (TransactWriteItems, TransactGetItems): `TransactionCanceledException` whose
  `CancellationReasons` carry `ThrottlingError` for the throttled items and `None` for the others.

What a request costs: a write 1 unit per KB of the item (2 in a transaction), a read 1 per 4 KB (2 in a
transaction); an index is charged the item's write under the item's index key as stored before the request
(a Put: the new item's). A GetItem or a Query is charged one read on its partition key, whatever it returns.
Batch operations are not limited. moto's server runs in the local cloud's own
process, so one set of buckets serves every execution environment.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from localcloud.adverse import TokenBuckets

__all__ = ["Throughput", "install", "set_limits"]

_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_HOT_KEY = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your "
    "table or index so please try again shortly. If exceptions persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)
_installed = False
_EQUALS = re.compile(r"([#\w.]+)\s*=\s*(:\w+)")


@dataclass
class Throughput:
    """The buckets: writes and reads per (table, index or "", partition key value)."""

    writes: TokenBuckets | None
    reads: TokenBuckets | None


_limits: Throughput | None = None


def set_limits(
    wcu_per_key: float | None, rcu_per_key: float | None, *, clock: Callable[[], float] = time.monotonic
) -> None:
    """Limit every table's (and index's) partition keys from now on; both None: no limits. The units are per
    second of `clock` (the local cloud's: under a FakeClock, a retry a virtual minute later finds its key's
    units refilled, as on AWS)."""
    global _limits
    if wcu_per_key is None and rcu_per_key is None:
        _limits = None
        return
    _limits = Throughput(
        TokenBuckets(wcu_per_key, clock=clock) if wcu_per_key is not None else None,
        TokenBuckets(rcu_per_key, clock=clock) if rcu_per_key is not None else None,
    )


def _size(item: Any) -> int:
    return len(json.dumps(item, separators=(",", ":"))) if item else 0


def _units(size: int, per: int, factor: int) -> float:
    return float(max(1, math.ceil(size / per)) * factor)


def _throttled(reasons: list[dict[str, str]]) -> Exception:
    from moto.dynamodb.exceptions import DynamodbException

    error = DynamodbException(_PREFIX + "ProvisionedThroughputExceededException", _HOT_KEY)
    kind = _PREFIX + "ProvisionedThroughputExceededException"
    error.description = json.dumps({"__type": kind, "message": _HOT_KEY, "ThrottlingReasons": reasons})
    return error


class _Request:
    """What one request to moto's DynamoDB handler costs, and where."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.backend = handler.dynamodb_backend

    def keys(self, table_name: str, key_or_item: dict[str, Any], existing: Any) -> Iterator[tuple[str, str, Any]]:
        """(resource kind, resource name, partition value) for the table and each index the item is in."""
        table = self.backend.get_table(table_name)
        yield "Table", table_name, json.dumps(key_or_item.get(table.hash_key_attr), sort_keys=True)
        for index in table.global_indexes:
            attr = index.schema[0]["AttributeName"] if index.schema else None
            value = (existing or {}).get(attr)
            if value is not None:
                yield "Index", f"{table_name}/index/{index.name}", json.dumps(value, sort_keys=True)

    def existing(self, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            item = self.backend.get_item(table_name, key)
        except Exception:  # an invalid key: moto answers it itself
            return None
        return item.to_json()["Attributes"] if item is not None else None

    def write_charges(
        self, table_name: str, key: dict[str, Any], new_item: dict[str, Any] | None, factor: int
    ) -> list[tuple[str, str, Any, float]]:
        existing = new_item if new_item is not None else self.existing(table_name, key)
        units = _units(max(_size(existing), _size(new_item)), 1024, factor)
        return [(kind, name, value, units) for kind, name, value in self.keys(table_name, key, existing)]


def _over(buckets: TokenBuckets | None, charges: list[tuple[str, str, Any, float]], operation: str) -> list[str]:
    """Spend the charges; the throttling reasons of those over their key's rate."""
    if buckets is None:
        return []
    return [
        f"{kind}{operation}KeyRangeThroughputExceeded"
        for kind, name, value, units in charges
        if not buckets.take((name, value), units)
    ]


def _reasons(charges: list[tuple[str, str, Any, float]], names: list[str]) -> list[dict[str, str]]:
    return [{"reason": reason, "resource": charges[0][1]} for reason in names]


def _single_write(handler: Any, new_item: bool) -> None:
    limits = _limits
    if limits is None or limits.writes is None:
        return
    body = handler.body
    request = _Request(handler)
    item = body.get("Item") if new_item else None
    charges = request.write_charges(body["TableName"], item or body.get("Key", {}), item, 1)
    if over := _over(limits.writes, charges, "Write"):
        raise _throttled(_reasons(charges, over))


def _single_read(handler: Any, query: bool) -> None:
    limits = _limits
    if limits is None or limits.reads is None:
        return
    body = handler.body
    name = body["TableName"]
    table = handler.dynamodb_backend.get_table(name)
    if query:
        value, resource, kind = _query_key(body, table), name, "Table"
        if body.get("IndexName"):
            resource, kind = f"{name}/index/{body['IndexName']}", "Index"
    else:
        value, resource, kind = json.dumps(body.get("Key", {}).get(table.hash_key_attr), sort_keys=True), name, "Table"
    if not limits.reads.take((resource, value), 1.0):
        raise _throttled([{"reason": f"{kind}ReadKeyRangeThroughputExceeded", "resource": resource}])


def _query_key(body: dict[str, Any], table: Any) -> str:
    """The partition key value a Query names (its key condition's equality on the hash key)."""
    hash_attr = table.hash_key_attr
    if body.get("IndexName"):
        for index in table.global_indexes:
            if index.name == body["IndexName"] and index.schema:
                hash_attr = index.schema[0]["AttributeName"]
    names = body.get("ExpressionAttributeNames", {})
    values = body.get("ExpressionAttributeValues", {})
    for left, placeholder in _EQUALS.findall(body.get("KeyConditionExpression", "")):
        if names.get(left, left) == hash_attr:
            return json.dumps(values.get(placeholder), sort_keys=True)
    return "?"


def _transaction(handler: Any) -> None:
    limits = _limits
    if limits is None:
        return
    request = _Request(handler)
    reasons: list[tuple[str | None, str | None, None]] = []
    for entry in handler.body.get("TransactItems", []):
        (operation, spec), *_ = entry.items()
        if operation == "ConditionCheck" or operation == "Get":
            buckets, kind = limits.reads, "Read"
            charges = [(k, n, v, 2.0) for k, n, v in request.keys(spec["TableName"], spec["Key"], None)]
        else:
            buckets, kind = limits.writes, "Write"
            item = spec.get("Item") if operation == "Put" else None
            charges = request.write_charges(spec["TableName"], item or spec.get("Key", {}), item, 2)
        over = _over(buckets, charges, kind)
        reasons.append(("ThrottlingError", _HOT_KEY, None) if over else (None, None, None))
    if any(code for code, _, _ in reasons):
        from moto.dynamodb.exceptions import TransactionCanceledException

        raise TransactionCanceledException(reasons)


_CHECKS: dict[str, Callable[[Any], None]] = {
    "put_item": lambda h: _single_write(h, True),
    "update_item": lambda h: _single_write(h, False),
    "delete_item": lambda h: _single_write(h, False),
    "get_item": lambda h: _single_read(h, False),
    "query": lambda h: _single_read(h, True),
    "transact_write_items": _transaction,
    "transact_get_items": _transaction,
}


def install() -> None:
    """Put the checks in front of moto's DynamoDB handler (once per process; no limits until `set_limits`)."""
    from moto.dynamodb.responses import DynamoHandler

    global _installed
    if _installed:
        return
    _installed = True
    for name, check in _CHECKS.items():
        setattr(DynamoHandler, name, _checked(getattr(DynamoHandler, name), check))


def _checked(method: Callable[[Any], Any], check: Callable[[Any], None]) -> Callable[[Any], Any]:
    def checked(self: Any) -> Any:
        check(self)
        return method(self)

    checked.__name__ = method.__name__
    return checked
