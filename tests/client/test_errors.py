"""Every error type, raised for what the API answers: against `make dev`'s API where it can be made to answer so
(404, 409, 422, 413, the owner's quota, throttling, a failing upstream), else for the answers the API and API
Gateway give (the API's `code`s, 507, API Gateway's own 429 and 403), through both twins."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from taskclient import (
    AccessDenied,
    InvalidTask,
    PayloadTooLarge,
    QuotaExceeded,
    ServiceUnavailable,
    TaskConflict,
    TaskError,
    TaskNotFound,
    Throttled,
)
from tests.callback.helpers import ActionSpy
from tests.client.helpers import OWNER_QUOTA, Both, Faults, MakeClient
from tests.scheduler.helpers import FaultInjector

pytestmark = pytest.mark.integration

SCHEDULES = "/api/v1/schedules"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_a_task_that_does_not_exist_is_task_not_found_with_the_apis_message(tasks: Both) -> None:
    with pytest.raises(TaskNotFound) as raised:
        tasks.get("no-such-task")

    assert raised.value.status == 404
    assert str(raised.value) == raised.value.message
    assert "no-such-task" in raised.value.message
    for method in ("cancel", "pause", "resume"):
        with pytest.raises(TaskNotFound):
            getattr(tasks, method)("no-such-task")
    with pytest.raises(TaskNotFound):
        tasks.update_data("no-such-task", {"message": "x"})


def test_a_cancelled_task_cannot_be_cancelled_again_and_says_so(tasks: Both) -> None:
    task_id = unique("ended")
    tasks.schedule("send_notification", user_id=1, task_id=task_id, delay=600)
    tasks.cancel(task_id)

    with pytest.raises(TaskNotFound, match=f"task '{task_id}' was cancelled at"):
        tasks.cancel(task_id)


def test_the_same_task_id_for_a_different_request_is_a_conflict(tasks: Both) -> None:
    task_id = unique("taken")
    tasks.schedule("send_notification", user_id=1, task_id=task_id, delay=600)

    with pytest.raises(TaskConflict) as raised:
        tasks.schedule("send_notification", user_id=1, task_id=task_id, delay=900)

    assert raised.value.status == 409
    assert "by a different request" in raised.value.message


def test_an_invalid_task_lists_the_apis_field_errors(tasks: Both) -> None:
    with pytest.raises(InvalidTask) as raised:
        tasks.schedule("send_notificaton", user_id=1, task_id=unique("typo"), delay=60)

    error = raised.value
    assert error.status == 422
    assert "unknown action 'send_notificaton'" in error.message
    assert [e.loc[-1] for e in error.errors] == ["action"]
    assert "unknown action 'send_notificaton'" in error.errors[0].msg
    with pytest.raises(InvalidTask, match="give exactly one timing"):
        tasks.schedule("send_notification", user_id=1, delay=60, cron="cron(0 9 * * ? *)")
    with pytest.raises(InvalidTask, match="nothing to change"):
        tasks.reschedule(unique("absent"))


def test_a_task_too_large_for_lambda_is_payload_too_large(tasks: Both, spy_action: ActionSpy) -> None:
    with pytest.raises(PayloadTooLarge) as raised:
        tasks.schedule("spy", user_id=1, task_id=unique("big"), delay=60, data={"blob": "x" * 1_100_000})

    assert raised.value.status == 413
    assert "an asynchronous Lambda invocation takes at most 1000000 bytes" in raised.value.message
    assert isinstance(raised.value, InvalidTask)


def test_an_owner_past_its_quota_is_quota_exceeded_and_not_retried(make_client: MakeClient) -> None:
    faults, sleeps = Faults(), list[float]()
    owner = f"arn:aws:iam::123456789012:user/{unique('quota')}"
    tasks = make_client(faults=faults, sleeps=sleeps, headers={"x-local-principal": owner})
    for _ in range(OWNER_QUOTA):
        tasks.schedule("send_notification", user_id=1, delay=600)

    with pytest.raises(QuotaExceeded) as raised:
        tasks.schedule("send_notification", user_id=1, delay=600)

    assert raised.value.status == 429
    assert "MaxActiveSchedulesPerOwner" in raised.value.message
    assert sleeps == []
    assert [what for _, _, what in faults.log] == ["api 201"] * OWNER_QUOTA + ["api 429"]


def test_throttling_is_retried_after_retry_after_and_then_raised_as_throttled(
    make_client: MakeClient, scheduler_faults: FaultInjector
) -> None:
    scheduler_faults.fail("CreateSchedule", "ThrottlingException", "Rate exceeded")
    sleeps: list[float] = []
    tasks = make_client(sleeps=sleeps, max_retries=2)

    with pytest.raises(Throttled) as raised:
        tasks.schedule("send_notification", user_id=1, task_id=unique("slow"), delay=60)

    assert raised.value.status == 429
    assert raised.value.retry_after == 1.0  # SCHEDULER_RETRY_AFTER_SECONDS
    assert sleeps == [1.0, 1.0]
    assert scheduler_faults.calls["CreateSchedule"] == 3


def test_a_failing_upstream_is_retried_then_service_unavailable(
    make_client: MakeClient, scheduler_faults: FaultInjector
) -> None:
    scheduler_faults.fail("CreateSchedule", "InternalServerException", "boom", status=500)
    sleeps: list[float] = []
    tasks = make_client(sleeps=sleeps, max_retries=1)

    with pytest.raises(ServiceUnavailable) as raised:
        tasks.schedule("send_notification", user_id=1, task_id=unique("down"), delay=60)

    assert raised.value.status == 502
    assert raised.value.message == "EventBridge Scheduler failed internally on CreateSchedule; retry later"
    assert len(sleeps) == 1


def test_no_server_at_all_is_service_unavailable_without_a_status(make_client: MakeClient) -> None:
    tasks = make_client(url="http://127.0.0.1:9", max_retries=1, timeout=2)

    with pytest.raises(ServiceUnavailable) as raised:
        tasks.health()

    assert raised.value.status is None
    assert "no answer from http://127.0.0.1:9/health after 2 attempt(s): ConnectError" in raised.value.message


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind"),
    [
        pytest.param(
            429, {"detail": "quota", "code": "owner_quota_exceeded"}, {}, QuotaExceeded, id="owner-quota-code"
        ),
        pytest.param(429, {"detail": "quota"}, {}, QuotaExceeded, id="owner-quota-before-codes"),
        pytest.param(507, {"detail": "full", "code": "schedule_quota_full"}, {}, QuotaExceeded, id="schedule-quota"),
        pytest.param(507, {"detail": "full"}, {}, QuotaExceeded, id="schedule-quota-before-codes"),
        pytest.param(429, {"message": "Too Many Requests"}, {}, Throttled, id="api-gateway-throttle"),
        pytest.param(403, {"message": "Missing Authentication Token"}, {}, AccessDenied, id="api-gateway-403"),
        pytest.param(400, {"detail": "bad", "code": "invalid"}, {}, InvalidTask, id="400"),
        pytest.param(500, {"detail": "misconfigured"}, {}, TaskError, id="misconfigured"),
        pytest.param(418, b"not json", {}, TaskError, id="not-json"),
    ],
)
def test_each_answer_becomes_its_error_type_and_what_cannot_help_is_not_retried(
    make_client: MakeClient, status: int, body: object, headers: dict[str, str], kind: type[TaskError]
) -> None:
    faults, sleeps = Faults(), list[float]()
    faults.answer("GET", "/health", status, body=body, times=5, **headers)
    tasks = make_client(faults=faults, sleeps=sleeps)

    with pytest.raises(kind) as raised:
        tasks.health()

    assert type(raised.value) is kind
    assert raised.value.status == status
    retried = kind is Throttled
    assert len(faults.log) == (4 if retried else 1)  # max_retries=3: a throttle is tried 4 times, the rest once
    assert (sleeps != []) is retried


def test_the_apis_code_is_kept_and_refines_a_429(make_client: MakeClient) -> None:
    faults = Faults()
    faults.answer("GET", "/health", 429, body={"detail": "slow down", "code": "throttled"}, retry_after="2")
    tasks = make_client(faults=faults, max_retries=0)

    with pytest.raises(Throttled) as raised:
        tasks.health()

    assert (raised.value.code, raised.value.retry_after, raised.value.message) == ("throttled", 2.0, "slow down")


def test_arguments_the_client_can_check_are_refused_before_any_request(make_client: MakeClient) -> None:
    faults = Faults()
    tasks = make_client(faults=faults)

    with pytest.raises(ValueError, match="not only dots"):
        tasks.get("..")
    with pytest.raises(ValueError, match=r"start_at: 2030-01-01T00:00:00 has no timezone"):
        tasks.reschedule("x", start_at=datetime(2030, 1, 1))
    with pytest.raises(TypeError, match="delay: give a timedelta or a number of seconds"):
        tasks.schedule("send_notification", user_id=1, delay="5 minutes")
    with pytest.raises(TypeError, match="at: give a datetime"):
        tasks.schedule("send_notification", user_id=1, at="2030-01-01T00:00:00Z")

    assert faults.log == []
