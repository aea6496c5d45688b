"""DynamoDB's capacity arithmetic, as AWS documents it, on the tables and indexes template.yaml declares.

Nothing here knows which item of the task ledger holds what: a write is charged from the item before and
after it (DynamoDB's own items, typed as the low-level client sends them) and the key schemas and
projections of template.yaml. The rules, each from the DynamoDB Developer Guide:

- Item size: attribute names and values in UTF-8 bytes; a number about one byte per two significant digits
  plus one; a binary its raw bytes; null and Boolean one byte; a list or map 3 bytes plus one per element
  ("DynamoDB item sizes and formats", CapacityUnitCalculations.html).
- A write costs one unit per started KB; PutItem, UpdateItem and DeleteItem are charged on the larger of the
  item before and after; a failed conditional write still costs a write ("Capacity unit consumption for write
  operations", read-write-operations.html).
- A read costs one unit per started 4 KB, half when eventually consistent; a Query sums the sizes of all the
  items it reads (before any filter) and then rounds up; BatchGetItem rounds each item (same page).
- Transactions: two units per KB written and per 4 KB read, for every item named ("Capacity management for
  transactions", transaction-apis.html). A ConditionCheck is charged as a write of the checked item (the
  guide does not say; measured against DynamoDB: 2 WCU for an item under 1 KB,
  https://martinhicks.dev/articles/what-a-conditional-dynamodb-transaction-costs; bench/cost.py reads it so).
- A global secondary index is written when an item enters it, leaves it, or changes an attribute it
  projects: one write to put or delete an entry, two (a delete and a put) when the index key changes, none
  when neither its key nor a projected attribute changed ("Provisioned throughput considerations for global
  secondary indexes", GSI.html#GSI.ThroughputConsiderations.Writes). An entry is the table's key, the index's
  key and the projected attributes; the index writes are counted once, not at the transactional rate.
- Each partition key, of a table or of an index, serves at most 1,000 write units and 3,000 read units a
  second (warm-throughput-scenarios.html; throttling-key-range-limit-exceeded-mitigation.html).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

WRITE_UNIT_BYTES, READ_UNIT_BYTES = 1024, 4096
#: What one partition key serves per second (DynamoDB Developer Guide, warm-throughput-scenarios.html).
PARTITION_WRITE_UNITS_PER_SECOND, PARTITION_READ_UNITS_PER_SECOND = 1000, 3000
TRANSACTIONAL = 2
#: The "index" of a charge on the table itself.
TABLE = "(table)"

Item = Mapping[str, Mapping[str, Any]]
Kind = Literal["write", "read"]


@dataclass(frozen=True)
class Index:
    """A global secondary index as template.yaml declares it."""

    name: str
    hash_key: str
    range_key: str | None
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    non_key: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Table:
    """A table's key schema and its global secondary indexes (template.yaml)."""

    logical_id: str
    hash_key: str
    range_key: str | None
    indexes: tuple[Index, ...] = ()

    def key_of(self, item: Item) -> dict[str, Any]:
        """The primary key of `item`."""
        return {name: item[name] for name in (self.hash_key, self.range_key) if name is not None}

    def index(self, name: str) -> Index:
        return next(index for index in self.indexes if index.name == name)

    def index_attributes(self, name: str) -> frozenset[str] | None:
        """The attributes an entry of index `name` holds (None: all of the item's)."""
        index = self.index(name)
        if index.projection == "ALL":
            return None
        keys = {self.hash_key, self.range_key, index.hash_key, index.range_key} - {None}
        extra = index.non_key if index.projection == "INCLUDE" else frozenset()
        return frozenset(k for k in keys if k is not None) | extra


@dataclass(frozen=True)
class Charge:
    """Units one request put on one partition key: of the table (`index` TABLE) or of one of its indexes."""

    kind: Kind
    table: str
    index: str
    key: str
    units: float


def _key_schema(schema: list[Mapping[str, str]]) -> tuple[str, str | None]:
    hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    return hash_key, next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)


def table_shapes(template: Mapping[str, Any]) -> dict[str, Table]:
    """Logical id -> Table, for every AWS::DynamoDB::Table of `template`."""
    shapes = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        properties = resource["Properties"]
        indexes = []
        for gsi in properties.get("GlobalSecondaryIndexes", []):
            projection = gsi.get("Projection", {})
            indexes.append(
                Index(
                    gsi["IndexName"],
                    *_key_schema(gsi["KeySchema"]),
                    projection.get("ProjectionType", "KEYS_ONLY"),
                    frozenset(projection.get("NonKeyAttributes", [])),
                )
            )
        shapes[logical_id] = Table(logical_id, *_key_schema(properties["KeySchema"]), tuple(indexes))
    return shapes


