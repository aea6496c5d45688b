"""The callback function's FastAPI app and its Lambda entry point.

EventBridge Scheduler invokes `lambda_handler` asynchronously with an API Gateway REST (v1) proxy
event. Mangum turns it into `POST /api/v1/tasks/callback`. Mangum *returns* a 500 response for a
failure and never raises, and a returned 500 is a successful invocation that nothing retries, so
the entry point raises for every 5xx: Lambda then retries and finally dead-letters the event.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum
from pydantic import BaseModel, Field

from callback_app.observability import logger, metrics
from callback_app.rejections import Rejection, get_rejection_queue, is_redrive
from callback_app.service import IdempotencyStoreNotConfigured, RunReport, TaskRunner, get_task_runner
from taskcore.envelope import TaskEnvelope
from taskcore.limits import MAX_TASK_EVENT_BYTES
from taskcore.proxy import CALLBACK_PATH, SchedulerContext, oversized_body_response, task_fields
from taskcore.redaction import redact
from taskcore.registry import TaskRejected, registry

HEALTH_PATH = "/health"
#: A bigger event cannot have come from a schedule (the scheduler creates none larger).
MAX_BODY_BYTES = MAX_TASK_EVENT_BYTES
REQUIRED_PROXY_KEYS = ("resource", "path", "httpMethod", "requestContext")


class TaskCallbackRequest(TaskEnvelope):
    """The guide's callback request: `task_id`, `user_id`, `action`, `data`."""


class TaskCallbackResponse(BaseModel):
    """The guide's callback response, plus what the action returned."""

    success: bool
    message: str
    task_id: str
    duplicate: bool = Field(default=False, description="True when this delivery replayed an earlier result")
    result: dict[str, Any] | None = None


class InvalidEventError(ValueError):
    """Raise when the invocation event is not an API Gateway REST proxy event."""


class TaskInvocationFailed(RuntimeError):
    """Raise from the entry point so Lambda retries the delivery, then sends it to the on-failure queue."""


# The entry point owns the report; the route fills it in (contextvars reach Mangum's task by reference).
_report: ContextVar[RunReport] = ContextVar("callback_run_report")


async def task_runner() -> TaskRunner:
    """The container's runner. `async` so FastAPI calls it inline: a sync dependency would start a
    thread-pool thread on every invocation (measured: warm p50 0.9 ms -> 0.4 ms)."""
    return get_task_runner()


TaskRunnerDep = Annotated[TaskRunner, Depends(task_runner)]

app = FastAPI(
    title="Scheduled task callback",
    summary="Invoked by EventBridge Scheduler with an API Gateway proxy event; runs one task once.",
    version="1.0.0",
    # A path with a trailing slash is not the callback: 404, not a 307 that would count as done.
    redirect_slashes=False,
)


