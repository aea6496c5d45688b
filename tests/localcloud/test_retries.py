"""Failures as AWS handles them: Lambda retries a failed invocation twice, then its on-failure queue gets it;
Scheduler retries failed deliveries under the schedule's RetryPolicy, then its dead-letter queue gets them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from localcloud.delivery import DeliveryError
from localcloud.dlq import redrive
from localcloud.runstate import RunState
from localcloud.schedules import Schedule
from ops.letters import describe
from ops.queues import QueuedMessage
from taskcore.registry import TaskContext
from tests.callback.helpers import ActionSpy, AnyData
from tests.localcloud.helpers import Invocations, MakeHarness, attributes, create_schedule, queue_messages, utc


def failing(spy: ActionSpy, times: int) -> None:
    """Make the spy action raise on its first `times` runs."""

    def behaviour(data: AnyData, task: TaskContext) -> dict[str, Any] | None:
        if len(spy.runs) <= times:
            raise RuntimeError("payment provider unavailable")
        return {"ok": True}

    spy.behaviour = behaviour


def test_failed_invocation_is_retried_twice_with_backoff_then_sent_to_the_on_failure_queue(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    failing(spy_action, times=99)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), retry_delays=(1.0, 2.0))
    create_schedule(h.scheduler, h.resources, "pay-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 0, 2, 999_000))
    assert len(spy_action.runs) == 2  # at 09:00:00 and 09:00:01; the last retry waits 2 s more
    h.run_until(utc(2026, 12, 1, 9, 5))

    assert len(spy_action.runs) == 3
    # Lambda retries the event it accepted: same occurrence, same Scheduler attempt and execution id.
    assert {run.scheduled_time for run in spy_action.runs} == {utc(2026, 12, 1, 9)}
    assert {run.attempt for run in spy_action.runs} == {1}
    assert len({run.execution_id for run in spy_action.runs}) == 1

    (message,) = queue_messages(h.sqs, h.queue_url("CallbackFailureQueue"))
    assert_an_on_failure_record_of_pay_1_after_three_invocations(json.loads(message["Body"]))
    assert h.schedule_names() == []  # delivered, so the one-time schedule completed
    assert queue_messages(h.sqs, h.queue_url("ScheduleDeliveryDLQ")) == []


def assert_an_on_failure_record_of_pay_1_after_three_invocations(record: dict[str, Any]) -> None:
    """Lambda's on-failure destination record: why, how often, which function, the error and the event."""
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:CallbackFunction:$LATEST")
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "TaskInvocationFailed"
    assert "RuntimeError" in record["responsePayload"]["errorMessage"]
    assert json.loads(record["requestPayload"]["body"])["task_id"] == "pay-1"
    assert record["requestPayload"]["headers"]["X-Scheduler-Scheduled-Time"] == "2026-12-01T09:00:00Z"


def test_invocation_that_succeeds_on_a_retry_is_not_dead_lettered(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    failing(spy_action, times=1)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50))
    create_schedule(h.scheduler, h.resources, "flaky-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    assert len(spy_action.runs) == 2
    assert queue_messages(h.sqs, h.queue_url("CallbackFailureQueue")) == []
    assert [line["retry_in_seconds"] for line in h.messages("invocation failed; Lambda will retry")] == [1.0]


def test_dead_lettered_task_is_listed_and_redriven_then_deleted(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    failing(spy_action, times=3)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50))
    create_schedule(h.scheduler, h.resources, "pay-2", "at(2026-12-01T09:00:00)")
    h.run_until(utc(2026, 12, 1, 9, 5))
    (raw,) = queue_messages(h.sqs, h.queue_url("CallbackFailureQueue"))
    message = QueuedMessage(
        queue="CallbackFailureQueue",
        queue_url=h.queue_url("CallbackFailureQueue"),
        message_id=raw["MessageId"],
        receipt_handle=raw["ReceiptHandle"],
        body=raw["Body"],
    )

    letter = describe(message, "invocation")
    assert (letter.task_id, letter.action, letter.scheduled_time) == ("pay-2", "spy", "2026-12-01T09:00:00Z")
    assert letter.attempts == 3
    assert letter.error.startswith("TaskInvocationFailed: ")

    state = RunState(pid=0, api_url="", moto_url="", environment={})
    result = redrive(state, [letter], client=h.sqs)

    assert (result.succeeded, result.failed) == (1, 0)
    assert len(spy_action.runs) == 4
    assert spy_action.runs[-1].scheduled_time == utc(2026, 12, 1, 9)  # the same occurrence, run once now
    assert queue_messages(h.sqs, h.queue_url("CallbackFailureQueue")) == []


def test_redrive_that_fails_again_keeps_the_message(make_harness: MakeHarness, spy_action: ActionSpy) -> None:
    failing(spy_action, times=99)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50))
    create_schedule(h.scheduler, h.resources, "pay-3", "at(2026-12-01T09:00:00)")
    h.run_until(utc(2026, 12, 1, 9, 5))
    (raw,) = queue_messages(h.sqs, h.queue_url("CallbackFailureQueue"))
    message = QueuedMessage(
        "CallbackFailureQueue", h.queue_url("CallbackFailureQueue"), raw["MessageId"], raw["ReceiptHandle"], raw["Body"]
    )

    result = redrive(RunState(0, "", "", {}), [describe(message, "invocation")], client=h.sqs)

    assert (result.succeeded, result.failed) == (0, 1)
    assert len(queue_messages(h.sqs, h.queue_url("CallbackFailureQueue"))) == 1