# -- sizes ----------------------------------------------------------------------------------------


def _number_bytes(raw: str) -> int:
    mantissa = raw.lower().split("e")[0].lstrip("+-").replace(".", "").strip("0")
    return math.ceil(max(1, len(mantissa)) / 2) + 1


def _scalar_bytes(kind: str, raw: Any) -> int:
    if kind == "N":
        return _number_bytes(str(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    return len(raw if isinstance(raw, bytes) else str(raw).encode())


def value_bytes(value: Mapping[str, Any]) -> int:
    """One attribute value's size (its name not included)."""
    (kind, raw), *_ = value.items()
    if kind == "L":  # 3 bytes, and 1 per element
        return 3 + sum(value_bytes(element) + 1 for element in raw)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_bytes(element) + 1 for name, element in raw.items())
    if kind in ("SS", "NS", "BS"):
        return sum(_scalar_bytes(kind[0], element) for element in raw)
    return _scalar_bytes(kind, raw)


def item_bytes(item: Item | None) -> int:
    """An item's size by DynamoDB's rules (0 for no item)."""
    return sum(len(name.encode()) + value_bytes(value) for name, value in (item or {}).items())


def write_units(size: int) -> int:
    """Write units of one plain write of an item of `size` bytes: one per started KB, at least one."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool = True, transactional: bool = False) -> float:
    """Read units of reading `size` bytes: one per started 4 KB (at least one), half eventually consistent."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return units * TRANSACTIONAL if transactional else units if consistent else units / 2


def key_text(value: Mapping[str, Any]) -> str:
    """A partition key value as text (`OWNER#arn:...`, `42`)."""
    (_, raw), *_ = value.items()
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


# -- writes ---------------------------------------------------------------------------------------


def index_entry(table: Table, index: Index, item: Item | None) -> dict[str, Any] | None:
    """What `index` holds for `item`: None when the item lacks the index's key (a sparse index)."""
    if item is None or index.hash_key not in item or (index.range_key is not None and index.range_key not in item):
        return None
    if index.projection == "ALL":
        return dict(item)
    kept = {table.hash_key, table.range_key, index.hash_key, index.range_key}
    if index.projection == "INCLUDE":
        kept |= index.non_key
    return {name: value for name, value in item.items() if name in kept}


def _index_writes(table: Table, index: Index, before: Item | None, after: Item | None) -> Iterator[Charge]:
    old, new = index_entry(table, index, before), index_entry(table, index, after)
    if old == new:
        return
    keys = [index.hash_key, index.range_key]
    if old is not None and new is not None and all(old.get(k) == new.get(k) for k in keys if k):
        size = max(item_bytes(old), item_bytes(new))
        yield Charge("write", table.logical_id, index.name, key_text(new[index.hash_key]), write_units(size))
        return
    for entry in (old, new):  # the old entry deleted, the new one put
        if entry is not None:
            units = write_units(item_bytes(entry))
            yield Charge("write", table.logical_id, index.name, key_text(entry[index.hash_key]), units)


def write_charges(
    table: Table,
    key: Item,
    before: Item | None,
    after: Item | None,
    *,
    transactional: bool = False,
    check_only: bool = False,
) -> list[Charge]:
    """What one write of the item at `key` costs, on the table's partition key and on each index's.

    `before` and `after` are the item as it was and as it is (None: absent); a write that changed nothing
    (a failed condition, a ConditionCheck: `check_only`) still costs its table units and writes no index.
    """
    units = write_units(max(item_bytes(before), item_bytes(after))) * (TRANSACTIONAL if transactional else 1)
    charges = [Charge("write", table.logical_id, TABLE, key_text(key[table.hash_key]), units)]
    if not check_only:
        for index in table.indexes:
            charges.extend(_index_writes(table, index, before, after))
    return charges


def query_charge(table: Table, index_name: str | None, key: str, items: Sequence[Item], *, consistent: bool) -> Charge:
    """What one Query page costs: the sizes of the items (index entries, on an index) it read, summed, rounded."""
    if index_name is None:
        size = sum(item_bytes(item) for item in items)
        return Charge("read", table.logical_id, TABLE, key, read_units(size, consistent=consistent))
    index = table.index(index_name)
    size = sum(item_bytes(index_entry(table, index, item)) for item in items)
    return Charge("read", table.logical_id, index.name, key, read_units(size, consistent=False))
