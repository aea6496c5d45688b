"""What the sweep reads: a sparse, sharded index of live tasks by the moment something must have happened.

A live task's STATE item carries `due_shard` (`DUE#<0..DUE_SHARDS-1>`, from a hash of its partition key) and `due_at`
(`LiveByDue`'s sort key, a ledger timestamp):

- a one-time task: its `at()` moment in UTC plus its flexible window (when Scheduler must have delivered it);
- a recurring task with an `end_at`: its end (after which it has no occurrence);
- a recurring task without an end: no keys (nothing is ever due), so it is not in the index.

The sweep (callback_app.sweep) queries each shard for `due_at <= now - window` once a minute. An ended task's
keys are removed by whatever ends it (the API's cancel, the run that ends a one-time task, the recorder, the
sweep); one left behind (a task of the layout before issue 20) is met once by the sweep, which removes them then.

Why sharded: every item of one index partition key shares that key's throughput (about 1,000 writes a
second per key value, docs/architecture.md). One key for every live task would cap creates at that rate;
DUE_SHARDS keys lift it DUE_SHARDS times, at the price of DUE_SHARDS Queries a minute for the sweep.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from taskcore.expressions import AtExpression, ExpressionError, local_to_utc, parse_expression
from taskcore.states import timestamp

#: The sweep's index: live tasks by due time (partition `due_shard`, sort `due_at`).
LIVE_BY_DUE_INDEX = "LiveByDue"
#: How many partition key values the index spreads the live tasks over (docs/architecture.md says why 32).
DUE_SHARDS = 32
DUE_PREFIX = "DUE#"
#: What LiveByDue projects besides its keys (template.yaml must match; tests/infra checks it).
DUE_ATTRIBUTES = ("task_id", "state", "kind", "end_at", "schedule_arn", "last_run")


def due_shard(pk: str) -> str:
    """The shard of a task's partition: a stable hash, so one task always lands on the same one."""
    digest = hashlib.sha256(pk.encode("utf-8")).digest()
    return f"{DUE_PREFIX}{int.from_bytes(digest[:4], 'big') % DUE_SHARDS}"


def shards() -> list[str]:
    """Every shard's partition key value, in order."""
    return [f"{DUE_PREFIX}{shard}" for shard in range(DUE_SHARDS)]


def due_time(
    *, recurring: bool, expression: str, timezone: str, end_at: str | None, window_minutes: int | None
) -> str | None:
    """When the sweep should look at a live task (a ledger timestamp), or None when it never need."""
    if recurring:
        if not end_at:
            return None
        return timestamp(datetime.fromisoformat(end_at))
    try:
        parsed = parse_expression(expression)
    except ExpressionError:
        return None
    if not isinstance(parsed, AtExpression):
        return None
    moment = local_to_utc(parsed.moment, timezone or "UTC")
    if moment is None:
        return None
    return timestamp(moment + timedelta(minutes=window_minutes or 0))


def due_keys(
    pk: str, recurring: bool, expression: str, timezone: str, end_at: str | None, window_minutes: int | None
) -> dict[str, dict[str, str]]:
    """The item's `due_shard` and `due_at` (DynamoDB's format) for a live task that will be due, else none."""
    due = due_time(
        recurring=recurring, expression=expression, timezone=timezone, end_at=end_at, window_minutes=window_minutes
    )
    return {} if due is None else {"due_shard": {"S": due_shard(pk)}, "due_at": {"S": due}}


__all__ = [
    "DUE_ATTRIBUTES",
    "DUE_PREFIX",
    "DUE_SHARDS",
    "LIVE_BY_DUE_INDEX",
    "due_keys",
    "due_shard",
    "due_time",
    "shards",
]
