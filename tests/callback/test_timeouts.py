"""Every attempt counted at its start, timed-out ones too; an action's own timeout and retry budget, enforced."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from callback_app.handler import TaskInvocationFailed
from localcloud.lambda_context import LocalLambdaContext
from taskcore.registry import check_limits, registry
from tests.callback.helpers import SLOT, ActionSpy, AnyData, body_of, delivery, ledger_partition, put_task, quota_used


@pytest.fixture
def limited() -> Iterator[ActionSpy]:
    """An action `limited` with a 0.3 s timeout and a budget of 2 attempts (its `behaviour` decides a run)."""
    spy = ActionSpy()
    registry.action("limited", AnyData, timeout=0.3, max_attempts=2)(spy)
    yield spy
    registry.unregister("limited")


def hang_first(seconds: float) -> Any:
    """A behaviour whose first run outlives any deadline here, and whose later runs succeed."""
    runs = iter(range(1_000))

    def behaviour(data: Any, task: Any) -> dict[str, Any]:
        if next(runs) == 0:
            time.sleep(seconds)
        return {"sent": True}

    return behaviour


def test_a_timeout_followed_by_a_success_reads_attempts_2(callback, limited, aws):
    limited.behaviour = hang_first(5)
    event = delivery("slow-1", action="limited")

    started = time.monotonic()
    with pytest.raises(TaskInvocationFailed, match="timed out"):
        callback(event)
    assert time.monotonic() - started < 3  # interrupted at its timeout, not after the 5 s
    retried = callback(event)

    assert body_of(retried)["result"] == {"sent": True}
    task, [run] = ledger_partition(aws.names["TaskLedgerTable"], "slow-1")
    assert (run["attempts"], run["outcome"]) == (2, "succeeded")
    assert task is not None
    assert task["state"] == "succeeded"


def test_the_watchdog_records_a_timed_out_attempt_before_lambda_kills_it(callback, spy_action, aws, monkeypatch):
    from callback_app.settings import get_settings

    monkeypatch.setenv("CALLBACK_TIMEOUT_MARGIN", "0.5")
    get_settings.cache_clear()
    release, started = threading.Event(), threading.Event()

    def hangs(data: Any, task: Any) -> None:
        started.set()
        release.wait(10)

    spy_action.behaviour = hangs
    outcome: list[Any] = []

    def invoke() -> None:  # off the main thread: no signal can interrupt the action, the watchdog records it
        asyncio.set_event_loop(asyncio.new_event_loop())  # Mangum runs the app on the thread's loop
        try:
            outcome.append(callback(delivery("stuck-1"), LocalLambdaContext(timeout_seconds=2.0)))
        except TaskInvocationFailed as exc:
            outcome.append(exc)
        finally:
            asyncio.get_event_loop().close()

    thread = threading.Thread(target=invoke)
    thread.start()
    try:
        assert started.wait(5)
        deadline = time.monotonic() + 10
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:  # the action is still running: Lambda would kill it at 2 s
            _, runs = ledger_partition(aws.names["TaskLedgerTable"], "stuck-1")
            if runs and runs[0].get("outcome") == "timed_out":
                run = runs[0]
                break
            time.sleep(0.05)
        assert (run.get("outcome"), run.get("attempts"), run.get("final")) == ("timed_out", 1, False)
    finally:
        release.set()
        thread.join(10)
    assert isinstance(outcome[0], TaskInvocationFailed)  # what it returned late is treated as a timeout
    task, [run] = ledger_partition(aws.names["TaskLedgerTable"], "stuck-1")
    assert task is not None
    assert (run["outcome"], run["attempts"], task["run_count"], task["state"]) == ("timed_out", 1, 1, "scheduled")


def test_a_one_time_task_whose_attempts_all_time_out_reads_failed_timed_out_and_frees_its_slot(callback, limited, aws):
    registry.unregister("limited")
    registry.action("limited", AnyData, timeout=0.2)(limited)  # no budget of its own: Lambda's 3 attempts
    limited.behaviour = lambda data, task: time.sleep(5)
    event = delivery("slow-2", action="limited")
    put_task(aws.names["TaskLedgerTable"], "slow-2", quota=SLOT)

    for _ in range(3):
        with pytest.raises(TaskInvocationFailed, match="timed out"):
            callback(event)

    task, [run] = ledger_partition(aws.names["TaskLedgerTable"], "slow-2")
    assert task is not None
    assert (run["outcome"], run["attempts"], run["final"]) == ("timed_out", 3, True)
    assert task["state"] == "failed"
    assert "quota_key" not in task  # its owner's quota slot is free again
    assert quota_used(aws.names["TaskLedgerTable"], SLOT) == 0
    last_run = json.loads(task["last_run"])
    assert last_run["outcome"] == "timed_out"
    assert last_run["reason"].startswith("timed out")


def test_an_attempt_past_the_actions_retry_budget_does_not_run_it_and_fails_the_task(callback, limited, aws):
    def fail(data: Any, task: Any) -> None:
        raise ConnectionError("payment provider down")

    limited.behaviour = fail
    event = delivery("budget-1", action="limited")
    for _ in range(2):  # max_attempts=2
        with pytest.raises(TaskInvocationFailed):
            callback(event)

    third = callback(event)  # Lambda's last retry: past the budget

    assert third["statusCode"] == 200  # the occurrence is over: nothing retries it
    assert "retry budget exhausted" in body_of(third)["message"]
    assert len(limited.runs) == 2
    task, [run] = ledger_partition(aws.names["TaskLedgerTable"], "budget-1")
    assert task is not None
    assert task["state"] == "failed"
    assert (run["outcome"], run["attempts"], run["final"]) == ("failed", 3, True)
    assert "retry budget exhausted" in run["error_message"]


@pytest.mark.parametrize(
    ("timeout", "max_attempts", "message"),
    [
        (30, None, "less than the function's Timeout"),
        (0, None, "more than 0"),
        (None, 4, "1 to 3"),
        (None, 0, "1 to 3"),
    ],
)
def test_an_action_cannot_declare_limits_the_function_cannot_keep(timeout, max_attempts, message):
    with pytest.raises(ValueError, match=message):
        check_limits("greedy", timeout, max_attempts)
    with pytest.raises(ValueError, match=message):
        registry.action("greedy", AnyData, timeout=timeout, max_attempts=max_attempts)
    assert "greedy" not in registry
