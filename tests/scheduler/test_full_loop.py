"""The whole loop, as EventBridge Scheduler would run it: API -> schedule -> Target.Input -> callback.

Create through the API, read the schedule's `Target.Input` back from moto, substitute the context
attributes the way the scheduler does at each invocation, and hand the event to the callback's
real Lambda entry point: 200, and an idempotency record for the occurrence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from taskcore.expressions import fire_times, local_to_utc, parse_expression
from taskcore.proxy import delivered_event
from tests.scheduler.helpers import Clock, task


def deliver(
    scheduler: Any, group: str, name: str, callback: Callable[..., dict[str, Any]], *, at: datetime, attempt: int = 1
) -> dict[str, Any]:
    """Invoke the callback with the schedule's Input, as EventBridge Scheduler does for the occurrence `at`."""
    schedule = scheduler.get_schedule(Name=name, GroupName=group)
    event = delivered_event(
        schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at, attempt=attempt
    )
    assert schedule["Target"]["Arn"].endswith(":function:CallbackFunction")
    return callback(event)


def test_one_time_task_runs_once_through_the_callback(
    api: Any, scheduler: Any, group: str, callback: Any, idempotency_records: Any
) -> None:
    created = api.post("/api/v1/schedules", json=task("loop-once", delay_minutes=5))
    assert created.status_code == 201
    expression = parse_expression(scheduler.get_schedule(Name="loop-once", GroupName=group)["ScheduleExpression"])
    at = local_to_utc(expression.moment, "UTC")  # type: ignore[union-attr]
    assert at is not None
    assert at.isoformat().replace("+00:00", "Z") == created.json()["next_run_at"]

    first = deliver(scheduler, group, "loop-once", callback, at=at)
    redelivered = deliver(scheduler, group, "loop-once", callback, at=at, attempt=2)

    assert first["statusCode"] == 200
    assert json.loads(first["body"])["success"] is True
    assert json.loads(first["body"])["duplicate"] is False
    assert redelivered["statusCode"] == 200
    assert json.loads(redelivered["body"])["duplicate"] is True
    records = idempotency_records()
    assert len(records) == 1
    assert records[0]["status"] == "COMPLETED"


def test_each_occurrence_of_a_recurring_task_runs_once(
    api: Any, scheduler: Any, group: str, callback: Any, idempotency_records: Any, clock: Clock
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set(now)
    api.post(
        "/api/v1/schedules",
        json={
            "task_id": "loop-daily",
            "user_id": 0,
            "action": "generate_daily_report",
            "cron": "cron(0 9 * * ? *)",
            "timezone": "Asia/Seoul",
        },
    )
    schedule = scheduler.get_schedule(Name="loop-daily", GroupName=group)
    day_one, day_two = fire_times(
        parse_expression(schedule["ScheduleExpression"]),
        after=now,
        until=now + timedelta(days=2),
        timezone=schedule["ScheduleExpressionTimezone"],
    )

    responses = [
        deliver(scheduler, group, "loop-daily", callback, at=day_one),
        deliver(scheduler, group, "loop-daily", callback, at=day_two),
        deliver(scheduler, group, "loop-daily", callback, at=day_two, attempt=3),
    ]

    assert [r["statusCode"] for r in responses] == [200, 200, 200]
    assert [json.loads(r["body"])["duplicate"] for r in responses] == [False, False, True]
    reports = [json.loads(r["body"])["result"]["report_date"] for r in responses]
    assert reports[0] != reports[1]
    assert len(idempotency_records()) == 2
