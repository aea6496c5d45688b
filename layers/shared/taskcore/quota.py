"""The owner's quota, counted in counter items: O(1) a create, exact, batches included.

An owner's live tasks (scheduled or paused) are counted in QUOTA#<owner digest>#<shard> items (sk `QUOTA`,
attribute `used`), `shard_count(cap)` of them, each with its part of the cap (`shard_cap`; the parts add up to the
cap exactly). A task takes a slot in the transaction that creates it (the counter's `ADD used 1` on the
condition `used < its part`) and keeps the slot's key on its STATE item (`quota_key`); whatever ends it (a run,
a cancel, the recorder, the sweep) gives the slot back in the same transaction that writes its final state
(`ADD used -1`, on the condition that the STATE item still holds that `quota_key`, which it removes). So a slot is
taken once and given back once, however often an ending is written, and no read counts anything.

Why sharded: one counter per owner takes every create and every ending of that owner's tasks: a transactional
write costs 2 write units, so one key would stop near 500 creates-or-endings a second (DynamoDB's 1,000 write
units per partition key). MAX_SHARDS counters lift that 64 times (docs/architecture.md). A small cap has fewer
shards (at least SHARD_SIZE slots each), so a create near a small cap does not try many empty ones.

A create tries the shard its task's partition hashes to; when that part is full, it reads every shard of the owner
(one BatchGetItem) and tries one with room; when none has room, the owner is at its cap.
"""

from __future__ import annotations

import hashlib
from typing import Any

from taskcore.ledger import Expression, s

QUOTA_PREFIX = "QUOTA#"
QUOTA_SK = "QUOTA"
#: The most counters an owner's quota is spread over.
MAX_SHARDS = 64
#: The fewest slots a counter holds (below MAX_SHARDS * SHARD_SIZE, a cap has fewer shards).
SHARD_SIZE = 64
#: A slot's name (`<owner digest>#<shard>`), as the event's `X-Task-Quota` header carries it (taskcore.proxy).
SLOT_PATTERN = r"^[0-9a-f]{16}#[0-9]{1,2}$"


def owner_digest(owner: str) -> str:
    """The owner's principal as a counter's key: 16 hex digits of its SHA-256 (no ARN in a key or a header)."""
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()[:16]


def shard_count(cap: int) -> int:
    """How many counters a cap of `cap` live tasks is spread over."""
    return max(1, min(MAX_SHARDS, cap // SHARD_SIZE))


def shard_cap(cap: int, shard: int) -> int:
    """Shard `shard`'s part of the cap: the parts differ by at most one and add up to `cap`."""
    count = shard_count(cap)
    return cap // count + (1 if shard < cap % count else 0)


def slot(owner: str, shard: int) -> str:
    """A slot's name, as a STATE item's `quota_key` and the event's header keep it: `<owner digest>#<shard>`."""
    return f"{owner_digest(owner)}#{shard}"


def preferred_shard(pk: str, cap: int) -> int:
    """The shard a task's create tries first: its partition's hash, so a burst spreads evenly over the counters."""
    digest = hashlib.sha256(pk.encode("utf-8")).digest()
    return int.from_bytes(digest[4:8], "big") % shard_count(cap)


def counter_key(quota_slot: str) -> dict[str, dict[str, str]]:
    """The counter item of a slot."""
    return {"pk": {"S": f"{QUOTA_PREFIX}{quota_slot}"}, "sk": {"S": QUOTA_SK}}


def take(table: str, quota_slot: str, limit: int, *, owner: str | None = None) -> dict[str, Any]:
    """The transaction item that takes a slot of a counter holding at most `limit` (refused when full)."""
    names = {"#used": "used"}
    values: dict[str, Any] = {":one": {"N": "1"}, ":limit": {"N": str(limit)}}
    expression = "ADD #used :one"
    if owner is not None:  # for an operator reading the table: whose counter it is
        names["#owner"] = "owner"
        values[":owner"] = {"S": owner}
        expression += " SET #owner = :owner"
    return {
        "Update": {
            "TableName": table,
            "Key": counter_key(quota_slot),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_not_exists(#used) OR #used < :limit",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def give_back(table: str, quota_slot: str) -> dict[str, Any]:
    """The transaction item that gives a slot back (guarded by the STATE item's condition, not here)."""
    return {
        "Update": {
            "TableName": table,
            "Key": counter_key(quota_slot),
            "UpdateExpression": "ADD #used :minus",
            "ExpressionAttributeNames": {"#used": "used"},
            "ExpressionAttributeValues": {":minus": {"N": "-1"}},
        }
    }


def holds_slot(update: Expression, quota_slot: str | None) -> str:
    """The condition on a STATE item that it holds `quota_slot` (None: that it holds none), for a final write."""
    name = update.name("quota_key")
    if quota_slot is None:
        return f"attribute_not_exists({name})"
    return f"{name} = {update.value(s(quota_slot))}"


__all__ = [
    "MAX_SHARDS",
    "QUOTA_PREFIX",
    "QUOTA_SK",
    "SHARD_SIZE",
    "SLOT_PATTERN",
    "counter_key",
    "give_back",
    "holds_slot",
    "owner_digest",
    "preferred_shard",
    "shard_cap",
    "shard_count",
    "slot",
    "take",
]
