"""Exactly-once effect over at-least-once delivery: the idempotency key is (task_id, scheduled time)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import EndpointConnectionError

from callback_app.handler import TaskInvocationFailed
from localcloud.lambda_context import LocalLambdaContext
from tests.callback.helpers import OCCURRENCE, body_of, delivery, reject


def test_duplicate_delivery_writes_one_record_and_runs_the_action_once(callback, spy_action, idempotency_records):
    first = callback(delivery("pay-1", attempt=1))
    again = callback(delivery("pay-1", attempt=1))

    assert len(spy_action.runs) == 1
    assert [r["status"] for r in idempotency_records()] == ["COMPLETED"]
    assert body_of(first)["duplicate"] is False
    assert body_of(again)["duplicate"] is True
    assert body_of(again)["result"] == body_of(first)["result"]


def test_retry_attempt_of_the_same_occurrence_replays_the_stored_result(callback, spy_action):
    callback(delivery("pay-1", attempt=1))
    retried = callback(delivery("pay-1", attempt=2))  # new execution id, same scheduled time

    assert len(spy_action.runs) == 1
    assert body_of(retried)["duplicate"] is True


def test_next_occurrence_of_a_recurring_task_runs_again(callback, spy_action, idempotency_records):
    callback(delivery("daily-report", scheduled=OCCURRENCE))
    callback(delivery("daily-report", scheduled=OCCURRENCE + timedelta(days=1)))

    assert [run.scheduled_time for run in spy_action.runs] == [OCCURRENCE, OCCURRENCE + timedelta(days=1)]
    assert len(idempotency_records()) == 2


def test_direct_invocation_without_scheduler_headers_is_keyed_on_the_task_id(callback, spy_action):
    callback(delivery("manual-1", scheduled=None))
    again = callback(delivery("manual-1", scheduled=None))

    assert len(spy_action.runs) == 1
    assert spy_action.runs[0].scheduled_time is None
    assert body_of(again)["duplicate"] is True


def test_action_sees_the_occurrence_it_runs_for(callback, spy_action):
    callback(delivery("pay-1", scheduled=OCCURRENCE, attempt=3, user_id="u-9"))

    (run,) = spy_action.runs
    assert (run.task_id, run.user_id, run.action, run.scheduled_time, run.attempt) == (
        "pay-1",
        "u-9",
        "spy",
        OCCURRENCE,
        3,
    )
    assert run.schedule_arn is not None
    assert run.schedule_arn.endswith("/pay-1")
    assert run.execution_id


def test_an_action_gets_one_idempotency_key_per_occurrence_the_same_on_every_attempt(callback, spy_action):
    attempts = iter([ConnectionError("smtp down"), None])

    def flaky(data, task):
        error = next(attempts)
        if error:
            raise error

    spy_action.behaviour = flaky
    with pytest.raises(TaskInvocationFailed):
        callback(delivery("pay-1", attempt=1))
    callback(delivery("pay-1", attempt=2))
    spy_action.behaviour = lambda data, task: None
    callback(delivery("pay-1", scheduled=OCCURRENCE + timedelta(days=1)))
    callback(delivery("pay-2"))
    callback(delivery("pay-1", scope="abcdefghijklmnop"))

    first, retry, next_day, other_task, other_owner = (run.idempotency_key for run in spy_action.runs)
    assert first == retry
    assert first is not None
    assert first.startswith("occ_")
    assert len(first) == 36
    assert len({first, next_day, other_task, other_owner}) == 4
    assert "pay-1" not in first


def test_an_action_reads_the_time_from_the_clock_it_is_given(callback, spy_action):
    callback(delivery("pay-1"))

    (run,) = spy_action.runs
    assert run.now().tzinfo is not None
    assert abs((run.now() - datetime.now(UTC)).total_seconds()) < 5


def test_raising_action_fails_the_invocation_and_leaves_no_completed_record(callback, spy_action, idempotency_records):
    def boom(data, task):
        raise ConnectionError("smtp down")

    spy_action.behaviour = boom
    with pytest.raises(
        TaskInvocationFailed, match=r"task pay-1 failed with status 500: action 'spy' failed: ConnectionError"
    ):
        callback(delivery("pay-1"))

    assert idempotency_records() == []


def test_lambda_retry_after_a_failure_runs_the_action_again(callback, spy_action, idempotency_records):
    attempts = iter([ConnectionError("smtp down"), None])

    def flaky(data, task):
        error = next(attempts)
        if error:
            raise error
        return {"sent": True}

    spy_action.behaviour = flaky
    with pytest.raises(TaskInvocationFailed):
        callback(delivery("pay-1", attempt=1))
    response = callback(delivery("pay-1", attempt=2))

    assert response["statusCode"] == 200
    assert body_of(response)["result"] == {"sent": True}
    assert len(spy_action.runs) == 2
    assert [r["status"] for r in idempotency_records()] == ["COMPLETED"]


def test_rejection_by_the_action_is_permanent_and_not_retried(callback, spy_action, idempotency_records):
    spy_action.behaviour = reject

    response = callback(delivery("pay-1"))

    assert response["statusCode"] == 422
    assert "already refunded" in body_of(response)["detail"]
    assert idempotency_records() == []


def test_dynamodb_outage_fails_the_invocation_and_never_runs_the_action(callback, spy_action, idempotency_records):
    from callback_app.service import get_task_runner

    def unreachable(**kwargs):
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    # Every DynamoDB call the runner makes now fails as if the network to DynamoDB were down.
    get_task_runner().store.client.meta.events.register("before-send.dynamodb.*", unreachable)  # type: ignore[attr-defined]

    with pytest.raises(TaskInvocationFailed, match="idempotency store unavailable"):
        callback(delivery("pay-1"))
    assert spy_action.runs == []


def test_missing_table_configuration_fails_the_invocation(callback, spy_action, monkeypatch):
    from callback_app.service import get_task_runner
    from callback_app.settings import get_settings

    monkeypatch.delenv("IDEMPOTENCY_TABLE_NAME")
    get_settings.cache_clear()
    get_task_runner.cache_clear()

    with pytest.raises(TaskInvocationFailed, match="IDEMPOTENCY_TABLE_NAME is not set"):
        callback(delivery("pay-1"))
    assert spy_action.runs == []


def test_completed_record_outlives_the_longest_redelivery_window(callback, spy_action, idempotency_records):
    before = time.time()
    callback(delivery("pay-1"))

    (record,) = idempotency_records()
    # Scheduler may redeliver for 24 h, then Lambda for 6 h more: the record must still be there.
    assert int(record["expiration"]) >= before + 30 * 3600


def test_concurrent_duplicate_fails_the_invocation_then_replays_the_stored_result(callback, spy_action):
    from callback_app.service import get_task_runner
    from taskcore.envelope import TaskEnvelope
    from taskcore.proxy import SchedulerContext

    release, started = threading.Event(), threading.Event()

    def slow(data, task):
        started.set()
        release.wait(5)
        return {"sent": True}

    spy_action.behaviour = slow
    event = delivery("pay-1")
    envelope = TaskEnvelope(task_id="pay-1", user_id=456, action="spy", data={})
    scheduler = SchedulerContext.from_headers(event["headers"])
    # The first delivery runs in another container (here: a thread calling the same service).
    first = threading.Thread(
        target=get_task_runner().run, args=(envelope, scheduler, LocalLambdaContext(timeout_seconds=30))
    )
    first.start()
    assert started.wait(5)
    try:
        with pytest.raises(TaskInvocationFailed, match="already running in another invocation"):
            callback(delivery("pay-1", attempt=1))
    finally:
        release.set()
        first.join(5)

    replay = callback(delivery("pay-1", attempt=2))
    assert body_of(replay)["duplicate"] is True
    assert body_of(replay)["result"] == {"sent": True}
    assert len(spy_action.runs) == 1


def test_attempt_that_timed_out_does_not_block_the_retry(callback, spy_action):
    from callback_app.service import get_task_runner
    from taskcore.envelope import TaskEnvelope
    from taskcore.proxy import SchedulerContext

    release, started = threading.Event(), threading.Event()

    def hangs(data, task):
        started.set()
        release.wait(5)

    spy_action.behaviour = hangs
    event = delivery("pay-1")
    envelope = TaskEnvelope(task_id="pay-1", user_id=456, action="spy", data={})
    # An attempt whose Lambda had 1 ms left: its in-progress record expires at once, as on a timeout.
    stuck = threading.Thread(
        target=get_task_runner().run,
        args=(
            envelope,
            SchedulerContext.from_headers(event["headers"]),
            LocalLambdaContext(timeout_seconds=0.001),
        ),
    )
    stuck.start()
    assert started.wait(5)
    spy_action.behaviour = lambda data, task: {"sent": True}
    try:
        retry = callback(delivery("pay-1", attempt=2))
    finally:
        release.set()
        stuck.join(5)

    assert retry["statusCode"] == 200
    assert body_of(retry)["duplicate"] is False
    assert len(spy_action.runs) == 2


def test_an_action_that_runs_twice_applies_its_effect_once_through_the_idempotency_key(callback, aws):
    """The example action hands the occurrence's key downstream: a rerun after a result that could not be
    recorded (or a kill by the timeout) is answered by the provider without applying the payment again."""
    from callback_app.service import get_task_runner
    from taskcore.actions._payment_provider import provider

    provider.applied.clear()
    client = get_task_runner().store.client  # type: ignore[attr-defined]
    sent = [0]

    def lose_the_result(**_: object) -> None:  # the start write passes, the end write fails (each of 4 tries)
        sent[0] += 1
        if 1 < sent[0] <= 5:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    client.meta.events.register("before-send.dynamodb.TransactWriteItems", lose_the_result)
    event = delivery("pay-7", action="process_payment", data={"payment_id": "p-7", "operation": "capture"})
    with pytest.raises(TaskInvocationFailed, match="could not be recorded"):
        callback(event, LocalLambdaContext(timeout_seconds=0.3))  # its in-progress record expires with it
    time.sleep(0.4)
    retried = callback(event)  # Lambda's retry runs the action again, in full

    assert retried["statusCode"] == 200
    assert body_of(retried)["result"] == {"payment_id": "p-7", "operation": "capture", "status": "done"}
    assert provider.applied == [("p-7", "capture")]
