"""The guide's API, through the real Lambda entry point with API Gateway REST proxy events.

The requests are the guide's own (its curl example and its router docstring); the engine under
them is the resource API's, without the guide's defects (random names, rounding, `False` for
every cancel error).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from localcloud.lambda_context import LocalLambdaContext
from scheduler_app import handler as main
from scheduler_app.handler import lambda_handler
from taskcore.registry import registry
from tests.scheduler.helpers import Clock, FaultInjector, api_event, response_json

# `curl -X POST .../api/v1/scheduler/schedule -d '{...}'`, step 3 of the guide's tests.
GUIDE_CURL_BODY = {
    "task_id": "task-123",
    "user_id": 456,
    "action": "send_notification",
    "delay_minutes": 1,
    "data": {"notification_type": "reminder", "message": "Test message"},
}
# The example in the guide's `schedule_task` docstring.
GUIDE_DOCSTRING_BODY = {
    "task_id": "task-123",
    "user_id": 456,
    "action": "send_notification",
    "delay_minutes": 30,
    "data": {"notification_type": "reminder", "message": "Your task is ready"},
}


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return lambda_handler(event, LocalLambdaContext(function_name="SchedulerFunction"))


def schedule_request(body: dict[str, Any]) -> dict[str, Any]:
    return api_event("POST", "/api/v1/scheduler/schedule", body=body, headers={"Authorization": "Bearer YOUR_TOKEN"})


def test_guide_request_answers_the_guides_response(scheduler_env: Any, group: str, scheduler: Any) -> None:
    response = invoke(schedule_request(GUIDE_CURL_BODY))

    assert response["statusCode"] == 200
    assert response_json(response) == {
        "success": True,
        "message": "Task scheduled successfully",
        "schedule_arn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/{group}/task-123",
        "task_id": "task-123",
        "scheduled_in_minutes": 1,
    }
    stored = scheduler.get_schedule(Name="task-123", GroupName=group)
    assert stored["ActionAfterCompletion"] == "DELETE"
    assert json.loads(json.loads(stored["Target"]["Input"])["body"]) == {
        k: v for k, v in GUIDE_CURL_BODY.items() if k != "delay_minutes"
    }


def test_guide_request_is_not_rounded_to_the_minute(
    scheduler_env: Any, group: str, scheduler: Any, clock: Clock, fixed_now: datetime
) -> None:
    clock.set(fixed_now)

    invoke(schedule_request(GUIDE_DOCSTRING_BODY))

    # 01:02:03.456789 + 30 min, rounded up to the whole second: never early.
    assert scheduler.get_schedule(Name="task-123", GroupName=group)["ScheduleExpression"] == "at(2030-03-14T01:32:04)"


def test_guide_request_twice_makes_one_schedule(scheduler_env: Any, schedules: Any) -> None:
    first = invoke(schedule_request(GUIDE_CURL_BODY))
    second = invoke(schedule_request(GUIDE_CURL_BODY))

    assert response_json(second)["schedule_arn"] == response_json(first)["schedule_arn"]
    assert response_json(second)["message"] == "Task already scheduled"
    assert schedules() == ["task-123"]


def test_guide_cancel_by_arn_answers_the_guides_body_then_404(scheduler_env: Any, schedules: Any) -> None:
    arn = response_json(invoke(schedule_request(GUIDE_CURL_BODY)))["schedule_arn"]

    cancelled = invoke(api_event("DELETE", f"/api/v1/scheduler/schedule/{arn}"))
    again = invoke(api_event("DELETE", f"/api/v1/scheduler/schedule/{arn}"))

    assert cancelled["statusCode"] == 200
    assert response_json(cancelled) == {
        "success": True,
        "message": "Schedule cancelled successfully",
        "schedule_arn": arn,
    }
    assert schedules() == []
    assert again["statusCode"] == 404
    assert response_json(again) == {"detail": "Schedule not found or already executed", "code": "not_found"}


def test_guide_cancel_of_a_throttled_delete_is_a_429_not_a_404(
    scheduler_env: Any, faults: FaultInjector, group: str
) -> None:
    faults.fail("DeleteSchedule", "ThrottlingException", "Rate exceeded")
    arn = f"arn:aws:scheduler:us-east-1:123456789012:schedule/{group}/task-123"

    response = invoke(api_event("DELETE", f"/api/v1/scheduler/schedule/{arn}"))

    assert response["statusCode"] == 429
    assert response["headers"]["retry-after"] == "1"


def test_guide_cancel_of_a_failed_delete_is_a_502(scheduler_env: Any, faults: FaultInjector, group: str) -> None:
    faults.fail("DeleteSchedule", "AccessDeniedException", "not authorized", status=403)
    arn = f"arn:aws:scheduler:us-east-1:123456789012:schedule/{group}/task-123"

    response = invoke(api_event("DELETE", f"/api/v1/scheduler/schedule/{arn}"))

    assert response["statusCode"] == 502
    assert "(AccessDeniedException)" in response_json(response)["detail"]
    assert "not authorized" not in response_json(response)["detail"]  # AWS's text stays in the log


def test_guide_cancel_of_another_groups_schedule_is_a_404(scheduler_env: Any) -> None:
    arn = "arn:aws:scheduler:ap-northeast-2:123456789012:schedule/default/task-abc12345"  # the guide's example

    response = invoke(api_event("DELETE", f"/api/v1/scheduler/schedule/{arn}"))

    assert response["statusCode"] == 404


def test_guide_cancel_of_something_that_is_not_a_schedule_arn_is_a_404(scheduler_env: Any) -> None:
    response = invoke(api_event("DELETE", "/api/v1/scheduler/schedule/task-123"))

    assert response["statusCode"] == 404
    assert response_json(response) == {"detail": "Schedule not found or already executed", "code": "not_found"}


@pytest.mark.parametrize(
    "foreign",
    [
        "arn:aws:scheduler:eu-west-1:123456789012:schedule/{group}/task-123",  # another region
        "arn:aws:scheduler:us-east-1:210987654321:schedule/{group}/task-123",  # another account
        "arn:aws-cn:scheduler:us-east-1:123456789012:schedule/{group}/task-123",  # another partition
        "arn:aws:scheduler:us-east-1:123456789012:schedule/{group}/task-123\n",  # a trailing newline
        "arn:aws:scheduler:us-east-1:123456789012:schedule/{group}/task-123/",  # a trailing slash
        "arn:aws:scheduler:::schedule/{group}/task-123",  # no region and account
    ],
)
def test_guide_cancel_cancels_only_this_stacks_own_schedule_arn(
    scheduler_env: Any, group: str, schedules: Any, foreign: str
) -> None:
    invoke(schedule_request(GUIDE_CURL_BODY))

    response = invoke(api_event("DELETE", f"/api/v1/scheduler/schedule/{foreign.format(group=group)}"))

    assert response["statusCode"] == 404
    assert response_json(response) == {"detail": "Schedule not found or already executed", "code": "not_found"}
    assert schedules() == ["task-123"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"delay_minutes": 0}, "delay_minutes: Input should be greater than or equal to 1"),
        ({"delay_minutes": 10081}, "delay_minutes: Input should be less than or equal to 10080"),
        ({"user_id": "abc"}, "user_id: give the user id as a JSON integer, e.g. 456"),
        ({"action": "send_notfication"}, "action: unknown action 'send_notfication'"),
        ({"task_id": "task 123"}, "task_id: String should match pattern"),
    ],
)
def test_guide_request_is_validated(scheduler_env: Any, schedules: Any, change: dict[str, Any], expected: str) -> None:
    response = invoke(schedule_request({**GUIDE_CURL_BODY, **change}))

    assert response["statusCode"] == 422
    assert response_json(response)["detail"].startswith(expected)
    assert schedules() == []


def test_health_through_the_entry_point() -> None:
    response = invoke(api_event("GET", "/health"))

    assert response["statusCode"] == 200
    assert response_json(response) == {
        "status": "ok",
        "service": "scheduled-tasks-scheduler",
        "actions": registry.names(),
    }


def test_resource_api_through_the_entry_point(scheduler_env: Any) -> None:
    created = invoke(api_event("POST", "/api/v1/schedules", body={**GUIDE_CURL_BODY, "task_id": "via-lambda"}))
    page = invoke(api_event("GET", "/api/v1/schedules", query={"limit": "10", "prefix": "via"}))

    assert created["statusCode"] == 201
    assert [item["task_id"] for item in response_json(page)["items"]] == ["via-lambda"]


def test_logs_carry_the_request_id_and_never_the_data(scheduler_env: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")

    invoke(schedule_request(GUIDE_CURL_BODY))

    created = [record for record in caplog.records if record.getMessage() == "schedule created"]
    assert len(created) == 1
    assert created[0].__dict__["task_id"] == "task-123"
    assert created[0].__dict__["action"] == "send_notification"
    assert main.logger.get_correlation_id() == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert all("Test message" not in str(record.__dict__) for record in caplog.records)
