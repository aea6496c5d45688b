"""The adverse mode: each knob reproduces one thing AWS does that a kind emulator hides, on its own; the default
changes nothing. Durations are scaled (`time_scale`) and run on the FakeClock, so nothing here waits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud import dynamo_throughput
from localcloud.adverse import Adversity, parse_knob
from localcloud.deadline import call_with_deadline
from localcloud.dev import build_parser, options_from
from localcloud.lambda_service import Invocation
from localcloud.template import LocalResources
from taskcore.registry import TaskContext
from tests.callback.helpers import ActionSpy, AnyData
from tests.localcloud.helpers import MakeHarness, create_schedule, queue_messages, utc


class Recorder:
    """A Lambda handler that keeps every event and request id it was invoked with, and may fail or take time."""

    def __init__(self, *, fail: bool = False, sleep: float = 0.0, advance: timedelta | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.request_ids: list[str] = []
        self.fail = fail
        self.sleep = sleep
        self.advance = advance
        self.clock: Any = None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.request_ids.append(context.aws_request_id)
        if self.advance is not None:
            self.clock.advance(self.advance.total_seconds())  # this invocation "takes" that long on the fake clock
        if self.sleep:
            time.sleep(self.sleep)
        if self.fail:
            raise RuntimeError("downstream unavailable")
        return {"statusCode": 200, "body": "{}"}

    def execution_ids(self) -> list[str]:
        return [event["headers"]["X-Scheduler-Execution-Id"] for event in self.events]


def test_the_default_is_kind_punctual_and_delivers_once(make_harness: MakeHarness) -> None:
    assert not Adversity().active
    handler = Recorder()
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=handler)
    create_schedule(h.scheduler, h.resources, "kind-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    assert len(handler.events) == 1
    assert h.dispatcher.stats.fire_lateness == [0.0]


def test_scheduler_duplicates_deliver_the_same_occurrence_twice_with_new_execution_ids(
    make_harness: MakeHarness,
) -> None:
    handler = Recorder()
    h = make_harness(
        start=utc(2026, 12, 1, 8, 59, 50), handler=handler, adversity=Adversity(scheduler_duplicate_rate=1.0)
    )
    create_schedule(h.scheduler, h.resources, "dup-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    assert len(handler.events) == 2
    assert len(set(handler.execution_ids())) == 2  # each delivery has its own execution id
    assert {e["headers"]["X-Scheduler-Scheduled-Time"] for e in handler.events} == {"2026-12-01T09:00:00Z"}
    assert h.lambda_.stats.counts["delivery_duplicates"] == 1
    assert h.schedule_names() == []  # the one-time schedule still completes once


def test_lambda_duplicates_invoke_the_same_event_again(make_harness: MakeHarness) -> None:
    handler = Recorder()
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=handler, adversity=Adversity(lambda_duplicate_rate=1.0))
    create_schedule(h.scheduler, h.resources, "dup-2", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    first, second = handler.events
    assert first == second  # the very same event, execution id included
    assert len(set(handler.request_ids)) == 2  # two invocations


def test_the_real_callback_runs_an_action_once_under_both_kinds_of_duplicates(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    adversity = Adversity(scheduler_duplicate_rate=1.0, lambda_duplicate_rate=1.0, seed=1)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), adversity=adversity)
    create_schedule(h.scheduler, h.resources, "once-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    assert h.lambda_.stats.counts["invocations"] == 4  # 2 deliveries, each invoked twice
    assert len(spy_action.runs) == 1  # the idempotency record makes the other three duplicates


def test_deliveries_come_anywhere_within_the_minute_never_early(make_harness: MakeHarness) -> None:
    handler = Recorder()
    adversity = Adversity(delivery_spread_seconds=60.0, seed=7)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=handler, adversity=adversity)
    for n in range(12):
        create_schedule(h.scheduler, h.resources, f"spread-{n}", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    lateness = h.dispatcher.stats.fire_lateness
    assert len(lateness) == 12
    assert all(0 <= late < 60 for late in lateness)
    assert max(lateness) - min(lateness) > 10  # spread out, not all at once


def test_lambda_retries_wait_about_one_and_two_minutes_scaled(make_harness: MakeHarness) -> None:
    handler = Recorder(fail=True)
    adversity = Adversity(aws_retry_delays=True, time_scale=0.01)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=handler, adversity=adversity)
    create_schedule(h.scheduler, h.resources, "slow-retry", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    assert [line["retry_in_seconds"] for line in h.messages("invocation failed; Lambda will retry")] == [0.6, 1.2]
    assert len(handler.events) == 3


def test_an_event_waiting_in_lambdas_queue_past_its_age_goes_to_the_failure_queue_unrun(
    make_harness: MakeHarness,
) -> None:
    handler = Recorder(advance=timedelta(minutes=2))  # each invocation holds the only slot for 2 minutes
    adversity = Adversity(event_age_in_queue=True, max_event_age_seconds=90)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=handler, adversity=adversity)
    handler.clock = h.clock
    create_schedule(h.scheduler, h.resources, "first", "at(2026-12-01T09:00:00)")
    create_schedule(h.scheduler, h.resources, "second", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 10))

    assert len(handler.events) == 1  # the second waited 2 minutes behind the first: older than 90 s
    (message,) = queue_messages(h.sqs, h.queue_url("CallbackFailureQueue"))
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestPayload"]["headers"]["X-Scheduler-Scheduled-Time"] == "2026-12-01T09:00:00Z"


def test_without_the_knob_a_queued_event_waits_as_long_as_it_takes(make_harness: MakeHarness) -> None:
    handler = Recorder(advance=timedelta(minutes=2))
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=handler, adversity=Adversity(max_event_age_seconds=90))
    handler.clock = h.clock
    create_schedule(h.scheduler, h.resources, "first", "at(2026-12-01T09:00:00)")
    create_schedule(h.scheduler, h.resources, "second", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 10))

    assert len(handler.events) == 2


def test_scheduler_invocations_beyond_its_rate_wait_for_the_next_slot(make_harness: MakeHarness) -> None:
    handler = Recorder()
    adversity = Adversity(scheduler_invocations_per_second=4)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=handler, adversity=adversity)
    for n in range(12):
        create_schedule(h.scheduler, h.resources, f"burst-{n}", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    assert len(handler.events) == 12  # none lost
    lateness = sorted(h.dispatcher.stats.fire_lateness)
    assert lateness[3] == 0.0  # a second's worth at once...
    assert lateness[4] > 0  # ...then the rest as slots free up
    assert 1.5 <= lateness[-1] <= 2.5  # 12 at 4 per second
    assert h.lambda_.stats.counts["deliveries_throttled"] > 0


@pytest.mark.timeout(60)
def test_a_rate_whose_slots_are_not_whole_microseconds_still_drains_the_burst(make_harness: MakeHarness) -> None:
    # 20 a second: a slot every 0.05 s, which the clock's float seconds cannot hit exactly; a wait shorter than a
    # microsecond (the clock's resolution) used to queue the delivery again at the same instant, forever.
    handler = Recorder()
    adversity = Adversity(scheduler_invocations_per_second=20)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=handler, adversity=adversity)
    for n in range(50):
        create_schedule(h.scheduler, h.resources, f"burst-{n}", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    assert len(handler.events) == 50
    assert 1.4 <= max(h.dispatcher.stats.fire_lateness) <= 1.6  # 20 at once, then 30 more at 20 a second


def test_a_failure_record_over_the_destinations_limit_loses_its_payload(make_harness: MakeHarness) -> None:
    handler = Recorder(fail=True)
    adversity = Adversity(failure_record_limit_bytes=1_000)
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=handler, adversity=adversity)
    create_schedule(h.scheduler, h.resources, "big-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 5))

    (message,) = queue_messages(h.sqs, h.queue_url("CallbackFailureQueue"))
    record = json.loads(message["Body"])
    assert "requestPayload" not in record
    assert record["requestContext"]["requestId"] == handler.request_ids[0]  # what finds the run again
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorType"] == "RuntimeError"


def test_the_in_process_mode_stops_an_invocation_at_the_functions_timeout(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    def slow(data: AnyData, task: TaskContext) -> dict[str, Any]:
        time.sleep(5)
        return {"ok": True}

    spy_action.behaviour = slow
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), timeout=0.3)
    create_schedule(h.scheduler, h.resources, "slow-1", "at(2026-12-01T09:00:00)")
    started = time.monotonic()

    h.run_until(utc(2026, 12, 1, 9, 5))

    assert time.monotonic() - started < 4  # three attempts, each stopped at 0.3 s
    assert h.lambda_.stats.counts["invocation_timeouts"] == 3
    (message,) = queue_messages(h.sqs, h.queue_url("CallbackFailureQueue"))
    error = json.loads(message["Body"])["responsePayload"]
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.30 seconds" in error["errorMessage"]


def test_the_deadline_interrupts_a_handler_on_another_thread_too() -> None:
    outcome: list[tuple[Any, bool]] = []

    def busy() -> str:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pass
        return "finished"

    worker = threading.Thread(target=lambda: outcome.append(call_with_deadline(busy, 0.2)))
    started = time.monotonic()
    worker.start()
    worker.join(timeout=10)

    assert outcome == [(None, True)]
    assert time.monotonic() - started < 2
    assert call_with_deadline(lambda: "quick", 1.0) == ("quick", False)


def throttling_reasons(error: ClientError) -> list[dict[str, str]]:
    """The ThrottlingReasons of a throttled request's error response."""
    response: dict[str, Any] = dict(error.response)
    reasons: list[dict[str, str]] = response["ThrottlingReasons"]
    return reasons


