"""Rewrite the task ledger's items from the layout before issue 20 (one TASK item holding everything) into today's.

Before: a task was one item (`sk=TASK`) with its request, its state, its run tally and unsharded index keys
(`OWNER#<owner>`, `STATE#<state>`), counted for the quota through the `LiveByOwner` index. Today (taskcore.ledger):
TASK keeps the request; STATE holds the row, the state and the sharded index keys; TALLY the run count and last
run; counters hold the quota. Until a task is migrated it still reads (GET, the callback's runs, a cancel), but the
sharded listings do not show it and its owner's counters do not count it.

For each TASK item that still has a `state` (one Scan, a page at a time), one TransactWriteItems:

- the STATE item put from it (unless one exists: what this code wrote since the deploy is kept, and only the
  attributes it lacks are added), with its sharded keys and, for a live owned task, a quota slot: its owner's counter
  `ADD used 1` (no cap: the tasks exist; the cap applies to the next create);
- the TALLY item given the run count and last run it lacks;
- the TASK item stripped to the request (the condition that it still has a `state` makes a second run a no-op).

Idempotent and resumable: run it again (or after an interruption) and what was migrated is not touched.

    python -m ops.migrate_ledger --table <TaskLedgerTableName> --quota <MaxActiveSchedulesPerOwner> [--dry-run]
    make migrate-ledger TABLE=<name> [QUOTA=10000000] [ARGS=--dry-run]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from taskcore import quota as quotas
from taskcore.ledger import (
    STATE_SK,
    TALLY_SK,
    TASK_SK,
    Expression,
    index_shard,
    owner_key,
    s,
    state_key,
    text_of,
)
from taskcore.states import LIVE_STATES

#: What the TASK item keeps of the old layout: its keys and the request.
KEPT_ON_TASK = frozenset({"pk", "sk", "task_id", "request", "data_bytes", "fingerprint", "expiration"})
#: What goes to the TALLY item (the run count added to what it counted since the deploy, the last run if none).
TALLY_ATTRIBUTES = ("run_count", "last_run")
#: The old layout's keys of indexes that are gone or re-keyed (not copied as they were).
OLD_KEYS = frozenset({"live_owner_key", "owner_key", "state_key"})


@dataclass
class Migration:
    """What one pass did."""

    scanned: int = 0
    migrated: int = 0
    merged: int = 0
    slots: int = 0
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.scanned} old TASK items found: {self.migrated} migrated, {self.merged} merged into a STATE item "
            f"written since the deploy, {self.slots} quota slots counted, {len(self.skipped)} changed meanwhile"
        )


def old_items(client: Any, table: str) -> Iterator[dict[str, Any]]:
    """Every TASK item of the old layout (it has a `state`), a page at a time."""
    params: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "sk = :task AND attribute_exists(#state)",
        "ExpressionAttributeNames": {"#state": "state"},
        "ExpressionAttributeValues": {":task": s(TASK_SK)},
    }
    while True:
        response = client.scan(**params)
        yield from response.get("Items", [])
        start = response.get("LastEvaluatedKey")
        if not start:
            return
        params["ExclusiveStartKey"] = start


def state_of(old: Mapping[str, Any], quota: int | None) -> dict[str, Any]:
    """The STATE item of an old TASK item: its row, sharded keys, and a quota slot for a live owned task."""
    pk = text_of(old, "pk") or ""
    shard = index_shard(pk)
    item = {
        name: value
        for name, value in old.items()
        if name not in KEPT_ON_TASK and name not in TALLY_ATTRIBUTES and name not in OLD_KEYS
    }
    item |= {"pk": s(pk), "sk": s(STATE_SK), "task_id": old.get("task_id", s(""))}
    if "fingerprint" in old:
        item["fingerprint"] = old["fingerprint"]
    if "expiration" in old:
        item["expiration"] = old["expiration"]
    state = text_of(old, "state") or ""
    item["state_key"] = s(state_key(state, shard))
    owner = text_of(old, "owner")
    if owner:
        item["owner_key"] = s(owner_key(owner, shard))
        if state in LIVE_STATES and quota is not None:
            item["quota_key"] = s(quotas.slot(owner, quotas.preferred_shard(pk, quota)))
    return item


def transaction(
    table: str, old: Mapping[str, Any], quota: int | None, *, existing: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The writes that migrate one old TASK item (`existing`: the STATE item today's code wrote since the deploy;
    only what it lacks is added, its creation time corrected, and a slot taken if it is live and holds none)."""
    pk = text_of(old, "pk") or ""
    state = state_of(old, quota)
    items: list[dict[str, Any]] = []
    if existing is not None:
        items += _merged(table, pk, old, state, existing, quota)
    else:
        items.append({"Put": {"TableName": table, "Item": state, "ConditionExpression": "attribute_not_exists(pk)"}})
        if "quota_key" in state:
            items.append(quotas.take(table, state["quota_key"]["S"], 2**62, owner=text_of(old, "owner")))
    tally = Expression()
    if "run_count" in old:  # added: runs recorded since the deploy started a TALLY item counting from 1
        tally.add("run_count", int(old["run_count"]["N"]))
    if "last_run" in old:
        tally.set_default("last_run", old["last_run"])
    if "expiration" in old:
        tally.set_default("expiration", old["expiration"])
    if tally.update():
        items.append({"Update": _update(table, pk, TALLY_SK, tally)})
    strip = Expression()
    for name in sorted(set(old) - KEPT_ON_TASK):
        strip.remove(name)
    params = _update(table, pk, TASK_SK, strip)
    params["ConditionExpression"] = f"attribute_exists({strip.name('state')})"
    items.append({"Update": params | strip.placeholders()})
    return items


