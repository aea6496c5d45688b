"""In-memory twins of the engine's two ports: the task ledger and the schedules, in dicts, thread-safe.

They keep the real adapters' semantics, so that fast tests and the test kit can run the engine on them
without moto and without lying (tests/contract holds each twin and its real adapter to one suite):

- `MemoryLedger` (`TaskLedgerPort`, like DynamoDBLedger): a conditional claim that returns the holder; a
  record whose `expiration` has passed holds nothing and reads as gone; `put` and `set_state` create a
  missing record, as UpdateItem does; user values (`user_id`, the request, `last_run`) go through JSON
  text, so they come back as DynamoDB would return them; `data` too large for the ledger is dropped with
  its size kept; listings read by owner, user or state, newest first, `limit` entries a page, filtered
  after the limit (a page may hold fewer), and listing rows carry what the indexes project.
- `MemorySchedules` (`SchedulesPort`, like EventBridgeSchedules): `ScheduleExists` for a name that is
  taken, `ScheduleNotFound` (the same words) for one that is not there, the ARN the real group gives.
  Like moto, it never fires a schedule.

Both read the time from a `clock` (default: the system's) only where AWS would stamp one (a schedule's
creation and modification); everything else takes the engine's `now`.

    from scheduler_app.adapters.memory import MemoryLedger, MemorySchedules

    ledger = MemoryLedger(retention_seconds=7 * 86_400)
    schedules = MemorySchedules(group="tasks")
    engine = Engine(ledger, schedules, settings)   # scheduler_app.engine

Beyond the port, what only a twin offers (for tests and the test kit): `MemoryLedger.record_run`
(a run, as the callback records it), `MemoryLedger.records()` and `MemorySchedules.all()`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from scheduler_app.errors import InvalidSchedule, ScheduleExists, ScheduleNotFound, quota_exceeded
from scheduler_app.records import (
    ListFilter,
    Page,
    Position,
    RunRecord,
    ScheduleSpec,
    StoredSchedule,
    TaskRecord,
    group_schedule_arn,
)
from taskcore.clock import utcnow
from taskcore.ledger import created_key, run_sk, task_pk, to_json, user_key
from taskcore.states import FINAL_STATES, LIVE_STATES, ScheduleState, TaskState, TimingKind, timestamp

#: The callback's function, as a stand-in target: what makes the schedules' ARNs (partition, region, account).
DEFAULT_TARGET_ARN = "arn:aws:lambda:us-east-1:123456789012:function:callback"

Key = tuple[str | None, str]  # (scope, task id): one partition


def system_clock() -> datetime:
    """The current time, aware, in UTC (the process's clock: `taskcore.clock`)."""
    return utcnow()


def _json_copy(value: Any) -> Any:
    """`value` as it comes back from the JSON text the ledger stores it as (a copy, never the caller's object)."""
    return json.loads(to_json(value))


def _expired(expiration: int | None, now: datetime) -> bool:
    return expiration is not None and expiration <= int(now.timestamp())


@dataclass
class _Entry:
    """A task item: its record and, while it counts against its owner's quota, that owner."""

    record: TaskRecord
    live_owner: str | None = None
    #: Whether the listing indexes hold it: not a bare item (`set_state` on a missing task has no sort key).
    indexed: bool = True

    @property
    def order(self) -> tuple[str, str]:
        """Where it sorts in a listing (newest first when read backwards): the indexes' sort key, then its key."""
        return created_key(self.record.created_at, self.record.task_id), task_pk(self.record.task_id, self.record.scope)


@dataclass
class _Partition:
    """A task's partition: its task item (if any) and its run items by sort key."""

    task: _Entry | None = None
    runs: dict[str, tuple[RunRecord, int | None]] = field(default_factory=dict)


class MemoryLedger:
    """The task ledger in memory (a `TaskLedgerPort`), with DynamoDBLedger's semantics."""

    def __init__(self, *, retention_seconds: int = 7 * 86_400) -> None:
        self.retention_seconds = retention_seconds
        self._partitions: dict[Key, _Partition] = {}
        self._lock = threading.RLock()

    # -- writes ---------------------------------------------------------------------------------------------------

    def claim(self, record: TaskRecord, now: datetime, *, quota: int | None = None) -> TaskRecord | None:
        """Create the task's record unless a live one holds its id; None when created, else the holder.

        With a `quota`, an owned live task takes one of its owner's `quota` slots: QuotaExceeded when none is free.
        """
        kept = _stored(record)
        with self._lock:
            partition = self._partitions.setdefault((record.scope, record.task_id), _Partition())
            held = partition.task
            if held is not None and not _expired(held.record.expiration, now):
                return held.record
            live = kept.owner if kept.owner is not None and kept.state in LIVE_STATES and quota is not None else None
            if live is not None and quota is not None and self.count_live(live, up_to=quota) >= quota:
                raise quota_exceeded(live, quota)
            partition.task = _Entry(kept, live)
            return None

    def put(self, record: TaskRecord) -> None:
        """Write the task as it is now, created if missing; its counters, owner and creation time stay."""
        kept = _stored(record)
        with self._lock:
            partition = self._partitions.setdefault((record.scope, record.task_id), _Partition())
            if partition.task is None:
                partition.task = _Entry(replace(kept, run_count=0, last_run=None, owner=None))
                return
            old = partition.task.record
            partition.task.indexed = True
            partition.task.record = replace(
                kept,
                created_at=old.created_at or kept.created_at,
                fingerprint=kept.fingerprint if kept.fingerprint is not None else old.fingerprint,
                request=kept.request if kept.request is not None else old.request,
                expiration=kept.expiration if kept.expiration is not None else old.expiration,
                run_count=old.run_count,
                last_run=old.last_run,
                owner=old.owner,
            )

    def set_state(
        self, task_id: str, state: TaskState, now: datetime, *, scope: str | None = None, reason: str | None = None
    ) -> None:
        """Change the task's state (a bare record when there is none); a final state starts its retention."""
        with self._lock:
            partition = self._partitions.setdefault((scope, task_id), _Partition())
            if partition.task is None:  # UpdateItem's upsert: an item with only what the update sets
                bare = TaskRecord(
                    task_id="",
                    state=state,
                    kind=TimingKind.ONE_TIME,
                    expression="",
                    timezone="UTC",
                    created_at="",
                    updated_at="",
                    user_id=None,
                    scope=scope,
                )
                partition.task = _Entry(bare, indexed=False)
            entry = partition.task
            final = state in FINAL_STATES
            expiration = int(now.timestamp()) + self.retention_seconds if final else None
            entry.record = replace(
                entry.record, state=state, updated_at=timestamp(now), expiration=expiration, reason=reason
            )
            if final:
                entry.live_owner = None  # no longer counts against its owner's quota

    def forget(self, task_id: str, fingerprint: str, *, scope: str | None = None) -> None:
        """Remove the task's record if the request `fingerprint` still holds it."""
        with self._lock:
            partition = self._partitions.get((scope, task_id))
            held = partition.task if partition is not None else None
            if partition is not None and held is not None and held.record.fingerprint == fingerprint:
                partition.task = None

    # -- reads ----------------------------------------------------------------------------------------------------

    def read(
        self, task_id: str, *, runs: int, now: datetime, scope: str | None = None
    ) -> tuple[TaskRecord | None, list[RunRecord]]:
        """The task and its `runs` latest runs: one partition, newest first (the task item sorts first)."""
        with self._lock:
            partition = self._partitions.get((scope, task_id)) or _Partition()
            items: list[tuple[TaskRecord | RunRecord, int | None]] = []
            if partition.task is not None:
                items.append((partition.task.record, partition.task.record.expiration))
            items += [partition.runs[sk] for sk in sorted(partition.runs, reverse=True)]
        found = [item for item, expiration in items[: 1 + runs] if not _expired(expiration, now)]
        task = next((item for item in found if isinstance(item, TaskRecord)), None)
        return task, [item for item in found if isinstance(item, RunRecord)][:runs]

    def runs(
        self, task_id: str, *, limit: int, start: Position | None, now: datetime, scope: str | None = None
    ) -> Page:
        """A page of the task's runs, newest first."""
        with self._lock:
            partition = self._partitions.get((scope, task_id)) or _Partition()
            keys = sorted(partition.runs, reverse=True)
            if start is not None:
                keys = [sk for sk in keys if sk < str(start.get("sk", ""))]
            page = [(sk, *partition.runs[sk]) for sk in keys[:limit]]
            more = len(keys) > limit
        items = [run for _, run, expiration in page if not _expired(expiration, now)]
        return Page(items, {"sk": page[-1][0]} if more else None)

    def page(self, wanted: ListFilter, *, limit: int, start: Position | None, now: datetime) -> Page:
        """A page of tasks as the listing indexes hold them, newest first; `limit` entries read, then filtered."""
        if wanted.owner is None and wanted.user_id is None and wanted.state is None:
            raise InvalidSchedule("a listing names a user_id or a status")
        entries = self._index(wanted, start)
        read, more = entries[:limit], len(entries) > limit
        rows = [_listed(entry.record) for entry in read if _matches(entry.record, wanted, now)]
        following = {"created_key": read[-1].order[0], "pk": read[-1].order[1]} if more else None
        return Page(rows, following)

    def _index(self, wanted: ListFilter, start: Position | None) -> list[_Entry]:
        """The entries of the index partition the listing reads, newest first, after `start`."""
        with self._lock:
            entries = [p.task for p in self._partitions.values() if p.task is not None and _in_index(p.task, wanted)]
        entries.sort(key=lambda entry: entry.order, reverse=True)
        if start is None:
            return entries
        after = (str(start.get("created_key", "")), str(start.get("pk", "")))
        return [entry for entry in entries if entry.order < after]

    def count_live(self, owner: str, *, up_to: int) -> int:
        """How many live tasks `owner` has (its quota slots), counting at most `up_to`."""
        with self._lock:
            counted = sum(1 for p in self._partitions.values() if p.task is not None and p.task.live_owner == owner)
        return min(counted, up_to)

    # -- the twin's own -------------------------------------------------------------------------------------------

    def record_run(
        self, task_id: str, run: RunRecord, *, scope: str | None = None, expiration: int | None = None
    ) -> None:
        """Write a run of the task, as the callback records one (its run item; the task item is not touched)."""
        with self._lock:
            partition = self._partitions.setdefault((scope, task_id), _Partition())
            partition.runs[run_sk(run.scheduled_time)] = (replace(run, result=_json_copy(run.result)), expiration)

    def records(self) -> list[TaskRecord]:
        """Every task record held, expired ones included (the table as a scan would show it)."""
        with self._lock:
            return [p.task.record for p in self._partitions.values() if p.task is not None]


def _stored(record: TaskRecord) -> TaskRecord:
    """The record as the table keeps it: user values through JSON text, too large `data` dropped."""
    kept = record.kept()
    return replace(
        kept,
        user_id=_json_copy(kept.user_id),
        request=_json_copy(kept.request) if kept.request is not None else None,
        last_run=_json_copy(kept.last_run) if kept.last_run is not None else None,
    )


def _in_index(entry: _Entry, wanted: ListFilter) -> bool:
    """Whether the task is in the partition of the index the listing reads (ByOwner, ByUser or ByState)."""
    record = entry.record
    if not entry.indexed:
        return False
    if wanted.owner is not None:
        return record.owner == wanted.owner
    if wanted.user_id is not None:
        return user_key(record.user_id) == user_key(wanted.user_id)
    return record.state == wanted.state


def _matches(record: TaskRecord, wanted: ListFilter, now: datetime) -> bool:
    """The listing's filters on an index entry (the partition's own key is not filtered again)."""
    by_state = wanted.owner is None and wanted.user_id is None
    checks: Iterable[bool] = (
        not _expired(record.expiration, now),
        wanted.owner is None or wanted.user_id is None or user_key(record.user_id) == user_key(wanted.user_id),
        by_state or wanted.state is None or record.state == wanted.state,
        wanted.action is None or record.action == wanted.action,
        wanted.prefix is None or record.task_id.startswith(wanted.prefix),
    )
    return all(checks)


def _listed(record: TaskRecord) -> TaskRecord:
    """What a listing index projects of a task (taskcore.ledger.LISTED_ATTRIBUTES): no request, no fingerprint."""
    return replace(record, fingerprint=None, request=None, data_bytes=None)


class MemorySchedules:
    """The schedules of one group in memory (a `SchedulesPort`), with EventBridgeSchedules' semantics."""

    def __init__(
        self,
        *,
        group: str = "scheduled-tasks",
        target_arn: str = DEFAULT_TARGET_ARN,
        clock: Callable[[], datetime] = system_clock,
    ) -> None:
        self.group = group
        self._target_arn = target_arn
        self._clock = clock
        self._schedules: dict[str, StoredSchedule] = {}
        self._lock = threading.RLock()

    def arn_of(self, name: str) -> str:
        """The ARN a schedule of this group gets (as the real group gives it)."""
        return group_schedule_arn(self._target_arn, self.group, name)

    def create(self, spec: ScheduleSpec) -> str:
        """Create the schedule; its ARN. Raise ScheduleExists when the name is taken."""
        with self._lock:
            if spec.name in self._schedules:
                raise ScheduleExists(f"a schedule named {spec.name!r} exists in group {self.group!r}")
            now = self._clock()
            self._schedules[spec.name] = self._stored(spec, created=now, modified=now)
        return self.arn_of(spec.name)

    def update(self, spec: ScheduleSpec) -> None:
        """Replace the schedule with `spec` (its creation time stays)."""
        with self._lock:
            current = self._existing(spec.name, spec.name)
            self._schedules[spec.name] = self._stored(spec, created=current.created, modified=self._clock())

    def set_state(self, stored: StoredSchedule, state: ScheduleState, *, now: datetime) -> StoredSchedule:
        """Enable or disable the schedule, writing back everything else `stored` has; the schedule as it is now."""
        with self._lock:
            self._existing(stored.name, stored.name)
            changed = replace(stored, state=state, modified=now)
            self._schedules[stored.name] = changed
        return changed

    def get(self, name: str, *, task_id: str | None = None) -> StoredSchedule:
        """The schedule called `name`; raise ScheduleNotFound."""
        with self._lock:
            return self._existing(name, task_id or name)

    def delete(self, name: str, *, task_id: str | None = None) -> None:
        """Delete the schedule; raise ScheduleNotFound when there is none."""
        with self._lock:
            self._existing(name, task_id or name)
            del self._schedules[name]

    def all(self) -> list[StoredSchedule]:
        """Every schedule of the group, by name (the twin's own: what a ListSchedules would show)."""
        with self._lock:
            return [self._schedules[name] for name in sorted(self._schedules)]

    def _existing(self, name: str, task_id: str) -> StoredSchedule:
        found = self._schedules.get(name)
        if found is None:
            raise ScheduleNotFound(
                f"no schedule for task {task_id!r} in group {self.group!r} (never created, cancelled, or already run)"
            )
        return found

    def _stored(self, spec: ScheduleSpec, *, created: datetime | None, modified: datetime) -> StoredSchedule:
        return StoredSchedule(
            name=spec.name,
            arn=self.arn_of(spec.name),
            group=self.group,
            expression=spec.expression,
            timezone=spec.timezone,
            state=spec.state,
            start=spec.start,
            end=spec.end,
            created=created,
            modified=modified,
            description=spec.description,
            target_input=spec.target_input,
            retry=(spec.max_retry_attempts, spec.max_event_age_seconds),
            flexible_window_minutes=spec.flexible_window_minutes or None,
        )


__all__ = ["DEFAULT_TARGET_ARN", "MemoryLedger", "MemorySchedules", "system_clock"]
