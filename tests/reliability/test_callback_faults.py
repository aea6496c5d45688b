"""Faults under the callback, end to end through the local cloud: nothing is lost, and the outcome is the designed one.

Each scenario creates a one-time schedule, lets the local dispatcher fire it the way EventBridge Scheduler and
Lambda would (context attributes, async retries ~1 and ~2 minutes apart as in AWS, the on-failure queue; the
delivery retry policy and its dead-letter queue), with a fault injected, and then checks the invariant:

    the task ran to completion exactly once (one COMPLETED record), or it is in a dead-letter queue with its payload.

DynamoDB faults are answered on the wire, under botocore's retries (tests.reliability.helpers.WireFaults).
Powertools' clock follows the fake one, so in-progress records expire on the timeline the scenario lives
through (Lambda's 30 s timeout; retries a minute apart), not on the milliseconds the test takes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from localcloud.delivery import DeliveryError
from tests.callback.helpers import ActionSpy
from tests.localcloud.helpers import MakeHarness, create_schedule, queue_messages
from tests.reliability.helpers import WireFaults

FIRES_AT = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
#: The callback's DynamoDB client tries each call 4 times (botocore standard mode, `max_attempts` 3 retries).
DYNAMODB_ATTEMPTS = 4
#: Lambda's asynchronous retries come about 1 and 2 minutes after a failure.
AWS_RETRY_DELAYS = (60.0, 120.0)


class LambdaTimeout(BaseException):
    """Raised inside the action to stand for Lambda stopping the runtime at the deadline.

    A BaseException, like the SIGKILL it stands for, nothing in the function handles it: Powertools does not
    delete the in-progress record (it catches Exception), so the record is left as a killed runtime leaves it.
    """


@dataclass
class Outcome:
    """What became of the task: its runs, its idempotency records, and the dead-letter queues' messages."""

    runs: int
    completed: int
    in_progress: int
    failure_queue: list[dict[str, Any]]
    delivery_dlq: list[dict[str, Any]]
    invocations: int
    wire_attempts: dict[str, int]

    @property
    def lost(self) -> bool:
        """Neither completed nor dead-lettered."""
        return self.completed == 0 and not self.failure_queue and not self.delivery_dlq


