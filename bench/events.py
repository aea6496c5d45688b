"""The events the benchmark delivers: what a schedule's Target.Input becomes, and the API's requests.

Built with the project's own builder (taskcore.proxy) and the substitution EventBridge Scheduler
does, so every handler receives exactly what it would receive on AWS. Each event has its own
task id, so with idempotency enabled every invocation is a first delivery, not a replay.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEDULED_TIME = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
SCHEDULE_ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/bench/{task_id}"
DATA = {"notification_type": "payment_expiration", "payment_id": "pay_42", "expires_at": "2026-01-01T09:30:00Z"}


def callback_events(prefix: str, count: int) -> list[dict[str, Any]]:
    """`count` delivered proxy events for `send_notification` tasks `<prefix>-0`, `<prefix>-1`, ..."""
    from taskcore import TaskEnvelope, delivered_event

    envelopes = (
        TaskEnvelope(task_id=f"{prefix}-{i}", user_id=456, action="send_notification", data=DATA) for i in range(count)
    )
    return [
        delivered_event(e, schedule_arn=SCHEDULE_ARN.format(task_id=e.task_id), scheduled_time=SCHEDULED_TIME)
        for e in envelopes
    ]


def write_events(path: Path, events: list[dict[str, Any]]) -> Path:
    """Write `events` as one JSON list (the runner reads it before its clock starts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(events), encoding="utf-8")
    return path


def api_event(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    """A REST API (v1) proxy event, as API Gateway sends the scheduler function a client's request."""
    request_context = {"resourcePath": "/{proxy+}", "httpMethod": method, "path": f"/v1{path}", "stage": "v1"}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json", "accept": "application/json"},
        "multiValueHeaders": None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            **request_context,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench"},
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def schedule_request(task_id: str) -> dict[str, Any]:
    """A one-time create request for `POST /api/v1/schedules` (and an item of the batch endpoint)."""
    return {"task_id": task_id, "user_id": 456, "action": "send_notification", "data": DATA, "delay_minutes": 30}


def create_events(prefix: str, count: int) -> list[dict[str, Any]]:
    """`count` single creates, one request each."""
    return [api_event("POST", "/api/v1/schedules", schedule_request(f"{prefix}-{i}")) for i in range(count)]


def batch_events(prefix: str, batches: int, size: int) -> list[dict[str, Any]]:
    """`batches` batch creates of `size` items each."""
    items = ([schedule_request(f"{prefix}-{b}-{i}") for i in range(size)] for b in range(batches))
    return [api_event("POST", "/api/v1/schedules/batch", {"items": batch}) for batch in items]
