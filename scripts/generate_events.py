"""Regenerate the proxy-event fixtures in events/ from the shared builder.

    .venv/bin/python scripts/generate_events.py

The tests check that the committed fixtures equal what this prints, so the fixtures that
`sam local invoke -e` and the docs use cannot drift from what the scheduler really sends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from taskcore.envelope import TaskEnvelope
from taskcore.proxy import build_target_input, delivered_event

ROOT = Path(__file__).resolve().parent.parent

GROUP_ARN = "arn:aws:scheduler:ap-northeast-2:123456789012:schedule/scheduled-tasks-tasks"


def delivered(
    envelope: TaskEnvelope, scheduled: datetime, execution_id: str, attempt: int = 1, kind: str = "one-time"
) -> dict[str, Any]:
    """The event as the callback receives it: the schedule's Input with the context substituted."""
    return delivered_event(
        build_target_input(envelope, kind=kind),
        schedule_arn=f"{GROUP_ARN}/{envelope.task_id}",
        scheduled_time=scheduled,
        execution_id=execution_id,
        attempt=attempt,
    )


def fixtures() -> dict[str, dict[str, Any]]:
    """File name -> event."""
    reminder = TaskEnvelope(
        task_id="payment-reminder-42",
        user_id=456,
        action="send_notification",
        data={"payment_id": "pay_42", "notification_type": "payment_expiration", "expires_at": "2026-12-01T15:30:00Z"},
    )
    report = TaskEnvelope(task_id="daily-report", user_id=0, action="generate_daily_report", data={})
    unknown = delivered(reminder, datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "9e2d7f10-3a4b-4c5d-8e6f-7a8b9c0d1e2f")
    body = json.loads(unknown["body"])
    body.update(task_id="typo-task", action="send_notificaton")
    unknown["body"] = json.dumps(body, separators=(",", ":"))
    return {
        "callback.json": delivered(
            reminder, datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "6f1c3c2e-4b8e-4d53-9a39-2f7a1b0d5c11"
        ),
        "callback-recurring.json": delivered(
            report, datetime(2026, 12, 2, 0, 0, tzinfo=UTC), "0b8d5e9a-7c61-4f2e-8a0e-5d9c3b2a1f70", kind="recurring"
        ),
        # The guide's own payload, as its generate_lambda_proxy_payload() builds it: `body` is a dict.
        "callback-dict-body.json": {
            "body": {
                "task_id": "welcome-email-456",
                "user_id": 456,
                "action": "send_notification",
                "data": {"email": "user@example.com", "template": "welcome", "language": "ko"},
            },
            "resource": "/{proxy+}",
            "path": "/api/v1/tasks/callback",
            "httpMethod": "POST",
            "isBase64Encoded": False,
            "pathParameters": {"proxy": "api/v1/tasks/callback"},
            "queryStringParameters": {},
            "headers": {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
            "requestContext": {
                "path": "/api/v1/tasks/callback",
                "resourcePath": "/{proxy+}",
                "httpMethod": "POST",
                "requestId": "req-1a2b3c4d",
                "stage": "prod",
            },
        },
        "callback-unknown-action.json": unknown,
        "health.json": {
            "resource": "/health",
            "path": "/health",
            "httpMethod": "GET",
            "headers": {"accept": "application/json"},
            "queryStringParameters": None,
            "pathParameters": None,
            "body": None,
            "isBase64Encoded": False,
            "requestContext": {
                "resourcePath": "/health",
                "httpMethod": "GET",
                "path": "/scheduler/health",
                "stage": "scheduler",
                "requestId": "health-check-1",
                "identity": {"sourceIp": "127.0.0.1"},
            },
        },
    }


def render(event: dict[str, Any]) -> str:
    """The committed form of a fixture."""
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name, event in fixtures().items():
        (ROOT / "events" / name).write_text(render(event), encoding="utf-8")
        print(f"wrote events/{name}")
