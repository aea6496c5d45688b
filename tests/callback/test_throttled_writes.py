"""A throttled ledger write backs off and is made again while the attempt has time left (callback_app.backoff).

Through the real entry point, against moto with the tables built from template.yaml; DynamoDB's throttling is
answered as DynamoDB answers it (a transaction cancelled with `ThrottlingError` reasons, a single write
`ProvisionedThroughputExceededException`), on every write that names the task's partition key.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from callback_app import backoff
from callback_app.handler import TaskInvocationFailed
from localcloud.lambda_context import LocalLambdaContext
from localcloud.template import LocalResources
from taskcore.ledger import task_pk
from taskcore.registry import TaskContext
from tests.callback.helpers import ActionSpy, AnyData, ThrottledKey, delivery, ledger_partition


def test_a_start_write_throttled_three_times_then_accepted_runs_the_action_once_and_records_it(
    callback: Any, spy_action: ActionSpy, aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    hot = ThrottledKey(task_pk("task-1"), times=3).install(monkeypatch)

    response = callback(delivery("task-1"))

    task, (run,) = ledger_partition(aws.names["TaskLedgerTable"], "task-1")
    assert response["statusCode"] == 200
    assert hot.refused == ["transact_write_items"] * 3  # the start write, three times, then accepted
    assert len(spy_action.runs) == 1
    assert (run["outcome"], run["attempts"], run["final"]) == ("succeeded", 1, True)
    assert task is not None
    assert task["state"] == "succeeded"


def test_an_end_write_throttled_three_times_then_accepted_records_the_result_with_the_run(
    callback: Any, spy_action: ActionSpy, aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    hot = ThrottledKey(task_pk("task-1"), times=3).install(monkeypatch)
    hot.on = False

    def pays(data: AnyData, task: TaskContext) -> dict[str, Any]:
        hot.on = True  # from the action's end on, the task's key is hot
        return {"paid": 42}

    spy_action.behaviour = pays

    response = callback(delivery("task-1"))

    _, (run,) = ledger_partition(aws.names["TaskLedgerTable"], "task-1")
    assert response["statusCode"] == 200
    assert hot.refused == ["transact_write_items"] * 3  # the end transaction (COMPLETED + the run), then accepted
    assert (run["outcome"], run["attempts"], run["result"]) == ("succeeded", 1, '{"paid":42}')


def test_a_write_throttled_past_the_deadline_margin_gives_up_in_time_and_lambdas_retry_runs_it(
    callback: Any, spy_action: ActionSpy, aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    hot = ThrottledKey(task_pk("task-1")).install(monkeypatch)
    timeout = 1.5  # the attempt's margin is CALLBACK_TIMEOUT_MARGIN's 1 s: half a second to wait in
    event = delivery("task-1")
    started = time.monotonic()

    with pytest.raises(TaskInvocationFailed, match="idempotency store unavailable; the task was not run"):
        callback(event, LocalLambdaContext(timeout_seconds=timeout))

    took = time.monotonic() - started
    assert took < timeout  # given up before Lambda would have killed it: the invocation fails, and is retried
    assert hot.refused.count("transact_write_items") > 2  # the start write was made again, not given up at once
    assert spy_action.runs == []
    # Lambda's retry, once the key has cooled down: the occurrence runs once, and reads succeeded.
    hot.on = False
    assert callback(event, LocalLambdaContext(timeout_seconds=timeout))["statusCode"] == 200
    _, (run,) = ledger_partition(aws.names["TaskLedgerTable"], "task-1")
    assert len(spy_action.runs) == 1
    assert (run["outcome"], run["final"]) == ("succeeded", True)


def test_each_wait_is_drawn_between_zero_and_a_doubling_ceiling() -> None:
    for waits in range(8):
        ceiling = min(backoff.CAP_SECONDS, backoff.BASE_SECONDS * 2**waits)
        drawn = [backoff.delay(waits) for _ in range(200)]
        assert all(0 <= wait <= ceiling for wait in drawn)
        assert max(drawn) > ceiling / 2  # spread over the whole range (full jitter), not a fixed step


def test_only_throughput_refusals_are_waited_for() -> None:
    from botocore.exceptions import ClientError

    def cancelled(*codes: str) -> ClientError:
        reasons = [{"Code": code} for code in codes]
        error = {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons}
        return ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]

    throttled = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")
    assert backoff.throttled(throttled)
    assert backoff.throttled(cancelled("None", "ThrottlingError"))
    # A failed condition is the caller's to read (an attempt to count again, a task no longer live).
    assert not backoff.throttled(cancelled("ConditionalCheckFailed", "ThrottlingError"))
    assert not backoff.throttled(cancelled("TransactionConflict"))
    assert not backoff.throttled(ClientError({"Error": {"Code": "ValidationException"}}, "UpdateItem"))


def test_without_a_deadline_to_wait_within_a_throttled_write_is_not_made_again() -> None:
    from botocore.exceptions import ClientError

    calls: list[int] = []

    def write() -> None:
        calls.append(1)
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")

    with pytest.raises(ClientError):
        backoff.retrying(write)
    assert calls == [1]
