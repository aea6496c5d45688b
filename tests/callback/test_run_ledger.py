"""The callback records every invocation in the task ledger: a run per occurrence, the task's state after it.

Through the real entry point, against moto with the ledger table built from template.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from callback_app.handler import TaskInvocationFailed
from callback_app.ledger import Attempt, RunLedger, RunNotRecorded, get_run_ledger
from localcloud.template import LocalResources
from taskcore.ledger import MAX_STORED_RESULT_BYTES, RESULT_PREVIEW_BYTES
from taskcore.states import RunOutcome, TimingKind
from tests.callback.helpers import delivery, ledger_partition, reject

Ledger = Callable[[str], tuple[dict[str, Any] | None, list[dict[str, Any]]]]


@pytest.fixture
def ledger(aws: LocalResources) -> Ledger:
    """Read one task's partition of the ledger: (task item, runs oldest first)."""
    return lambda task_id: ledger_partition(aws.names["TaskLedgerTable"], task_id)


@pytest.fixture
def dynamodb_calls(callback: Callable[..., Any]) -> Iterator[list[str]]:
    """The names of the DynamoDB operations the callback's client sends, in order."""
    from callback_app.service import get_task_runner

    calls: list[str] = []
    ledger = get_run_ledger()
    assert ledger is not None
    client = ledger.client
    assert client is get_task_runner().store.client  # type: ignore[attr-defined]  # one client for both stores

    def note(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb.*", note)
    yield calls
    client.meta.events.unregister("before-call.dynamodb.*", note)


def _fail_transactions(callback: Callable[..., Any], times: int, *, after: int = 0) -> list[int]:
    """Make the ledger's next `times` writes (after `after` that pass) fail as an unavailable DynamoDB would;
    returns a counter."""
    from botocore.exceptions import ClientError

    ledger = get_run_ledger()
    assert ledger is not None
    failed, passed = [0], [0]

    def refuse(**_: Any) -> None:
        if passed[0] < after:
            passed[0] += 1
            return
        if failed[0] < times:
            failed[0] += 1
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "try again"}}, "TransactWriteItems")

    ledger.client.meta.events.register("before-call.dynamodb.TransactWriteItems", refuse)
    return failed


def assert_one_final_successful_attempt_with_its_timing_and_result(run: dict[str, Any]) -> None:
    assert run["attempts"] == 1
    assert run["outcome"] == "succeeded"
    assert run["status_code"] == 200
    assert run["final"] is True
    assert json.loads(run["result"]) == {"echo": {"amount": 3}}
    assert run["first_started_at"] == run["last_started_at"] <= run["finished_at"]
    assert run["duration_ms"] >= 0
    assert "replays" not in run


def test_a_run_is_recorded_with_its_attempts_timing_outcome_and_result(callback, spy_action, ledger):
    callback(delivery("pay-1", data={"amount": 3}))

    task, runs = ledger("pay-1")
    assert task is not None
    assert [run["sk"] for run in runs] == ["RUN#2026-12-01T00:00:00Z"]
    assert_one_final_successful_attempt_with_its_timing_and_result(runs[0])
    assert task["state"] == "succeeded"
    assert task["run_count"] == 1
    assert json.loads(task["last_run"])["outcome"] == "succeeded"


def test_a_first_delivery_makes_one_ledger_write_beside_the_two_idempotency_writes(
    callback, spy_action, dynamodb_calls
):
    callback(delivery("pay-2"))

    # The in-progress Put is the start write's transaction (it counts the attempt and checks the task).
    assert dynamodb_calls == ["TransactWriteItems", "TransactWriteItems"]


def test_a_replayed_duplicate_completes_the_run_without_running_the_action_again(
    callback, spy_action, ledger, dynamodb_calls
):
    event = delivery("pay-3")
    callback(event)
    dynamodb_calls.clear()

    callback(event)  # Scheduler delivers at least once: the same occurrence again

    assert len(spy_action.runs) == 1
    # The refused start write returns the stored record.
    assert dynamodb_calls == ["TransactWriteItems", "TransactWriteItems"]
    _, [run] = ledger("pay-3")
    assert (run["attempts"], run["replays"], run["last_delivery"], run["outcome"]) == (2, 1, "replayed", "succeeded")


