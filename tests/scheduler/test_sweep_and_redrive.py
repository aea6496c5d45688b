"""The sweep (missed one-time tasks, ended recurring ones) and the redrive of a payload-less failure record.

Through the recorder's real entry point (a sweep event, the recorder's clock moved) and `ops.replay` with the
ledger's copy of the request, on moto with the template's tables and queues (issue 19, item 3).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from localcloud.lambda_service import invocation_record
from taskcore.ledger import request_pointer_item, run_sk, task_pk
from tests.scheduler.helpers import Clock, task
from tests.scheduler.test_endings import failing_three_times, operator_messages
from tests.scheduler.test_full_loop import deliver

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
        .get_item(Key={"pk": task_pk("report-hourly"), "sk": "STATE"})["Item"]
    )
    assert (before["ended"], after["ended"]) == (0, 1)
    assert read["status"] == "ended"
    assert read["reason"].startswith("past its end at ")
    assert "quota_key" not in item  # its owner's quota slot given back
    assert "expiration" in item


def sweep_at(recorder: Any, moment: datetime) -> dict[str, Any]:
    """One sweep as of `moment` (the recorder's clock moved there)."""
    from taskcore.clock import use_clock

    with use_clock(lambda: moment):
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
    deliver(scheduler, group, "pay-ran", callback, at=at)  # ran: its end write removed its index keys
    scheduler.delete_schedule(Name="pay-ran", GroupName=group)
    api.post("/api/v1/schedules/pay-held/pause")  # paused past its time: only its resume ends it
    api.delete("/api/v1/schedules/pay-gone")  # cancelled: its keys went with the cancel

    first = sweep_at(recorder, datetime.now(UTC) + timedelta(minutes=11))
    second = sweep_at(recorder, datetime.now(UTC) + timedelta(minutes=12))

    ledger = boto3.resource("dynamodb").Table(aws.names["TaskLedgerTable"])
    keys = {
        task_id: "due_at" in ledger.get_item(Key={"pk": task_pk(task_id), "sk": "STATE"})["Item"]
        for task_id in ("pay-ran", "pay-held", "pay-gone")
    }
    assert (first["looked_at"], first["forgotten"], first["missed"]) == (1, 1, 0)  # only the paused one was left
    assert second["looked_at"] == 0
    assert keys == {"pay-ran": False, "pay-held": False, "pay-gone": False}
    assert api.get("/api/v1/schedules/pay-ran").json()["status"] == "succeeded"
    assert api.get("/api/v1/schedules/pay-held").json()["status"] == "paused"
