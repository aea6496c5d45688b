"""The callback function's Lambda entry point: Mangum, plus the failure semantics Mangum lacks.

EventBridge Scheduler invokes `lambda_handler` asynchronously with an API Gateway REST (v1) proxy
event; Mangum turns it into `POST /api/v1/tasks/callback` (callback_app.main). Mangum *returns* a
500 response for a failure and never raises, and a returned 500 is a successful invocation that
nothing retries, so this entry point raises for every 5xx: Lambda retries, then dead-letters.

- 2xx: done (a duplicate replays the stored result).
- 4xx: permanent; returned, logged at ERROR, counted, not retried; the event is kept in
  RejectedTaskQueue (callback_app.rejections).
- 5xx, or an event that is not a REST proxy event: raises TaskInvocationFailed / InvalidEventError.

Every line it logs carries the Lambda request id and `cold_start` (Powertools' inject_lambda_context,
its keys cleared on each invocation) and the task id as the correlation id; one `task outcome` line
per invocation (callback_app.outcome).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from mangum import Mangum

from callback_app.compat import repair_guide_body
from callback_app.ledger import Attempt, RunNotRecorded, get_run_ledger
from callback_app.main import HEALTH_PATH, RUN_ERROR, SCHEDULER_CONTEXT, app
from callback_app.observability import logger, metrics
from callback_app.outcome import RunReport, body_of, detail_of, emit_outcome, outcome_of
from callback_app.rejections import Rejection, get_rejection_queue, is_redrive
from callback_app.service import get_task_runner
from taskcore.envelope import TASK_ID_PATTERN
from taskcore.lambda_context import lambda_context
from taskcore.ledger import SCOPE_PATTERN
from taskcore.limits import MAX_TASK_EVENT_BYTES
from taskcore.proxy import TASK_SCOPE_HEADER, SchedulerContext, oversized_body_response, task_fields
from taskcore.redaction import redact
from taskcore.registry import registry

#: A bigger event cannot have come from a schedule (the scheduler creates none larger).
MAX_BODY_BYTES = MAX_TASK_EVENT_BYTES
REQUIRED_PROXY_KEYS = ("resource", "path", "httpMethod", "requestContext")
_TASK_ID = re.compile(TASK_ID_PATTERN)
_SCOPE = re.compile(SCOPE_PATTERN)
#: Initialization that happens before any request, so its work costs no request anything.
AHEAD_OF_TIME_INITIALIZATION = ("snap-start", "provisioned-concurrency")


class InvalidEventError(ValueError):
    """Raise when the invocation event is not an API Gateway REST proxy event."""


class TaskInvocationFailed(RuntimeError):
    """Raise from the entry point so Lambda retries the delivery, then sends it to the on-failure queue."""


_mangum = Mangum(app, lifespan="off")


def initialize_ahead_of_time() -> bool:
    """With SnapStart or provisioned concurrency, build what the first task needs during init.

    The actions, boto3, the DynamoDB client and the persistence layer then live in the snapshot
    (or the pre-initialized environment) instead of the first invocation's time. On-demand
    initialization stays lazy: there it would only move the same time from the first invocation
    into init.
    """
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") not in AHEAD_OF_TIME_INITIALIZATION:
        return False
    registry.names()
    get_task_runner()
    return True


initialize_ahead_of_time()


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point (see the module's docstring for what each status means)."""
    return _handle(event, lambda_context(context))