def test_a_failed_ledger_write_is_retried_without_running_the_action_twice(callback, spy_action, ledger, logs):
    event = delivery("pay-4")
    # The start write passes; the end transaction fails (the result is then kept alone), and so does the
    # ledger's own write after it.
    _fail_transactions(callback, times=2, after=1)

    with pytest.raises(TaskInvocationFailed, match="could not be recorded"):
        callback(event)
    task, [started] = ledger("pay-4")
    assert task is None
    assert (started["attempts"], started["status"]) == (1, "running")  # counted when it started
    callback(event)  # Lambda's retry: the idempotency record replays the stored result

    assert len(spy_action.runs) == 1
    task, [run] = ledger("pay-4")
    assert task is not None
    assert task["state"] == "succeeded"
    assert (run["attempts"], run["replays"], run["outcome"]) == (2, 1, "succeeded")
    outcomes = [line for line in logs() if line.get("message") == "task outcome"]
    assert [line["outcome"] for line in outcomes] == ["failed", "duplicate"]
    assert "could not be recorded" in outcomes[0]["reason"]


def test_a_run_that_used_up_its_retries_shows_failed_with_attempts_and_the_error(callback, spy_action, ledger):
    def fail(data, task):
        raise ConnectionError("smtp.example.com refused mail for someone@example.com")

    spy_action.behaviour = fail
    event = delivery("pay-5")
    for invocation in range(1, 4):  # Lambda's first try and its two retries
        with pytest.raises(TaskInvocationFailed):
            callback(event)
        task, [run] = ledger("pay-5")
        assert task is not None
        assert task["state"] == ("failed" if invocation == 3 else "scheduled")
        assert (run["attempts"], run["final"]) == (invocation, invocation == 3)

    assert run["outcome"] == "failed"
    assert run["status_code"] == 500
    assert run["error_type"] == "ConnectionError"
    assert "someone@example.com" not in run["error_message"]
    assert "smtp.example.com refused mail" in run["error_message"]
    assert "expiration" in task


def test_a_rejected_run_shows_rejected_with_the_reason(callback, spy_action, ledger):
    spy_action.behaviour = reject

    callback(delivery("pay-6"))

    task, [run] = ledger("pay-6")
    assert task is not None
    assert task["state"] == "rejected"
    assert (run["outcome"], run["status_code"], run["final"]) == ("rejected", 422, True)
    assert run["error_type"] == "TaskRejected"
    assert run["error_message"] == "the payment was already refunded"


def test_invalid_data_is_recorded_as_rejected_with_the_validation_message(callback, ledger):
    callback(delivery("pay-7", action="send_notification", data={"channel": "carrier-pigeon"}))

    task, [run] = ledger("pay-7")
    assert task is not None
    assert task["state"] == "rejected"
    assert run["error_type"] == "ValidationError"
    assert "channel" in run["error_message"]


def test_a_schedule_made_by_the_guides_code_gets_a_record_on_its_first_run(callback, ledger):
    with open("events/callback-dict-body.json", encoding="utf-8") as fixture:
        callback(json.load(fixture))

    task, [run] = ledger("welcome-email-456")
    assert task is not None
    assert (task["action"], json.loads(task["user_id"]), task["kind"]) == ("send_notification", 456, "one-time")
    assert (task["state"], task["run_count"]) == ("succeeded", 1)
    assert run["sk"] == "RUN#direct"  # the guide's event carries no scheduled time


def test_a_recurring_task_keeps_its_state_and_counts_its_runs(callback, spy_action, ledger):
    for day in (1, 2):
        callback(delivery("daily", kind="recurring", scheduled=datetime(2026, 12, day, tzinfo=UTC)))

    task, runs = ledger("daily")
    assert task is not None
    assert (task["state"], task["kind"], task["run_count"]) == ("scheduled", "recurring", 2)
    assert "expiration" not in task  # a live task does not expire; its runs do
    assert all("expiration" in run for run in runs)
    assert json.loads(task["last_run"])["scheduled_time"] == "2026-12-02T00:00:00Z"


def test_a_result_too_large_to_keep_is_kept_as_a_preview_with_its_size(callback, spy_action, ledger):
    spy_action.behaviour = lambda data, task: {"blob": "x" * (MAX_STORED_RESULT_BYTES + 1)}

    callback(delivery("pay-8"))

    _, [run] = ledger("pay-8")
    assert "result" not in run
    assert run["result_bytes"] > MAX_STORED_RESULT_BYTES
    assert len(run["result_preview"].encode()) <= RESULT_PREVIEW_BYTES
    assert run["result_preview"].startswith('{"blob":"xxx')


