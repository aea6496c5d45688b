"""The run of one invocation: a typed record the entry point and the route share, and what each ending means.

The callback's one use case, "run one occurrence, then say what happened", goes this way:

1. The entry point (callback_app.handler) makes a `Run` from the event (the task, the scheduler's headers,
   the clock), makes it the current run (`running`) and hands the event to the app through Mangum.
2. The route (callback_app.main) runs the occurrence (callback_app.service: Powertools idempotency around
   the action) and says on the current run how it ended: `succeeded`, or `failed` with what it raised,
   whose row of the one table, `failures()`, gives the status, the outcome and the words for both. An HTTP error the app
   gives before the route runs (invalid data, a wrong path or method) is `answered`.
3. After Mangum returns, the entry point says what happened (callback_app.outcome): the run is recorded in
   the task ledger, a rejected task's event is kept, the one outcome line is written, and a failure raises
   so that Lambda retries.

The response is the wire format; the run is what it means, typed, read by nobody from the response's
body or from keys added to the event. It lives in a context variable as a mutable object: Mangum runs
the app in an asyncio task on this thread's loop, and a task runs in a *copy* of the context, so the
route changes the object the entry point made and never sets the variable itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from callback_app.errors import IdempotencyStoreNotConfigured, ResultNotRecorded, TaskNotLive
from callback_app.observability import logger
from callback_app.start import Start
from taskcore.caches import container_cache
from taskcore.clock import utcnow
from taskcore.proxy import SchedulerContext
from taskcore.redaction import redact
from taskcore.registry import TaskRejected
from taskcore.states import RunOutcome

#: What a concurrent duplicate is told, and what its run records.
IN_PROGRESS = "this occurrence is already running in another invocation"


def outcome_of_status(status: int) -> RunOutcome:
    """What a status means to the retry contract: 2xx done, 5xx failed (retried), anything else rejected (kept)."""
    if status >= 500:
        return RunOutcome.FAILED
    return RunOutcome.SUCCEEDED if 200 <= status < 300 else RunOutcome.REJECTED


@dataclass(frozen=True)
class Failure:
    """What one kind of exception means for a run: one row of `failures()`.

    `detail` (the response's `detail`, the outcome line's reason) and `message` (the run record's error
    message) are templates: `{task_id}`, `{action}`, `{error_type}` and `{error}`, the exception's message
    redacted (taskcore.redaction), are filled in.
    """

    status: int
    outcome: RunOutcome
    detail: str
    message: str = "{error}"
    #: The ERROR line it is logged with (type and redacted message; the traceback at DEBUG only); None
    #: when the outcome line says enough.
    log: str | None = None


@container_cache  # built once on first use (it imports Powertools' idempotency, which imports boto3)
def failures() -> tuple[tuple[type[BaseException], Failure], ...]:
    """The one table: what the route's run raised -> its status, outcome and words. The first row that matches wins.

    Built on first use: Powertools' idempotency package imports boto3, which an invocation that runs no
    task (a health check, a refused event) never needs.
    """
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
    )

    from callback_app.errors import ActionTimedOut

    failed, rejected = RunOutcome.FAILED, RunOutcome.REJECTED
    return (
        # Permanent: the action refused the task (kept in RejectedTaskQueue, never retried).
        (TaskRejected, Failure(422, rejected, "action {action!r} rejected task {task_id!r}: {error}")),
        # Transient, all of them: the invocation fails, and Lambda retries it.
        # The attempt reached its deadline (the action's timeout, or the function's less a margin).
        (
            ActionTimedOut,
            Failure(504, RunOutcome.TIMED_OUT, "action {action!r} timed out: {error}", "timed out: {error}"),
        ),
        # Another delivery of this occurrence holds its record: the retry replays what that one stored.
        (IdempotencyAlreadyInProgressError, Failure(503, failed, "task {task_id!r}: " + IN_PROGRESS, IN_PROGRESS)),
        (
            ResultNotRecorded,
            Failure(
                503,
                failed,
                "action {action!r} ran but its result could not be recorded (idempotency store unavailable); "
                "a retry runs it again once the in-progress record expires",
                log="action ran; its result could not be recorded",
            ),
        ),
        (
            IdempotencyPersistenceLayerError,
            Failure(
                503, failed, "idempotency store unavailable; the task was not run", log="idempotency store unavailable"
            ),
        ),
        # No idempotency table configured: no task runs without a record.
        (IdempotencyStoreNotConfigured, Failure(500, failed, "{error}")),
        # The action raised: its type in the answer, its (redacted) words in the log and the record.
        (Exception, Failure(500, failed, "action {action!r} failed: {error_type}", log="action failed")),
    )


def failure_of(exc: BaseException) -> Failure:
    """The row of `failures()` for `exc`."""
    return next(failure for kind, failure in failures() if isinstance(exc, kind))


@dataclass(frozen=True)
class Ending:
    """How a run ended: its outcome, the status it was answered with, and the result or the error."""

    outcome: RunOutcome
    status_code: int
    #: A duplicate delivery: the stored result was returned and the action did not run now.
    replayed: bool = False
    #: What the action returned (JSON-safe), for a success.
    result: Any = None
    #: The response's `detail` (the outcome line's reason), for a failure or a rejection.
    detail: str | None = None
    error_type: str | None = None
    #: Redacted: an action's own words may name what it worked on.
    error_message: str | None = None
    #: The occurrence is over whatever the attempt number (a retry budget exhausted); None: the ledger decides.
    final: bool | None = None

    @property
    def reported(self) -> RunOutcome:
        """The outcome line's outcome: a replayed success is a `duplicate` (the record says `succeeded`, replayed)."""
        return RunOutcome.DUPLICATE if self.replayed else self.outcome


