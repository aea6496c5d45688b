"""A cancel stops the work: after DELETE 204 (or pause 200) no attempt of the task starts its action.

The task is made, paused and cancelled through the scheduler API's real entry point; each delivery is the
event its schedule's `Target.Input` makes (as EventBridge Scheduler hands it to Lambda), given to the
callback's real entry point. The gate is the start write's ConditionCheck on the task item.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from callback_app.handler import TaskInvocationFailed
from localcloud.lambda_context import ClientContext, LocalLambdaContext
from localcloud.template import LocalResources
from taskcore.proxy import delivered_event
from tests.callback.helpers import body_of, ledger_partition

Api = Callable[..., tuple[int, Any]]


def make_task(api: Api, aws: LocalResources, task_id: str, **timing: Any) -> Callable[..., dict[str, Any]]:
    """Create a task through the API; returns its deliveries (`attempt`: Scheduler's, the same across Lambda's)."""
    import boto3

    status, body = api(
        "POST",
        "/api/v1/schedules",
        {"task_id": task_id, "user_id": 456, "action": "spy", "data": {"n": 1}, **(timing or {"delay_minutes": 30})},
    )
    assert status == 201, body
    schedule = boto3.client("scheduler").get_schedule(Name=task_id, GroupName=aws.names["ScheduleGroup"])
    target_input = schedule["Target"]["Input"]

    def deliver(scheduled: datetime = datetime(2030, 1, 1, tzinfo=UTC), attempt: int = 1) -> dict[str, Any]:
        return delivered_event(target_input, schedule_arn=schedule["Arn"], scheduled_time=scheduled, attempt=attempt)

    return deliver


def boom(data: Any, task: Any) -> None:
    raise ConnectionError("smtp down")


def test_a_retry_after_a_cancel_does_not_run_the_action(callback, scheduler_api, spy_action, aws):
    deliver = make_task(scheduler_api, aws, "remind-1")
    event = deliver()
    spy_action.behaviour = boom
    with pytest.raises(TaskInvocationFailed):
        callback(event)  # the first attempt fails: Lambda will retry it in about a minute
    spy_action.behaviour = lambda data, task: {"sent": True}

    status, _ = scheduler_api("DELETE", "/api/v1/schedules/remind-1")
    assert status == 204
    retried = callback(event)  # Lambda's retry: the same event

    assert retried["statusCode"] == 200  # the invocation succeeds: nothing retries it again
    assert body_of(retried)["success"] is False
    assert "cancelled at" in body_of(retried)["message"]
    assert len(spy_action.runs) == 1  # the failed first attempt only
    task, [run] = ledger_partition(aws.names["TaskLedgerTable"], "remind-1")
    assert task is not None
    assert task["state"] == "cancelled"
    assert run["outcome"] == "skipped"
    assert run["error_message"].startswith(f"the task was cancelled at {task['updated_at']}")
    assert run["attempts"] == 2


def test_a_duplicate_delivery_after_a_pause_does_not_run_the_action(callback, scheduler_api, spy_action, aws):
    deliver = make_task(scheduler_api, aws, "report-1", rate="rate(1 hour)")
    callback(deliver())  # the first occurrence runs
    spy_action.behaviour = boom
    second = datetime(2030, 1, 1, 1, tzinfo=UTC)
    with pytest.raises(TaskInvocationFailed):
        callback(deliver(second))  # the second occurrence's first attempt fails
    spy_action.behaviour = lambda data, task: {"sent": True}
    status, _ = scheduler_api("POST", "/api/v1/schedules/report-1/pause")
    assert status == 200

    duplicate = callback(deliver(second))  # Scheduler's duplicate delivery of it (a new execution id)

    assert duplicate["statusCode"] == 200
    assert "paused at" in body_of(duplicate)["message"]
    assert len(spy_action.runs) == 2  # the first occurrence, and the failed attempt of the second
    task, runs = ledger_partition(aws.names["TaskLedgerTable"], "report-1")
    assert task is not None
    assert task["state"] == "paused"
    assert [(run["outcome"], run["attempts"]) for run in runs] == [("succeeded", 1), ("skipped", 2)]


def test_a_redrive_after_a_cancel_does_not_run_the_action(callback, scheduler_api, spy_action, aws):
    deliver = make_task(scheduler_api, aws, "digest-1", rate="rate(1 day)")
    event = deliver()
    spy_action.behaviour = boom
    for _ in range(3):  # Lambda's three invocations all fail: the event goes to CallbackFailureQueue
        with pytest.raises(TaskInvocationFailed):
            callback(event)
    spy_action.behaviour = lambda data, task: {"sent": True}
    status, _ = scheduler_api("DELETE", "/api/v1/schedules/digest-1")
    assert status == 204

    # The operator redrives the letter (`make redrive` invokes with the redrive ClientContext).
    redrive = LocalLambdaContext(client_context=ClientContext(custom={"redrive": True}))
    redriven = callback(json.loads(json.dumps(event)), redrive)

    assert redriven["statusCode"] == 200
    assert "cancelled at" in body_of(redriven)["message"]
    assert len(spy_action.runs) == 3
    task, [run] = ledger_partition(aws.names["TaskLedgerTable"], "digest-1")
    assert task is not None
    assert task["state"] == "cancelled"
    assert (run["outcome"], run["attempts"]) == ("skipped", 4)


def test_a_task_the_ledger_never_knew_still_runs(callback, spy_action, aws):
    from tests.callback.helpers import delivery

    response = callback(delivery("guide-1", kind=None))  # a schedule made by the guide's code

    assert response["statusCode"] == 200
    assert body_of(response)["success"] is True
    assert len(spy_action.runs) == 1


def test_a_duplicate_of_an_attempt_still_running_after_a_cancel_is_skipped_and_the_running_one_finishes(
    callback, scheduler_api, spy_action, aws
):
    import asyncio
    import threading

    deliver = make_task(scheduler_api, aws, "remind-3")
    release, started = threading.Event(), threading.Event()

    def slow(data: Any, task: Any) -> dict[str, Any]:
        started.set()
        release.wait(10)
        return {"sent": True}

    spy_action.behaviour = slow
    answers: list[dict[str, Any]] = []

    def first_attempt() -> None:  # in another container
        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            answers.append(callback(deliver()))
        finally:
            asyncio.get_event_loop().close()

    running = threading.Thread(target=first_attempt)
    running.start()
    try:
        assert started.wait(10)
        status, _ = scheduler_api("DELETE", "/api/v1/schedules/remind-3")
        assert status == 204
        duplicate = callback(deliver())  # not a 503 "in progress" that Lambda would retry: skipped, for good
        assert duplicate["statusCode"] == 200
        assert "cancelled at" in body_of(duplicate)["message"]
    finally:
        release.set()
        running.join(10)

    assert len(spy_action.runs) == 1  # the running attempt could not be stopped, and it finished
    assert body_of(answers[0])["result"] == {"sent": True}
