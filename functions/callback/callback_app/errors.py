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


class RejectionQueueNotConfigured(RuntimeError):
    """Raise when REJECTED_TASK_QUEUE_URL is missing: a rejected task would be lost."""


__all__ = [
    "IdempotencyStoreNotConfigured",
    "InvalidEventError",
    "RejectionQueueNotConfigured",
    "ResultNotRecorded",
    "RunNotRecorded",
    "TaskInvocationFailed",
]