@dataclass
class Run:
    """One invocation of the callback for one occurrence: what it runs, when, and (once it has) how it ended."""

    #: The scheduler's headers, read once.
    scheduler: SchedulerContext = field(default_factory=SchedulerContext)
    #: What the event says of its task, read before (or without) validation; bounded, because they are logged.
    task_id: str | None = None
    action: str | None = None
    user_id: Any = None
    #: The Lambda context (Powertools registers it, so that a timed-out attempt does not block the retry).
    lambda_context: Any = field(default=None, repr=False)
    started: float = field(default_factory=time.perf_counter)
    started_at: datetime = field(default_factory=utcnow)
    #: None until the route, the app or the entry point says how it ended.
    ending: Ending | None = None
    #: This occurrence's invocations so far, this one included, as the ledger counted them (None: not recorded).
    lambda_attempt: int | None = None
    #: The attempt's start write (callback_app.start); None without a ledger.
    start: Start | None = field(default=None, repr=False)
    #: Given by the entry point: what makes the start write (None: no ledger) and what records a timeout the
    #: watchdog sees (callback_app.deadline), so that the route itself touches no adapter.
    open_start: Callable[[], Start | None] | None = field(default=None, repr=False)
    on_deadline: Callable[[], None] | None = field(default=None, repr=False)
    #: The watchdog recorded this attempt `timed_out` (its late ending is then not recorded again).
    timeout_recorded: bool = False

    @property
    def scheduled_time(self) -> str | None:
        """The occurrence's scheduled time as the scheduler sent it (None for a direct invocation)."""
        return self.scheduler.scheduled_time_raw

    @property
    def scheduler_attempt(self) -> int | None:
        """EventBridge Scheduler's delivery attempt (the same across Lambda's retries), when it sent one."""
        return self.scheduler.attempt

    def succeeded(self, result: Any, *, replayed: bool) -> Ending:
        """The action ran now and its result is stored, or (`replayed`) an earlier delivery's result was returned."""
        self.ending = Ending(RunOutcome.SUCCEEDED, 200, replayed=replayed, result=result)
        return self.ending

    def failed(self, exc: BaseException, *, task_id: str | None, action: str | None) -> Ending:
        """The run raised `exc`: its row of `failures()` says the status, the outcome and the words (and logs it)."""
        failure = failure_of(exc)
        words = {"task_id": task_id, "action": action, "error_type": type(exc).__name__, "error": redact(str(exc))}
        if failure.log is not None:
            logger.error(failure.log, extra={"error_type": words["error_type"], "error": words["error"]})
            logger.debug(f"{failure.log}: traceback", exc_info=exc)
        self.ending = Ending(
            failure.outcome,
            failure.status,
            detail=failure.detail.format(**words),
            error_type=type(exc).__name__,
            error_message=failure.message.format(**words),
        )
        return self.ending

    def skipped(self, exc: TaskNotLive) -> Ending:
        """The start write found the task cancelled or paused: the action did not start, and nothing retries."""
        said = f"the task was {exc}; the action did not run"
        self.ending = Ending(RunOutcome.SKIPPED, 200, detail=said, error_type="TaskNotLive", error_message=said)
        return self.ending

    def ended_for_good(self, exc: BaseException) -> Ending:
        """The occurrence failed for good without running its action now (its retry budget is spent): not retried."""
        said = redact(str(exc))
        self.ending = Ending(
            RunOutcome.FAILED, 200, detail=said, error_type=type(exc).__name__, error_message=said, final=True
        )
        return self.ending

    def answered(self, status: int, detail: str | None = None, *, error_type: str | None = None) -> Ending:
        """The run ended with an answer the route did not give (or gave otherwise): the status decides.

        A no-op when the run already ended with this status (the route said so, in more words). Otherwise
        the answer is what the caller got, so it wins: an error before the route ran (invalid data, a wrong
        path or method, a refused event), or an error of the app's after the route had returned.
        """
        if self.ending is not None and self.ending.status_code == status:
            return self.ending
        outcome = outcome_of_status(status)
        if outcome is RunOutcome.SUCCEEDED:
            self.ending = Ending(outcome, status)
        else:
            said = detail if detail is not None else f"HTTP {status}"
            self.ending = Ending(outcome, status, detail=said, error_type=error_type, error_message=said)
        return self.ending


_CURRENT: ContextVar[Run | None] = ContextVar("callback_app.run", default=None)


def current_run() -> Run | None:
    """The run of the invocation in progress; None for a request that did not come through the entry point."""
    return _CURRENT.get()


@contextmanager
def running(run: Run) -> Iterator[Run]:
    """Make `run` the current run for the duration (the app, run by Mangum, finds it with `current_run`)."""
    token = _CURRENT.set(run)
    try:
        yield run
    finally:
        _CURRENT.reset(token)


__all__ = [
    "IN_PROGRESS",
    "Ending",
    "Failure",
    "Run",
    "current_run",
    "failure_of",
    "failures",
    "outcome_of_status",
    "running",
]