def test_delivery_to_a_target_that_is_not_a_local_function_is_dead_lettered_at_once(make_harness: MakeHarness) -> None:
    calls = Invocations()
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=calls)
    missing = "arn:aws:lambda:us-east-1:123456789012:function:NoSuchFunction"
    created = create_schedule(h.scheduler, h.resources, "lost-1", "at(2026-12-01T09:00:00)", target_arn=missing)

    h.run_until(utc(2026, 12, 1, 9, 5))

    assert calls.events == []
    (message,) = queue_messages(h.sqs, h.queue_url("ScheduleDeliveryDLQ"))
    attrs = attributes(message)
    assert attrs["ERROR_CODE"] == "ResourceNotFoundException"
    assert attrs["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attrs  # not retryable: no retry condition ran out
    assert attrs["SCHEDULE_ARN"] == created["ScheduleArn"]
    assert attrs["TARGET_ARN"] == missing
    assert attrs["SCHEDULED_TIME"] == "2026-12-01T09:00:00Z"
    assert json.loads(message["Body"])["headers"]["X-Scheduler-Execution-Id"] == attrs["EXECUTION_ID"]
    assert h.schedule_names() == []  # completed, if unsuccessfully


def test_delivery_with_a_role_that_may_not_invoke_the_callback_is_dead_lettered(make_harness: MakeHarness) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=Invocations())
    create_schedule(
        h.scheduler,
        h.resources,
        "norole",
        "at(2026-12-01T09:00:00)",
        role_arn="arn:aws:iam::123456789012:role/SomethingElse",
    )

    h.run_until(utc(2026, 12, 1, 9, 1))

    (message,) = queue_messages(h.sqs, h.queue_url("ScheduleDeliveryDLQ"))
    assert attributes(message)["ERROR_CODE"] == "AccessDeniedException"


def test_input_that_is_not_json_is_dead_lettered(make_harness: MakeHarness) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=Invocations())
    create_schedule(h.scheduler, h.resources, "garbled", "at(2026-12-01T09:00:00)", input_text="{not json")

    h.run_until(utc(2026, 12, 1, 9, 1))

    (message,) = queue_messages(h.sqs, h.queue_url("ScheduleDeliveryDLQ"))
    assert attributes(message)["ERROR_CODE"] == "InvalidRequestContentException"
    assert message["Body"] == "{not json"


def throttled(schedule: Schedule, attempt: int) -> DeliveryError:
    return DeliveryError("TooManyRequestsException", "Rate exceeded", retryable=True)


def test_retryable_delivery_failure_is_retried_with_new_attempt_numbers_until_it_succeeds(
    make_harness: MakeHarness,
) -> None:
    calls = Invocations()

    def twice(schedule: Schedule, attempt: int) -> DeliveryError | None:
        return throttled(schedule, attempt) if attempt <= 2 else None

    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=calls, fault=twice)
    create_schedule(h.scheduler, h.resources, "throttled-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 0, 2))
    assert calls.events == []  # backoff: 1 s, then 2 s
    h.run_until(utc(2026, 12, 1, 9, 0, 3))

    (event,) = calls.events
    assert event["headers"]["X-Scheduler-Attempt"] == "3"
    assert event["headers"]["X-Scheduler-Scheduled-Time"] == "2026-12-01T09:00:00Z"
    failed_ids = [line["attempt"] for line in h.messages("delivery failed; Scheduler will retry")]
    assert failed_ids == [1, 2]
    assert queue_messages(h.sqs, h.queue_url("ScheduleDeliveryDLQ")) == []


def test_delivery_retries_stop_at_maximum_retry_attempts(make_harness: MakeHarness) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=Invocations(), fault=throttled)
    create_schedule(h.scheduler, h.resources, "throttled-2", "at(2026-12-01T09:00:00)", retries=2)

    h.run_until(utc(2026, 12, 1, 9, 10))

    (message,) = queue_messages(h.sqs, h.queue_url("ScheduleDeliveryDLQ"))
    attrs = attributes(message)
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attrs["RETRY_ATTEMPTS"] == "2"
    assert json.loads(message["Body"])["headers"]["X-Scheduler-Attempt"] == "3"


def test_delivery_retries_stop_at_maximum_event_age(make_harness: MakeHarness) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=Invocations(), fault=throttled)
    create_schedule(h.scheduler, h.resources, "throttled-3", "at(2026-12-01T09:00:00)", max_age=60)

    h.run_until(utc(2026, 12, 1, 9, 10))

    (message,) = queue_messages(h.sqs, h.queue_url("ScheduleDeliveryDLQ"))
    attrs = attributes(message)
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    # Backoff 1, 2, 4, 8, 16, 32 s: the sixth retry would come after 63 s, past the 60 s limit.
    assert attrs["RETRY_ATTEMPTS"] == "5"


def test_recurring_occurrences_fail_and_dead_letter_independently(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    failing(spy_action, times=99)
    h = make_harness(start=utc(2026, 12, 1, 9))
    start = utc(2026, 12, 1, 10)
    create_schedule(h.scheduler, h.resources, "hourly", "rate(1 hour)", start=start, end=start + timedelta(hours=1))

    h.run_until(utc(2026, 12, 1, 12))

    letters = [json.loads(m["Body"]) for m in queue_messages(h.sqs, h.queue_url("CallbackFailureQueue"))]
    scheduled = sorted(r["requestPayload"]["headers"]["X-Scheduler-Scheduled-Time"] for r in letters)
    assert scheduled == ["2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"]
