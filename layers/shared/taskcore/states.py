"""The words the system uses for where a task is and how a run ended: named once, here, for every room.

`StrEnum`s, so a member is its own text (`TaskState.SCHEDULED == "scheduled"`): the API's JSON, the
ledger's attributes and the logs keep the words they always had, and a misspelling is a NameError
instead of a task that silently never matches a filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class TaskState(StrEnum):
    """Where a task is in its life (the ledger's `state`, and the API's `status`).

    Stored: scheduled, paused, and the final ones. Derived when read, never stored: `running` and `retrying`
    (a one-time task whose schedule fired, from its run record), and `ended` for a recurring task past its end
    that the sweep has not reached yet (the sweep stores it). `TRANSITIONS` below is the state machine;
    docs/architecture.md draws it (tests/unit/test_state_machine.py keeps the two equal).
    """

    #: It has a schedule that will fire (or is firing).
    SCHEDULED = "scheduled"
    #: Its schedule is disabled: it keeps everything and does not run until resumed.
    PAUSED = "paused"
    #: Derived: a one-time task whose occurrence was delivered and whose attempt has started, not ended.
    RUNNING = "running"
    #: Derived: a one-time task whose delivered occurrence failed and that Lambda will retry.
    RETRYING = "retrying"
    #: A one-time task whose run succeeded.
    SUCCEEDED = "succeeded"
    #: A one-time task whose run failed (or timed out, or expired) on its last attempt, or was not delivered.
    FAILED = "failed"
    #: A task the callback refused for good (unknown action, invalid data, the action rejected it).
    REJECTED = "rejected"
    #: A one-time task whose time passed without a run: paused past it, or its schedule vanished (the sweep).
    MISSED = "missed"
    #: Cancelled through the API: its schedule is gone.
    CANCELLED = "cancelled"
    #: A recurring task past its end (stored by the sweep, derived from `end_at` until then).
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
#: The states the API derives from the run record (a one-time task delivered, its attempts not over).
DELIVERED_STATES: tuple[TaskState, ...] = (TaskState.RUNNING, TaskState.RETRYING)
#: The stored states without one (they start the retention period and release the owner's quota slot).
FINAL_STATES: tuple[TaskState, ...] = (
    TaskState.SUCCEEDED,
    TaskState.FAILED,
    TaskState.REJECTED,
    TaskState.MISSED,
    TaskState.CANCELLED,
    TaskState.ENDED,
)


class RunOutcome(StrEnum):
    """How one occurrence's attempt ended (the run record's `outcome`, the outcome line's too)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    #: The outcome line only: a duplicate delivery replayed the stored result (recorded as `succeeded`).
    DUPLICATE = "duplicate"
    # Written by what no invocation can write for itself (callback_app.recorder), and by the callback's gate:
    #: Lambda dropped the event unrun: it waited past MaximumEventAgeInSeconds (in its queue or between retries).
    EXPIRED = "expired"
    #: The callback's gate did not start the action: the task was cancelled or paused.
    SKIPPED = "skipped"
    #: The attempt hit the function's (or the action's) timeout.
    TIMED_OUT = "timed_out"
    #: EventBridge Scheduler could not deliver the occurrence (target gone, permission, its event age, throttling).
    UNDELIVERED = "undelivered"


#: The outcomes that end an occurrence as a failure when they are its last attempt's.
FAILED_OUTCOMES: tuple[RunOutcome, ...] = (
    RunOutcome.FAILED,
    RunOutcome.EXPIRED,
    RunOutcome.TIMED_OUT,
    RunOutcome.UNDELIVERED,
)


@dataclass(frozen=True)
class Transition:
    """One arrow of the state machine: from a task state to another, and what takes it there."""

    source: TaskState | None
    target: TaskState | None
    why: str


#: The state machine of a task (None: the start or the end of the diagram). docs/architecture.md draws it.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(None, TaskState.SCHEDULED, "POST creates it"),
    Transition(TaskState.SCHEDULED, TaskState.PAUSED, "pause"),
    Transition(TaskState.PAUSED, TaskState.SCHEDULED, "resume"),
    Transition(TaskState.SCHEDULED, TaskState.RUNNING, "one-time, delivered, an attempt started"),
    Transition(TaskState.RUNNING, TaskState.RETRYING, "attempt failed or timed out, retries left"),
    Transition(TaskState.RETRYING, TaskState.RUNNING, "Lambda retries"),
    Transition(TaskState.RUNNING, TaskState.SUCCEEDED, "succeeded"),
    Transition(TaskState.RUNNING, TaskState.FAILED, "last attempt failed or timed out"),
    Transition(TaskState.RETRYING, TaskState.FAILED, "event expired (recorder)"),
    Transition(TaskState.RUNNING, TaskState.REJECTED, "the action refused it"),
    Transition(TaskState.SCHEDULED, TaskState.FAILED, "undelivered (recorder)"),
    Transition(TaskState.SCHEDULED, TaskState.MISSED, "time + window passed, no attempt (sweep)"),
    Transition(TaskState.PAUSED, TaskState.MISSED, "resumed past its time"),
    Transition(TaskState.SCHEDULED, TaskState.ENDED, "recurring, past end_at (sweep)"),
    Transition(TaskState.SCHEDULED, TaskState.CANCELLED, "DELETE"),
    Transition(TaskState.PAUSED, TaskState.CANCELLED, "DELETE"),
    Transition(TaskState.RUNNING, TaskState.CANCELLED, "DELETE (the running attempt finishes)"),
    Transition(TaskState.RETRYING, TaskState.CANCELLED, "DELETE (the gate skips the retries)"),
    *(Transition(final, None, "retention expires") for final in FINAL_STATES),
)


def mermaid_state_diagram() -> str:
    """The state machine as a mermaid `stateDiagram-v2`, one arrow a line, in TRANSITIONS' order."""
    lines = ["stateDiagram-v2"]
    for arrow in TRANSITIONS:
        source = "[*]" if arrow.source is None else arrow.source.value
        target = "[*]" if arrow.target is None else arrow.target.value
        lines.append(f"    {source} --> {target}: {arrow.why}")
    return "\n".join(lines)


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
