"""AWS errors are mapped, never a bare 500: 409, 404, 429 with Retry-After, 422 with AWS's message, 502."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from tests.scheduler.helpers import FaultInjector, task


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (
            "ThrottlingException",
            429,
            "EventBridge Scheduler is throttling CreateSchedule (ThrottlingException: boom); retry later",
        ),
        ("ServiceQuotaExceededException", 429, "(ServiceQuotaExceededException: boom)"),
        ("ValidationException", 422, "EventBridge Scheduler rejected CreateSchedule: boom"),
        ("InternalServerException", 502, "EventBridge Scheduler failed internally on CreateSchedule: boom"),
        ("AccessDeniedException", 502, "EventBridge Scheduler CreateSchedule failed: AccessDeniedException: boom"),
        (
            "ResourceNotFoundException",
            502,
            "EventBridge Scheduler CreateSchedule failed: ResourceNotFoundException: boom",
        ),
    ],
)
def test_create_maps_aws_errors(
    api: Any, faults: FaultInjector, schedules: Any, code: str, status: int, expected: str
) -> None:
    faults.fail("CreateSchedule", code, "boom")

    response = api.post("/api/v1/schedules", json=task("t-aws", delay_minutes=5))

    assert response.status_code == status
    assert expected in response.json()["detail"]
    assert schedules() == []


def test_throttling_answers_retry_after(api: Any, faults: FaultInjector, monkeypatch: pytest.MonkeyPatch) -> None:
    faults.fail("GetSchedule", "ThrottlingException", "Rate exceeded")

    response = api.get("/api/v1/schedules/anything")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


def test_unreachable_scheduler_is_a_502_with_a_message(api: Any, faults: FaultInjector) -> None:
    faults.raise_("CreateSchedule", EndpointConnectionError(endpoint_url="https://scheduler.us-east-1.amazonaws.com"))

    response = api.post("/api/v1/schedules", json=task("t-net", delay_minutes=5))

    assert response.status_code == 502
    assert response.json()["detail"].startswith(
        "EventBridge Scheduler CreateSchedule failed: Could not connect to the endpoint URL"
    )


def test_a_timed_out_read_is_a_502(api: Any, faults: FaultInjector) -> None:
    faults.raise_("GetSchedule", ReadTimeoutError(endpoint_url="https://scheduler"))

    response = api.get("/api/v1/schedules/t-slow")

    assert response.status_code == 502
    assert response.json()["detail"].startswith("EventBridge Scheduler GetSchedule failed: Read timeout")


def test_a_conflict_while_updating_is_a_409(api: Any, faults: FaultInjector) -> None:
    api.post("/api/v1/schedules", json=task("t-busy", delay_minutes=30))
    faults.fail("UpdateSchedule", "ConflictException", "Schedule is being modified")

    response = api.post("/api/v1/schedules/t-busy/pause")

    assert response.status_code == 409
    assert (
        response.json()["detail"]
        == "EventBridge Scheduler reported a conflict on UpdateSchedule: Schedule is being modified"
    )


def test_a_create_conflict_for_a_schedule_that_vanished_meanwhile_is_a_409(api: Any, faults: FaultInjector) -> None:
    faults.fail("CreateSchedule", "ConflictException", "already exists")

    response = api.post("/api/v1/schedules", json=task("t-vanished", delay_minutes=5))

    assert response.status_code == 409
    assert response.json()["detail"] == "task 't-vanished' changed while it was being scheduled; retry"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ResourceNotFoundException", 404),
        ("ThrottlingException", 429),
        ("InternalServerException", 502),
        ("AccessDeniedException", 502),
    ],
)
def test_delete_tells_not_found_from_failed(api: Any, faults: FaultInjector, code: str, status: int) -> None:
    faults.fail("DeleteSchedule", code, "boom")

    assert api.delete("/api/v1/schedules/t-del").status_code == status


def test_list_errors_are_mapped(api: Any, faults: FaultInjector) -> None:
    faults.fail("ListSchedules", "ValidationException", "Invalid NextToken")

    response = api.get("/api/v1/schedules")

    assert response.status_code == 422
    assert response.json()["detail"] == "EventBridge Scheduler rejected ListSchedules: Invalid NextToken"
