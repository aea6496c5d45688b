"""The OpenAPI document's examples: requests that work as shown (tests/scheduler/test_scheduler_app.py sends them)."""

from __future__ import annotations

from fastapi.openapi.models import Example

CREATE_EXAMPLES: dict[str, Example] = {
    "in-30-minutes": {
        "summary": "One-time, after a delay",
        "value": {
            "task_id": "payment-reminder-42",
            "user_id": 456,
            "action": "send_notification",
            "data": {"notification_type": "payment_expiration", "message": "Your payment expires soon"},
            "delay_minutes": 30,
        },
    },
    "at-a-time": {
        "summary": "One-time, at a time with its UTC offset",
        "value": {
            "task_id": "cleanup-tmp-7",
            "user_id": 456,
            "action": "cleanup",
            "data": {"resource_id": "tmp-7", "s3_bucket": "temp-storage", "s3_key": "temp/tmp-7"},
            "run_at": "2030-01-01T09:00:00+09:00",
        },
    },
    "daily-in-seoul": {
        "summary": "Recurring: every day at 09:00 Asia/Seoul",
        "value": {
            "task_id": "daily-report",
            "user_id": 0,
            "action": "generate_daily_report",
            "cron": "cron(0 9 * * ? *)",
            "timezone": "Asia/Seoul",
            "retry": {"max_attempts": 10, "max_event_age_seconds": 3600},
        },
    },
    "every-5-minutes": {
        "summary": "Recurring: a rate, within a window",
        "value": {
            "task_id": "poll-payment-9",
            "user_id": 456,
            "action": "process_payment",
            "data": {"payment_id": "pay_8f14e45f", "operation": "capture"},
            "rate": "rate(5 minutes)",
            "end_at": "2030-01-02T00:00:00Z",
            "flexible_window_minutes": 2,
        },
    },
}

PATCH_EXAMPLES: dict[str, Example] = {
    "weekdays": {
        "summary": "New timing",
        "value": {"cron": "cron(30 8 ? * MON-FRI *)", "timezone": "Asia/Seoul"},
    },
    "later": {"summary": "Postpone a one-time task", "value": {"delay_minutes": 60}},
    "data": {
        "summary": "Change one data member, remove another",
        "value": {"data": {"message": "Updated text", "language": None}},
    },
}
