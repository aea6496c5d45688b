"""Every ending recorded, whatever ended it (issue 19, item 3): the recorder and the sweep, on moto.

A task is created through the API and delivered to the callback's real entry point; what Lambda and
EventBridge Scheduler then do (a failure record to the on-failure destination, a dead letter) is sent to the
template's inbox queue, received as Lambda's event source mapping receives it, and handed to the recorder's
real entry point. The task is then read back through the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from localcloud.lambda_context import LocalLambdaContext
from localcloud.lambda_service import Invocation, invocation_record
from taskcore.ledger import request_pointer_item, run_sk, task_pk
from taskcore.proxy import delivered_event
from tests.scheduler.helpers import Clock, task
from tests.scheduler.test_full_loop import deliver

INBOXES = ("CallbackFailureInbox", "ScheduleDeliveryInbox", "CallbackFailureQueue", "ScheduleDeliveryDLQ")


@pytest.fixture
def queues(scheduler_env: Any) -> Iterator[dict[str, str]]:
    """The inboxes and the operator queues (URLs), emptied after the test (the module's moto outlives it)."""
    sqs = boto3.client("sqs")
    urls = {name: sqs.get_queue_url(QueueName=scheduler_env.names[name])["QueueUrl"] for name in INBOXES}
    yield urls
    for url in urls.values():  # PurgeQueue is allowed once a minute: receive and delete instead
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def recorder(scheduler_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """The recorder's real entry point, with the environment template.yaml gives RecorderFunction."""
    from callback_app import recorder as module

    aws = scheduler_env
    monkeypatch.setenv("TASK_LEDGER_TABLE", aws.names["TaskLedgerTable"])
    monkeypatch.setenv("CALLBACK_FAILURE_INBOX_ARN", aws.arns["CallbackFailureInbox"])
    monkeypatch.setenv("SCHEDULE_DELIVERY_INBOX_ARN", aws.arns["ScheduleDeliveryInbox"])
    monkeypatch.setenv("CALLBACK_FAILURE_QUEUE_URL", aws.queue_urls["CallbackFailureQueue"])
    monkeypatch.setenv("SCHEDULE_DELIVERY_DLQ_URL", aws.queue_urls["ScheduleDeliveryDLQ"])
    monkeypatch.setenv("SCHEDULE_GROUP_NAME", aws.names["ScheduleGroup"])
    caches = (module.get_recorder_settings, module.get_clients, module.get_endings, module.get_scheduler_client)
    for cached in caches:
        cached.cache_clear()
    yield lambda event: module.lambda_handler(event, LocalLambdaContext(function_name="RecorderFunction"))
    for cached in caches:
        cached.cache_clear()


def received(inbox: str, aws: Any) -> dict[str, Any]:
    """What Lambda's SQS event source mapping hands the function: the inbox's messages as an SQS event."""
    sqs = boto3.client("sqs")
    url = aws.queue_urls[inbox]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {
                name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
                for name, value in (m.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": aws.arns[inbox],
            "awsRegion": "us-east-1",
        }
        for m in messages
    ]
    return {"Records": records}


def operator_messages(queue: str, aws: Any) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    answer = sqs.receive_message(QueueUrl=aws.queue_urls[queue], MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    found: list[dict[str, Any]] = [dict(message) for message in answer.get("Messages", [])]
    return found


def failing_three_times(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any, task_id: str, error: BaseException
) -> tuple[dict[str, Any], Invocation]:
    """Create a one-time task whose action raises `error`, and deliver it as Lambda does: 3 invocations."""
    from callback_app.handler import TaskInvocationFailed

    def fail(data: Any, context: Any) -> None:
        raise error

    spy_action.behaviour = fail
    assert api.post("/api/v1/schedules", json=task(task_id, action="spy", delay_minutes=5)).status_code == 201
    schedule = scheduler.get_schedule(Name=task_id, GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    event = delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at)
    invocation = Invocation(event, schedule["Target"]["Arn"], datetime.now(UTC))
    for _ in range(3):
        invocation.attempts += 1
        with pytest.raises(TaskInvocationFailed):
            callback(event)
    scheduler.delete_schedule(Name=task_id, GroupName=group)
    return event, invocation


def test_a_one_time_task_whose_attempts_all_failed_reads_failed_with_its_reason_and_frees_its_slot(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any, recorder: Any, queues: Any, aws: Any
) -> None:
    _, invocation = failing_three_times(
        api, scheduler, group, callback, spy_action, "pay-timeout", RuntimeError("boom")
    )
    # The callback's own last write already says failed: make it the timeout case, which no attempt writes.
    error = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 30.00 seconds"}
    record = invocation_record(invocation, error, condition="RetriesExhausted", now=datetime.now(UTC))
    boto3.client("sqs").send_message(QueueUrl=queues["CallbackFailureInbox"], MessageBody=json.dumps(record))

    answer = recorder(received("CallbackFailureInbox", aws))

    read = api.get("/api/v1/schedules/pay-timeout").json()
    forwarded = operator_messages("CallbackFailureQueue", aws)
    assert answer == {"batchItemFailures": []}
    assert read["status"] == "failed"
    assert read["runs"][0]["outcome"] == "timed_out"
    assert read["runs"][0]["final"] is True
    assert read["reason"] == "Sandbox.Timedout: Task timed out after 30.00 seconds"
    assert [json.loads(m["Body"]) for m in forwarded] == [record]  # unchanged, for make dlq and make redrive
    item = (
        boto3.resource("dynamodb")
        .Table(aws.names["TaskLedgerTable"])
        .get_item(Key={"pk": task_pk("pay-timeout"), "sk": "TASK"})["Item"]
    )
    assert "live_owner_key" not in item


def test_an_event_that_expired_in_lambdas_queue_reads_expired_and_the_task_failed(
    api: Any, scheduler: Any, group: str, recorder: Any, queues: Any, aws: Any
) -> None:
    api.post("/api/v1/schedules", json=task("pay-expired", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-expired", GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    event = delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at)
    scheduler.delete_schedule(Name="pay-expired", GroupName=group)
    invocation = Invocation(event, schedule["Target"]["Arn"], datetime.now(UTC))  # never ran: 0 attempts
    error = {"errorType": "EventAgeExceeded", "errorMessage": ""}
    record = invocation_record(invocation, error, condition="EventAgeExceeded", now=datetime.now(UTC))
    boto3.client("sqs").send_message(QueueUrl=queues["CallbackFailureInbox"], MessageBody=json.dumps(record))

    recorder(received("CallbackFailureInbox", aws))

    read = api.get("/api/v1/schedules/pay-expired").json()
    assert (read["status"], read["runs"][0]["outcome"], read["runs"][0]["attempts"]) == ("failed", "expired", 0)
    assert read["reason"].startswith("EventAgeExceeded: the event waited past its maximum age")


def test_a_delivery_scheduler_could_not_make_reads_undelivered_with_its_reason(
    api: Any, scheduler: Any, group: str, recorder: Any, queues: Any, aws: Any
) -> None:
    api.post("/api/v1/schedules", json=task("pay-undelivered", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-undelivered", GroupName=group)
    assert schedule["Target"]["DeadLetterConfig"]["Arn"] == aws.arns["ScheduleDeliveryInbox"]
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    body = json.dumps(delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at))
    attributes = {
        "ERROR_CODE": "AWS.Lambda.ResourceNotFoundException",
        "ERROR_MESSAGE": "Function not found",
        "RETRY_ATTEMPTS": "0",
    }
    boto3.client("sqs").send_message(
        QueueUrl=queues["ScheduleDeliveryInbox"],
        MessageBody=body,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    scheduler.delete_schedule(Name="pay-undelivered", GroupName=group)

    recorder(received("ScheduleDeliveryInbox", aws))

    read = api.get("/api/v1/schedules/pay-undelivered").json()
    [forwarded] = operator_messages("ScheduleDeliveryDLQ", aws)
    assert (read["status"], read["runs"][0]["outcome"]) == ("failed", "undelivered")
    assert read["reason"] == "AWS.Lambda.ResourceNotFoundException: Function not found"
    assert forwarded["Body"] == body
    assert {k: v["StringValue"] for k, v in forwarded["MessageAttributes"].items()} == attributes


def test_a_failure_record_without_its_payload_is_recorded_through_the_request_id(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any, recorder: Any, queues: Any, aws: Any
) -> None:
    event, invocation = failing_three_times(
        api, scheduler, group, callback, spy_action, "pay-big", ConnectionError("down")
    )
    scheduled = event["headers"]["X-Scheduler-Scheduled-Time"]
    # What the callback's start write keeps for the request (the pointer item), then Lambda's record without its
    # payload (dropped: too large for the destination).
    pointer = request_pointer_item(
        invocation.request_id, task_pk=task_pk("pay-big"), run_sk=run_sk(scheduled), kind="one-time", expiration=2**31
    )
    boto3.client("dynamodb").put_item(TableName=aws.names["TaskLedgerTable"], Item=pointer)
    error = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 30.00 seconds"}
    record = invocation_record(invocation, error, condition="RetriesExhausted", now=datetime.now(UTC))
    del record["requestPayload"]
    boto3.client("sqs").send_message(QueueUrl=queues["CallbackFailureInbox"], MessageBody=json.dumps(record))

    recorder(received("CallbackFailureInbox", aws))

    read = api.get("/api/v1/schedules/pay-big").json()
    assert (read["status"], read["runs"][0]["outcome"]) == ("failed", "timed_out")


def test_a_letter_the_recorder_cannot_forward_fails_and_recording_it_again_changes_nothing(
    api: Any, scheduler: Any, group: str, recorder: Any, queues: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.post("/api/v1/schedules", json=task("pay-twice", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-twice", GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    body = json.dumps(delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at))
    boto3.client("sqs").send_message(QueueUrl=queues["ScheduleDeliveryInbox"], MessageBody=body)
    event = received("ScheduleDeliveryInbox", aws)
    monkeypatch.setenv("SCHEDULE_DELIVERY_DLQ_URL", "")
    from callback_app.recorder import get_recorder_settings

    get_recorder_settings.cache_clear()
    with pytest.raises(BatchProcessingError):  # every record failed: the invocation fails, all are received again
        recorder(event)
    monkeypatch.setenv("SCHEDULE_DELIVERY_DLQ_URL", aws.queue_urls["ScheduleDeliveryDLQ"])
    get_recorder_settings.cache_clear()
    second = recorder(event)

    read = api.get("/api/v1/schedules/pay-twice").json()
    assert second == {"batchItemFailures": []}
    assert (read["status"], read["runs"][0]["outcome"]) == ("failed", "undelivered")
    assert len(operator_messages("ScheduleDeliveryDLQ", aws)) == 1


def test_a_failure_record_after_a_success_changes_nothing(
    api: Any, scheduler: Any, group: str, callback: Any, recorder: Any, queues: Any, aws: Any
) -> None:
    api.post("/api/v1/schedules", json=task("pay-ok", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-ok", GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    event = deliver(scheduler, group, "pay-ok", callback, at=at) and delivered_event(
        schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at
    )
    invocation = Invocation(event, schedule["Target"]["Arn"], datetime.now(UTC), attempts=3)
    record = invocation_record(
        invocation, {"errorType": "X", "errorMessage": "y"}, condition="RetriesExhausted", now=datetime.now(UTC)
    )
    boto3.client("sqs").send_message(QueueUrl=queues["CallbackFailureInbox"], MessageBody=json.dumps(record))

    recorder(received("CallbackFailureInbox", aws))

    read = api.get("/api/v1/schedules/pay-ok").json()
    assert (read["status"], read["runs"][0]["outcome"]) == ("succeeded", "succeeded")


# --- The sweep ---------------------------------------------------------------------------------------------------


def test_a_one_time_task_whose_schedule_vanished_without_a_run_reads_missed_after_its_window(
    api: Any, scheduler: Any, group: str, recorder: Any, clock: Clock
) -> None:
    api.post("/api/v1/schedules", json=task("pay-vanished", delay_minutes=5))
    api.post("/api/v1/schedules", json=task("pay-pending", delay_minutes=5))
    scheduler.delete_schedule(Name="pay-vanished", GroupName=group)  # gone, and no attempt ever started

    early = sweep_at(recorder, datetime.now(UTC) + timedelta(minutes=6))  # within the delivery window
    late = sweep_at(recorder, datetime.now(UTC) + timedelta(minutes=11))

    vanished = api.get("/api/v1/schedules/pay-vanished").json()
    pending = api.get("/api/v1/schedules/pay-pending").json()
    assert (early["missed"], late["missed"], late["waiting"]) == (0, 1, 1)
    assert vanished["status"] == "missed"
    assert vanished["reason"].startswith("the schedule vanished without a run (due at ")
    assert pending["status"] == "scheduled"  # its schedule still exists: Scheduler may still deliver it


def test_a_recurring_task_past_its_end_reads_ended_and_frees_its_slot(
    api: Any, recorder: Any, aws: Any, clock: Clock
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set(now)
    end = now + timedelta(hours=2)
    api.post(
        "/api/v1/schedules",
        json=task("report-hourly", rate="rate(1 hour)", end_at=end.isoformat().replace("+00:00", "Z")),
    )

    before = sweep_at(recorder, end - timedelta(minutes=1))
    after = sweep_at(recorder, end + timedelta(minutes=6))

    clock.set(end + timedelta(minutes=7))
    read = api.get("/api/v1/schedules/report-hourly").json()
    item = (
        boto3.resource("dynamodb")
        .Table(aws.names["TaskLedgerTable"])
        .get_item(Key={"pk": task_pk("report-hourly"), "sk": "TASK"})["Item"]
    )
    assert (before["ended"], after["ended"]) == (0, 1)
    assert read["status"] == "ended"
    assert read["reason"].startswith("past its end at ")
    assert "live_owner_key" not in item
    assert "expiration" in item


def sweep_at(recorder: Any, moment: datetime) -> dict[str, Any]:
    """One sweep as of `moment` (the recorder's clock moved there)."""
    from unittest import mock

    with mock.patch("callback_app.recorder.datetime") as clock:
        clock.now.return_value = moment
        answer: dict[str, Any] = recorder({"sweep": "due"})
    return answer


# --- Redriving a failure record whose payload Lambda dropped ------------------------------------------------------


def test_a_failure_record_without_its_payload_is_redriven_from_the_ledgers_copy_of_the_request(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any, queues: Any, aws: Any
) -> None:
    from ops.ledger_copy import LedgerCopy
    from ops.letters import LetterKind, held_letters
    from ops.replay import replay_all

    event, invocation = failing_three_times(
        api, scheduler, group, callback, spy_action, "pay-redrive", ConnectionError("down")
    )
    scheduled = event["headers"]["X-Scheduler-Scheduled-Time"]
    pointer = request_pointer_item(
        invocation.request_id,
        task_pk=task_pk("pay-redrive"),
        run_sk=run_sk(scheduled),
        kind="one-time",
        expiration=2**31,
    )
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName=aws.names["TaskLedgerTable"], Item=pointer)
    record = invocation_record(
        invocation, {"errorType": "X", "errorMessage": "y"}, condition="RetriesExhausted", now=datetime.now(UTC)
    )
    del record["requestPayload"]  # too large for the destination: Lambda dropped it
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queues["CallbackFailureQueue"], MessageBody=json.dumps(record))
    seen: list[Any] = []

    def succeed(data: Any, task: Any) -> dict[str, Any]:
        seen.append(data.model_dump())
        return {"sent": True}

    spy_action.behaviour = succeed
    spy_action.runs.clear()

    with held_letters(sqs, [(queues["CallbackFailureQueue"], LetterKind.INVOCATION)]) as letters:
        [letter] = letters
        outcomes = replay_all(
            letters,
            callback,
            client=sqs,
            concurrency=1,
            ledger=LedgerCopy(dynamodb, aws.names["TaskLedgerTable"]),
        )
    ran_with = [run.scheduled_time.isoformat() if run.scheduled_time else None for run in spy_action.runs]

    assert (letter.event, letter.request_id) == (None, invocation.request_id)
    assert [o.outcome for o in outcomes] == ["succeeded"]
    assert ran_with == [datetime.fromisoformat(scheduled).isoformat()]  # the lost occurrence, not a new one
    assert seen == [event_data(event)]
    assert operator_messages("CallbackFailureQueue", aws) == []
    assert api.get("/api/v1/schedules/pay-redrive").json()["status"] == "succeeded"


def test_a_payload_less_record_whose_run_the_ledger_does_not_know_stays_with_the_reason(
    queues: Any, aws: Any, callback: Any
) -> None:
    from ops.ledger_copy import LedgerCopy
    from ops.letters import LetterKind, held_letters
    from ops.replay import replay_all

    record = {
        "requestContext": {"requestId": "gone", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "responsePayload": {"errorType": "X", "errorMessage": "y"},
    }
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queues["CallbackFailureQueue"], MessageBody=json.dumps(record))

    with held_letters(sqs, [(queues["CallbackFailureQueue"], LetterKind.INVOCATION)]) as letters:
        [outcome] = replay_all(
            letters,
            callback,
            client=sqs,
            concurrency=1,
            ledger=LedgerCopy(boto3.client("dynamodb"), aws.names["TaskLedgerTable"]),
        )

    assert outcome.outcome == "failed"
    assert outcome.detail == "no run recorded for Lambda request 'gone' (its pointer expired or never was)"


def event_data(event: dict[str, Any]) -> Any:
    return json.loads(event["body"])["data"]


def test_the_sweep_takes_out_of_its_index_what_it_need_not_look_at_again_and_ends_nothing_else(
    api: Any, scheduler: Any, group: str, callback: Any, recorder: Any, aws: Any
) -> None:
    api.post("/api/v1/schedules", json=task("pay-ran", delay_minutes=5))
    api.post("/api/v1/schedules", json=task("pay-held", delay_minutes=5))
    api.post("/api/v1/schedules", json=task("pay-gone", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-ran", GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    deliver(scheduler, group, "pay-ran", callback, at=at)  # ran: its end write leaves the index keys
    scheduler.delete_schedule(Name="pay-ran", GroupName=group)
    api.post("/api/v1/schedules/pay-held/pause")  # paused past its time: only its resume ends it
    api.delete("/api/v1/schedules/pay-gone")  # cancelled: its keys went with the cancel

    first = sweep_at(recorder, datetime.now(UTC) + timedelta(minutes=11))
    second = sweep_at(recorder, datetime.now(UTC) + timedelta(minutes=12))

    ledger = boto3.resource("dynamodb").Table(aws.names["TaskLedgerTable"])
    keys = {
        task_id: "due_at" in ledger.get_item(Key={"pk": task_pk(task_id), "sk": "TASK"})["Item"]
        for task_id in ("pay-ran", "pay-held", "pay-gone")
    }
    assert (first["looked_at"], first["forgotten"], first["missed"]) == (2, 2, 0)
    assert second["looked_at"] == 0
    assert keys == {"pay-ran": False, "pay-held": False, "pay-gone": False}
    assert api.get("/api/v1/schedules/pay-ran").json()["status"] == "succeeded"
    assert api.get("/api/v1/schedules/pay-held").json()["status"] == "paused"


def test_a_failure_record_of_a_recurring_occurrence_records_the_run_and_leaves_the_task_scheduled(
    api: Any, scheduler: Any, group: str, recorder: Any, queues: Any, aws: Any
) -> None:
    api.post("/api/v1/schedules", json=task("report-often", rate="rate(1 hour)"))
    schedule = scheduler.get_schedule(Name="report-often", GroupName=group)
    at = datetime.now(UTC).replace(microsecond=0)
    event = delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at)
    invocation = Invocation(event, schedule["Target"]["Arn"], at, attempts=1)
    record = invocation_record(invocation, {"errorType": "X"}, condition="EventAgeExceeded", now=at)
    boto3.client("sqs").send_message(QueueUrl=queues["CallbackFailureInbox"], MessageBody=json.dumps(record))

    recorder(received("CallbackFailureInbox", aws))

    read = api.get("/api/v1/schedules/report-often").json()
    assert (read["status"], read["runs"][0]["outcome"], read["runs"][0]["final"]) == ("scheduled", "expired", True)
    assert read["last_run"]["outcome"] == "expired"