@pytest.fixture
def hot_keys(aws: LocalResources) -> Iterator[Any]:
    """DynamoDB limited to 2 write and 2 read units per second per key; a client that does not retry."""
    dynamo_throughput.install()
    dynamo_throughput.set_limits(2, 2)
    try:
        yield boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    finally:
        dynamo_throughput.set_limits(None, None)


def test_a_hot_partition_key_is_throttled_as_dynamodb_throttles_it(aws: LocalResources, hot_keys: Any) -> None:
    table = aws.names["TaskLedgerTable"]

    def put(pk: str, user: str = "u-1") -> None:
        item = {"pk": {"S": pk}, "sk": {"S": "TASK"}, "user_key": {"S": user}, "created_key": {"S": "1"}}
        hot_keys.put_item(TableName=table, Item=item)

    put("TASK#a", user="u-a")
    put("TASK#a", user="u-a")
    with pytest.raises(ClientError) as raised:
        put("TASK#a", user="u-a")
    error: dict[str, Any] = dict(raised.value.response)
    assert error["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert {"reason": "TableWriteKeyRangeThroughputExceeded", "resource": table} in error["ThrottlingReasons"]
    put("TASK#b", user="u-b")  # another key has its own throughput

    # The index counts too: three tasks of one user, each on its own table key, heat the ByUser key.
    put("TASK#c", user="u-hot")
    put("TASK#d", user="u-hot")
    with pytest.raises(ClientError) as raised:
        put("TASK#e", user="u-hot")
    reasons = throttling_reasons(raised.value)
    assert [r["reason"] for r in reasons] == ["IndexWriteKeyRangeThroughputExceeded"]

    for _ in range(2):
        hot_keys.get_item(TableName=table, Key={"pk": {"S": "TASK#b"}, "sk": {"S": "TASK"}})
    with pytest.raises(ClientError) as raised:
        hot_keys.get_item(TableName=table, Key={"pk": {"S": "TASK#b"}, "sk": {"S": "TASK"}})
    reasons = throttling_reasons(raised.value)
    assert reasons[0]["reason"] == "TableReadKeyRangeThroughputExceeded"


def test_a_throttled_transaction_is_cancelled_with_a_throttling_reason(aws: LocalResources, hot_keys: Any) -> None:
    table = aws.names["TaskLedgerTable"]

    def transact() -> None:
        hot_keys.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "RUN#x"}, "sk": {"S": "RUN"}},
                        "UpdateExpression": "ADD attempts :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Put": {"TableName": table, "Item": {"pk": {"S": f"TASK#{time.monotonic_ns()}"}, "sk": {"S": "T"}}}},
            ]
        )

    transact()  # 2 units per write in a transaction: the run key's bucket is spent
    with pytest.raises(ClientError) as raised:
        transact()
    error = raised.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in error["CancellationReasons"]] == ["ThrottlingError", "None"]
    item = hot_keys.get_item(TableName=table, Key={"pk": {"S": "RUN#x"}, "sk": {"S": "RUN"}})["Item"]
    assert item["attempts"] == {"N": "1"}  # the cancelled transaction wrote nothing


