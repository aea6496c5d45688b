"""EventBridge Scheduler throttling and failing under the API: the designed status, and nothing lost or doubled.

The errors are answered on the wire, under the scheduler client's own retries (standard mode, 3 attempts in
total), so "throttled twice, then fine" is botocore's retry at work and "throttled for good" is what is left
after it. Requests go through `scheduler_app.handler.lambda_handler` as API Gateway's proxy events. For each
scenario: the status and headers are the designed ones, and the group holds exactly what the answer says
(a 201/200 schedule exists once; a 429/502 create left nothing; a 429/502 delete left the schedule).
After a failed call the client's retry of the same request succeeds: nothing is lost.

(tests/scheduler/test_schedule_aws_errors.py maps each error code once, above botocore's retries.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scheduler_app.clients import get_dynamodb_client, get_scheduler_client
from scheduler_app.handler import lambda_handler
from taskcore.ledger import INDEX_SHARDS
from tests.reliability.helpers import LOSE, WireFaults
from tests.scheduler.helpers import api_event, task

THROTTLE = "ThrottlingException"
INTERNAL = "InternalServerException"
QUOTA = "ServiceQuotaExceededException"
DYNAMODB_THROTTLE = "ProvisionedThroughputExceededException"
DYNAMODB_INTERNAL = "InternalServerError"
#: The scheduler's client tries each call 3 times in total (SCHEDULER_AWS_MAX_ATTEMPTS).
ATTEMPTS = 3


@pytest.fixture
def wire(scheduler_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """AWS errors for the API's own EventBridge Scheduler client."""
    faults = WireFaults(monkeypatch).attach(get_scheduler_client())
    yield faults
    faults.close()


