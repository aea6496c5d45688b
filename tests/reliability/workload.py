"""The adverse workload: many tasks of every kind, a probe action whose external effects are counted, and the local
cloud in AWS's adverse mode on one virtual clock (tests/reliability/test_adverse_workload.py runs it).

Every task names the `probe` action with its kind in `data`; the probe behaves as the kind says (fails once, always,
takes longer than the callback's deadline, refuses the task) and counts, per occurrence (`TaskContext.idempotency_key`),
every start of the action and every *effect*: an action call that completed (a downstream call made). A
killed or failed call has no effect. The expected ending of every kind is the state machine's
(docs/architecture.md, "The task's state machine").
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from localcloud.delivery import DeliveryError
from localcloud.schedules import Schedule
from taskcore.registry import TaskContext, TaskRejected
from tests.callback.helpers import AnyData

#: How many tasks (`ADVERSE_TASKS=2000` for the long run: docs/reliability.md); the seed of every random choice.
TASKS = int(os.environ.get("ADVERSE_TASKS", "60"))
SEED = int(os.environ.get("ADVERSE_SEED", "19"))
START = datetime(2027, 3, 1, 9, 0, 0, tzinfo=UTC)
#: One-time tasks fall due over this many minutes after START + 2 min.
SPREAD_MINUTES = 10
#: Recurring tasks: every 5 minutes from START + 2 min to their end.
RECURRING_RATE = "5 minutes"
RECURRING_END = START + timedelta(minutes=22, seconds=30)
#: The callback's Timeout (real seconds; its deadline is this less the 1 s margin) and the slow probe's call.
CALLBACK_TIMEOUT = 1.3
SLOW_SECONDS = 1.0

#: Kinds and their share of the workload (each at least one task; the slow ones cost real seconds, so few).
SHARES: dict[str, float] = {
    "once": 0.35,
    "recurring": 0.08,
    "transient": 0.12,
    "failing": 0.06,
    "slow_once": 0.02,
    "slow": 0.01,
    "cancel_retrying": 0.12,
    "paused": 0.10,
    "undeliverable": 0.06,
    "rejected": 0.08,
}


def plan(total: int) -> list[tuple[str, str]]:
    """(task_id, kind) for `total` tasks, every kind at least once, in a repeatable order."""
    counts = {kind: max(1, round(total * share)) for kind, share in SHARES.items()}
    counts["once"] += max(0, total - sum(counts.values()))
    tasks = [(f"{kind}-{n:05d}", kind) for kind, count in counts.items() for n in range(count)]
    return sorted(tasks, key=lambda item: (int(item[0].rsplit("-", 1)[1]), item[1]))


def due_at(index: int) -> datetime:
    """When the index-th one-time task falls due: spread over SPREAD_MINUTES, on whole minutes."""
    return START + timedelta(minutes=2 + index % SPREAD_MINUTES)


@dataclass
class Probe:
    """The workload's action: behaves as `data["kind"]` says; counts starts and effects per occurrence."""

    starts: Counter[str] = field(default_factory=Counter)
    effects: Counter[str] = field(default_factory=Counter)
    #: task id -> the occurrence keys the probe saw for it, and key -> its scheduled time.
    keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    scheduled: dict[str, datetime | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, data: AnyData, task: TaskContext) -> dict[str, Any]:
        key = task.idempotency_key or f"direct:{task.task_id}"
        with self._lock:
            self.starts[key] += 1
            first = self.starts[key] == 1
            self.keys[task.task_id].add(key)
            self.scheduled[key] = task.scheduled_time
        kind = str(data.model_dump().get("kind"))
        if kind in {"failing", "cancel_retrying"} or (kind == "transient" and first):
            raise RuntimeError("downstream unavailable")
        if kind == "rejected":
            raise TaskRejected("the payment was already refunded")
        if kind == "slow" or (kind == "slow_once" and first):
            time.sleep(SLOW_SECONDS)  # the callback's deadline stops it first
        with self._lock:  # the downstream call completed: one effect
            self.effects[key] += 1
        return {"effect": key}

    def starts_of(self, task_id: str) -> int:
        """How many times the action started for this task, all occurrences."""
        with self._lock:
            return sum(self.starts[key] for key in self.keys.get(task_id, ()))

    def effects_of(self, task_id: str) -> dict[str, int]:
        """Effects per occurrence key of this task."""
        with self._lock:
            return {key: self.effects[key] for key in self.keys.get(task_id, ())}


def undeliverable(schedule: Schedule, attempt: int) -> DeliveryError | None:
    """Scheduler's delivery fault: the invoke role may not invoke the target for an `undeliverable-*` task."""
    if "undeliverable-" in schedule.name:
        return DeliveryError("AccessDeniedException", "not authorized to invoke the target", retryable=False)
    return None


__all__ = [
    "CALLBACK_TIMEOUT",
    "RECURRING_END",
    "RECURRING_RATE",
    "SEED",
    "START",
    "TASKS",
    "Probe",
    "due_at",
    "plan",
    "undeliverable",
]
