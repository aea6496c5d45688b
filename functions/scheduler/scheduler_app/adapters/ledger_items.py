"""The task ledger's items, for the scheduler API: a task record as its TASK and STATE items, and back.

taskcore.ledger says what each item holds. Here:

- `state_item`: the listing row (what the indexes project), the state, the sharded index keys, the sweep's keys
  while live, the owner's quota slot; small, whatever the task's data.
- `task_item`: the request as written (with `data` when it fits), its fingerprint and an expiry that outlives
  the task's last possible use (TASK_SLACK_SECONDS past its retention), so that no run ever rewrites it.
- `task_record`: a record from the items of one partition (TASK, STATE, TALLY), or from an index entry; an item
  written by the previous layout (everything on TASK) reads as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from scheduler_app.records import RunRecord, TaskRecord
from taskcore.due import due_keys, due_time
from taskcore.ledger import (
    STATE_SK,
    TALLY_SK,
    TASK_SK,
    created_key,
    flag_of,
    index_shard,
    json_of,
    n,
    number_of,
    owner_key,
    s,
    scope_of_pk,
    state_key,
    task_pk,
    text_of,
    to_json,
    user_key,
)
from taskcore.states import LIVE_STATES, TaskState, TimingKind

#: How long a TASK item outlives its task's last moment plus retention: the longest a failure record or a dead
#: letter can wait to be redriven from the ledger's copy of the request (SQS keeps a message 14 days at most).
TASK_SLACK_SECONDS = 15 * 86_400


def state_item(record: TaskRecord) -> dict[str, Any]:
    """The STATE item of a task record (DynamoDB's format)."""
    kept = record.kept()
    pk = task_pk(kept.task_id, kept.scope)
    shard = index_shard(pk)
    item: dict[str, Any] = {
        "pk": s(pk),
        "sk": s(STATE_SK),
        "task_id": s(kept.task_id),
        "state": s(kept.state),
        "state_key": s(state_key(kept.state, shard)),
        "kind": s(kept.kind),
        "expression": s(kept.expression),
        "timezone": s(kept.timezone),
        "created_at": s(kept.created_at),
        "created_key": s(created_key(kept.created_at, kept.task_id, kept.scope)),
        "updated_at": s(kept.updated_at),
        "user_id": s(to_json(kept.user_id)),
        "user_key": s(user_key(kept.user_id)),
    }
    optional: dict[str, Any] = {
        "fingerprint": kept.fingerprint,
        "action": kept.action,
        "start_at": kept.start_at,
        "end_at": kept.end_at,
        "schedule_arn": kept.schedule_arn,
        "owner": kept.owner,
        "reason": kept.reason,
        "quota_key": kept.quota_key,
    }
    item |= {name: s(value) for name, value in optional.items() if value is not None}
    if kept.owner is not None:
        item["owner_key"] = s(owner_key(kept.owner, shard))
    if kept.state in LIVE_STATES:  # the sweep's index (taskcore.due)
        recurring, window = _timing(kept)
        item |= due_keys(pk, recurring, kept.expression, kept.timezone, kept.end_at, window)
    if kept.expiration is not None:
        item["expiration"] = n(kept.expiration)
    return item


def task_item(record: TaskRecord, *, retention_seconds: int) -> dict[str, Any]:
    """The TASK item of a task record: the request (whole when its `data` fits, else without it)."""
    kept = record.kept()
    item: dict[str, Any] = {"pk": s(task_pk(kept.task_id, kept.scope)), "sk": s(TASK_SK), "task_id": s(kept.task_id)}
    if kept.fingerprint is not None:
        item["fingerprint"] = s(kept.fingerprint)
    if kept.request is not None:
        item["request"] = s(to_json(kept.request))
    if kept.data_bytes is not None:
        item["data_bytes"] = n(kept.data_bytes)
    expiration = task_expiration(kept, retention_seconds=retention_seconds)
    if expiration is not None:
        item["expiration"] = n(expiration)
    return item


def task_expiration(record: TaskRecord, *, retention_seconds: int) -> int | None:
    """When the TASK item may go: after the task's last moment (its time, or its end), its retention and the slack.

    None for a recurring task without an end (its cancel or its end sets one).
    """
    if record.expiration is not None:
        return record.expiration + TASK_SLACK_SECONDS
    recurring, window = _timing(record)
    due = due_time(
        recurring=recurring,
        expression=record.expression,
        timezone=record.timezone,
        end_at=record.end_at,
        window_minutes=window,
    )
    if due is None:
        return None
    last = datetime.fromisoformat(due.replace("Z", "+00:00")) + timedelta(seconds=retention_seconds)
    return int(last.timestamp()) + TASK_SLACK_SECONDS


def _timing(record: TaskRecord) -> tuple[bool, int | None]:
    window = (record.request or {}).get("flexible_window_minutes")
    return record.kind == TimingKind.RECURRING, window if isinstance(window, int) else None


def task_record(
    item: Mapping[str, Any], *, task: Mapping[str, Any] | None = None, tally: Mapping[str, Any] | None = None
) -> TaskRecord:
    """The task record of a STATE item (or an index's projection of one, or an old layout's TASK item), with the
    request from its TASK item and the run tally from its TALLY item when given."""
    task = task if task is not None else (item if text_of(item, "sk") == TASK_SK else {})
    tally = tally if tally is not None else item
    request = json_of(task, "request")
    return TaskRecord(
        **_row(item),
        updated_at=max(text_of(item, "updated_at") or "", text_of(tally, "updated_at") or ""),
        fingerprint=text_of(item, "fingerprint") or text_of(task, "fingerprint"),
        request=request if isinstance(request, dict) else None,
        data_bytes=number_of(task, "data_bytes"),
        run_count=number_of(tally, "run_count") or 0,
        last_run=json_of(tally, "last_run"),
    )


def _row(item: Mapping[str, Any]) -> dict[str, Any]:
    """What a STATE item (or an index entry) says of its task by itself."""
    return {
        "task_id": text_of(item, "task_id") or "",
        "state": TaskState(text_of(item, "state") or TaskState.SCHEDULED),
        "kind": TimingKind.RECURRING if text_of(item, "kind") == TimingKind.RECURRING else TimingKind.ONE_TIME,
        "expression": text_of(item, "expression") or "",
        "timezone": text_of(item, "timezone") or "UTC",
        "created_at": text_of(item, "created_at") or "",
        "user_id": json_of(item, "user_id"),
        "action": text_of(item, "action") or None,
        "start_at": text_of(item, "start_at"),
        "end_at": text_of(item, "end_at"),
        "schedule_arn": text_of(item, "schedule_arn"),
        "owner": text_of(item, "owner"),
        "expiration": number_of(item, "expiration"),
        "scope": scope_of_pk(text_of(item, "pk") or ""),
        "reason": text_of(item, "reason"),
        "quota_key": text_of(item, "quota_key"),
    }


def partition_record(items: list[Mapping[str, Any]]) -> TaskRecord | None:
    """The task record of a partition's items (TASK, STATE, TALLY; any may be missing), or None without a task."""
    by_sk = {text_of(item, "sk"): item for item in items}
    task, state, tally = by_sk.get(TASK_SK), by_sk.get(STATE_SK), by_sk.get(TALLY_SK)
    old = task is not None and text_of(task, "state") is not None  # a TASK item of the layout before issue 20
    if state is None:
        return task_record(task, tally=tally) if task is not None and old else None
    if old and task is not None:  # changed by today's code before `make migrate-ledger`: STATE says what changed
        return task_record({**task, **state}, task=task, tally=tally or task)
    return task_record(state, task=task or {}, tally=tally or {})


def run_record(item: Mapping[str, Any]) -> RunRecord:
    """The run record of a DynamoDB run item (as the callback writes it)."""
    duration = item.get("duration_ms", {}).get("N")
    return RunRecord(
        scheduled_time=text_of(item, "scheduled_time"),
        attempts=number_of(item, "attempts") or 0,
        outcome=text_of(item, "outcome"),
        status_code=number_of(item, "status_code"),
        first_started_at=text_of(item, "first_started_at"),
        last_started_at=text_of(item, "last_started_at"),
        finished_at=text_of(item, "finished_at"),
        duration_ms=float(duration) if duration is not None else None,
        final=flag_of(item, "final"),
        replays=number_of(item, "replays") or 0,
        result=json_of(item, "result"),
        result_bytes=number_of(item, "result_bytes"),
        result_preview=text_of(item, "result_preview"),
        error_type=text_of(item, "error_type"),
        error_message=text_of(item, "error_message"),
        status=text_of(item, "status"),
    )


__all__ = [
    "TASK_SLACK_SECONDS",
    "partition_record",
    "run_record",
    "state_item",
    "task_expiration",
    "task_item",
    "task_record",
]
