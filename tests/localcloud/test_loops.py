"""The Scheduler emulator and the Lambda emulator each run their own loop and talk only through `submit`.

The dispatcher needs nothing of Lambda but the invoke interface (whether a function exists, and Invoke with
InvocationType=Event); Lambda runs and retries what it accepted on its own loop, with no dispatcher. An
in-process function runs on that loop's thread, which has an event loop for its Mangum adapter even when it
is not the main thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from localcloud.clock import FakeClock, SystemClock
from localcloud.cloud import CloudOptions, LocalCloud
from localcloud.dispatcher import Dispatcher
from localcloud.lambda_async import AsyncLambda
from localcloud.lambda_service import Invocation
from localcloud.schedules import MotoScheduleStore, ScheduleDeleter
from localcloud.template import LocalResources
from tests.callback.helpers import ActionSpy
from tests.localcloud.helpers import CALLBACK_ARN, create_schedule, utc


class SubmittedOnly:
    """Lambda as the Scheduler sees it, and nothing more: it records what it accepts."""

    def __init__(self) -> None:
        self.accepted: list[Invocation] = []

    def has_function(self, arn: str) -> bool:
        return arn.startswith(CALLBACK_ARN)

    def submit(self, invocation: Invocation) -> None:
        self.accepted.append(invocation)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


@pytest.fixture
def serving() -> Iterator[Callable[[AsyncLambda], None]]:
    """Run a Lambda's own loop on a thread of its own (not the main one) until the test ends."""
    started: list[tuple[AsyncLambda, threading.Thread]] = []

    def start(lambda_: AsyncLambda) -> None:
        thread = threading.Thread(target=lambda_.serve, name="lambda-loop", daemon=True)
        thread.start()
        started.append((lambda_, thread))

    yield start
    for lambda_, thread in started:
        lambda_.stop()
        thread.join(timeout=10)
        assert not thread.is_alive(), "Lambda's loop did not stop"


def test_the_dispatcher_delivers_through_the_invoke_interface_alone(aws: LocalResources) -> None:
    create_schedule(boto3.client("scheduler"), aws, "only-submit", "at(2026-12-01T09:00:00)")
    store = MotoScheduleStore(aws.names["ScheduleGroup"])
    lambda_ = SubmittedOnly()
    dispatcher = Dispatcher(
        store,
        lambda_,
        clock=FakeClock(utc(2026, 12, 1, 8, 59)),
        role_arn=aws.arns["SchedulerInvokeRole"],
        deleter=ScheduleDeleter(store, background=False, log=lambda line: None),
        log=lambda line: None,
    )

    dispatcher.refresh()
    fired = dispatcher.fire_due(utc(2026, 12, 1, 9, 0, 0))

    assert fired == 1
    (invocation,) = lambda_.accepted
    assert invocation.label == "only-submit"
    assert invocation.scheduled_time == utc(2026, 12, 1, 9, 0, 0)
    assert invocation.event["headers"]["X-Scheduler-Scheduled-Time"] == "2026-12-01T09:00:00Z"


def test_lambda_runs_and_retries_what_it_accepted_on_its_own_loop_with_no_dispatcher(
    serving: Callable[[AsyncLambda], None],
) -> None:
    calls: list[tuple[str, bool]] = []

    def handler(event: Any, context: Any) -> None:
        # What Mangum asks for: the current thread's event loop (from a thread without one, a RuntimeError).
        calls.append((threading.current_thread().name, isinstance(asyncio.get_event_loop(), asyncio.AbstractEventLoop)))
        if len(calls) == 1:
            raise RuntimeError("the first attempt fails")

    lambda_ = AsyncLambda({CALLBACK_ARN: handler}, clock=SystemClock(), retry_delays=(0.05,), log=lambda line: None)
    serving(lambda_)

    lambda_.submit(Invocation(event={"n": 1}, function_arn=CALLBACK_ARN, received_at=datetime.now(UTC)))
    wait_for(lambda: len(calls) == 2 and lambda_.pending == 0, 10, "the retry ran")

    assert calls == [("lambda-loop", True), ("lambda-loop", True)]
    assert (lambda_.stats.counts["invocations"], lambda_.stats.counts["invocation_retries"]) == (2, 1)


@pytest.mark.integration
def test_an_in_process_callback_in_real_time_runs_through_mangum_on_lambdas_own_loop(spy_action: ActionSpy) -> None:
    from callback_app.handler import lambda_handler

    options = CloudOptions(port=0, access_log=False, poll_interval=0.05)
    with LocalCloud(options, log=lambda line: None, callback_handler=lambda_handler) as cloud:
        thread = threading.Thread(target=cloud.serve, name="test-serve", daemon=True)
        thread.start()
        try:
            created = httpx.post(
                f"{cloud.api_url}/api/v1/schedules",
                json={"task_id": "real-time-1", "user_id": 7, "action": "spy", "data": {}, "delay_seconds": 1},
                timeout=30,
            )
            assert created.status_code == 201, created.text
            wait_for(lambda: len(spy_action.runs) == 1, 30, "the task ran")
            wait_for(lambda: cloud.stats()["pending_invocations"] == 0, 30, "its invocation ended")
        finally:
            cloud.stop()
            thread.join(timeout=30)

    assert not thread.is_alive(), "serve() did not return"
    assert [run.task_id for run in spy_action.runs] == ["real-time-1"]
    assert cloud.stats()["counts"].get("invocation_errors", 0) == 0


@pytest.mark.integration
def test_only_a_fake_clock_can_be_stepped_in_real_time_each_service_runs_its_own_loop() -> None:
    options = CloudOptions(port=0, access_log=False)
    with (
        LocalCloud(options, log=lambda line: None, callback_handler=print) as cloud,
        pytest.raises(TypeError, match="run_until needs a FakeClock"),
    ):
        cloud.run_until(datetime.now(UTC) + timedelta(seconds=1))
