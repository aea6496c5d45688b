"""The sweep: once a minute, the live tasks whose due time passed, read from `LiveByDue`, and what each has become.

The index holds the tasks' STATE items (taskcore.ledger; a task of the layout before issue 20: its TASK item, which
is then written as it was then).

Candidates are the items of each shard (taskcore.due) with `due_at` at or before now minus the delivery
window (RECORDER's SWEEP_DELIVERY_WINDOW_SECONDS, 5 minutes by default: Scheduler fires anywhere in the
minute and its first retries follow within seconds). For each:

- a task no longer live (ended by its run, which leaves the keys): taken out of the index;
- a recurring task past its `end_at`: `ended` ("past its end at …"), its quota slot released;
- a one-time task that is paused: taken out of the index (it stays paused; resuming it answers `missed`);
- a one-time task with a run: its ending is the callback's and the recorder's to write: taken out of the index;
- a one-time task without a run whose schedule still exists: left for the next minute (Scheduler is still
  trying to deliver it; if it gives up, its dead letter reaches the recorder);
- a one-time task without a run and without a schedule: `missed` ("the schedule vanished without a run").

At most MAX_CANDIDATES a sweep; the rest wait for the next minute (the index keeps them, oldest first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from callback_app.endings import EndingsLedger
from callback_app.observability import logger
from taskcore.due import LIVE_BY_DUE_INDEX, shards
from taskcore.ledger import STATE_SK, s, text_of
from taskcore.states import TaskState, TimingKind, timestamp

#: The most candidates one sweep looks at (each costs up to 2 reads and a write).
MAX_CANDIDATES = 1_000


@dataclass
class SweepReport:
    """What one sweep did, by what it found."""

    looked_at: int = 0
    missed: int = 0
    ended: int = 0
    forgotten: int = 0
    waiting: int = 0
    shards: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "looked_at": self.looked_at,
            "missed": self.missed,
            "ended": self.ended,
            "forgotten": self.forgotten,
            "waiting": self.waiting,
            "shards": self.shards,
        }


class Sweeper:
    """One sweep over LiveByDue (the ledger's client for the index and the writes, Scheduler's for GetSchedule)."""

    def __init__(self, endings: EndingsLedger, scheduler: Any, *, group: str, window_seconds: int) -> None:
        self.endings = endings
        self.scheduler = scheduler
        self.group = group
        self.window = timedelta(seconds=window_seconds)

    def run(self, now: datetime) -> SweepReport:
        report = SweepReport()
        cutoff = timestamp(now - self.window)
        for shard in shards():
            report.shards += 1
            for item in self._due(shard, cutoff, MAX_CANDIDATES - report.looked_at):
                report.looked_at += 1
                self._settle(item, now, report)
            if report.looked_at >= MAX_CANDIDATES:
                break
        return report

    def _due(self, shard: str, cutoff: str, limit: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while len(items) < limit:
            params: dict[str, Any] = {
                "TableName": self.endings.table_name,
                "IndexName": LIVE_BY_DUE_INDEX,
                "KeyConditionExpression": "due_shard = :shard AND due_at <= :cutoff",
                "ExpressionAttributeValues": {":shard": s(shard), ":cutoff": s(cutoff)},
                "Limit": limit - len(items),
            }
            if start is not None:
                params["ExclusiveStartKey"] = start
            response = self.endings.client.query(**params)
            items.extend(response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if start is None:
                break
        return items

    def _settle(self, item: dict[str, Any], now: datetime, report: SweepReport) -> None:
        pk, sk = text_of(item, "pk") or "", text_of(item, "sk") or STATE_SK  # STATE (TASK: the layout before)
        state = text_of(item, "state") or ""
        if state not in (TaskState.SCHEDULED, TaskState.PAUSED):
            report.forgotten += self.endings.forget_due(pk, state, sk=sk)
            return
        if text_of(item, "kind") == TimingKind.RECURRING:
            end = text_of(item, "end_at") or text_of(item, "due_at") or ""
            report.ended += self.endings.end_task(pk, TaskState.ENDED, f"past its end at {end}", now)
            return
        if state == TaskState.PAUSED or self.endings.has_run(pk):
            report.forgotten += self.endings.forget_due(pk, state, sk=sk)
            return
        if self._schedule_exists(text_of(item, "schedule_arn")):
            report.waiting += 1
            return
        due = text_of(item, "due_at")
        reason = f"the schedule vanished without a run (due at {due})"
        report.missed += self.endings.end_task(pk, TaskState.MISSED, reason, now)

    def _schedule_exists(self, arn: str | None) -> bool:
        """Whether the task's schedule is still there (Scheduler still means to deliver it)."""
        if not arn or not self.group:
            return False
        from botocore.exceptions import ClientError

        try:
            self.scheduler.get_schedule(Name=arn.rsplit("/", 1)[-1], GroupName=self.group)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return False
            raise
        return True


def sweep(now: datetime) -> SweepReport:
    """One sweep with the container's clients (the recorder's `{"sweep": "due"}` event)."""
    from callback_app.recorder import get_endings, get_recorder_settings, get_scheduler_client

    settings = get_recorder_settings()
    sweeper = Sweeper(
        get_endings(),
        get_scheduler_client(),
        group=settings.schedule_group_name,
        window_seconds=settings.sweep_delivery_window_seconds,
    )
    report = sweeper.run(now)
    logger.info("sweep", extra=report.as_dict())
    return report


__all__ = ["MAX_CANDIDATES", "SweepReport", "Sweeper", "sweep"]
