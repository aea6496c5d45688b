"""The callback's exceptions, each said once.

What each one means for a run (its status, its outcome, its words) is in one table,
`callback_app.run.failures()`; what the entry point raises tells Lambda to retry.
"""

from __future__ import annotations


class InvalidEventError(ValueError):
    """Raise when the invocation event is not an API Gateway REST proxy event."""


class TaskInvocationFailed(RuntimeError):
    """Raise from the entry point so Lambda retries the delivery, then sends it to the on-failure queue."""


class IdempotencyStoreNotConfigured(RuntimeError):
    """Raise when IDEMPOTENCY_TABLE_NAME is missing: no task may run without a record."""


class ResultNotRecorded(RuntimeError):
    """Raise when the action ran but the store failed to record its result: a retry runs it again."""


class RunNotRecorded(RuntimeError):
    """Raise when the ledger could not record this invocation: the invocation fails and is retried."""


class TaskNotLive(Exception):
    """The task was cancelled or paused before this attempt's start write: its action does not run."""

    def __init__(self, state: str, since: str | None) -> None:
        self.state = state
        self.since = since
        super().__init__(f"{state} at {since}" if since else state)


class ActionTimedOut(Exception):
    """Raise when the attempt reached its deadline (the action's timeout, or the function's less a margin)."""


class RetryBudgetExhausted(RuntimeError):
    """Raise when an attempt is past its action's `max_attempts`: the action does not run, the occurrence fails."""


class StartNotRecorded(RuntimeError):
    """The start write kept conflicting with other writes of the task: the attempt did not start."""


class RejectionQueueNotConfigured(RuntimeError):
    """Raise when REJECTED_TASK_QUEUE_URL is missing: a rejected task would be lost."""


__all__ = [
    "ActionTimedOut",
    "IdempotencyStoreNotConfigured",
    "InvalidEventError",
    "RejectionQueueNotConfigured",
    "ResultNotRecorded",
    "RetryBudgetExhausted",
    "RunNotRecorded",
    "StartNotRecorded",
    "TaskInvocationFailed",
    "TaskNotLive",
]