@pytest.fixture
def powertools_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], None]:
    """Make Powertools' idempotency read `clock` for record expiry (call it with the harness clock)."""
    from aws_lambda_powertools.utilities.idempotency.persistence import base, datarecord, dynamodb

    def follow(clock: Any) -> None:
        class FakeDatetime(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return clock.now()

        shim = SimpleNamespace(datetime=FakeDatetime, timedelta=timedelta, date=date, time=time)
        for module in (base, datarecord, dynamodb):
            monkeypatch.setattr(module, "dt", shim)

    return follow


@pytest.fixture
def queues(aws: Any) -> Iterator[Callable[[], tuple[list[dict[str, Any]], list[dict[str, Any]]]]]:
    """The two dead-letter queues' messages (emptied before and after each test: moto lives for the module)."""
    sqs = boto3.client("sqs")
    urls = (aws.queue_urls["CallbackFailureQueue"], aws.queue_urls["ScheduleDeliveryDLQ"])

    def drain() -> None:
        for url in urls:
            for message in queue_messages(sqs, url):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    drain()
    yield lambda: (queue_messages(sqs, urls[0]), queue_messages(sqs, urls[1]))
    drain()


@pytest.fixture
def scenario(
    make_harness: MakeHarness,
    spy_action: ActionSpy,
    idempotency_records: Callable[[], list[dict[str, Any]]],
    queues: Callable[[], tuple[list[dict[str, Any]], list[dict[str, Any]]]],
    powertools_clock: Callable[[Any], None],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Outcome]:
    """Run one schedule through the local cloud with a fault; returns what became of it."""
    from callback_app.service import get_task_runner

    def run(
        *, fault: Any = None, dynamodb: Callable[[WireFaults], None] | None = None, delivery_retries: int = 185
    ) -> Outcome:
        harness = make_harness(start=FIRES_AT - timedelta(seconds=10), fault=fault, retry_delays=AWS_RETRY_DELAYS)
        powertools_clock(harness.clock)
        wire = WireFaults(monkeypatch).attach(get_task_runner().store.client)  # type: ignore[attr-defined]
        if dynamodb is not None:
            dynamodb(wire)
        create_schedule(
            harness.scheduler, harness.resources, "fault-1", "at(2031-01-01T09:00:00)", retries=delivery_retries
        )

        harness.run_until(FIRES_AT + timedelta(hours=1))

        records = idempotency_records()
        failure_queue, delivery_dlq = queues()
        return Outcome(
            runs=len(spy_action.runs),
            completed=sum(r["status"] == "COMPLETED" for r in records),
            in_progress=sum(r["status"] == "INPROGRESS" for r in records),
            failure_queue=[json.loads(m["Body"]) for m in failure_queue],
            delivery_dlq=[json.loads(m["Body"]) for m in delivery_dlq],
            invocations=harness.dispatcher.stats.counts.get("invocations", 0),
            wire_attempts=dict(wire.attempts),
        )

    return run


def raises_on_runs(spy: ActionSpy, runs: set[int], error: BaseException) -> None:
    """Make the spy raise `error` on these runs (1-based), and succeed otherwise."""

    def behaviour(data, task):
        if len(spy.runs) in runs:
            raise error
        return {"sent": True}

    spy.behaviour = behaviour


def payload_task(record: dict[str, Any]) -> str:
    """The task id inside a dead-lettered event (Lambda's invocation record, or Scheduler's raw Input)."""
    event = record.get("requestPayload", record)
    return str(json.loads(event["body"])["task_id"])


# -- the action --------------------------------------------------------------------------------------------------


def test_an_action_that_always_raises_ends_in_the_failure_queue_with_its_payload(scenario, spy_action, figures):
    raises_on_runs(spy_action, set(range(1, 10)), ConnectionError("provider down"))

    outcome = scenario()

    assert (outcome.runs, outcome.completed, outcome.in_progress, outcome.invocations) == (3, 0, 0, 3)
    (record,) = outcome.failure_queue
    assert payload_task(record) == "fault-1"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "TaskInvocationFailed"
    assert not outcome.lost
    figures.count("faults", "scenarios")
    figures.count("faults", "dead_lettered_with_payload")


def test_an_action_that_raises_once_completes_on_lambdas_retry(scenario, spy_action, figures):
    raises_on_runs(spy_action, {1}, ConnectionError("provider down"))

    outcome = scenario()

    assert (outcome.runs, outcome.completed, outcome.failure_queue, outcome.invocations) == (2, 1, [], 2)
    assert not outcome.lost
    figures.count("faults", "scenarios")
    figures.count("faults", "completed_once")


def test_an_action_killed_at_the_timeout_runs_again_once_its_in_progress_record_expires(scenario, spy_action, figures):
    # Attempt 1 runs past the remaining time and Lambda stops it: no record is completed or deleted. Its
    # in-progress record expires with the attempt's remaining time (30 s); Lambda's retry a minute later runs
    # the action again, to completion. An action stopped half-way may have done part of its work: at-least-once.
    raises_on_runs(spy_action, {1}, LambdaTimeout())

    outcome = scenario()

    assert (outcome.runs, outcome.completed, outcome.failure_queue, outcome.invocations) == (2, 1, [], 2)
    assert not outcome.lost
    figures.count("faults", "scenarios")
    figures.count("faults", "completed_once")


# -- DynamoDB ----------------------------------------------------------------------------------------------------


def test_dynamodb_throttling_absorbed_by_botocores_retries_runs_the_action_once(scenario, spy_action, figures):
    outcome = scenario(
        dynamodb=lambda wire: wire.script(  # the start write: Powertools' in-progress Put, in a transaction
            "TransactWriteItems", "ProvisionedThroughputExceededException", "ProvisionedThroughputExceededException"
        )
    )

    assert (outcome.runs, outcome.completed, outcome.failure_queue, outcome.invocations) == (1, 1, [], 1)
    assert outcome.wire_attempts["TransactWriteItems"] == 3 + 1  # the start's 3 tries, then the end write
    assert not outcome.lost
    figures.count("faults", "scenarios")
    figures.count("faults", "completed_once")


def test_dynamodb_throttling_through_botocores_tries_is_waited_out_within_the_attempt_and_runs_once(
    scenario, spy_action, figures
):
    # All of botocore's tries throttled: the start write backs off and is made again within the same invocation
    # (callback_app.backoff), so the first invocation runs the action and Lambda retries nothing.
    throttles = ["ProvisionedThroughputExceededException"] * DYNAMODB_ATTEMPTS
    outcome = scenario(dynamodb=lambda wire: wire.script("TransactWriteItems", *throttles))

    assert (outcome.runs, outcome.completed, outcome.failure_queue, outcome.invocations) == (1, 1, [], 1)
    # The start's tries (botocore's, all throttled), the start again after the backoff, and the end.
    assert outcome.wire_attempts["TransactWriteItems"] == DYNAMODB_ATTEMPTS + 1 + 1
    assert not outcome.lost
    figures.count("faults", "scenarios")
    figures.count("faults", "completed_once")


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "InternalServerError"])
def test_dynamodb_down_for_good_dead_letters_the_task_and_never_runs_it(scenario, spy_action, figures, code):
    outcome = scenario(dynamodb=lambda wire: wire.always("TransactWriteItems", code))

    assert (outcome.runs, outcome.completed, outcome.invocations) == (0, 0, 3)
    # Each invocation: its start write's tries, then its failure's run write's (which fail too); a throttled one is
    # made again after a backoff while the attempt has time left (callback_app.backoff), an error is not.
    tries = outcome.wire_attempts["TransactWriteItems"]
    if code == "ProvisionedThroughputExceededException":
        assert tries > 3 * 2 * DYNAMODB_ATTEMPTS
    else:
        assert tries == 3 * 2 * DYNAMODB_ATTEMPTS
    (record,) = outcome.failure_queue
    assert payload_task(record) == "fault-1"
    assert "idempotency store unavailable" in record["responsePayload"]["errorMessage"]
    assert not outcome.lost
    figures.count("faults", "scenarios")
    figures.count("faults", "dead_lettered_with_payload")