def test_a_redriven_letter_is_recorded_on_its_run(callback, spy_action, ledger):
    def fail_three_times(data, task):
        if len(spy_action.runs) <= 3:
            raise RuntimeError("downstream unavailable")
        return {"sent": True}

    spy_action.behaviour = fail_three_times
    event = delivery("pay-9")
    for _ in range(3):
        with pytest.raises(TaskInvocationFailed):
            callback(event)
    assert ledger("pay-9")[0]["state"] == "failed"

    callback(event)  # `make redrive` replays the dead letter once the cause is fixed

    task, [run] = ledger("pay-9")
    assert task is not None
    assert task["state"] == "succeeded"
    assert (run["attempts"], run["outcome"], run["final"]) == (4, "succeeded", True)
    assert "error_type" not in run


def _attempt(outcome: str, *, replayed: bool = False) -> Attempt:
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    return Attempt(
        task_id="race",
        action="spy",
        user_id=1,
        kind=TimingKind.ONE_TIME,
        scheduled_time="2026-12-01T00:00:00Z",
        scheduler_attempt=1,
        started_at=moment,
        finished_at=moment,
        outcome=RunOutcome(outcome),
        status_code=200 if outcome == "succeeded" else 503,
        replayed=replayed,
    )


def test_a_late_failure_never_overwrites_a_recorded_success(callback, ledger):
    runs = get_run_ledger()
    assert runs is not None
    runs.record(_attempt("succeeded"))

    # A concurrent duplicate that found the occurrence in progress, recorded after the success.
    recorded = runs.record(_attempt("failed"))

    task, [run] = ledger("race")
    assert recorded.attempts == 2
    assert (run["attempts"], run["outcome"]) == (2, "succeeded")
    assert task is not None
    assert task["state"] == "succeeded"


def test_a_wrong_guess_of_the_attempts_costs_one_more_write_and_still_counts_right(callback, ledger, dynamodb_calls):
    runs = get_run_ledger()
    assert runs is not None
    runs.record(_attempt("failed"))
    dynamodb_calls.clear()

    recorded = runs.record(_attempt("succeeded"))  # guesses a first attempt; the run item says 1

    assert recorded.attempts == 2
    assert dynamodb_calls == ["TransactWriteItems", "TransactWriteItems"]


def test_colliding_writes_back_off_and_give_up_with_run_not_recorded(monkeypatch):
    import time

    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    client = _AlwaysConflicting()
    runs = RunLedger(client, "table", retention_seconds=3600, max_invocations=3)

    with pytest.raises(RunNotRecorded, match="kept changing under 10 writes"):
        runs.record(_attempt("succeeded"))
    assert client.calls == 10
    assert len(waits) == 8  # every write after the second waits first
    assert all(0 <= wait < 0.32 for wait in waits)


class _AlwaysConflicting:
    """A DynamoDB client whose every transaction collides with another one."""

    calls = 0

    def transact_write_items(self, **_: Any) -> None:
        from botocore.exceptions import ClientError

        self.calls += 1
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
            },
            "TransactWriteItems",
        )


def test_a_refused_end_transaction_keeps_the_result_then_records_the_run_without_running_it_again(
    callback, spy_action, ledger, dynamodb_calls
):
    _fail_transactions(callback, times=1, after=1)  # the end transaction (COMPLETED + run + task) is refused

    response = callback(delivery("pay-11"))

    assert response["statusCode"] == 200
    assert len(spy_action.runs) == 1
    # Powertools' own COMPLETED update keeps the result, then the ledger's write records the run.
    assert dynamodb_calls == ["TransactWriteItems", "TransactWriteItems", "UpdateItem", "TransactWriteItems"]
    task, [run] = ledger("pay-11")
    assert task is not None
    assert (task["state"], run["attempts"], run["outcome"]) == ("succeeded", 1, "succeeded")


def test_a_failed_attempt_is_its_start_write_the_deletion_of_its_record_and_the_runs_write(
    callback, spy_action, dynamodb_calls
):
    def fail(data: Any, task: Any) -> None:
        raise ConnectionError("smtp down")

    spy_action.behaviour = fail
    with pytest.raises(TaskInvocationFailed):
        callback(delivery("pay-12"))

    # docs/architecture.md ("The callback's writes"): 3 requests, the delete kept as Powertools makes it.
    assert dynamodb_calls == ["TransactWriteItems", "DeleteItem", "TransactWriteItems"]