@app.exception_handler(RequestValidationError)
async def _invalid_task(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's default handler echoes each invalid input: task data in the response, and a 500 when the
    # input cannot be rendered as JSON (NaN, Infinity, a lone surrogate). Location, message and type only.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))} for e in exc.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": errors})


@app.exception_handler(IdempotencyStoreNotConfigured)
async def _store_not_configured(request: Request, exc: IdempotencyStoreNotConfigured) -> JSONResponse:
    return JSONResponse(status_code=500, content={"detail": str(exc)})


@app.get(HEALTH_PATH)
async def health() -> dict[str, Any]:
    """Liveness, and which actions this deployment can run."""
    return {"status": "ok", "service": "scheduled-tasks-callback", "actions": registry.names()}


@app.post(
    CALLBACK_PATH,
    response_model=TaskCallbackResponse,
    responses={
        422: {"description": "Permanent: unknown action, invalid data, or the action rejected the task"},
        500: {"description": "The action failed; the invocation fails and Lambda retries it"},
        503: {"description": "Another delivery is running, or the idempotency store is unavailable; retried"},
    },
)
async def handle_task_callback(
    task: TaskCallbackRequest, request: Request, runner: TaskRunnerDep
) -> TaskCallbackResponse:
    """Run the task's action once for this occurrence; a duplicate delivery replays the stored result."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
    )

    report = _report.get(None) or RunReport()
    # Read by the entry point already; parsed here only when the app is called without it (TestClient).
    scheduler = report.scheduler or SchedulerContext.from_headers(request.headers)
    try:
        # Sync on purpose: one request per container, so blocking here costs nothing, and it skips
        # the thread-pool hop that would also break Powertools' per-thread state.
        stored = runner.run(task, scheduler, report, request.scope.get("aws.context"))
    except TaskRejected as exc:
        # The action's own words may name what it worked on: redacted, as in every logged error.
        raise HTTPException(
            status_code=422, detail=f"action {task.action!r} rejected task {task.task_id!r}: {redact(str(exc))}"
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise HTTPException(
            status_code=503, detail=f"task {task.task_id!r}: this occurrence is already running in another invocation"
        ) from exc
    except IdempotencyPersistenceLayerError as exc:
        if report.executed:
            _log_failure("action ran; its result could not be recorded", exc)
            raise HTTPException(
                status_code=503,
                detail=f"action {task.action!r} ran but its result could not be recorded (idempotency store "
                "unavailable); a retry runs it again once the in-progress record expires",
            ) from exc
        _log_failure("idempotency store unavailable", exc)
        raise HTTPException(status_code=503, detail="idempotency store unavailable; the task was not run") from exc
    except Exception as exc:
        _log_failure("action failed", exc)
        raise HTTPException(status_code=500, detail=f"action {task.action!r} failed: {type(exc).__name__}") from exc

    duplicate = not report.executed
    return TaskCallbackResponse(
        success=True,
        message=f"Task {task.task_id} {'was already processed' if duplicate else 'processed successfully'}",
        task_id=task.task_id,
        duplicate=duplicate,
        result=stored.get("result"),
    )


def _log_failure(message: str, exc: BaseException) -> None:
    """The error's type and a redacted message at ERROR; the traceback only at DEBUG.

    An action's exception is written in the action's words, which may hold the data it worked on
    (an address, a payment number, a name): see taskcore.redaction.
    """
    logger.error(message, extra={"error_type": type(exc).__name__, "error": redact(str(exc))})
    logger.debug(f"{message}: traceback", exc_info=exc)


_mangum = Mangum(app, lifespan="off")

#: Initialization that happens before any request, so its work costs no request anything.
AHEAD_OF_TIME_INITIALIZATION = ("snap-start", "provisioned-concurrency")


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
    """The Lambda entry point: Mangum, plus the failure semantics Mangum lacks.

    - 2xx: done (a duplicate replays the stored result).
    - 4xx: permanent; returned, logged at ERROR, counted, not retried.
    - 5xx, or an event that is not a REST proxy event: raises, so Lambda retries and dead-letters.
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    report = RunReport()
    logger.set_correlation_id(None)  # nothing carries over from the previous invocation in this container
    received = event  # as it arrived: what a kept rejection replays
    try:
        event = normalize_event(event)
    except InvalidEventError as exc:
        _emit_outcome(report, "failed", started, status=None, reason=str(exc))
        raise

    scheduler = report.scheduler = SchedulerContext.from_headers(event.get("headers") or {})
    too_large = oversized_body_response(event, MAX_BODY_BYTES)
    if too_large is not None:  # refused unread: a body this size cannot have come from a schedule
        _reject(report, received, context, started, status=413, reason=_detail(too_large))
        return too_large
    report.task_id, report.action = _peek_task(event)
    logger.set_correlation_id(report.task_id)
    if report.task_id is not None:
        report.lambda_attempt = _count_invocation(report.task_id, scheduler)

    token = _report.set(report)
    try:
        response: dict[str, Any] = _mangum(event, context)
    except Exception as exc:  # Mangum itself failed: still one outcome line, and the invocation fails
        _emit_outcome(report, "failed", started, status=None, reason=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _report.reset(token)

    if event["path"] == HEALTH_PATH:
        return response
    status = int(response.get("statusCode", 500))
    outcome = _outcome(status, executed=report.executed)
    reason = _detail(response) if outcome in ("rejected", "failed") else None
    if scheduler.scheduled_time is not None:
        metrics.add_metric("TaskLateness", MetricUnit.Seconds, (started_at - scheduler.scheduled_time).total_seconds())
    if outcome == "rejected":
        _reject(report, received, context, started, status=status, reason=reason or f"HTTP {status}")
        return response
    _emit_outcome(report, outcome, started, status=status, reason=reason)
    if status >= 500:
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
            _emit_outcome(report, "failed", started, status=status, reason=why)
            raise TaskInvocationFailed(f"task {report.task_id or '(unknown)'} was {why}") from exc
    _emit_outcome(report, "rejected", started, status=status, reason=reason)


def _count_invocation(task_id: str, scheduler: SchedulerContext) -> int | None:
    try:
        runner = get_task_runner()
    except IdempotencyStoreNotConfigured:  # the route answers it; nothing to count in
        return None
    return runner.counter.count(task_id, scheduler) if runner.counter is not None else None


def _outcome(status: int, *, executed: bool) -> str:
    """2xx is done (run now, or replayed); 5xx failed (retried); anything else, 3xx included, rejected."""
    if status >= 500:
        return "failed"
    if not 200 <= status < 300:
        return "rejected"
    return "succeeded" if executed else "duplicate"


def normalize_event(event: Any) -> dict[str, Any]:
    """Check that `event` is a REST v1 proxy event and repair what the guide's code sends.

    The guide's payload builder puts a dict in `body`; Mangum needs a string. Schedules it
    created must still run, so a dict body is encoded here.
    """
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
    repaired = dict(event)
    headers = event.get("headers")
    repaired["headers"] = {str(k): str(v) for k, v in headers.items()} if isinstance(headers, Mapping) else {}
    body = event.get("body")
    if isinstance(body, (dict, list)):
        repaired["body"] = json.dumps(body, ensure_ascii=False)
        repaired["isBase64Encoded"] = False
        if not any(k.lower() == "content-type" for k in repaired["headers"]):
            repaired["headers"]["content-type"] = "application/json"
    elif body is not None and not isinstance(body, str):
        raise InvalidEventError(f"`body` must be a string, an object or null, got {type(body).__name__}")
    return repaired


def _peek_task(event: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Task id and action, for logs and metrics before (or without) validation (bounded: they are logged)."""
    fields = task_fields(event)
    return (fields.task_id or "")[:64] or None, (fields.action or "")[:128] or None


def _detail(response: Mapping[str, Any]) -> str:
    """The `detail` of a FastAPI error body, flattened to one line."""
    try:
        detail = json.loads(response.get("body") or "{}").get("detail")
    except (ValueError, AttributeError):
        return f"HTTP {response.get('statusCode')}"
    if isinstance(detail, list):  # request validation errors: "loc: msg; ..."
        return "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}"
            for err in detail
            if isinstance(err, dict)
        )
    return str(detail) if detail is not None else f"HTTP {response.get('statusCode')}"


_OUTCOME_METRIC = {
    "succeeded": "TaskSucceeded",
    "duplicate": "TaskDuplicate",
    "rejected": "TaskRejected",
    "failed": "TaskFailed",
}


def _emit_outcome(report: RunReport, outcome: str, started: float, *, status: int | None, reason: str | None) -> None:
    """The one outcome line of an invocation, and its metric."""
    fields: dict[str, Any] = {
        "task_id": report.task_id,
        "action": report.action,
        "scheduled_time": report.scheduled_time,
        "scheduler_attempt": report.scheduler_attempt,
        "lambda_attempt": report.lambda_attempt,
        "outcome": outcome,
        "status_code": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    if reason:
        fields["reason"] = reason
    if outcome in ("rejected", "failed"):
        logger.error("task outcome", extra=fields)
    else:
        logger.info("task outcome", extra=fields)
    if report.action in registry:
        metrics.add_dimension("action", str(report.action))
    metrics.add_metric(_OUTCOME_METRIC[outcome], MetricUnit.Count, 1)
    metrics.flush_metrics()
