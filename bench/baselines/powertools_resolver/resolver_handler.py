"""Baseline: the callback's work behind Powertools' APIGatewayRestResolver instead of FastAPI + Mangum.

Same service (`callback_app.service`: idempotency on DynamoDB, the registered action, tracing; the
run recorded in the task ledger by `callback_app.ledger`), the same Logger and Metrics, the same
outcome line and metric, the same failure contract (raise on 5xx).
Only the HTTP layer differs, so the difference to the callback is the cost of FastAPI + Mangum.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from pydantic import ValidationError

from callback_app.ledger import Attempt, get_run_ledger
from callback_app.observability import logger, metrics
from callback_app.outcome import RunReport
from callback_app.service import get_task_runner
from taskcore.envelope import TaskEnvelope
from taskcore.errors import describe_errors
from taskcore.proxy import CALLBACK_PATH, SchedulerContext
from taskcore.registry import TaskRejected

app = APIGatewayRestResolver()
_OUTCOME_METRIC = {"succeeded": "TaskSucceeded", "duplicate": "TaskDuplicate", "rejected": "TaskRejected"}


def _error(status: int, detail: str) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body={"detail": detail})


@app.post(CALLBACK_PATH)
def callback() -> Response[Any] | dict[str, Any]:
    """Run the task's action once for this occurrence; a duplicate delivery replays the stored result."""
    event = app.current_event
    report: RunReport = app.context["report"]
    try:
        task = TaskEnvelope.model_validate_json(event.body or "")
    except ValidationError as exc:
        return _error(422, describe_errors(exc))
    scheduler = SchedulerContext.from_headers(event.headers)
    report.task_id, report.action = task.task_id, task.action
    report.scheduler = scheduler
    runner = get_task_runner()
    started_at = datetime.now(UTC)
    try:
        ran = runner.run(task, scheduler, app.lambda_context)
    except TaskRejected as exc:
        return _error(422, f"action {task.action!r} rejected task {task.task_id!r}: {exc}")
    except (IdempotencyAlreadyInProgressError, IdempotencyPersistenceLayerError) as exc:
        return _error(503, type(exc).__name__)
    duplicate = ran.replayed
    app.append_context(replayed=duplicate)
    ledger = get_run_ledger()
    if ledger is not None:  # the callback records each invocation in the task ledger too
        report.lambda_attempt = ledger.record(
            Attempt(
                task_id=task.task_id,
                action=task.action,
                user_id=task.user_id,
                kind=scheduler.task_kind,
                scheduled_time=report.scheduled_time,
                scheduler_attempt=report.scheduler_attempt,
                started_at=started_at,
                finished_at=datetime.now(UTC),
                outcome="succeeded",
                status_code=200,
                replayed=duplicate,
                result=ran.stored.get("result"),
            )
        ).attempts
    return {
        "success": True,
        "message": f"Task {task.task_id} {'was already processed' if duplicate else 'processed successfully'}",
        "task_id": task.task_id,
        "duplicate": duplicate,
        "result": ran.stored.get("result"),
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve the proxy event; one outcome line and metric; raise on 5xx so that Lambda retries."""
    started = time.perf_counter()
    report = RunReport()
    app.append_context(report=report)
    try:
        response = app.resolve(event, context)
        replayed = bool(app.context.get("replayed"))
    finally:
        app.clear_context()
    status = int(response["statusCode"])
    outcome = "rejected" if status >= 400 else "duplicate" if replayed else "succeeded"
    logger.set_correlation_id(report.task_id)
    fields = {
        "task_id": report.task_id,
        "action": report.action,
        "scheduled_time": report.scheduled_time,
        "scheduler_attempt": report.scheduler_attempt,
        "lambda_attempt": report.lambda_attempt,
        "outcome": outcome if status < 500 else "failed",
        "status_code": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    if status >= 500:
        logger.error("task outcome", extra=fields)
        metrics.add_metric("TaskFailed", MetricUnit.Count, 1)
        metrics.flush_metrics()
        raise RuntimeError(f"task {report.task_id} failed with status {status}")
    (logger.error if status >= 400 else logger.info)("task outcome", extra=fields)
    if report.action:
        metrics.add_dimension("action", report.action)
    metrics.add_metric(_OUTCOME_METRIC[outcome], MetricUnit.Count, 1)
    metrics.flush_metrics()
    return response
