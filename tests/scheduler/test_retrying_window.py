"""The API agrees with the callback's gate while a one-time task's delivery is being retried (issue 19, item 2).

The window: EventBridge Scheduler delivered the occurrence (and deleted the one-time schedule, as
ActionAfterCompletion DELETE does), the action failed, and Lambda will retry it. The run record is written
by a real invocation of the callback's entry point with a failing action, as on AWS. In that window GET
says `retrying` (not `scheduled`), PATCH, pause and resume answer a 409 that says what is happening, and
DELETE cancels (the task item reads `cancelled`, which the callback's gate reads before every attempt).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from taskcore.ledger import task_pk
from tests.scheduler.helpers import task
from tests.scheduler.test_full_loop import deliver


@pytest.fixture
def delivered_and_failed_once(api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any) -> str:
    """A one-time task whose first delivery failed: its schedule is gone, Lambda will retry it."""
    from callback_app.handler import TaskInvocationFailed

    def fail(data: Any, context: Any) -> None:
        raise ConnectionError("the mail server did not answer")

    spy_action.behaviour = fail
    assert api.post("/api/v1/schedules", json=task("pay-retry", action="spy", delay_minutes=5)).status_code == 201
    schedule = scheduler.get_schedule(Name="pay-retry", GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    with pytest.raises(TaskInvocationFailed):
        deliver(scheduler, group, "pay-retry", callback, at=at)
    scheduler.delete_schedule(Name="pay-retry", GroupName=group)  # what ActionAfterCompletion DELETE does
    return at.isoformat().replace("+00:00", "Z")


def test_a_one_time_task_delivered_and_being_retried_reads_retrying_not_scheduled(
    api: Any, delivered_and_failed_once: str
) -> None:
    read = api.get("/api/v1/schedules/pay-retry")

    assert read.status_code == 200
    body = read.json()
    assert body["status"] == "retrying"
    assert body["next_run_at"] is None
    assert body["last_run"]["outcome"] == "failed"
    assert body["last_run"]["final"] is False
    assert body["reason"] == "ConnectionError: the mail server did not answer"


def test_a_listing_shows_a_task_being_retried_as_retrying(api: Any, delivered_and_failed_once: str) -> None:
    listed = api.get("/api/v1/schedules").json()["items"]

    assert [(row["task_id"], row["status"]) for row in listed] == [("pay-retry", "retrying")]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("patch", "/api/v1/schedules/pay-retry", {"data": {"message": "changed"}}),
        ("post", "/api/v1/schedules/pay-retry/pause", None),
        ("post", "/api/v1/schedules/pay-retry/resume", None),
    ],
)
def test_changing_a_task_being_retried_is_a_409_that_says_delivered_and_how_to_stop_it(
    api: Any, delivered_and_failed_once: str, method: str, path: str, body: Any
) -> None:
    answer = api.request(method.upper(), path, json=body)

    assert answer.status_code == 409
    assert answer.json()["detail"] == (
        f"task 'pay-retry' was delivered at {delivered_and_failed_once} and is being retried "
        "(attempt 1 failed); cancel it, or wait for its outcome"
    )
    assert api.get("/api/v1/schedules/pay-retry").json()["status"] == "retrying"


def test_cancelling_a_task_being_retried_answers_204_and_the_task_item_reads_cancelled(
    api: Any, delivered_and_failed_once: str, aws: Any
) -> None:
    cancelled = api.delete("/api/v1/schedules/pay-retry")

    ledger = boto3.resource("dynamodb").Table(aws.names["TaskLedgerTable"])
    item = ledger.get_item(Key={"pk": task_pk("pay-retry"), "sk": "STATE"})["Item"]
    assert cancelled.status_code == 204
    assert item["state"] == "cancelled"  # what the callback's gate reads before an attempt starts its action
    assert "quota_key" not in item  # the owner's quota slot is free
    assert api.get("/api/v1/schedules/pay-retry").json()["status"] == "cancelled"


def test_resuming_a_one_time_task_paused_past_its_time_answers_missed_and_frees_its_slot(
    api: Any, clock: Any, schedules: Any, aws: Any
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set(now)
    api.post("/api/v1/schedules", json=task("pay-paused", delay_minutes=5))
    assert api.post("/api/v1/schedules/pay-paused/pause").status_code == 200
    clock.advance(minutes=30)

    resumed = api.post("/api/v1/schedules/pay-paused/resume")

    ledger = boto3.resource("dynamodb").Table(aws.names["TaskLedgerTable"])
    item = ledger.get_item(Key={"pk": task_pk("pay-paused"), "sk": "STATE"})["Item"]
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "missed"
    assert resumed.json()["reason"].startswith("paused past its time (")
    assert api.get("/api/v1/schedules/pay-paused").json()["status"] == "missed"
    assert "pay-paused" not in schedules()
    again = api.post("/api/v1/schedules/pay-paused/resume")
    assert again.status_code == 404
    assert again.json()["detail"].startswith("task 'pay-paused' has ended (missed at ")
    assert "quota_key" not in item
    assert "due_at" not in item


def test_resuming_a_one_time_task_paused_before_its_time_resumes_it(api: Any, clock: Any) -> None:
    clock.set(datetime.now(UTC).replace(microsecond=0))
    api.post("/api/v1/schedules", json=task("pay-soon", delay_minutes=5))
    api.post("/api/v1/schedules/pay-soon/pause")
    clock.advance(minutes=2)

    resumed = api.post("/api/v1/schedules/pay-soon/resume")

    assert (resumed.status_code, resumed.json()["status"]) == (200, "scheduled")


def test_a_one_time_task_whose_attempt_has_started_reads_running_and_a_change_says_so(
    api: Any, scheduler: Any, group: str, aws: Any
) -> None:
    api.post("/api/v1/schedules", json=task("pay-running", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-running", GroupName=group)
    at = schedule["ScheduleExpression"][3:-1] + "Z"
    scheduler.delete_schedule(Name="pay-running", GroupName=group)
    # The run item as the callback's start write leaves it while the attempt runs (i19-callback's gate).
    ledger = boto3.resource("dynamodb").Table(aws.names["TaskLedgerTable"])
    ledger.put_item(
        Item={
            "pk": task_pk("pay-running"),
            "sk": f"RUN#{at}",
            "task_id": "pay-running",
            "scheduled_time": at,
            "attempts": 1,
            "status": "running",
            "last_started_at": at,
        }
    )

    read = api.get("/api/v1/schedules/pay-running").json()
    paused = api.post("/api/v1/schedules/pay-running/pause")

    assert (read["status"], read["next_run_at"]) == ("running", None)
    assert paused.status_code == 409
    assert paused.json()["detail"] == (
        f"task 'pay-running' was delivered at {at} and is running (attempt 1); cancel it, or wait for its outcome"
    )


def test_a_resume_past_its_time_whose_ledger_write_is_throttled_changes_nothing_and_its_retry_answers_missed(
    api: Any, clock: Any, schedules: Any
) -> None:
    # Found by the adverse workload at 300 tasks (tests/reliability/test_adverse_workload.py): the resume deleted
    # the schedule, then its ledger write was throttled; the client's retry got 404 "never created, cancelled, or
    # already run" while GET said `paused`, forever.
    from scheduler_app.clients import get_dynamodb_client
    from tests.scheduler.helpers import FaultInjector

    now = datetime.now(UTC).replace(microsecond=0)
    clock.set(now)
    api.post("/api/v1/schedules", json=task("pay-hot", delay_minutes=5))
    assert api.post("/api/v1/schedules/pay-hot/pause").status_code == 200
    clock.advance(minutes=30)
    ledger_faults = FaultInjector(get_dynamodb_client())
    ledger_faults.fail("TransactWriteItems", "ProvisionedThroughputExceededException", times=1)  # a final state
    try:
        throttled = api.post("/api/v1/schedules/pay-hot/resume")
    finally:
        ledger_faults.clear()

    assert throttled.status_code in (429, 503)
    assert api.get("/api/v1/schedules/pay-hot").json()["status"] == "paused"  # nothing changed
    retried = api.post("/api/v1/schedules/pay-hot/resume")
    assert retried.status_code == 200
    assert retried.json()["status"] == "missed"
    assert api.get("/api/v1/schedules/pay-hot").json()["status"] == "missed"
    assert "pay-hot" not in schedules()
