"""Every task payload in the user's guide (shared/reference/seed-guide-eventbridge-scheduler-lambda-proxy.md).

Transcribed as the guide writes them, in the order it shows them, with the guide's line. The guide's
Python examples use variables from the caller's backend (`payment_id`, `user_id`, `user_email`,
`resource_id`); they get the values such a backend has: integer ids, as in most databases.
`guide_event` builds the event the guide's own `generate_lambda_proxy_payload` makes (a dict body).
"""

from __future__ import annotations

import json
from typing import Any

#: What the guide's examples take from the calling backend: integer primary keys and an address.
payment_id = 90210
user_id = 456
user_email = "kim.minsu@example.com"
resource_id = 7781

#: (guide line, callback body). The bodies the guide schedules, each as its `callback_body=` or JSON.
GUIDE_TASKS: list[tuple[int, dict[str, Any]]] = [
    (  # the `schedule_task` router docstring
        491,
        {
            "task_id": "task-123",
            "user_id": 456,
            "action": "send_notification",
            "data": {"notification_type": "reminder", "message": "Your task is ready"},
        },
    ),
    (  # test_lambda.py, the local test of the callback
        638,
        {"task_id": "test-123", "user_id": 456, "action": "send_notification", "data": {"message": "Hello"}},
    ),
    (  # test 3: curl POST /api/v1/scheduler/schedule
        706,
        {
            "task_id": "task-123",
            "user_id": 456,
            "action": "send_notification",
            "data": {"notification_type": "reminder", "message": "Test message"},
        },
    ),
    (  # example 1: payment-expiry reminder
        750,
        {
            "task_id": f"payment-reminder-{payment_id}",
            "user_id": user_id,
            "action": "send_notification",
            "data": {
                "payment_id": payment_id,
                "notification_type": "payment_expiration",
                "expires_at": "2025-10-23T15:30:00Z",
            },
        },
    ),
    (  # example 2: welcome mail
        773,
        {
            "task_id": f"welcome-email-{user_id}",
            "user_id": user_id,
            "action": "send_notification",
            "data": {"email": user_email, "template": "welcome", "language": "ko"},
        },
    ),
    (  # example 3: clean up a temporary resource
        796,
        {
            "task_id": f"cleanup-{resource_id}",
            "user_id": user_id,
            "action": "cleanup",
            "data": {
                "resource_id": resource_id,
                "resource_type": "temp_file",
                "s3_bucket": "temp-storage",
                "s3_key": f"temp/{resource_id}",
            },
        },
    ),
    (  # the recurring daily report
        956,
        {"task_id": "daily-report", "user_id": 0, "action": "generate_daily_report", "data": {}},
    ),
]

#: The guide's test_event.json for `aws lambda invoke`, as written (a string body, no X-Scheduler-* headers).
GUIDE_TEST_EVENT: dict[str, Any] = {
    "body": ('{"task_id": "test-123", "user_id": 456, "action": "send_notification", "data": {"message": "Hello"}}'),
    "resource": "/{proxy+}",
    "path": "/api/v1/tasks/callback",
    "httpMethod": "POST",
    "isBase64Encoded": False,
    "pathParameters": {"proxy": "api/v1/tasks/callback"},
    "queryStringParameters": {},
    "headers": {"Content-Type": "application/json"},
    "requestContext": {"path": "/api/v1/tasks/callback", "httpMethod": "POST"},
}


def guide_event(body: dict[str, Any], *, path: str = "api/v1/tasks/callback") -> dict[str, Any]:
    """The event the guide's `generate_lambda_proxy_payload(path, "POST", body)` returns: `body` stays a dict."""
    clean = path.lstrip("/")
    return {
        "body": json.loads(json.dumps(body)),
        "resource": "/{proxy+}",
        "path": f"/{clean}",
        "httpMethod": "POST",
        "isBase64Encoded": False,
        "pathParameters": {"proxy": clean},
        "queryStringParameters": {},
        "headers": {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
        "requestContext": {
            "path": f"/{clean}",
            "resourcePath": "/{proxy+}",
            "httpMethod": "POST",
            "requestId": "req-1a2b3c4d",
            "stage": "prod",
        },
    }
