"""The shipped example actions: each accepts the guide's payloads and returns a JSON-safe result."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from taskcore.registry import TaskContext, registry


def run(name: str, data: dict[str, Any], scheduled: datetime | None = None) -> Any:
    action = registry.get(name)
    return action.run(action.parse(data), TaskContext(task_id="t", user_id=1, action=name, scheduled_time=scheduled))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        # The guide's own examples, verbatim.
        ("send_notification", {"notification_type": "reminder", "message": "Test message"}),
        (
            "send_notification",
            {"payment_id": "p-1", "notification_type": "payment_expiration", "expires_at": "2025-10-23T15:30:00Z"},
        ),
        ("send_notification", {"email": "user@example.com", "template": "welcome", "language": "ko"}),
        ("send_notification", {"message": "Hello"}),
        (
            "cleanup",
            {"resource_id": "r-1", "resource_type": "temp_file", "s3_bucket": "temp-storage", "s3_key": "temp/r-1"},
        ),
        ("generate_daily_report", {}),
    ],
)
def test_guide_payloads_are_valid_data_for_their_actions(name, data):
    assert run(name, data) is not None


def test_process_payment_defaults_to_expiring_the_payment():
    assert run("process_payment", {"payment_id": "p-1"}) == {
        "payment_id": "p-1",
        "operation": "expire",
        "status": "done",
    }


def test_process_payment_requires_a_payment_id():
    with pytest.raises(ValidationError, match="payment_id"):
        registry.get("process_payment").parse({})


def test_daily_report_covers_the_day_before_each_occurrence():
    assert run("generate_daily_report", {}, datetime(2026, 3, 1, 0, 0, tzinfo=UTC))["report_date"] == "2026-02-28"
    assert run("generate_daily_report", {"report_date": "2026-01-01"})["report_date"] == "2026-01-01"
    assert run("generate_daily_report", {})["report_date"] < date.today().isoformat()
