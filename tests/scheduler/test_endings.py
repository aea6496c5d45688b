"""Every ending recorded, whatever ended it (issue 19, item 3): the recorder and the sweep, on moto.

A task is created through the API and delivered to the callback's real entry point; what Lambda and
EventBridge Scheduler then do (a failure record to the on-failure destination, a dead letter) is sent to the
template's inbox queue, received as Lambda's event source mapping receives it, and handed to the recorder's
real entry point. The task is then read back through the API.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from localcloud.lambda_context import LocalLambdaContext
from localcloud.lambda_service import Invocation, invocation_record
from taskcore.ledger import request_pointer_item, request_pointer_key, run_sk, task_pk
from taskcore.proxy import delivered_event
from tests.callback.helpers import ThrottledKey
from tests.scheduler.helpers import task
from tests.scheduler.test_full_loop import deliver


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
    for _ in range(3):  # Lambda's retries of an asynchronous invocation keep its request id
        invocation.attempts += 1
        with pytest.raises(TaskInvocationFailed):
            callback(event, LocalLambdaContext(aws_request_id=invocation.request_id))
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
        .get_item(Key={"pk": task_pk("pay-timeout"), "sk": "STATE"})["Item"]
    )
    assert "quota_key" not in item  # its owner's quota slot given back


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
    # The callback's own start write kept the request's pointer item; Lambda's record comes without its payload
    # (dropped: too large for the destination).
    pointer = boto3.client("dynamodb").get_item(
        TableName=aws.names["TaskLedgerTable"], Key=request_pointer_key(invocation.request_id)
    )["Item"]
    assert pointer == request_pointer_item(
        invocation.request_id,
        task_pk=task_pk("pay-big"),
        run_sk=run_sk(scheduled),
        kind="one-time",
        expiration=int(pointer["expiration"]["N"]),
    )
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


@pytest.mark.parametrize("payload", ["with its payload", "without its payload"])
def test_a_failure_record_of_an_occurrence_whose_result_is_stored_reads_succeeded_and_is_not_forwarded(
    payload: str,
    api: Any,
    scheduler: Any,
    group: str,
    callback: Any,
    spy_action: Any,
    recorder: Any,
    queues: Any,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from callback_app.handler import TaskInvocationFailed

    task_id = "pay-stored" if payload == "with its payload" else "big-pay-stored"
    # The action succeeds and Powertools stores its result (COMPLETED); from then on every ledger write naming the
    # task's key is throttled until Lambda gives up (each attempt has 0.2 s to back off in).
    hot = ThrottledKey(task_pk(task_id)).install(monkeypatch)
    hot.on = False

    def pays(data: Any, context: Any) -> dict[str, Any]:
        hot.on = True
        return {"paid": 42}

    spy_action.behaviour = pays
    assert api.post("/api/v1/schedules", json=task(task_id, action="spy", delay_minutes=5)).status_code == 201
    schedule = scheduler.get_schedule(Name=task_id, GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    event = delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at)
    invocation = Invocation(event, schedule["Target"]["Arn"], datetime.now(UTC))
    for _ in range(3):
        invocation.attempts += 1
        with pytest.raises(TaskInvocationFailed):
            callback(event, LocalLambdaContext(aws_request_id=invocation.request_id, timeout_seconds=1.2))
    hot.on = False  # the key has cooled down by the time the recorder reads Lambda's failure record
    error = {"errorType": "TaskInvocationFailed", "errorMessage": "the run could not be recorded"}
    record = invocation_record(invocation, error, condition="RetriesExhausted", now=datetime.now(UTC))
    if payload == "without its payload":  # too large for the destination: the request id still names the run
        del record["requestPayload"]
    boto3.client("sqs").send_message(QueueUrl=queues["CallbackFailureInbox"], MessageBody=json.dumps(record))

    answer = recorder(received("CallbackFailureInbox", aws))

    read = api.get(f"/api/v1/schedules/{task_id}").json()
    assert answer == {"batchItemFailures": []}
    assert len(spy_action.runs) == 1
    assert (read["status"], read["runs"][0]["outcome"], read["runs"][0]["final"]) == ("succeeded", "succeeded", True)
    assert read["runs"][0]["result"] == {"paid": 42}
    assert operator_messages("CallbackFailureQueue", aws) == []  # nothing to redrive


def test_a_recorder_write_throttled_past_botocores_own_retries_backs_off_and_is_recorded(
    api: Any, scheduler: Any, group: str, recorder: Any, queues: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.config import Config

    from callback_app import recorder as module

    # botocore's own retries off, so that what waits for the key is the recorder's backoff (callback_app.backoff).
    dynamodb = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    monkeypatch.setattr(module, "get_clients", lambda: (dynamodb, boto3.client("sqs")))
    module.get_endings.cache_clear()
    hot = ThrottledKey(task_pk("pay-hot-end"), times=4).install(monkeypatch)
    hot.on = False
    api.post("/api/v1/schedules", json=task("pay-hot-end", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-hot-end", GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    body = json.dumps(delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at))
    scheduler.delete_schedule(Name="pay-hot-end", GroupName=group)
    boto3.client("sqs").send_message(
        QueueUrl=queues["ScheduleDeliveryInbox"],
        MessageBody=body,
        MessageAttributes={"ERROR_CODE": {"DataType": "String", "StringValue": "AWS.Lambda.TooManyRequestsException"}},
    )
    hot.on = True

    answer = recorder(received("ScheduleDeliveryInbox", aws))

    read = api.get("/api/v1/schedules/pay-hot-end").json()
    assert answer == {"batchItemFailures": []}
    assert hot.refused == ["update_item"] * 4
    assert (read["status"], read["runs"][0]["outcome"]) == ("failed", "undelivered")
    module.get_endings.cache_clear()


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


def test_in_a_batch_only_the_letter_that_failed_is_received_again(
    api: Any, scheduler: Any, group: str, recorder: Any, queues: Any, aws: Any
) -> None:
    api.post("/api/v1/schedules", json=task("pay-batch", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-batch", GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    body = json.dumps(delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at))
    sqs = boto3.client("sqs")
    for _ in range(2):
        sqs.send_message(QueueUrl=queues["ScheduleDeliveryInbox"], MessageBody=body)
    event = received("ScheduleDeliveryInbox", aws)
    stray = event["Records"][1]
    stray["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:NotAnInbox"  # no operator queue to forward to

    answer = recorder(event)

    assert answer == {"batchItemFailures": [{"itemIdentifier": stray["messageId"]}]}
    assert len(operator_messages("ScheduleDeliveryDLQ", aws)) == 1


def test_a_redrive_of_an_undelivered_occurrence_runs_it_once_and_the_task_reads_succeeded(
    api: Any, scheduler: Any, group: str, recorder: Any, queues: Any, aws: Any, callback: Any, spy_action: Any
) -> None:
    # The recorder wrote the run with no attempt (the delivery never reached Lambda); the redrive is the first.
    api.post("/api/v1/schedules", json=task("pay-redriven", action="spy", delay_minutes=5))
    schedule = scheduler.get_schedule(Name="pay-redriven", GroupName=group)
    at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    event = delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at)
    attributes = {"ERROR_CODE": "AccessDeniedException", "ERROR_MESSAGE": "denied", "RETRY_ATTEMPTS": "0"}
    boto3.client("sqs").send_message(
        QueueUrl=queues["ScheduleDeliveryInbox"],
        MessageBody=json.dumps(event),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    scheduler.delete_schedule(Name="pay-redriven", GroupName=group)
    recorder(received("ScheduleDeliveryInbox", aws))

    answer = callback(event)

    read = api.get("/api/v1/schedules/pay-redriven").json()
    assert answer["statusCode"] == 200
    assert len(spy_action.runs) == 1
    assert (read["status"], read["runs"][0]["outcome"], read["runs"][0]["attempts"]) == ("succeeded", "succeeded", 1)