def test_a_crash_between_the_action_and_its_record_runs_the_action_again(scenario, spy_action, figures):
    # The action succeeds; writing its result (UpdateItem) fails. The invocation fails (503); the in-progress
    # record blocks nothing once it expires (the attempt's remaining time, 30 s), so Lambda's retry a minute
    # later runs the action a second time. Nothing is lost, but the effect is not exactly-once here: actions
    # with external effects pass their own idempotency key downstream (docs/architecture.md).
    # The end write (COMPLETED + the run, one TransactWriteItems) fails, and so does Powertools' own UpdateItem
    # that would keep the result alone.
    def fail_the_result(wire: WireFaults) -> None:
        wire.script("TransactWriteItems", None, *["InternalServerError"] * DYNAMODB_ATTEMPTS)
        wire.script("UpdateItem", *["InternalServerError"] * DYNAMODB_ATTEMPTS)

    outcome = scenario(dynamodb=fail_the_result)

    assert (outcome.runs, outcome.completed, outcome.failure_queue, outcome.invocations) == (2, 1, [], 2)
    assert not outcome.lost
    figures.count("faults", "scenarios")
    figures.count("faults", "completed_but_ran_twice")


# -- EventBridge Scheduler's delivery -------------------------------------------------------------------------------


def throttled(attempts: int) -> Any:
    def fault(schedule: Any, attempt: int) -> DeliveryError | None:
        if attempt <= attempts:
            return DeliveryError("ThrottlingException", "Rate exceeded", retryable=True)
        return None

    return fault


def test_throttled_deliveries_are_retried_by_scheduler_and_run_once(scenario, spy_action, figures):
    outcome = scenario(fault=throttled(3))

    assert (outcome.runs, outcome.completed, outcome.delivery_dlq, outcome.invocations) == (1, 1, [], 1)
    assert not outcome.lost
    figures.count("faults", "scenarios")
    figures.count("faults", "completed_once")


def test_a_delivery_throttled_past_the_retry_policy_lands_in_the_delivery_dlq_with_its_payload(
    scenario, spy_action, figures
):
    outcome = scenario(fault=throttled(10_000), delivery_retries=3)

    assert (outcome.runs, outcome.completed, outcome.failure_queue, outcome.invocations) == (0, 0, [], 0)
    (event,) = outcome.delivery_dlq
    assert payload_task(event) == "fault-1"
    assert not outcome.lost
    figures.count("faults", "scenarios")
    figures.count("faults", "dead_lettered_with_payload")


def test_a_failed_result_write_is_not_reported_as_a_task_that_did_not_run(callback, spy_action, monkeypatch):
    from callback_app.handler import TaskInvocationFailed
    from callback_app.service import get_task_runner
    from tests.callback.helpers import delivery

    wire = WireFaults(monkeypatch).attach(get_task_runner().store.client)  # type: ignore[attr-defined]
    wire.script("TransactWriteItems", None, *["InternalServerError"] * DYNAMODB_ATTEMPTS)  # the end write
    wire.always("UpdateItem", "InternalServerError")  # and the result alone

    with pytest.raises(TaskInvocationFailed) as failure:
        callback(delivery("crash-1"))

    assert len(spy_action.runs) == 1
    assert "not run" not in str(failure.value)
