"""The account's schedule-count quota is not throttling: a 507 that says so, never retried, logged for an alarm.

EventBridge Scheduler answers `ServiceQuotaExceededException` both when a request *rate* quota is hit
(retry later) and when the account holds as many schedules as its "Number of schedules" quota allows
(no retry helps until schedules are deleted or the quota is raised). The error carries only a message:
the rule in scheduler_app.adapters.eventbridge.schedule_count_full reads it (docs/api.md, "AWS errors").
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from scheduler_app.adapters.eventbridge import schedule_count_full
from tests.scheduler.helpers import Clock, FaultInjector, task

FULL = "You have exceeded the maximum number of schedules allowed for your account"


@pytest.mark.parametrize(
    ("message", "operation", "full"),
    [
        (FULL, "CreateSchedule", True),
        ("Schedule quota exceeded", "CreateSchedule", True),
        ("The number of schedules has reached its limit of 10000000", "CreateSchedule", True),
        ("Rate exceeded", "CreateSchedule", False),
        ("Request rate for CreateSchedule exceeds the quota of schedules per second", "CreateSchedule", False),
        ("Too many requests", "CreateSchedule", False),
        ("Service quota exceeded", "CreateSchedule", False),  # names no count of schedules: throttling
        (FULL, "UpdateSchedule", False),  # only a create adds a schedule
        ("", "CreateSchedule", False),
    ],
)
def test_only_a_create_whose_message_names_the_number_of_schedules_is_the_count_quota(
    message: str, operation: str, full: bool
) -> None:
    assert schedule_count_full("ServiceQuotaExceededException", operation, message) is full
    assert schedule_count_full("ThrottlingException", operation, message) is False


def test_a_full_schedule_quota_is_a_507_that_keeps_nothing_and_frees_the_id(
    api: Any, faults: FaultInjector, schedules: Any
) -> None:
    faults.fail("CreateSchedule", "ServiceQuotaExceededException", FULL, times=1, status=402)

    refused = api.post("/api/v1/schedules", json=task("q-full", delay_minutes=5))

    assert refused.status_code == 507
    assert refused.json() == {
        "detail": "EventBridge Scheduler refused CreateSchedule: the account's quota of schedules in this region is "
        "full (ServiceQuotaExceededException); nothing was created. Retrying does not help: delete unused "
        "schedules or ask AWS for a higher 'Number of schedules' quota",
        "code": "schedule_quota_full",
    }
    assert "Retry-After" not in refused.headers
    assert schedules() == []
    assert api.get("/api/v1/schedules/q-full").status_code == 404  # the claim was forgotten
    assert api.post("/api/v1/schedules", json=task("q-full", delay_minutes=5)).status_code == 201


def test_a_rate_quota_is_still_a_retryable_429(api: Any, faults: FaultInjector) -> None:
    faults.fail("CreateSchedule", "ServiceQuotaExceededException", "Rate exceeded", status=402)

    response = api.post("/api/v1/schedules", json=task("q-rate", delay_minutes=5))

    assert (response.status_code, response.json()["code"]) == (429, "throttled")
    assert response.headers["Retry-After"] == "1"


def test_a_batch_does_not_back_off_on_a_full_schedule_quota(api: Any, clock: Clock, faults: FaultInjector) -> None:
    faults.fail("CreateSchedule", "ServiceQuotaExceededException", FULL, status=402)
    items = [task(f"q-batch-{i}", delay_minutes=5) for i in range(3)]

    body = api.post("/api/v1/schedules/batch", json={"items": items}).json()

    assert [(item["status"], item["body"]["code"]) for item in body["items"]] == [(507, "schedule_quota_full")] * 3
    assert faults.calls["CreateSchedule"] == 3  # one call per item: no retry
    assert clock.sleeps == []


def test_a_full_schedule_quota_logs_one_error_line_an_alarm_can_match(
    api: Any, faults: FaultInjector, caplog: pytest.LogCaptureFixture
) -> None:
    faults.fail("CreateSchedule", "ServiceQuotaExceededException", FULL, status=402)

    with caplog.at_level(logging.INFO):
        api.post("/api/v1/schedules", json=task("q-log", delay_minutes=5))

    (line,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert line.getMessage() == "schedule quota full"
    assert (line.error_code, line.operation, line.task_id) == (  # type: ignore[attr-defined]
        "schedule_quota_full",
        "CreateSchedule",
        None,
    )
    # AWS's own text (it can name the account) stays in the WARNING line that every AWS error gets.
    assert FULL not in str(line.__dict__)
