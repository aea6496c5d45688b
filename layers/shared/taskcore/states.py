"""The words the system uses for where a task is and how a run ended: named once, here, for every room.

`StrEnum`s, so a member is its own text (`TaskState.SCHEDULED == "scheduled"`): the API's JSON, the
ledger's attributes and the logs keep the words they always had, and a misspelling is a NameError
instead of a task that silently never matches a filter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


class TaskState(StrEnum):
    """Where a task is in its life (the ledger's `state`; `ended` is derived when it is read)."""

    #: It has a schedule that will fire (or is firing).
    SCHEDULED = "scheduled"
    #: Its schedule is disabled: it keeps everything and does not run until resumed.
    PAUSED = "paused"
    #: A one-time task whose run succeeded.
    SUCCEEDED = "succeeded"
    #: A one-time task whose run failed on Lambda's last invocation.
    FAILED = "failed"
    #: A task the callback refused for good (unknown action, invalid data, the action rejected it).
    REJECTED = "rejected"
    #: Cancelled through the API: its schedule is gone.
    CANCELLED = "cancelled"
    #: A recurring task past its end (derived from `end_at` when read).
    ENDED = "ended"

    @property
    def live(self) -> bool:
        """Whether the task still has a schedule (scheduled or paused)."""
        return self in LIVE_STATES

    @property
    def final(self) -> bool:
        """Whether the task is over and its records expire with the retention period."""
        return self in FINAL_STATES


#: The states with a schedule.
LIVE_STATES: tuple[TaskState, ...] = (TaskState.SCHEDULED, TaskState.PAUSED)
#: The stored states without one (they start the retention period).
FINAL_STATES: tuple[TaskState, ...] = (
    TaskState.SUCCEEDED,
    TaskState.FAILED,
    TaskState.REJECTED,
    TaskState.CANCELLED,
)


class RunOutcome(StrEnum):
    """How one invocation of an occurrence ended (the run record's `outcome`, the outcome line's too)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    #: The outcome line only: a duplicate delivery replayed the stored result (recorded as `succeeded`).
    DUPLICATE = "duplicate"
    #: The action did not start: the task was cancelled or paused (the start write's gate); not retried.
    SKIPPED = "skipped"
    #: The attempt hit its deadline (the action's `timeout`, or the function's Timeout less a margin).
    TIMED_OUT = "timed_out"


class TimingKind(StrEnum):
    """A task's timing: one occurrence (`at()`, from a delay or `run_at`) or many (`cron()`/`rate()`)."""

    ONE_TIME = "one-time"
    RECURRING = "recurring"


class ScheduleState(StrEnum):
    """EventBridge Scheduler's `State` of a schedule."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


#: The ledger state a schedule's state means, and back.
TASK_STATE_OF_SCHEDULE: dict[ScheduleState, TaskState] = {
    ScheduleState.ENABLED: TaskState.SCHEDULED,
    ScheduleState.DISABLED: TaskState.PAUSED,
}
SCHEDULE_STATE_OF_TASK: dict[TaskState, ScheduleState] = {task: sched for sched, task in TASK_STATE_OF_SCHEDULE.items()}


def timestamp(moment: datetime) -> str:
    """The one timestamp format of the ledger, the records and the local cloud: UTC, milliseconds, `Z`.

    `2026-12-07T12:51:51.828Z` (milliseconds cut, not rounded, as `isoformat` does).
    """
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