def call(
    method: str, path: str, body: Any = None, query: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """Status, headers and JSON body of one request through the Lambda entry point."""
    response = lambda_handler(api_event(method, path, body=body, query=query), None)
    text = response.get("body")
    return int(response["statusCode"]), response.get("headers") or {}, json.loads(text) if text else None


def create(task_id: str) -> tuple[int, dict[str, str], Any]:
    return call("POST", "/api/v1/schedules", task(task_id, delay_minutes=30))


# -- create ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [THROTTLE, INTERNAL])
def test_create_throttled_or_failing_twice_is_retried_by_the_client_and_answers_201(wire, schedules, figures, code):
    wire.script("CreateSchedule", code, code)

    status, _, body = create("f-create")

    assert status == 201
    assert body["task_id"] == "f-create"
    assert wire.attempts["CreateSchedule"] == ATTEMPTS
    assert len(wire.sleeps) == 2  # botocore backed off twice
    assert schedules() == ["f-create"]
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")


@pytest.mark.parametrize(
    ("code", "status", "attempts"),
    [(THROTTLE, 429, ATTEMPTS), (QUOTA, 429, 1), (INTERNAL, 502, ATTEMPTS)],
)
def test_create_that_keeps_failing_answers_the_designed_status_creates_nothing_and_the_retry_succeeds(
    wire, schedules, figures, code, status, attempts
):
    wire.always("CreateSchedule", code)

    got, headers, body = create("f-create")

    assert got == status
    assert body["detail"].startswith("EventBridge Scheduler")
    assert (headers.get("retry-after") == "1") is (status == 429)
    assert wire.attempts["CreateSchedule"] == attempts
    assert schedules() == []

    wire.heal()  # the client retries the same request later
    assert create("f-create")[0] == 201
    assert schedules() == ["f-create"]
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")


def test_create_done_by_aws_whose_answer_was_lost_is_not_doubled(wire, schedules, figures):
    # AWS created the schedule and the reply was lost (500): botocore retries with the same ClientToken. Real
    # AWS replays the success; moto answers ConflictException, which the API resolves to the same schedule.
    wire.script("CreateSchedule", LOSE)

    status, _, body = create("f-lost")

    assert status in (200, 201)
    assert body["task_id"] == "f-lost"
    assert wire.attempts["CreateSchedule"] == 2
    assert schedules() == ["f-lost"]
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")


# -- delete ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [THROTTLE, INTERNAL])
def test_delete_throttled_or_failing_twice_answers_204(wire, schedules, figures, code):
    create("f-delete")
    wire.script("DeleteSchedule", code, code)

    status, _, _ = call("DELETE", "/api/v1/schedules/f-delete")

    assert status == 204
    assert wire.attempts["DeleteSchedule"] == ATTEMPTS
    assert schedules() == []
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")


@pytest.mark.parametrize(("code", "status"), [(THROTTLE, 429), (INTERNAL, 502)])
def test_delete_that_keeps_failing_keeps_the_schedule_and_the_retry_succeeds(wire, schedules, figures, code, status):
    create("f-delete")
    wire.always("DeleteSchedule", code)

    got, headers, _ = call("DELETE", "/api/v1/schedules/f-delete")

    assert got == status
    assert (headers.get("retry-after") == "1") is (status == 429)
    assert schedules() == ["f-delete"]  # not cancelled, and the caller knows it

    wire.heal()
    assert call("DELETE", "/api/v1/schedules/f-delete")[0] == 204
    assert schedules() == []
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")


def test_guide_cancel_that_keeps_being_throttled_is_a_429_not_a_404(wire, schedules, figures):
    arn = create("f-guide")[2]["schedule_arn"]
    wire.always("DeleteSchedule", THROTTLE)

    status, headers, _ = call("DELETE", f"/api/v1/scheduler/schedule/{arn}")

    assert (status, headers.get("retry-after")) == (429, "1")
    assert schedules() == ["f-guide"]
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")


# -- list (the task ledger's Query) ---------------------------------------------------------------------------


@pytest.fixture
def ledger_wire(scheduler_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """AWS errors for the API's own DynamoDB client (the task ledger)."""
    faults = WireFaults(monkeypatch).attach(get_dynamodb_client())
    yield faults
    faults.close()


@pytest.mark.parametrize("code", [DYNAMODB_THROTTLE, DYNAMODB_INTERNAL])
def test_list_throttled_or_failing_twice_answers_200(ledger_wire, figures, code):
    create("f-list")
    ledger_wire.script("Query", code, code)

    status, _, body = call("GET", "/api/v1/schedules")

    assert status == 200
    assert [item["task_id"] for item in body["items"]] == ["f-list"]
    # The 32 shards of the scheduled tasks, then of the paused ones (taskcore.ledger.INDEX_SHARDS): one of them met
    # the 2 failures first and was answered on botocore's retry.
    assert ledger_wire.attempts["Query"] == (ATTEMPTS - 1) + 2 * INDEX_SHARDS
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")


@pytest.mark.parametrize(("code", "status"), [(DYNAMODB_THROTTLE, 429), (DYNAMODB_INTERNAL, 502)])
def test_list_that_keeps_failing_answers_the_designed_status(ledger_wire, figures, code, status):
    ledger_wire.always("Query", code)

    got, headers, body = call("GET", "/api/v1/schedules", query={"limit": "10"})

    assert got == status
    assert (headers.get("retry-after") == "1") is (status == 429)
    assert "Query" in body["detail"]
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")


# -- batch -----------------------------------------------------------------------------------------------------


def test_batch_rides_out_throttling_with_its_own_backoff_and_creates_every_item(wire, clock, schedules, figures):
    # 8 throttles in a row: more than botocore's 3 attempts absorb, so the batch's own backoff retries items.
    wire.script("CreateSchedule", *[THROTTLE] * 8)
    items = [task(f"f-batch-{i}", delay_minutes=30) for i in range(6)]

    status, _, body = call("POST", "/api/v1/schedules/batch", {"items": items})

    assert status == 200
    assert (body["created"], body["failed"]) == (6, 0)
    assert clock.sleeps  # the batch backed off at least once
    assert schedules() == sorted(f"f-batch-{i}" for i in range(6))
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")


def test_batch_throttled_for_good_answers_429_per_item_and_creates_nothing(wire, clock, schedules, figures):
    wire.always("CreateSchedule", THROTTLE)
    items = [task(f"f-batch-{i}", delay_minutes=30) for i in range(3)]

    status, _, body = call("POST", "/api/v1/schedules/batch", {"items": items})

    assert status == 200
    assert [item["status"] for item in body["items"]] == [429, 429, 429]
    assert body["failed"] == 3
    assert schedules() == []
    figures.count("faults", "scenarios")
    figures.count("faults", "designed_status")
