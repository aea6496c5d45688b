"""What the contract suites build: task records and runs, and a way to write a run into either ledger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scheduler_app.ports import SchedulesPort, TaskLedgerPort
from scheduler_app.records import RunRecord, TaskRecord
from taskcore.ledger import n, run_sk, s, task_pk, to_json
from taskcore.states import TaskState, TimingKind, timestamp

NOW = datetime(2030, 3, 14, 1, 2, 3, 457_000, tzinfo=UTC)
RETENTION_SECONDS = 3_600
OWNER = "arn:aws:iam::123456789012:role/orders"

#: Writes a run of a task as the callback records one: (task_id, run, scope, expiration).
RecordRun = Callable[[str, RunRecord, "str | None", "int | None"], None]


@dataclass(frozen=True)
class LedgerCase:
    """One implementation of the ledger port under test, and how a run gets into it."""

    ledger: TaskLedgerPort
    record_run: RecordRun


@dataclass(frozen=True)
class SchedulesCase:
    """One implementation of the schedules port under test."""

    schedules: SchedulesPort


def task(task_id: str, *, created: datetime = NOW, **fields: Any) -> TaskRecord:
    """A task record as a create writes it (one-time, scheduled, its request, a fingerprint)."""
    defaults: dict[str, Any] = {
        "task_id": task_id,
        "state": TaskState.SCHEDULED,
        "kind": TimingKind.ONE_TIME,
        "expression": "at(2030-04-01T00:00:00)",
        "timezone": "UTC",
        "created_at": timestamp(created),
        "updated_at": timestamp(created),
        "fingerprint": "a" * 64,
        "user_id": 456,
        "action": "send_notification",
        "request": {"task_id": task_id, "user_id": 456, "action": "send_notification", "data": {"n": 1.5}},
        "schedule_arn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/{task_id}",
    }
    return TaskRecord(**{**defaults, **fields})


def run(scheduled_time: str | None, **fields: Any) -> RunRecord:
    """A run as the callback records a success."""
    defaults: dict[str, Any] = {
        "scheduled_time": scheduled_time,
        "attempts": 1,
        "outcome": "succeeded",
        "status_code": 200,
        "first_started_at": "2030-03-14T01:00:00.100Z",
        "last_started_at": "2030-03-14T01:00:00.100Z",
        "finished_at": "2030-03-14T01:00:00.300Z",
        "duration_ms": 200.5,
        "final": True,
        "replays": 0,
        "result": {"sent": True, "ratio": 1.5},
    }
    return RunRecord(**{**defaults, **fields})


def dynamodb_run_writer(client: Any, table: str) -> RecordRun:
    """Write run items as callback_app's ledger does (its attributes; JSON text for the result)."""

    def write(task_id: str, record: RunRecord, scope: str | None, expiration: int | None) -> None:
        item: dict[str, Any] = {
            "pk": s(task_pk(task_id, scope)),
            "sk": s(run_sk(record.scheduled_time)),
            "attempts": n(record.attempts),
            "final": {"BOOL": record.final},
            "replays": n(record.replays),
        }
        texts = {
            "scheduled_time": record.scheduled_time,
            "outcome": record.outcome,
            "first_started_at": record.first_started_at,
            "last_started_at": record.last_started_at,
            "finished_at": record.finished_at,
            "error_type": record.error_type,
            "error_message": record.error_message,
        }
        item |= {name: s(value) for name, value in texts.items() if value is not None}
        numbers = {"status_code": record.status_code, "duration_ms": record.duration_ms, "expiration": expiration}
        item |= {name: n(value) for name, value in numbers.items() if value is not None}
        if record.result is not None:
            item["result"] = s(to_json(record.result))
        client.put_item(TableName=table, Item=item)

    return write
