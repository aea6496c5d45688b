"""Then say what happened: a run's ending recorded, a rejected task kept, one outcome line, a failure raised.

The second half of the callback's use case (callback_app.run has the first). After Mangum returns,
the entry point hands the run and its ending here:

- the task ledger records the invocation (callback_app.ledger), and counts it (`lambda_attempt`);
- a rejection (4xx) keeps the event in RejectedTaskQueue with its reason (callback_app.rejections);
- `task outcome`, one JSON line, carries the task id (also the correlation id), the action, the
  scheduled time, both attempt numbers, the outcome, the status and the duration, and for
  `rejected`/`failed` the reason; never the task's data (docs/operating.md);
- a failure raises TaskInvocationFailed, so that Lambda retries, then dead-letters the event.
"""

from __future__ import annotations

import re
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from callback_app.errors import RunNotRecorded, TaskInvocationFailed
from callback_app.ledger import Attempt, get_run_ledger
from callback_app.observability import logger, metrics
from callback_app.rejections import Rejection, get_rejection_queue, is_redrive
from callback_app.run import Ending, Run
from callback_app.start import Start
from taskcore.clock import utcnow
from taskcore.envelope import TASK_ID_PATTERN
from taskcore.redaction import redact
from taskcore.registry import registry
from taskcore.states import RunOutcome, TimingKind, timestamp

#: Outcome -> its CloudWatch metric.
OUTCOME_METRIC = {
    RunOutcome.SUCCEEDED: "TaskSucceeded",
    RunOutcome.DUPLICATE: "TaskDuplicate",
    RunOutcome.REJECTED: "TaskRejected",
    RunOutcome.FAILED: "TaskFailed",
    RunOutcome.SKIPPED: "TaskSkipped",
    RunOutcome.TIMED_OUT: "TaskTimedOut",
}
#: The outcomes Lambda retries (the invocation fails), unless the ending is final.
RETRIED = (RunOutcome.FAILED, RunOutcome.TIMED_OUT)
#: The name the benchmark's Powertools-resolver baseline (bench/baselines) builds its outcome line from.
RunReport = Run
_TASK_ID = re.compile(TASK_ID_PATTERN)


def conclude(run: Run, ending: Ending, event: Any, context: Any) -> None:
    """Record the run, keep a rejected task's event, write the outcome line; raise TaskInvocationFailed for a failure.

    A run that cannot be recorded fails the invocation (and is retried), after whatever the task did.
    """
    try:
        record(run, ending)
    except RunNotRecorded as exc:
        status = ending.status_code
        done = f"status {status}" + (f": {ending.detail}" if status >= 300 else "")
        reason = f"the run could not be recorded ({exc}) after {done}"
        emit_outcome(run, RunOutcome.FAILED, status=status, reason=reason)
        raise TaskInvocationFailed(f"task {run.task_id}: {reason}") from exc
    if ending.outcome is RunOutcome.REJECTED:
        keep_rejected(run, ending, event, context)
        return
    failed = ending.outcome in RETRIED or ending.outcome is RunOutcome.SKIPPED
    emit_outcome(run, ending.reported, status=ending.status_code, reason=ending.detail if failed else None)
    if ending.outcome in RETRIED and not ending.final:
        raise TaskInvocationFailed(
            f"task {run.task_id or '(unknown)'} failed with status {ending.status_code}: {ending.detail}"
        )


def start_of(run: Run) -> Start | None:
    """The start write of the run's attempt (callback_app.start); None without a ledger or a valid task id."""
    ledger = get_run_ledger()
    if ledger is None or run.task_id is None or not _TASK_ID.fullmatch(run.task_id):
        return None
    start = Start(
        ledger_table=ledger.table_name,
        task_id=run.task_id,
        scope=run.scheduler.task_scope,
        scheduled_time=run.scheduled_time,
        scheduler_attempt=run.scheduler_attempt,
        started_at=timestamp(run.started_at),
        request_id=getattr(run.lambda_context, "aws_request_id", None),
        expiration=int(run.started_at.timestamp()) + ledger.retention_seconds,
        kind=run.scheduler.task_kind,
        quota=run.scheduler.task_quota,
    )
    task_id = run.task_id
    start.end = lambda result: ledger.end_items(
        attempt_of(run, task_id, Ending(RunOutcome.SUCCEEDED, 200, result=result))
    )
    return start


def record_timed_out(run: Run) -> None:
    """The watchdog's write (callback_app.deadline): the attempt timed out, recorded before Lambda kills it."""
    said = "the attempt's deadline passed before the action returned"
    ending = Ending(
        RunOutcome.TIMED_OUT, 504, detail=said, error_type="ActionTimedOut", error_message=f"timed out: {said}"
    )
    try:
        record(run, ending)
    except RunNotRecorded as exc:
        logger.error("timed-out attempt could not be recorded", extra={"error": str(exc)})
        return
    run.timeout_recorded = True


