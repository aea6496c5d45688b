"""What the engine and its two ports exchange: plain records, no AWS format in them.

A `TaskRecord` is a task as the ledger keeps it and a `RunRecord` one occurrence of it; a `ScheduleSpec`
is a schedule as the engine asks for it and a `StoredSchedule` one as it exists. Each adapter
(scheduler_app.adapters) turns them into its own format and back: DynamoDB items and EventBridge
Scheduler's requests and descriptions in the real ones, Python objects in the in-memory twins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from scheduler_app.namespaces import TaskAddress
from taskcore.ledger import MAX_STORED_DATA_BYTES, bounded
from taskcore.proxy import TASK_QUOTA_HEADER, TASK_SCOPE_HEADER, task_fields
from taskcore.states import FINAL_STATES, ScheduleState, TaskState, TimingKind

#: Where the request's fingerprint is written in a schedule's Description (`request-sha256:<hex>`).
FINGERPRINT = re.compile(r"request-sha256:([0-9a-f]{64})")
LAMBDA_ARN = re.compile(r"^arn:(?P<partition>[\w-]+):lambda:(?P<region>[\w-]+):(?P<account>\d+):")


def group_schedule_arn(target_arn: str, group: str, name: str) -> str:
    """The ARN a schedule of `group` gets: the partition, region and account of its target (the same stack)."""
    match = LAMBDA_ARN.match(target_arn)
    partition, region, account = (match["partition"], match["region"], match["account"]) if match else ("aws", "", "")
    return f"arn:{partition}:scheduler:{region}:{account}:schedule/{group}/{name}"


@dataclass(frozen=True)
class TaskRecord:
    """A task item, in Python terms (timestamps as the ledger writes them: taskcore.states.timestamp)."""

    task_id: str
    state: TaskState
    kind: TimingKind
    expression: str
    timezone: str
    created_at: str
    updated_at: str
    fingerprint: str | None = None
    user_id: Any = None
    action: str | None = None
    #: The create request (JSON), without `data` when that was too large to keep (`data_bytes` says its size).
    request: dict[str, Any] | None = None
    data_bytes: int | None = None
    start_at: str | None = None
    end_at: str | None = None
    schedule_arn: str | None = None
    owner: str | None = None
    run_count: int = 0
    last_run: dict[str, Any] | None = None
    expiration: int | None = None
    #: The owner's scope of a task in its owner's namespace (`Isolation=owner`); None in the shared one.
    scope: str | None = None
    #: Why it ended as it did, when what ended it was no run (the recorder, the sweep: `missed`, `undelivered`).
    reason: str | None = None
    #: The owner's quota slot the task holds while live (taskcore.quota: `<owner digest>#<shard>`), else None.
    quota_key: str | None = None

    @property
    def address(self) -> TaskAddress:
        """Where the task lives: its id in its namespace (its partition, its schedule's name)."""
        return TaskAddress(self.task_id, self.scope)

    @property
    def ended(self) -> bool:
        """Whether the task has no schedule any more: it ran (or failed, or was rejected) or was cancelled."""
        return self.state in FINAL_STATES

    @property
    def data(self) -> Any:
        return (self.request or {}).get("data")

    def kept(self) -> TaskRecord:
        """The record as a ledger keeps it: the request whole when its `data` fits, else without it (and its size).

        The schedule's Input keeps data too large for the ledger (MAX_STORED_DATA_BYTES).
        """
        if self.request is None:
            return replace(self, data_bytes=None)
        data = bounded(self.request.get("data"), MAX_STORED_DATA_BYTES)
        if data.text is not None:
            return replace(self, data_bytes=None)
        return replace(self, request={k: v for k, v in self.request.items() if k != "data"}, data_bytes=data.size)


@dataclass(frozen=True)
class RunRecord:
    """A run item: one occurrence of a task and what its invocations did."""

    scheduled_time: str | None
    attempts: int
    outcome: str | None
    status_code: int | None
    first_started_at: str | None
    last_started_at: str | None
    finished_at: str | None
    duration_ms: float | None
    final: bool
    replays: int
    result: Any = None
    result_bytes: int | None = None
    result_preview: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    #: `running` from an attempt's start until its end (the callback's start write), else None.
    status: str | None = None

    @property
    def reason(self) -> str | None:
        """The error, as one line: `Type: message`."""
        if self.error_type is None:
            return None
        return f"{self.error_type}: {self.error_message}" if self.error_message else self.error_type


#: Where a page stops: opaque to the engine, JSON-able (it travels sealed in a cursor), handed back as `start`.
Position = dict[str, Any]


@dataclass(frozen=True)
class Page:
    """One read's items, and where the next one starts (None on the last page)."""

    items: list[Any]
    following: Position | None


@dataclass(frozen=True)
class ListFilter:
    """What a listing asks for: one user or one state (at least one of the two), an action, an id prefix."""

    user_id: Any = None
    state: str | None = None
    action: str | None = None
    prefix: str | None = None
    #: Only this owner's tasks (isolation `owner`): its index, the other filters applied to it.
    owner: str | None = None


@dataclass(frozen=True)
class ScheduleSpec:
    """A task's schedule as this API makes it: the parts of CreateSchedule/UpdateSchedule that vary."""

    name: str
    expression: str
    timezone: str
    one_time: bool
    target_input: str
    max_retry_attempts: int
    max_event_age_seconds: int
    description: str
    state: ScheduleState = ScheduleState.ENABLED
    flexible_window_minutes: int | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class StoredSchedule:
    """A schedule as it exists, in this API's terms.

    `raw` is the adapter's own (EventBridge Scheduler's description, to send back on a change of state);
    the engine never reads it.
    """

    name: str
    arn: str
    group: str
    expression: str
    timezone: str
    state: ScheduleState
    start: datetime | None
    end: datetime | None
    created: datetime | None
    modified: datetime | None
    description: str
    target_input: str | None
    retry: tuple[int, int] | None
    flexible_window_minutes: int | None
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @property
    def fingerprint(self) -> str | None:
        """The request fingerprint the API wrote into the Description, if any."""
        match = FINGERPRINT.search(self.description)
        return match.group(1) if match else None

    @property
    def quota_slot(self) -> str | None:
        """The owner's quota slot the Input's event names (`X-Task-Quota`), if any."""
        headers = self._event().get("headers")
        found = headers.get(TASK_QUOTA_HEADER) if isinstance(headers, dict) else None
        return found if isinstance(found, str) else None

    @property
    def scope(self) -> str | None:
        """The owner scope the Input's event names (`X-Task-Scope`: Isolation=owner); None in the shared namespace."""
        event = self._event()
        headers = event.get("headers")
        scope = headers.get(TASK_SCOPE_HEADER) if isinstance(headers, dict) else None
        return scope if isinstance(scope, str) else None

    @property
    def task(self) -> dict[str, Any]:
        """`task_id`, `user_id`, `action`, `data` from the proxy event in the Input (empty if it has none)."""
        try:
            event = json.loads(self.target_input or "{}")
        except (ValueError, TypeError):
            return {}
        return dict(task_fields(event).raw)

    def _event(self) -> dict[str, Any]:
        try:
            event = json.loads(self.target_input or "{}")
        except (ValueError, TypeError):
            return {}
        return event if isinstance(event, dict) else {}


__all__ = [
    "FINGERPRINT",
    "ListFilter",
    "Page",
    "Position",
    "RunRecord",
    "ScheduleSpec",
    "StoredSchedule",
    "TaskRecord",
    "group_schedule_arn",
]
