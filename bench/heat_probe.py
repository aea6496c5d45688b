"""Counting, on the functions' own DynamoDB clients, what every request puts on every partition key.

The functions build their clients from boto3's default session (taskcore.clients); `counting` hooks that
session's events (botocore: `before-parameter-build`, `after-call`), and starts the functions' containers
afresh so their clients are built from the hooked session. For each write it reads the items named before
and after the request through a client of its own session (not hooked, not counted) on the same endpoint,
and charges them by bench.heat_units; for each read it reads the full items the request read (a Query again
without its filter and projection: DynamoDB charges what it reads, not what it returns).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.heat_units import TABLE, Charge, Item, Table, item_bytes, key_text, query_charge, read_units, write_charges
from bench.in_process import new_container

_TOKEN = re.compile(r"[#:][A-Za-z0-9_]+")
_EQUALS = re.compile(r"([#A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)")
_READS = ("GetItem", "BatchGetItem", "TransactGetItems", "Query")


@dataclass(frozen=True)
class _Target:
    """One item a write names."""

    table: Table
    key: dict[str, Any]
    transactional: bool
    check_only: bool = False


class Probe:
    """The charges of the requests sent since the last `take()`; what it cannot charge, by operation."""

    def __init__(self, raw: Any, tables: Mapping[str, Table]) -> None:
        self._raw, self._tables = raw, tables
        self._lock = threading.Lock()
        self._charges: list[Charge] = []
        self.unaccounted: Counter[str] = Counter()

    def take(self) -> list[Charge]:
        """The charges recorded since the last call, and forget them."""
        with self._lock:
            taken, self._charges = self._charges, []
        return taken

    def _record(self, charges: list[Charge]) -> None:
        with self._lock:
            self._charges.extend(charges)

    def _get(self, table: Table, key: Mapping[str, Any]) -> Item | None:
        found: Item | None = self._raw.get_item(TableName=self._name(table), Key=key, ConsistentRead=True).get("Item")
        return found

    def _name(self, table: Table) -> str:
        return next(name for name, shape in self._tables.items() if shape is table)

    # -- the hooks --------------------------------------------------------------------------------

    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """Before a request: the items it writes, as they are."""
        targets = list(self._targets(model.name, params))
        context["heat"] = (params, [(target, self._get(target.table, target.key)) for target in targets])
        if not targets and model.name not in _READS:
            self.unaccounted[model.name] += 1

    def after(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        """After a request (succeeded or refused: a refused conditional write is charged too)."""
        params, befores = context.pop("heat", ({}, []))
        charges = []
        for target, before in befores:
            after = self._get(target.table, target.key)
            charges += write_charges(
                target.table,
                target.key,
                before,
                after,
                transactional=target.transactional,
                check_only=target.check_only,
            )
        if model.name in _READS:
            charges += self._reads(model.name, params)
        self._record(charges)

    # -- what a request names ---------------------------------------------------------------------

    def _targets(self, operation: str, params: Mapping[str, Any]) -> Iterator[_Target]:
        if operation == "PutItem":
            table = self._tables[params["TableName"]]
            yield _Target(table, table.key_of(params["Item"]), transactional=False)
        elif operation in ("UpdateItem", "DeleteItem"):
            yield _Target(self._tables[params["TableName"]], dict(params["Key"]), transactional=False)
        elif operation == "BatchWriteItem":
            for name, requests in params["RequestItems"].items():
                table = self._tables[name]
                for request in requests:
                    put = request.get("PutRequest")
                    key = table.key_of(put["Item"]) if put else request["DeleteRequest"]["Key"]
                    yield _Target(table, dict(key), transactional=False)
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (action, body), *_ = entry.items()
                table = self._tables[body["TableName"]]
                key = table.key_of(body["Item"]) if action == "Put" else dict(body["Key"])
                yield _Target(table, key, transactional=True, check_only=action == "ConditionCheck")

    def _reads(self, operation: str, params: Mapping[str, Any]) -> list[Charge]:
        if operation == "Query":
            return [self._query(params)]
        if operation == "GetItem":
            gets = [(params["TableName"], params["Key"], bool(params.get("ConsistentRead")), False)]
        elif operation == "BatchGetItem":
            gets = [
                (name, key, bool(spec.get("ConsistentRead")), False)
                for name, spec in params["RequestItems"].items()
                for key in spec["Keys"]
            ]
        else:  # TransactGetItems
            gets = [(e["Get"]["TableName"], e["Get"]["Key"], True, True) for e in params["TransactItems"]]
        charges = []
        for name, key, consistent, transactional in gets:
            table = self._tables[name]
            size = item_bytes(self._get(table, key))
            units = read_units(size, consistent=consistent, transactional=transactional)
            charges.append(Charge("read", table.logical_id, TABLE, key_text(key[table.hash_key]), units))
        return charges

    def _query(self, params: Mapping[str, Any]) -> Charge:
        """The Query again, as DynamoDB reads it: no filter, the same key condition and page."""
        table, index_name = self._tables[params["TableName"]], params.get("IndexName")
        again = requery(table, params)
        page = self._raw.query(**again)
        names, values = again.get("ExpressionAttributeNames", {}), again["ExpressionAttributeValues"]
        hash_key = table.index(index_name).hash_key if index_name else table.hash_key
        condition = params["KeyConditionExpression"]
        key = next(key_text(values[v]) for n, v in _EQUALS.findall(condition) if names.get(n, n) == hash_key)
        return query_charge(table, index_name, key, page["Items"], consistent=bool(params.get("ConsistentRead")))


def requery(table: Table, params: Mapping[str, Any]) -> dict[str, Any]:
    """A Query's parameters without what DynamoDB applies after reading (its filter, Select, projection).

    On an index, it asks for the attributes the index holds (the same entries: a smaller answer locally).
    """
    condition = params["KeyConditionExpression"]
    used = set(_TOKEN.findall(condition))
    names = {k: v for k, v in params.get("ExpressionAttributeNames", {}).items() if k in used}
    kept = ("TableName", "IndexName", "Limit", "ExclusiveStartKey", "ScanIndexForward")
    again: dict[str, Any] = {k: params[k] for k in kept if k in params}
    again |= {
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": {k: v for k, v in params["ExpressionAttributeValues"].items() if k in used},
        "ConsistentRead": bool(params.get("ConsistentRead")),
    }
    index_name = params.get("IndexName")
    if index_name and (attributes := table.index_attributes(index_name)) is not None:
        projected = {f"#heat{i}": name for i, name in enumerate(sorted(attributes))}
        names |= projected
        again["ProjectionExpression"] = ", ".join(projected)
    if names:
        again["ExpressionAttributeNames"] = names
    return again


@contextmanager
def counting(raw: Any, tables: Mapping[str, Table]) -> Iterator[Probe]:
    """A Probe on every DynamoDB client built from boto3's default session until the block ends.

    `raw` is a DynamoDB client of another session (uncounted) on the same endpoint; `tables` maps each
    physical table name to its shape. The functions' containers start afresh on entry and on exit.
    """
    import boto3

    probe = Probe(raw, tables)
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    events = boto3.DEFAULT_SESSION.events
    events.register("before-parameter-build.dynamodb.*", probe.before)
    events.register("after-call.dynamodb.*", probe.after)
    new_container()
    try:
        yield probe
    finally:
        events.unregister("before-parameter-build.dynamodb.*", probe.before)
        events.unregister("after-call.dynamodb.*", probe.after)
        new_container()
