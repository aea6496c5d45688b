"""The callback function's Lambda entry point: Mangum, plus the failure semantics Mangum lacks.

EventBridge Scheduler invokes `lambda_handler` asynchronously with an API Gateway REST (v1) proxy
event; Mangum turns it into `POST /api/v1/tasks/callback` (callback_app.main). Mangum *returns* a
500 response for a failure and never raises, and a returned 500 is a successful invocation that
nothing retries, so this entry point raises for every 5xx: Lambda retries, then dead-letters.

- 2xx: done (a duplicate replays the stored result).
- 4xx: permanent; returned, logged at ERROR, counted, not retried; the event is kept in
  RejectedTaskQueue (callback_app.rejections).
- 5xx, or an event that is not a REST proxy event: raises TaskInvocationFailed / InvalidEventError.

The invocation's run (callback_app.run) is made here, filled in by the route while Mangum runs the
app, and read here afterwards (callback_app.outcome says what happened): the response is returned as
the app gave it. Every line it logs carries the Lambda request id and `cold_start` (Powertools'
inject_lambda_context, its keys cleared on each invocation) and the task id as the correlation id;
one `task outcome` line per invocation.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from mangum import Mangum

from callback_app.backoff import within
from callback_app.compat import repair_guide_body
from callback_app.errors import InvalidEventError, TaskInvocationFailed
from callback_app.main import HEALTH_PATH, app
from callback_app.observability import logger, metrics
from callback_app.outcome import conclude, emit_outcome, keep_rejected, record_timed_out, start_of
from callback_app.run import Run, running
from callback_app.service import get_task_runner
from callback_app.settings import get_settings
from taskcore.lambda_context import lambda_context
from taskcore.ledger import SCOPE_PATTERN
from taskcore.limits import MAX_TASK_EVENT_BYTES
from taskcore.proxy import TASK_SCOPE_HEADER, SchedulerContext, oversized_body_response, task_fields
from taskcore.registry import registry
from taskcore.states import RunOutcome

#: A bigger event cannot have come from a schedule (the scheduler creates none larger).
MAX_BODY_BYTES = MAX_TASK_EVENT_BYTES
REQUIRED_PROXY_KEYS = ("resource", "path", "httpMethod", "requestContext")
_SCOPE = re.compile(SCOPE_PATTERN)
#: Initialization that happens before any request, so its work costs no request anything.
AHEAD_OF_TIME_INITIALIZATION = ("snap-start", "provisioned-concurrency")

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
    # A throttled ledger write waits while the attempt has more than its deadline's margin left (callback_app.backoff).
    with within(context, get_settings().timeout_margin_seconds):
        return _handle(event, lambda_context(context))


@logger.inject_lambda_context(clear_state=True)
def _handle(event: Any, context: Any) -> dict[str, Any]:
    run = Run(lambda_context=context)
    try:
        normalized = normalize_event(event)
    except InvalidEventError as exc:
        emit_outcome(run, RunOutcome.FAILED, status=None, reason=str(exc))
        raise
    run.scheduler = SchedulerContext.from_headers(normalized["headers"])
    refused = refusal(normalized, run.scheduler)
    if refused is not None:  # refused unread: neither can have come from a schedule of the scheduler API
        answer, detail = refused
        keep_rejected(run, run.answered(int(answer["statusCode"]), detail), event, context)
        return answer
    run.task_id, run.action, run.user_id = _peek_task(normalized)
    run.open_start, run.on_deadline = partial(start_of, run), partial(record_timed_out, run)
    logger.set_correlation_id(run.task_id)
    with running(run):  # the route says on it how the run ended
        try:
            response: dict[str, Any] = _mangum(normalized, context)
        except Exception as exc:  # Mangum itself failed: still one outcome line, and the invocation fails
            emit_outcome(run, RunOutcome.FAILED, status=None, reason=f"{type(exc).__name__}: {exc}")
            raise
    if normalized["path"] == HEALTH_PATH:
        return response
    if run.scheduler.scheduled_time is not None:
        lateness = (run.started_at - run.scheduler.scheduled_time).total_seconds()
        metrics.add_metric("TaskLateness", MetricUnit.Seconds, lateness)
    # What the caller got is what happened: the run agrees with the response's status (callback_app.run).
    conclude(run, run.answered(int(response.get("statusCode", 500))), event, context)
    return response


def refusal(event: Mapping[str, Any], scheduler: SchedulerContext) -> tuple[dict[str, Any], str] | None:
    """The response and its detail for an event refused before Mangum (too large, a foreign scope), else None."""
    refused = oversized_body_response(event, MAX_BODY_BYTES) or foreign_scope_response(scheduler)
    if refused is None:
        return None
    # The detail of an answer built a moment ago, by taskcore.proxy or just below: no response of the app.
    detail: str = json.loads(refused["body"])["detail"]
    return refused, detail


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


def _peek_task(event: Mapping[str, Any]) -> tuple[str | None, str | None, Any]:
    """Task id, action and user, for logs, metrics and the ledger before (or without) validation (the id and
    action bounded: they are logged)."""
    fields = task_fields(event)
    return (fields.task_id or "")[:64] or None, (fields.action or "")[:128] or None, fields.user_id


__all__ = [
    "InvalidEventError",
    "TaskInvocationFailed",
    "foreign_scope_response",
    "initialize_ahead_of_time",
    "lambda_handler",
    "normalize_event",
    "refusal",
]
