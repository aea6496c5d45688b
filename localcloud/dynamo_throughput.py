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

What each key was asked for is kept while limits are set (`usage()`, one `KeyUse` per table or index and
partition key value): the units charged, the most units asked of it in one second of the clock (refused ones
included) and the requests refused, so that a test can say "no key over its limit" and name the hottest
(`hottest()`, `over_limit()`).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from localcloud.adverse import TokenBuckets

__all__ = ["KeyUse", "Throughput", "Usage", "hottest", "install", "limits", "over_limit", "set_limits", "usage"]

_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_HOT_KEY = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your "
    "table or index so please try again shortly. If exceptions persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)
_installed = False
_EQUALS = re.compile(r"([#\w.]+)\s*=\s*(:\w+)")


@dataclass
class KeyUse:
    """What one partition key value of a table or of an index was asked for, and given."""

    #: The table's name, or `<table>/index/<index name>`.
    resource: str
    #: The partition key value (a string key as its text: `OWNER#arn:aws:iam::123456789012:role/reminders`).
    key: str
    #: Units charged to it (the requests it admitted).
    write_units: float = 0.0
    read_units: float = 0.0
    #: The most units asked of it in one second of the clock (whole seconds), refused requests included.
    peak_write_units: float = 0.0
    peak_read_units: float = 0.0
    #: Requests refused on it (over its units per second).
    throttled_writes: int = 0
    throttled_reads: int = 0

    @property
    def throttled(self) -> int:
        """Requests refused on this key, writes and reads."""
        return self.throttled_writes + self.throttled_reads

    @property
    def index(self) -> str | None:
        """The index's name, or None for the table."""
        return self.resource.rpartition("/index/")[2] if "/index/" in self.resource else None

    def heat(self, wcu: float | None, rcu: float | None) -> float:
        """Its busiest second as a share of its limit (1.0: at the limit), writes or reads, whichever is higher."""
        shares = [peak / limit for peak, limit in ((self.peak_write_units, wcu), (self.peak_read_units, rcu)) if limit]
        return max(shares, default=0.0)

    def over(self, wcu: float | None, rcu: float | None) -> bool:
        """Whether it was refused a request, or asked in one second for more than its limit."""
        return self.throttled > 0 or self.heat(wcu, rcu) > 1.0

    def describe(self, wcu: float | None, rcu: float | None) -> str:
        """One line: where, its busiest second against its limits, what it was charged, what it was refused."""
        where = f"{self.index} (index)" if self.index else f"{self.resource} (table)"
        return (
            f"{where} key {self.key}: busiest second {self.peak_write_units:g} write units (limit {wcu}),"
            f" {self.peak_read_units:g} read units (limit {rcu}); charged {self.write_units:g} write,"
            f" {self.read_units:g} read units; {self.throttled_writes} writes, {self.throttled_reads} reads throttled"
        )


class Usage:
    """Per (resource, partition key value): the `KeyUse` figures, kept as requests are charged. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], KeyUse] = {}
        #: (resource, key, "write" or "read") -> (the clock's whole second, units asked in it so far)
        self._second: dict[tuple[str, str, str], tuple[int, float]] = {}

    def record(self, operation: str, resource: str, key: str, units: float, *, admitted: bool) -> None:
        """One charge of `units` on a key (`operation` "Write" or "Read"), admitted or refused."""
        kind = operation.lower()
        now = math.floor(self._clock())
        with self._lock:
            use = self._keys.get((resource, key))
            if use is None:
                use = self._keys[(resource, key)] = KeyUse(resource, key)
            second, asked = self._second.get((resource, key, kind), (now, 0.0))
            asked = (asked if second == now else 0.0) + units
            self._second[(resource, key, kind)] = (now, asked)
            peak = f"peak_{kind}_units"
            setattr(use, peak, max(getattr(use, peak), asked))
            if admitted:
                setattr(use, f"{kind}_units", getattr(use, f"{kind}_units") + units)
            else:
                setattr(use, f"throttled_{kind}s", getattr(use, f"throttled_{kind}s") + 1)

    def keys(self) -> list[KeyUse]:
        """A copy of every key's figures so far."""
        with self._lock:
            return [replace(use) for use in self._keys.values()]


@dataclass
class Throughput:
    """The buckets: writes and reads per (table, index or "", partition key value); what each key used."""

    writes: TokenBuckets | None
    reads: TokenBuckets | None
    wcu: float | None = None
    rcu: float | None = None
    usage: Usage = field(default_factory=Usage)


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
        wcu_per_key,
        rcu_per_key,
        Usage(clock),
    )


def limits() -> tuple[float | None, float | None]:
    """The write and read units per second per key in force (None: unlimited)."""
    current = _limits
    return (None, None) if current is None else (current.wcu, current.rcu)


def usage() -> list[KeyUse]:
    """Every key charged since the limits were set (a snapshot; empty when no limits are set)."""
    current = _limits
    return [] if current is None else current.usage.keys()


def over_limit(uses: Iterable[KeyUse] | None = None) -> list[KeyUse]:
    """The keys refused a request or asked for more than their limit in one second, hottest first."""
    wcu, rcu = limits()
    found = [use for use in (usage() if uses is None else uses) if use.over(wcu, rcu)]
    return sorted(found, key=lambda use: (-use.heat(wcu, rcu), -use.throttled, use.resource, use.key))


def hottest(uses: Iterable[KeyUse] | None = None) -> KeyUse | None:
    """The key whose busiest second came closest to (or went furthest past) its limit; ties: most throttled."""
    wcu, rcu = limits()
    ranked = sorted(
        usage() if uses is None else uses, key=lambda use: (-use.heat(wcu, rcu), -use.throttled, use.resource, use.key)
    )
    return ranked[0] if ranked else None


def _key_text(value: str) -> str:
    """A partition key value as stored here (DynamoDB JSON) as people read it: a string's or number's text."""
    try:
        typed = json.loads(value)
    except ValueError:
        return value
    if isinstance(typed, dict) and len(typed) == 1:
        (inner,) = typed.values()
        if isinstance(inner, str):
            return inner
    return value


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
    """Spend the charges (no buckets: unlimited), noting each in the usage; the throttling reasons of those over
    their key's rate."""
    limits = _limits
    reasons = []
    for kind, name, value, units in charges:
        admitted = buckets is None or buckets.take((name, value), units)
        if limits is not None:
            limits.usage.record(operation, name, _key_text(value), units, admitted=admitted)
        if not admitted:
            reasons.append(f"{kind}{operation}KeyRangeThroughputExceeded")
    return reasons


def _reasons(charges: list[tuple[str, str, Any, float]], names: list[str]) -> list[dict[str, str]]:
    return [{"reason": reason, "resource": charges[0][1]} for reason in names]


def _single_write(handler: Any, new_item: bool) -> None:
    limits = _limits
    if limits is None:
        return
    body = handler.body
    request = _Request(handler)
    item = body.get("Item") if new_item else None
    charges = request.write_charges(body["TableName"], item or body.get("Key", {}), item, 1)
    if over := _over(limits.writes, charges, "Write"):
        raise _throttled(_reasons(charges, over))


def _single_read(handler: Any, query: bool) -> None:
    limits = _limits
    if limits is None:
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
    charges = [(kind, resource, value, 1.0)]
    if over := _over(limits.reads, charges, "Read"):
        raise _throttled(_reasons(charges, over))


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