@logger.inject_lambda_context(clear_state=True)
def _handle(event: Any, context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    report = RunReport()
    try:
        normalized = normalize_event(event)
    except InvalidEventError as exc:
        emit_outcome(report, "failed", started, status=None, reason=str(exc))
        raise
    scheduler = report.scheduler = SchedulerContext.from_headers(normalized["headers"])
    refused = oversized_body_response(normalized, MAX_BODY_BYTES) or foreign_scope_response(scheduler)
    if refused is not None:  # refused unread: neither can have come from a schedule of the scheduler API
        _reject(report, event, context, started, status=int(refused["statusCode"]), reason=detail_of(refused))
        return refused
    report.task_id, report.action = _peek_task(normalized)
    logger.set_correlation_id(report.task_id)
    normalized[SCHEDULER_CONTEXT] = scheduler  # read once: the route takes it from here
    try:
        response: dict[str, Any] = _mangum(normalized, context)
    except Exception as exc:  # Mangum itself failed: still one outcome line, and the invocation fails
        emit_outcome(report, "failed", started, status=None, reason=f"{type(exc).__name__}: {exc}")
        raise
    if normalized["path"] == HEALTH_PATH:
        return response
    if scheduler.scheduled_time is not None:
        metrics.add_metric("TaskLateness", MetricUnit.Seconds, (started_at - scheduler.scheduled_time).total_seconds())
    try:
        _record_run(report, response, normalized, started_at)
    except RunNotRecorded as exc:
        # The invocation fails (and is retried) for the missing record, after whatever the task did.
        status = int(response.get("statusCode", 500))
        done = f"status {status}" + (f": {detail_of(response)}" if status >= 300 else "")
        reason = f"the run could not be recorded ({exc}) after {done}"
        emit_outcome(report, "failed", started, status=status, reason=reason)
        raise TaskInvocationFailed(f"task {report.task_id}: {reason}") from exc
    return _answer(report, response, event, context, started)


def _record_run(
    report: RunReport, response: Mapping[str, Any], normalized: Mapping[str, Any], started_at: datetime
) -> None:
    """Record this invocation in the task ledger (its attempt number comes back for the outcome line).

    After the action and outside the idempotent function: a replayed duplicate completes the record
    too. Raises RunNotRecorded when the write failed, so that the invocation fails and is retried.
    """
    ledger = get_run_ledger()
    if ledger is None or report.task_id is None or not _TASK_ID.fullmatch(report.task_id):
        return
    outcome = outcome_of(response)
    body = body_of(response)
    error_type, error_message = normalized.get(RUN_ERROR) or (None, None)
    if error_message is None and outcome in ("failed", "rejected"):
        error_message = detail_of(response)
    scheduler = report.scheduler or SchedulerContext()
    recorded = ledger.record(
        Attempt(
            task_id=report.task_id,
            action=report.action,
            user_id=task_fields(normalized).user_id,
            kind=scheduler.task_kind,
            scheduled_time=report.scheduled_time,
            scheduler_attempt=report.scheduler_attempt,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            outcome="succeeded" if outcome == "duplicate" else outcome,
            status_code=int(response.get("statusCode", 500)),
            replayed=outcome == "duplicate",
            result=body.get("result"),
            error_type=error_type,
            error_message=error_message,
            scope=scheduler.task_scope,
        )
    )
    report.lambda_attempt = recorded.attempts


def _answer(report: RunReport, response: dict[str, Any], event: Any, context: Any, started: float) -> dict[str, Any]:
    """Log the outcome, keep a rejection, and raise for a failure: what Mangum's response means to Lambda."""
    status = int(response.get("statusCode", 500))
    outcome = outcome_of(response)
    if outcome == "rejected":
        _reject(report, event, context, started, status=status, reason=detail_of(response))
        return response
    reason = detail_of(response) if outcome == "failed" else None
    emit_outcome(report, outcome, started, status=status, reason=reason)
    if outcome == "failed":
        raise TaskInvocationFailed(f"task {report.task_id or '(unknown)'} failed with status {status}: {reason}")
    return response


def _reject(report: RunReport, received: Any, context: Any, started: float, *, status: int, reason: str) -> None:
    """Keep a rejected task's event with its reason, then its outcome line; raise when it cannot be kept.

    A 4xx is never retried, so the record is the event's only copy: if it cannot be written, the
    invocation fails, and Lambda's retries (and finally CallbackFailureQueue) keep the event instead.
    A redrive (the invoker keeps the letter it replays) writes no second copy.
    """
    if not is_redrive(context):
        rejection = Rejection(
            received, status, reason, report.task_id, report.action, report.scheduled_time, report.lambda_attempt
        )
        try:
            get_rejection_queue().keep(rejection, context)
        except Exception as exc:
            why = f"rejected ({status}: {reason}) and could not be kept: {type(exc).__name__}: {redact(str(exc))}"
            emit_outcome(report, "failed", started, status=status, reason=why)
            raise TaskInvocationFailed(f"task {report.task_id or '(unknown)'} was {why}") from exc
    emit_outcome(report, "rejected", started, status=status, reason=reason)


def foreign_scope_response(scheduler: SchedulerContext) -> dict[str, Any] | None:
    """A 422 proxy response for an `X-Task-Scope` the scheduler API never issues, else None.

    The scope names the task's partition of the ledger and is part of the idempotency key: a malformed one
    must neither run the task under another key nor record it anywhere.
    """
    if scheduler.task_scope is None or _SCOPE.fullmatch(scheduler.task_scope):
        return None
    detail = f"{TASK_SCOPE_HEADER}: not a task scope the scheduler API issues (16 of a-z and 2-7); the task was not run"
    return {
        "statusCode": 422,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "body": json.dumps({"detail": detail}),
        "isBase64Encoded": False,
    }


def normalize_event(event: Any) -> dict[str, Any]:
    """Check that `event` is a REST v1 proxy event; header values as strings, the guide's dict body encoded."""
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"expected an API Gateway REST proxy event (a JSON object), got {type(event).__name__}")
    missing = [key for key in REQUIRED_PROXY_KEYS if key not in event]
    if missing:
        raise InvalidEventError(
            f"not an API Gateway REST proxy event: missing {', '.join(missing)} "
            f"(schedules must target this function with the proxy event as Target.Input)"
        )
    if not isinstance(event["path"], str) or not isinstance(event["httpMethod"], str):
        raise InvalidEventError("not an API Gateway REST proxy event: `path` and `httpMethod` must be strings")
    if not isinstance(event["requestContext"], Mapping):
        raise InvalidEventError("not an API Gateway REST proxy event: `requestContext` must be an object")
    headers = event.get("headers")
    repaired = {
        **event,
        "headers": {str(k): str(v) for k, v in headers.items()} if isinstance(headers, Mapping) else {},
    }
    body = repaired.get("body")
    if body is not None and not isinstance(body, (str, dict, list)):
        raise InvalidEventError(f"`body` must be a string, an object or null, got {type(body).__name__}")
    return repair_guide_body(repaired)


def _peek_task(event: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Task id and action, for logs and metrics before (or without) validation (bounded: they are logged)."""
    fields = task_fields(event)
    return (fields.task_id or "")[:64] or None, (fields.action or "")[:128] or None
