"""AWS errors are mapped, never a bare 500: 409, 404, 429 with Retry-After, 422, 502, each with a precise message.

AWS's own error text names role ARNs and the account id: it goes to the function's log, never to
the caller, whose message says what failed and what to do.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from tests.scheduler.helpers import FaultInjector, task

#: What AWS really says for a missing permission: an ARN with the account id in it.
SECRET = (
    "User: arn:aws:sts::123456789012:assumed-role/stack-SchedulerFunctionRole-1A2B3C/stack-SchedulerFunction "
    "is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/stack-SchedulerInvokeRole"
)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (
            "ThrottlingException",
            429,
            "EventBridge Scheduler is throttling CreateSchedule (ThrottlingException); retry later",
        ),
        (
            "ServiceQuotaExceededException",
            429,
            "EventBridge Scheduler is throttling CreateSchedule (ServiceQuotaExceededException); retry later",
        ),
        (
            "ValidationException",
            422,
            "EventBridge Scheduler refused CreateSchedule as invalid (ValidationException); nothing was created; "
            "the reason is in the scheduler function's log",
        ),
        ("InternalServerException", 502, "EventBridge Scheduler failed internally on CreateSchedule; retry later"),
        (
            "AccessDeniedException",
            502,
            "EventBridge Scheduler refused CreateSchedule: the scheduler function is not allowed to "
            "(AccessDeniedException); its IAM role needs fixing, see its log",
        ),
        (
            "ResourceNotFoundException",
            502,
            "EventBridge Scheduler CreateSchedule failed: something the stack deploys is missing "
            "(ResourceNotFoundException), see the scheduler function's log",
        ),
        ("SomethingNewException", 502, "EventBridge Scheduler CreateSchedule failed (SomethingNewException)"),
    ],
)
def test_create_maps_aws_errors_without_repeating_their_text(
    api: Any,
    faults: FaultInjector,
    schedules: Any,
    caplog: pytest.LogCaptureFixture,
    code: str,
    status: int,
    expected: str,
) -> None:
    faults.fail("CreateSchedule", code, SECRET)

    response = api.post("/api/v1/schedules", json=task("t-aws", delay_minutes=5))

    assert response.status_code == status
    assert response.json()["detail"].startswith(expected)
    assert "123456789012" not in response.text
    assert "arn:" not in response.text
    assert schedules() == []
    logged = [r for r in caplog.records if r.getMessage() == "scheduler call failed"]
    assert [(r.operation, r.code, r.aws_message) for r in logged] == [("CreateSchedule", code, SECRET)]  # type: ignore[attr-defined]


def test_throttling_answers_retry_after(api: Any, faults: FaultInjector, monkeypatch: pytest.MonkeyPatch) -> None:
    faults.fail("GetSchedule", "ThrottlingException", "Rate exceeded")

    response = api.get("/api/v1/schedules/anything")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


def test_unreachable_scheduler_is_a_502_with_a_message(api: Any, faults: FaultInjector) -> None:
    faults.raise_("CreateSchedule", EndpointConnectionError(endpoint_url="https://scheduler.us-east-1.amazonaws.com"))

    response = api.post("/api/v1/schedules", json=task("t-net", delay_minutes=5))

    assert response.status_code == 502
    assert response.json()["detail"] == (
        "EventBridge Scheduler could not be reached for CreateSchedule (EndpointConnectionError); retry later"
    )


def test_a_timed_out_read_is_a_502(api: Any, faults: FaultInjector) -> None:
    faults.raise_("GetSchedule", ReadTimeoutError(endpoint_url="https://scheduler"))

    response = api.get("/api/v1/schedules/t-slow")

    assert response.status_code == 502
    assert response.json()["detail"] == (
        "EventBridge Scheduler could not be reached for GetSchedule (ReadTimeoutError); retry later"
    )


def test_a_conflict_while_updating_is_a_409(api: Any, faults: FaultInjector) -> None:
    api.post("/api/v1/schedules", json=task("t-busy", delay_minutes=30))
    faults.fail("UpdateSchedule", "ConflictException", "Schedule is being modified")

    response = api.post("/api/v1/schedules/t-busy/pause")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "task 't-busy' is being changed by another request (ConflictException on UpdateSchedule); retry"
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


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 429),
        ("InternalServerError", 502),
        ("AccessDeniedException", 502),
    ],
)
def test_ledger_errors_are_mapped(api: Any, ledger_faults: FaultInjector, code: str, status: int) -> None:
    ledger_faults.fail("Query", code, "arn:aws:dynamodb:us-east-1:123456789012:table/secret")

    response = api.get("/api/v1/schedules")

    assert response.status_code == status
    assert response.json()["detail"].startswith("the task ledger ")
    assert "123456789012" not in response.text