def record(run: Run, ending: Ending) -> None:
    """Record this invocation in the task ledger; its attempt number comes back for the outcome line.

    After the action and outside the idempotent function, so a replayed duplicate completes the record
    too. Nothing to record without a ledger or without a valid task id. Raises RunNotRecorded.
    """
    ledger = get_run_ledger()
    if ledger is None or run.task_id is None or not _TASK_ID.fullmatch(run.task_id):
        return
    if run.start is not None and run.start.ended and ending.outcome is RunOutcome.SUCCEEDED and not ending.replayed:
        run.lambda_attempt = run.start.attempts  # the end transaction recorded it with the result
        return
    if run.timeout_recorded and ending.outcome is RunOutcome.TIMED_OUT:  # the watchdog wrote it at the deadline
        run.lambda_attempt = run.start.attempts if run.start is not None else None
        return
    run.lambda_attempt = ledger.record(attempt_of(run, run.task_id, ending)).attempts


def attempt_of(run: Run, task_id: str, ending: Ending) -> Attempt:
    """The ledger's record of the run's attempt (of task `task_id`, already checked), ended with `ending`."""
    kind = run.scheduler.task_kind
    return Attempt(
        task_id=task_id,
        action=run.action,
        user_id=run.user_id,
        kind=TimingKind(kind) if kind is not None else None,
        scheduled_time=run.scheduled_time,
        scheduler_attempt=run.scheduler_attempt,
        started_at=run.started_at,
        finished_at=utcnow(),
        outcome=ending.outcome,
        status_code=ending.status_code,
        replayed=ending.replayed,
        result=ending.result,
        error_type=ending.error_type,
        error_message=ending.error_message,
        scope=run.scheduler.task_scope,
        counted=run.start.attempts if run.start is not None else None,
        final=ending.final,
        quota=run.start.quota if run.start is not None else run.scheduler.task_quota,
    )


def keep_rejected(run: Run, ending: Ending, received: Any, context: Any) -> None:
    """Keep a rejected task's event with its reason, then its outcome line; raise when it cannot be kept.

    A 4xx is never retried, so the record is the event's only copy: if it cannot be written, the
    invocation fails, and Lambda's retries (and finally CallbackFailureQueue) keep the event instead.
    A redrive (the invoker keeps the letter it replays) writes no second copy.
    """
    status, reason = ending.status_code, ending.detail or f"HTTP {ending.status_code}"
    if not is_redrive(context):
        rejection = Rejection(received, status, reason, run.task_id, run.action, run.scheduled_time, run.lambda_attempt)
        try:
            get_rejection_queue().keep(rejection, context)
        except Exception as exc:
            why = f"rejected ({status}: {reason}) and could not be kept: {type(exc).__name__}: {redact(str(exc))}"
            emit_outcome(run, RunOutcome.FAILED, status=status, reason=why)
            raise TaskInvocationFailed(f"task {run.task_id or '(unknown)'} was {why}") from exc
    emit_outcome(run, RunOutcome.REJECTED, status=status, reason=reason)


def emit_outcome(run: Run, outcome: RunOutcome, *, status: int | None, reason: str | None) -> None:
    """The one outcome line of an invocation, and its metric.

    The metric is flushed here, not by Powertools' `log_metrics`: that would flush after the line
    anyway, and warn "no metrics" on every health check, which has no outcome.
    """
    fields: dict[str, Any] = {
        "task_id": run.task_id,
        "action": run.action,
        "scheduled_time": run.scheduled_time,
        "scheduler_attempt": run.scheduler_attempt,
        "lambda_attempt": run.lambda_attempt,
        "outcome": outcome,
        "status_code": status,
        "duration_ms": round((time.perf_counter() - run.started) * 1000, 3),
    }
    if reason:
        fields["reason"] = reason
    if outcome in (RunOutcome.REJECTED, RunOutcome.FAILED, RunOutcome.TIMED_OUT):
        logger.error("task outcome", extra=fields)
    else:
        logger.info("task outcome", extra=fields)
    if run.action in registry:
        metrics.add_dimension("action", str(run.action))
    metrics.add_metric(OUTCOME_METRIC[outcome], MetricUnit.Count, 1)
    metrics.flush_metrics()


__all__ = [
    "OUTCOME_METRIC",
    "RunReport",
    "conclude",
    "emit_outcome",
    "keep_rejected",
    "record",
    "record_timed_out",
    "start_of",
]
