"""Replays of dead letters run under the limits of a delivery: the callback's Timeout, a few letters at a time.

A task whose action outlives the callback's Timeout times out on each of Lambda's three attempts and is
dead-lettered; replayed without the Timeout it would "succeed" where AWS would time out again. `make redrive`
and the console's Replay run it in an execution environment with the function's Timeout, as a delivery runs
(localcloud/replays.py): the replay is stopped, the letter stays in its queue with the reason, and the other
letters do not wait for it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from console.local import LocalConsole
from localcloud import dlq
from localcloud.lambda_async import Invocation, function_arn, invocation_record
from localcloud.runstate import RunState, write_state
from localcloud.template import LOCAL_ACCOUNT
from taskcore.proxy import substitute_context_attributes
from tests.localcloud.helpers import create_schedule, target_input
from tests.localcloud.test_environments import SLOW_CALLBACK, Running, running, wait_until, whole_second

pytestmark = pytest.mark.integration

#: The callback's Timeout in these clouds (3 s: a replay's DynamoDB calls fit in it with the other worker busy).
TIMEOUT = 3.0


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Running]:
    """The local cloud with the real callback and its `sleep` action, a 3 s Timeout, in real time."""
    with running(tmp_path, SLOW_CALLBACK, timeout=TIMEOUT, retry_delays=(0.2, 0.2)) as r:
        yield r


def published(r: Running, tmp_path: Path) -> Path:
    """The running cloud's state, as `make dev` publishes it for `make dlq` / `make redrive`."""
    state_file = tmp_path / "state.json"
    replays = r.cloud.callback_for_replays()
    assert replays is not None
    write_state(
        state_file,
        RunState(
            pid=os.getpid(),
            api_url=r.cloud.api_url,
            moto_url=r.cloud.moto_url,
            environment=r.cloud.environment,
            callback=asdict(replays),
        ),
    )
    return state_file


def letter(r: Running, task_id: str, **data: Any) -> None:
    """A letter in CallbackFailureQueue as Lambda leaves one: the event of a `sleep` task that failed three times."""
    arn = f"arn:aws:scheduler:us-east-1:{LOCAL_ACCOUNT}:schedule/{r.cloud.environment['SCHEDULE_GROUP_NAME']}/{task_id}"
    event = json.loads(
        substitute_context_attributes(
            target_input(task_id, action="sleep", data=data),
            schedule_arn=arn,
            scheduled_time=datetime.now(UTC).replace(microsecond=0),
            execution_id=f"exec-{task_id}",
            attempt=1,
        )
    )
    invocation = Invocation(event, function_arn("CallbackFunction"), datetime.now(UTC), attempts=3)
    error = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 3.00 seconds"}
    record = invocation_record(invocation, error, condition="RetriesExhausted", now=datetime.now(UTC))
    boto3.client("sqs").send_message(
        QueueUrl=r.cloud.queue_urls["CallbackFailureQueue"], MessageBody=json.dumps(record)
    )


def listed(state_file: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert dlq.run(dlq.parse_args(["list", "--json", "--state-file", str(state_file)])) == 0
    return [json.loads(line)["task_id"] for line in capsys.readouterr().out.splitlines()]


def test_make_redrive_stops_a_replay_at_the_callbacks_timeout_and_keeps_its_letter_with_the_reason(
    cloud: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A task whose action takes 60 s: each of Lambda's three attempts is stopped at 3 s, and it is dead-lettered.
    create_schedule(
        boto3.client("scheduler"),
        cloud.cloud.endpoint.resources,  # type: ignore[union-attr]
        "pay-too-slow",
        f"at({whole_second(1.0).strftime('%Y-%m-%dT%H:%M:%S')})",
        input_text=target_input("pay-too-slow", action="sleep", data={"seconds": 60}),
        retries=0,
    )
    assert cloud.cloud.dispatcher is not None
    cloud.cloud.dispatcher.wake()
    wait_until(cloud.failure_queue, 60, "the task timed out three times and was dead-lettered")
    state_file = published(cloud, tmp_path)
    capsys.readouterr()

    started = time.monotonic()
    status = dlq.run(dlq.parse_args(["redrive", "--state-file", str(state_file)]))
    took = time.monotonic() - started

    out = capsys.readouterr().out
    assert status == 1
    assert "failed again, message kept: task pay-too-slow" in out
    # The callback stops the attempt at its deadline (the Timeout less a margin), before Lambda's kill.
    assert "action 'sleep' timed out: no result within" in out
    assert "redrive: 0 succeeded, 0 rejected, 1 failed (kept in their queues)" in out
    assert took < TIMEOUT + 20  # stopped at the Timeout (after a cold start), not after the action's 60 s
    assert listed(state_file, capsys) == ["pay-too-slow"]


def test_one_slow_letter_does_not_hold_up_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A longer Timeout here: the quick letters' cold starts (one at a time, as the local Lambda makes them) fit in it.
    with running(tmp_path, SLOW_CALLBACK, timeout=8.0) as r:
        letter(r, "slow-1", seconds=60, log=str(r.runs_file))
        for n in range(3):
            letter(r, f"quick-{n}", seconds=0, log=str(r.runs_file))
        state_file = published(r, tmp_path)
        capsys.readouterr()

        status = dlq.run(dlq.parse_args(["redrive", "--concurrency", "2", "--state-file", str(state_file)]))

        out = capsys.readouterr().out
        assert status == 1
        assert "redrive: 3 succeeded, 0 rejected, 1 failed (kept in their queues)" in out
        assert "failed again, message kept: task slow-1" in out
        (slow,) = r.runs("slow-1", "start")
        quick = [run for run in r.runs(phase="end") if run["task"].startswith("quick-")]
        assert len(quick) == 3
        # Each quick letter was done before the slow one was stopped at its Timeout: none waited for it.
        assert all(run["at"] < slow["at"] + 8.0 for run in quick)
        assert listed(state_file, capsys) == ["slow-1"]


def test_the_consoles_replay_runs_under_the_callbacks_timeout_too(cloud: Running) -> None:
    letter(cloud, "console-slow", seconds=60)
    console = LocalConsole(
        lambda: cloud.cloud.api_url, cloud.cloud.environment, callback=cloud.cloud.callback_for_replays()
    )
    desk = console.console.dead_letters
    assert desk is not None
    try:
        started = time.monotonic()
        (outcome,) = desk.replay()
        took = time.monotonic() - started
    finally:
        console.close()

    assert outcome.outcome == "failed"
    # The callback stops the attempt at its deadline (the Timeout less a margin), before Lambda's kill.
    assert outcome.detail.startswith("InvocationFailed: TaskInvocationFailed: task console-slow failed with status 504")
    assert "action 'sleep' timed out: no result within" in outcome.detail
    assert took < TIMEOUT + 20
    assert [x.task_id for x in desk.letters()] == ["console-slow"]  # kept, and released for the next reader
