"""The one outcome line of an invocation and its metric: what happened to the task, in one JSON line.

`task outcome` carries the task id (also the correlation id), the action, the scheduled time,
both attempt numbers, the outcome, the status and the duration, and for `rejected`/`failed` the
reason; never the task's data (docs/operating.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from callback_app.observability import logger, metrics
from taskcore.proxy import SchedulerContext
from taskcore.registry import registry

#: Outcome -> its CloudWatch metric.
OUTCOME_METRIC = {
    "succeeded": "TaskSucceeded",
    "duplicate": "TaskDuplicate",
    "rejected": "TaskRejected",
    "failed": "TaskFailed",
}


@dataclass
class RunReport:
    """What the entry point learns of one invocation, for its outcome line."""

    task_id: str | None = None
    action: str | None = None
    #: Read once from the delivery's headers.
    scheduler: SchedulerContext | None = None
    #: The callback's invocations for this occurrence so far, this one included (Lambda's retries count).
    lambda_attempt: int | None = None

    @property
    def scheduled_time(self) -> str | None:
        """The occurrence's scheduled time as the scheduler sent it (None for a direct invocation)."""
        return self.scheduler.scheduled_time_raw if self.scheduler else None

    @property
    def scheduler_attempt(self) -> int | None:
        """EventBridge Scheduler's delivery attempt (the same across Lambda's retries), when it sent one."""
        return self.scheduler.attempt if self.scheduler else None


def outcome_of(response: Mapping[str, Any]) -> str:
    """2xx is done (run now, or a replayed duplicate); 5xx failed (retried); anything else, 3xx too, rejected."""
    status = int(response.get("statusCode", 500))
    if status >= 500:
        return "failed"
    if not 200 <= status < 300:
        return "rejected"
    return "duplicate" if body_of(response).get("duplicate") is True else "succeeded"


def detail_of(response: Mapping[str, Any]) -> str:
    """The `detail` of an error response, one line."""
    detail = body_of(response).get("detail")
    return str(detail) if detail is not None else f"HTTP {response.get('statusCode')}"


def body_of(response: Mapping[str, Any]) -> dict[str, Any]:
    """The response's JSON object body; {} when it has none."""
    try:
        body = json.loads(response.get("body") or "{}")
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


def emit_outcome(report: RunReport, outcome: str, started: float, *, status: int | None, reason: str | None) -> None:
    """The one outcome line of an invocation, and its metric.

    The metric is flushed here, not by Powertools' `log_metrics`: that would flush after the line
    anyway, and warn "no metrics" on every health check, which has no outcome.
    """
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
    metrics.add_metric(OUTCOME_METRIC[outcome], MetricUnit.Count, 1)
    metrics.flush_metrics()
