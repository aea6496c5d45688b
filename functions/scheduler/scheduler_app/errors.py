"""What the schedule engine raises: domain errors, each with a message that says what is wrong.

The HTTP layer (main.py) maps them to status codes; the engine knows nothing of HTTP.
"""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """Raise when the function's environment lacks what template.yaml sets."""


class SchedulerError(Exception):
    """Base of the engine's errors; `str(error)` is the message for the client."""


class InvalidSchedule(SchedulerError):
    """Raise when a request cannot become a schedule (bad timing, data, cursor...); nothing was created.

    `errors` are the field errors, as a 422 lists them (`taskcore.errors.error_list`), when it has any.
    """

    def __init__(self, message: str, *, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors


class PayloadTooLarge(InvalidSchedule):
    """Raise when the schedule's `Target.Input` would exceed the Lambda asynchronous payload limit."""


class ScheduleNotFound(SchedulerError):
    """Raise when no schedule exists for the task (never created, cancelled, or already run)."""


class ScheduleConflict(SchedulerError):
    """Raise when the task id is taken by a different request, or the schedule changed concurrently."""


class ScheduleExists(ScheduleConflict):
    """Raise when a schedule of that name exists already (CreateSchedule's ConflictException)."""


class Throttled(SchedulerError):
    """Raise when EventBridge Scheduler still throttles after the client's retries."""

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class QuotaExceeded(SchedulerError):
    """Raise when an owner already has as many live schedules as MAX_ACTIVE_SCHEDULES_PER_OWNER allows."""


def quota_exceeded(owner: str, most: int) -> QuotaExceeded:
    """The refusal of a create whose owner has no free slot (the same words from every ledger)."""
    return QuotaExceeded(
        f"{owner} already has {most} active schedules, the most this stack allows "
        "(MaxActiveSchedulesPerOwner); cancel some, or wait for one-time tasks to run"
    )


class ScheduleQuotaFull(SchedulerError):
    """Raise when the account's EventBridge Scheduler schedule-count quota is full: retrying never helps."""


class UpstreamError(SchedulerError):
    """Raise when EventBridge Scheduler fails in any other way (internal error, access denied, network)."""