def test_the_preset_is_aws_and_each_knob_can_be_set_on_its_own() -> None:
    preset = Adversity.preset(time_scale=0.01)
    assert preset.active
    assert preset.retry_delays((1.0, 2.0)) == (0.6, 1.2)
    assert (preset.dynamodb_wcu_per_key, preset.dynamodb_rcu_per_key) == (1000.0, 3000.0)
    assert preset.scheduler_invocations_per_second == 1000.0
    assert preset.failure_record_limit_bytes == 262_144
    assert parse_knob(Adversity(), "lambda_duplicate_rate=0.5").lambda_duplicate_rate == 0.5
    assert parse_knob(preset, "dynamodb-wcu-per-key=none").dynamodb_wcu_per_key is None
    assert parse_knob(Adversity(), "event_age_in_queue=on").event_age_in_queue is True
    with pytest.raises(ValueError, match="KNOB=VALUE"):
        parse_knob(Adversity(), "warp_speed=9")


def test_the_command_line_turns_the_preset_on_and_sets_single_knobs() -> None:
    assert not options_from(build_parser().parse_args([])).adversity.active
    adverse = options_from(build_parser().parse_args(["--adverse", "--adverse-time-scale", "0.1"])).adversity
    assert adverse == Adversity.preset(time_scale=0.1, seed=adverse.seed)
    one = options_from(build_parser().parse_args(["--adverse-set", "scheduler_duplicate_rate=0.2"])).adversity
    assert one.scheduler_duplicate_rate == 0.2
    assert one.lambda_duplicate_rate == 0.0


def test_duplicate_invocations_carry_the_accepted_event(make_harness: MakeHarness) -> None:
    handler = Recorder()
    h = make_harness(handler=handler, adversity=Adversity(lambda_duplicate_rate=1.0))
    arn = h.resources.arns["CallbackFunction"]
    h.lambda_.submit(Invocation(event={"n": 1}, function_arn=arn, received_at=h.clock.now()))

    h.run_until(h.clock.now() + timedelta(seconds=1))

    assert handler.events == [{"n": 1}, {"n": 1}]
