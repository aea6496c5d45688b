"""The engine's two ports: the task ledger and the schedules. The engine depends on these and nothing else of AWS.

Each has a real adapter (scheduler_app.adapters: DynamoDB, EventBridge Scheduler) and an in-memory twin
(scheduler_app.adapters.memory) with the same semantics; tests/contract runs one suite per port against
both. Every failure is one of the domain errors of scheduler_app.errors, never an SDK's exception.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from scheduler_app.records import ListFilter, Page, Position, RunRecord, ScheduleSpec, StoredSchedule, TaskRecord
from taskcore.states import ScheduleState, TaskState


class TaskLedgerPort(Protocol):
    """The task ledger, as the scheduler API writes and reads it: one record per task, its runs beside it.

    A record whose `expiration` has passed is gone for every read, and no longer holds its id. Positions
    (`Page.following`, `start`) are opaque and JSON-able. Failures: `Throttled` (retry later) and
    `UpstreamError`; a listing that names neither a user, an owner nor a state is `InvalidSchedule`.
    """

    def claim(self, record: TaskRecord, now: datetime, *, quota: int | None = None) -> TaskRecord | None:
        """Create the task's record unless its id is held; None when created, else the record that holds it.

        One conditional write (a transaction): a record that expired at or before `now` holds nothing. With a
        `quota`, an owned task takes one of its owner's `quota` slots in the same write, exactly (concurrent
        creates and batches included): `QuotaExceeded` when none is free. A task gives its slot back when it
        reaches a final state (`set_state`, or the callback's and the recorder's endings) or is forgotten.
        """
        ...

    def put(self, record: TaskRecord) -> None:
        """Write the task as it is now (PATCH: the new request), created if missing.

        Kept as they are: `created_at` (set only when missing), `run_count`, `last_run`, `owner` (and its
        quota slot) and `expiration`; what the new record no longer has (`start_at`, `end_at`, `action`,
        `schedule_arn`, `data_bytes`) is removed.
        """
        ...

    def set_state(
        self, task_id: str, state: TaskState, now: datetime, *, scope: str | None = None, reason: str | None = None
    ) -> None:
        """Change the task's state (pause, resume, cancel), creating a bare record if there is none.

        `reason`: why it ended so, when no run ended it (a one-time task resumed past its time: `missed`).

        A final state starts the retention (`expiration` = now + retention) and frees the owner's quota
        slot; a live one clears `expiration`.
        """
        ...

    def forget(self, task_id: str, fingerprint: str, *, scope: str | None = None) -> None:
        """Remove the task's record if `fingerprint` (the request that claimed it) still holds it; else nothing."""
        ...

    def read(
        self, task_id: str, *, runs: int, now: datetime, scope: str | None = None
    ) -> tuple[TaskRecord | None, list[RunRecord]]:
        """The task and its `runs` latest runs (newest first), read consistently in one go."""
        ...

    def runs(
        self, task_id: str, *, limit: int, start: Position | None, now: datetime, scope: str | None = None
    ) -> Page:
        """A page of the task's runs (RunRecord), newest first, at most `limit`."""
        ...

    def page(self, wanted: ListFilter, *, limit: int, start: Position | None, now: datetime) -> Page:
        """A page of tasks (TaskRecord, as a listing row shows them: no request, no fingerprint), newest first.

        By owner (`wanted.owner`), else by user, else by state; the other fields filter. A page holds at most
        `limit` and may hold fewer (even none) with more to follow.
        """
        ...

    def count_live(self, owner: str, *, up_to: int) -> int:
        """How many live tasks (scheduled or paused) `owner` has, counting at most `up_to` (its quota slots taken)."""
        ...


class SchedulesPort(Protocol):
    """The schedules of the stack's one group, each named after its task's address.

    Failures: `ScheduleNotFound` for a schedule that does not exist (its message names the task and the
    group), `ScheduleExists` for a create whose name is taken, `ScheduleConflict` for a concurrent change,
    `Throttled`, `ScheduleQuotaFull`, `InvalidSchedule` (refused as invalid) and `UpstreamError`.
    """

    @property
    def group(self) -> str:
        """The schedule group's name."""
        ...

    def arn_of(self, name: str) -> str:
        """The ARN the schedule `name` has (or would have) in the group."""
        ...

    def create(self, spec: ScheduleSpec) -> str:
        """Create the schedule; its ARN."""
        ...

    def update(self, spec: ScheduleSpec) -> None:
        """Replace the schedule named `spec.name` with `spec`."""
        ...

    def set_state(self, stored: StoredSchedule, state: ScheduleState, *, now: datetime) -> StoredSchedule:
        """Enable or disable `stored`, keeping everything else; the schedule as it is now (changed at `now`)."""
        ...

    def get(self, name: str, *, task_id: str | None = None) -> StoredSchedule:
        """The schedule called `name` (task `task_id`'s, for the not-found message; default: the name)."""
        ...

    def delete(self, name: str, *, task_id: str | None = None) -> None:
        """Delete the schedule called `name`."""
        ...


__all__ = ["SchedulesPort", "TaskLedgerPort"]