def _merged(
    table: str, pk: str, old: Mapping[str, Any], state: dict[str, Any], existing: Mapping[str, Any], quota: int | None
) -> list[dict[str, Any]]:
    """The STATE item today's code wrote, completed from the old TASK item (and its slot, if it is live)."""
    update = Expression()
    for name, value in state.items():
        if name in ("created_at", "created_key"):  # the callback's first run set them to its own time
            update.set(name, value)
        elif name not in ("pk", "sk", "quota_key"):
            update.set_default(name, value)
    owner, live = text_of(old, "owner"), text_of(existing, "state") in LIVE_STATES
    if not (owner and live and quota is not None and "quota_key" not in existing):
        return [{"Update": _update(table, pk, STATE_SK, update)}]
    taken = quotas.slot(owner, quotas.preferred_shard(pk, quota))
    update.set("quota_key", s(taken))
    params = _update(table, pk, STATE_SK, update) | {"ConditionExpression": quotas.holds_slot(update, None)}
    return [{"Update": params | update.placeholders()}, quotas.take(table, taken, 2**62, owner=owner)]


def _update(table: str, pk: str, sk: str, update: Expression) -> dict[str, Any]:
    return {
        "TableName": table,
        "Key": {"pk": s(pk), "sk": s(sk)},
        "UpdateExpression": update.update(),
        **update.placeholders(),
    }


def migrate(client: Any, table: str, *, quota: int | None, dry_run: bool = False) -> Migration:
    """Migrate every old TASK item of `table`; what it did."""
    from botocore.exceptions import ClientError

    done = Migration()
    for old in old_items(client, table):
        done.scanned += 1
        pk = text_of(old, "pk") or ""
        existing = client.get_item(TableName=table, Key={"pk": s(pk), "sk": s(STATE_SK)}, ConsistentRead=True).get(
            "Item"
        )
        merge = existing is not None
        items = transaction(table, old, quota, existing=existing)
        if dry_run:
            continue
        try:
            client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            done.skipped.append(pk)  # written by someone else meanwhile: the next pass sees it as it is now
            continue
        done.merged += merge
        done.migrated += not merge
        done.slots += any(
            str(item.get("Update", {}).get("Key", {}).get("pk", {}).get("S", "")).startswith(quotas.QUOTA_PREFIX)
            for item in items
        )
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.migrate_ledger", description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True, help="the stack's TaskLedgerTableName output")
    parser.add_argument("--quota", type=int, default=10_000_000, help="the stack's MaxActiveSchedulesPerOwner")
    parser.add_argument("--region", default=None)
    parser.add_argument("--endpoint-url", default=None, help="the local cloud's, for `make dev`")
    parser.add_argument("--dry-run", action="store_true", help="count what would be migrated; write nothing")
    options = parser.parse_args(argv)
    import boto3

    client = boto3.client("dynamodb", region_name=options.region, endpoint_url=options.endpoint_url)
    print(migrate(client, options.table, quota=options.quota, dry_run=options.dry_run).line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
