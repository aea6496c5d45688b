"""The task ledger through the API: a task is remembered for its whole life, and its id with it.

Create, deliver and read through the real entry points against moto, tables built from template.yaml.
EventBridge Scheduler deletes a one-time schedule after its run (ActionAfterCompletion: DELETE); moto
keeps it, so `ran_once` deletes it as the service would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from scheduler_app.clients import get_dynamodb_client
from scheduler_app.settings import get_settings
from taskcore.ledger import task_pk
from tests.scheduler.helpers import FaultInjector, ledger_task_item, task
from tests.scheduler.test_full_loop import deliver


def ran_once(scheduler: Any, group: str, name: str, callback: Callable[..., Any], *, attempt: int = 1) -> Any:
    """Deliver the one-time task's occurrence to the callback, then delete its schedule as AWS does."""
    schedule = scheduler.get_schedule(Name=name, GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    response = deliver(scheduler, group, name, callback, at=at, attempt=attempt)
    scheduler.delete_schedule(Name=name, GroupName=group)
    return response


@pytest.fixture
def dynamodb_calls(scheduler_env: Any) -> Iterator[list[str]]:
    """The DynamoDB operations the API's client sends, in order."""
    client = get_dynamodb_client()
    calls: list[str] = []

    def note(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb.*", note)
    yield calls
    client.meta.events.unregister("before-call.dynamodb.*", note)


def test_a_retried_create_after_the_task_ran_returns_it_and_does_not_run_it_again(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any, schedules: Any
) -> None:
    request = task("pay-ran", action="spy", delay_minutes=5, data={"n": 1})
    assert api.post("/api/v1/schedules", json=request).status_code == 201
    ran_once(scheduler, group, "pay-ran", callback)

    again = api.post("/api/v1/schedules", json=request)  # a client retrying its POST after a timeout

    assert again.status_code == 200
    body = again.json()
    assert (body["status"], body["state"], body["next_run_at"], body["run_count"]) == ("succeeded", None, None, 1)
    assert body["last_run"]["outcome"] == "succeeded"
    assert body["runs"][0]["result"] == {"echo": {"n": 1}}
    assert schedules() == []  # nothing new was scheduled
    assert len(spy_action.runs) == 1


def test_a_different_request_for_a_task_that_ran_is_a_409_until_its_records_expire(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any
) -> None:
    api.post("/api/v1/schedules", json=task("pay-409", action="spy", delay_minutes=5))
    ran_once(scheduler, group, "pay-409", callback)

    other = api.post("/api/v1/schedules", json=task("pay-409", action="spy", delay_minutes=9))

    assert other.status_code == 409
    assert other.json()["detail"] == (
        "task 'pay-409' was used by a different request (it is succeeded); "
        "its id stays reserved until its records expire: use another task_id"
    )


def test_get_answers_for_the_whole_life_of_a_task(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any
) -> None:
    created = api.post("/api/v1/schedules", json=task("pay-life", action="spy", delay_minutes=5)).json()
    assert (created["status"], created["state"], created["run_count"], created["runs"]) == (
        "scheduled",
        "ENABLED",
        0,
        [],
    )

    ran_once(scheduler, group, "pay-life", callback)
    after_run = api.get("/api/v1/schedules/pay-life")

    assert after_run.status_code == 200
    task_ = after_run.json()
    assert (task_["status"], task_["kind"], task_["next_run_at"]) == ("succeeded", "one-time", None)
    [run] = task_["runs"]
    assert (run["attempts"], run["outcome"], run["final"], run["status_code"]) == (1, "succeeded", True, 200)
    assert run["scheduled_time"] == created["next_run_at"]
    assert task_["data"] == created["data"]


def test_a_cancelled_task_reads_as_cancelled(api: Any) -> None:
    api.post("/api/v1/schedules", json=task("pay-cancel", delay_minutes=5))
    assert api.delete("/api/v1/schedules/pay-cancel").status_code == 204

    read = api.get("/api/v1/schedules/pay-cancel")
    again = api.delete("/api/v1/schedules/pay-cancel")

    assert (read.status_code, read.json()["status"], read.json()["state"]) == (200, "cancelled", None)
    assert again.status_code == 404
    assert again.json()["detail"].startswith("task 'pay-cancel' was cancelled at ")


def test_pausing_a_task_that_already_ran_says_so(api: Any, scheduler: Any, group: str, callback: Any) -> None:
    api.post("/api/v1/schedules", json=task("pay-gone", delay_minutes=5))
    ran_once(scheduler, group, "pay-gone", callback)

    paused = api.post("/api/v1/schedules/pay-gone/pause")

    assert paused.status_code == 404
    assert paused.json()["detail"].startswith("task 'pay-gone' already ran (succeeded at ")


def test_pause_resume_and_patch_update_the_task_record(api: Any) -> None:
    api.post("/api/v1/schedules", json=task("pay-edit", cron="cron(0 9 * * ? *)", timezone="Asia/Seoul"))

    assert api.post("/api/v1/schedules/pay-edit/pause").json()["status"] == "paused"
    assert api.get("/api/v1/schedules/pay-edit").json()["status"] == "paused"
    listed = api.get("/api/v1/schedules", params={"status": "paused"}).json()["items"]
    assert [item["task_id"] for item in listed] == ["pay-edit"]
    assert api.post("/api/v1/schedules/pay-edit/resume").json()["status"] == "scheduled"

    patched = api.patch("/api/v1/schedules/pay-edit", json={"cron": "cron(30 8 * * ? *)", "data": {"message": "Hi"}})
    read = api.get("/api/v1/schedules/pay-edit").json()

    assert patched.status_code == 200
    assert (read["expression"], read["timezone"], read["status"]) == ("cron(30 8 * * ? *)", "Asia/Seoul", "scheduled")
    assert read["data"]["message"] == "Hi"
    assert read["next_run_at"] == patched.json()["next_run_at"]


def test_a_crash_between_the_ledger_write_and_create_schedule_converges_on_the_retried_post(
    api: Any, faults: FaultInjector, schedules: Any
) -> None:
    request = task("pay-crash", delay_minutes=5)
    # Not an AWS error, so nothing of the API's handles it: as if Lambda stopped the container there.
    faults.raise_("CreateSchedule", RuntimeError("the container was stopped"))
    with pytest.raises(RuntimeError, match="the container was stopped"):
        api.post("/api/v1/schedules", json=request)
    faults.clear()
    assert schedules() == []
    assert api.get("/api/v1/schedules/pay-crash").json()["status"] == "scheduled"  # the record, without its schedule

    retried = api.post("/api/v1/schedules", json=request)
    once_more = api.post("/api/v1/schedules", json=request)

    assert (retried.status_code, once_more.status_code) == (201, 200)
    assert schedules() == ["pay-crash"]
    assert retried.json()["next_run_at"] == once_more.json()["next_run_at"]


def test_a_create_whose_schedule_cannot_be_made_leaves_no_record(api: Any, faults: FaultInjector) -> None:
    faults.fail("CreateSchedule", "ValidationException", "no")

    refused = api.post("/api/v1/schedules", json=task("pay-refused", delay_minutes=5))
    faults.clear()
    later = api.post("/api/v1/schedules", json=task("pay-refused", delay_minutes=9))

    assert refused.status_code == 422
    assert api.get("/api/v1/schedules/pay-refused").status_code == 200  # made by the later, different request
    assert later.status_code == 201


def test_a_create_costs_one_transaction_and_a_get_one_query(api: Any, dynamodb_calls: list[str]) -> None:
    api.post("/api/v1/schedules", json=task("pay-cost", delay_minutes=5))
    created = list(dynamodb_calls)
    dynamodb_calls.clear()
    api.get("/api/v1/schedules/pay-cost")

    assert created == ["TransactWriteItems"]  # the task's items and, for an owner, its quota slot: one request
    assert dynamodb_calls == ["Query"]


def test_runs_are_listed_newest_first_a_page_at_a_time(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any
) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    api.post("/api/v1/schedules", json=task("daily", action="spy", rate="rate(1 day)", start_at=start.isoformat()))
    for day in range(3):
        deliver(scheduler, group, "daily", callback, at=start + timedelta(days=day))

    first = api.get("/api/v1/schedules/daily/runs", params={"limit": 2}).json()
    second = api.get("/api/v1/schedules/daily/runs", params={"limit": 2, "cursor": first["cursor"]}).json()

    assert [run["scheduled_time"] for run in first["items"]] == ["2030-01-03T00:00:00Z", "2030-01-02T00:00:00Z"]
    assert [run["scheduled_time"] for run in second["items"]] == ["2030-01-01T00:00:00Z"]
    assert second["cursor"] is None
    read = api.get("/api/v1/schedules/daily").json()
    assert (read["status"], read["run_count"], read["last_run"]["scheduled_time"]) == (
        "scheduled",
        3,
        "2030-01-03T00:00:00Z",
    )


def test_the_runs_of_an_unknown_task_are_a_404(api: Any) -> None:
    response = api.get("/api/v1/schedules/nobody/runs")

    assert response.status_code == 404
    assert response.json()["detail"] == "no task 'nobody' in the task ledger (never created, or its records expired)"


def test_a_failed_run_shows_failed_with_its_attempts_and_error(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any
) -> None:
    from callback_app.handler import TaskInvocationFailed

    def fail(data: Any, context: Any) -> None:
        raise TimeoutError("the mail server did not answer")

    spy_action.behaviour = fail
    api.post("/api/v1/schedules", json=task("pay-fail", action="spy", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-fail", GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    for _ in range(3):  # Lambda's first try and its two retries
        with pytest.raises(TaskInvocationFailed):
            deliver(scheduler, group, "pay-fail", callback, at=at)

    read = api.get("/api/v1/schedules/pay-fail").json()
    [run] = read["runs"]

    assert read["status"] == "failed"
    assert (run["attempts"], run["outcome"], run["final"]) == (3, "failed", True)
    assert run["error"] == {"type": "TimeoutError", "message": "the mail server did not answer"}


def test_listing_by_user_action_and_status(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any
) -> None:
    api.post("/api/v1/schedules", json={**task("u1-a", delay_minutes=5), "user_id": 1})
    api.post("/api/v1/schedules", json={**task("u1-b", action="spy", delay_minutes=5), "user_id": 1})
    api.post("/api/v1/schedules", json={**task("u2-a", delay_minutes=5), "user_id": 2})
    ran_once(scheduler, group, "u1-b", callback)

    def ids(**params: Any) -> list[str]:
        response = api.get("/api/v1/schedules", params=params)
        assert response.status_code == 200, response.text
        return [item["task_id"] for item in response.json()["items"]]

    assert ids(user_id=1) == ["u1-b", "u1-a"]  # newest first, every status
    assert ids(user_id="1", status="succeeded") == ["u1-b"]
    assert ids(user_id=1, action="send_notification") == ["u1-a"]
    assert ids(status="succeeded") == ["u1-b"]
    assert ids() == ["u2-a", "u1-a"]  # live tasks by default
    row = api.get("/api/v1/schedules", params={"user_id": 1}).json()["items"][0]
    assert (row["kind"], row["status"], row["last_run"]["outcome"], row["next_run_at"]) == (
        "one-time",
        "succeeded",
        "succeeded",
        None,
    )


def test_one_users_page_among_10000_tasks_is_one_query_and_one_batch_get_of_their_tallies(
    api: Any, aws: Any, dynamodb_calls: list[str]
) -> None:
    table = boto3.resource("dynamodb").Table(aws.names["TaskLedgerTable"])
    with table.batch_writer() as batch:
        for i in range(10_000):
            user = 456 if i % 100 == 0 else i
            batch.put_item(Item=ledger_task_item(f"bulk-{i:05d}", user, f"2030-01-01T00:00:00.{i % 1000:03d}Z"))
    dynamodb_calls.clear()

    page = api.get("/api/v1/schedules", params={"user_id": 456, "limit": 100}).json()

    assert len(page["items"]) == 100
    assert {item["user_id"] for item in page["items"]} == {456}
    assert dynamodb_calls == ["Query", "BatchGetItem"]  # a user's key is not sharded; run counts live on TALLY


def test_a_schedule_made_before_the_ledger_is_read_from_eventbridge_and_adopted_by_the_same_request(
    api: Any, scheduler: Any, group: str
) -> None:
    request = task("pay-legacy", delay_minutes=5)
    api.post("/api/v1/schedules", json=request)
    # What a stack from before the ledger holds: the schedule only.
    for sk in ("TASK", "STATE"):
        get_dynamodb_client().delete_item(
            TableName=get_settings().task_ledger_table, Key={"pk": {"S": task_pk("pay-legacy")}, "sk": {"S": sk}}
        )

    read = api.get("/api/v1/schedules/pay-legacy")
    again = api.post("/api/v1/schedules", json=request)
    other = api.post("/api/v1/schedules", json=task("pay-legacy", delay_minutes=9))

    assert (read.status_code, read.json()["state"], read.json()["status"]) == (200, "ENABLED", None)
    assert again.status_code == 200
    assert other.status_code == 409
    assert api.get("/api/v1/schedules/pay-legacy").json()["status"] == "scheduled"  # adopted: a record now


def test_the_stored_request_is_the_one_given(api: Any, aws: Any) -> None:
    request = task("pay-stored", delay_minutes=5, retry={"max_attempts": 2})
    api.post("/api/v1/schedules", json=request)

    item, state = (
        boto3.client("dynamodb").get_item(
            TableName=aws.names["TaskLedgerTable"], Key={"pk": {"S": task_pk("pay-stored")}, "sk": {"S": sk}}
        )["Item"]
        for sk in ("TASK", "STATE")
    )

    assert json.loads(item["request"]["S"]) == request
    assert "expiration" not in state  # a live task does not expire
    # Its copy of the request outlives the task's time, its retention and the 15 days a dead letter may wait.
    after = datetime.now(UTC) + timedelta(minutes=5, seconds=get_settings().task_retention_seconds, days=15)
    assert int(item["expiration"]["N"]) >= int(after.timestamp()) - 60


def test_the_same_run_at_request_after_its_time_passed_returns_the_task(api: Any, clock: Any) -> None:
    now = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    clock.set(now)
    request = task("pay-late-retry", run_at=(now + timedelta(seconds=10)).isoformat())
    assert api.post("/api/v1/schedules", json=request).status_code == 201
    clock.advance(seconds=30)  # the client's retry comes after the time

    again = api.post("/api/v1/schedules", json=request)
    other = api.post("/api/v1/schedules", json=task("pay-late-other", run_at=(now + timedelta(seconds=10)).isoformat()))

    assert (again.status_code, again.json()["task_id"]) == (200, "pay-late-retry")
    assert other.status_code == 422  # a new request for a past time is still refused


def test_a_patch_that_removes_the_end_removes_it_from_the_task(api: Any) -> None:
    api.post("/api/v1/schedules", json=task("pay-no-end", rate="rate(1 day)", end_at="2031-01-01T00:00:00+00:00"))

    api.patch("/api/v1/schedules/pay-no-end", json={"end_at": None})

    assert api.get("/api/v1/schedules/pay-no-end").json()["end_at"] is None


def test_a_cursor_pointing_past_the_listings_queries_is_a_422(api: Any) -> None:
    import base64

    binding = {"user_id": None, "status": None, "action": None, "prefix": None}
    forged = base64.urlsafe_b64encode(json.dumps({"k": {"i": 7}, "b": binding}).encode()).decode().rstrip("=")

    response = api.get("/api/v1/schedules", params={"cursor": forged})

    assert response.status_code == 422
    assert response.json()["detail"] == "cursor: not a cursor this API issued; start again without it"
