"""The local Lambda in real time, as `make dev` runs it: timeouts, concurrency, warm and replaced environments.

Real time, so every scenario is seconds long: a 1-2 s function timeout, retries 0.2-0.3 s apart, and
handlers from `slow_functions` (sleeps, crashes) or `slow_callback` (the real callback with a slow
action), named by import path.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from localcloud.cloud import CloudOptions, LocalCloud
from localcloud.environments import Environment, FunctionSpec, timeout_payload
from localcloud.template import ROOT, function_settings
from tests.localcloud.helpers import create_schedule, queue_messages, target_input
from tests.localcloud.slow_functions import read_records

pytestmark = pytest.mark.integration

SLOW = "tests.localcloud.slow_functions.lambda_handler"
SLOW_CALLBACK = "tests.localcloud.slow_callback.lambda_handler"


@dataclass
class Running:
    """A local cloud serving in real time on a background thread, and what its handlers wrote down."""

    cloud: LocalCloud
    runs_file: Path
    lines: list[dict[str, Any]] = field(default_factory=list)

    def schedule(self, name: str, due: datetime, *, action: str = "slow", **data: Any) -> None:
        """A one-time schedule at `due` (a whole second) whose task carries `data` (and the runs file)."""
        assert self.cloud.endpoint is not None
        create_schedule(
            boto3.client("scheduler"),
            self.cloud.endpoint.resources,
            name,
            f"at({due.strftime('%Y-%m-%dT%H:%M:%S')})",
            input_text=target_input(name, action=action, data={"log": str(self.runs_file), **data}),
            retries=0,
        )
        assert self.cloud.dispatcher is not None
        self.cloud.dispatcher.wake()

    def runs(self, task: str | None = None, phase: str | None = None) -> list[dict[str, Any]]:
        """The handlers' start/end lines, optionally of one task and phase."""
        return [
            r
            for r in read_records(self.runs_file)
            if (task is None or r["task"] == task) and (phase is None or r["phase"] == phase)
        ]

    def delivered(self, name: str) -> dict[str, Any]:
        """The dispatcher's first delivery line for schedule `name`."""
        return next(line for line in self.lines if line["message"] == "delivered" and line["schedule"] == name)

    def messages(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["message"] == message]

    def failure_queue(self) -> list[dict[str, Any]]:
        """The invocation records in CallbackFailureQueue."""
        url = self.cloud.queue_urls["CallbackFailureQueue"]
        return [json.loads(m["Body"]) for m in queue_messages(boto3.client("sqs"), url)]


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def whole_second(ahead: float) -> datetime:
    """The first whole second at least `ahead` seconds from now."""
    moment = datetime.now(UTC) + timedelta(seconds=ahead)
    return moment.replace(microsecond=0) + timedelta(seconds=1)


@contextmanager
def running(
    tmp_path: Path,
    handler: str = SLOW,
    *,
    concurrency: int = 2,
    timeout: float | None = None,
    retry_delays: tuple[float, ...] = (0.2, 0.2),
) -> Iterator[Running]:
    """The local cloud with `handler` as CallbackFunction, serving until the block ends."""
    lines: list[dict[str, Any]] = []
    options = CloudOptions(
        port=0,
        access_log=False,
        lambda_retry_delays=retry_delays,
        concurrency=concurrency,
        callback_handler_path=handler,
        callback_timeout=timeout,
    )
    with LocalCloud(options, log=lines.append) as cloud:
        thread = threading.Thread(target=cloud.serve, name="test-serve", daemon=True)
        thread.start()
        try:
            yield Running(cloud, tmp_path / "runs.jsonl", lines)
        finally:
            cloud.stop()
            thread.join(timeout=60)
            assert not thread.is_alive(), "serve() did not return"


def late(run: dict[str, Any], due: datetime) -> float:
    """Seconds from `due` to a handler's start line."""
    return float(run["at"]) - due.timestamp()


# -- item 5: deliveries stay on time and invocations run concurrently ------------------------------------------


def test_a_schedule_due_while_slow_actions_run_is_delivered_and_started_on_time(tmp_path: Path) -> None:
    with running(tmp_path, concurrency=3) as r:
        warm = whole_second(1.0)
        for i in range(3):  # each holds its environment a second, so the three are at once whatever the delivery order
            r.schedule(f"warm-{i}", warm, seconds=1)
        wait_until(lambda: len(r.runs(phase="end")) == 3, 30, "three warm-up invocations")
        warm_pids = {run["pid"] for run in r.runs(phase="start")}

        due = whole_second(0.5)
        r.schedule("slow-0", due, seconds=3)
        r.schedule("slow-1", due, seconds=3)
        r.schedule("on-time", due + timedelta(seconds=1))
        (started,) = wait_until(lambda: r.runs("on-time", "start"), 15, "on-time started")

        assert r.delivered("on-time")["late_ms"] < 250
        assert late(started, due + timedelta(seconds=1)) < 0.5
        assert r.runs("slow-0", "end") == []  # still running meanwhile
        assert r.runs("slow-1", "end") == []
        wait_until(lambda: len(r.runs(phase="end")) == 6, 15, "the slow ones finished")
    assert len(warm_pids) == 3  # three invocations at once: three environments
    assert {run["pid"] for run in r.runs(phase="start")} == warm_pids  # warm environments reused, none started


def test_with_concurrency_1_a_second_task_waits_in_lambdas_queue_but_is_delivered_on_time(tmp_path: Path) -> None:
    with running(tmp_path, concurrency=1) as r:
        due = whole_second(1.0)
        r.schedule("first", due, seconds=2)
        r.schedule("second", due + timedelta(seconds=1))
        wait_until(lambda: r.runs("second", "end"), 20, "second ran")

        assert r.delivered("second")["late_ms"] < 250  # delivered at its time, while `first` runs
        (first_end,) = r.runs("first", "end")
        (second_start,) = r.runs("second", "start")
        assert second_start["at"] >= first_end["at"]  # one environment: it waited in Lambda's queue
        assert late(second_start, due + timedelta(seconds=1)) >= 0.9
        assert second_start["pid"] == first_end["pid"]  # in the same, warm environment


# -- item 4: the function's Timeout ----------------------------------------------------------------------------


def test_a_slow_invocation_is_killed_at_the_timeout_retried_twice_then_dead_lettered(tmp_path: Path) -> None:
    with running(tmp_path, timeout=1.0, retry_delays=(0.2, 0.2)) as r:
        due = whole_second(1.0)
        r.schedule("too-slow", due, seconds=5)
        (letter,) = wait_until(r.failure_queue, 20, "the task in CallbackFailureQueue")

        starts = r.runs("too-slow", "start")
        assert r.runs("too-slow", "end") == []  # every attempt was stopped
        assert len(starts) == 3
        assert len({s["pid"] for s in starts}) == 3  # a killed environment is replaced by a new one
        for before, after in itertools.pairwise(starts):
            assert after["at"] - before["at"] >= 1.0 + 0.2  # killed at 1 s, retried 0.2 s later
        assert 800 < starts[0]["remaining_ms"] <= 1000  # the context carries the function's timeout

        assert_timed_out_three_times_then_dead_lettered(r, letter)


def assert_timed_out_three_times_then_dead_lettered(r: Running, letter: dict[str, Any]) -> None:
    """The on-failure record of too-slow says Sandbox.Timedout, as the two retries' log lines do."""
    assert letter["requestContext"]["condition"] == "RetriesExhausted"
    assert letter["requestContext"]["approximateInvokeCount"] == 3
    assert letter["responseContext"]["functionError"] == "Unhandled"
    request_id = letter["requestContext"]["requestId"]
    assert letter["responsePayload"] == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    assert json.loads(letter["requestPayload"]["body"])["task_id"] == "too-slow"
    retries = r.messages("invocation failed; Lambda will retry")
    assert [line["error"] for line in retries] == [f"Sandbox.Timedout: {letter['responsePayload']['errorMessage']}"] * 2


def test_a_runtime_that_exits_fails_the_invocation_and_the_environment_is_replaced(tmp_path: Path) -> None:
    with running(tmp_path, retry_delays=(0.1, 0.1)) as r:
        r.schedule("crash", whole_second(1.0), exit_code=3)
        (letter,) = wait_until(r.failure_queue, 20, "the task in CallbackFailureQueue")

        assert len({s["pid"] for s in r.runs("crash", "start")}) == 3
        assert letter["responsePayload"]["errorType"] == "Runtime.ExitError"
        assert letter["responsePayload"]["errorMessage"].endswith("Runtime exited with error: exit status 3")


def test_a_slow_action_killed_at_the_timeout_runs_again_on_the_retry_never_twice_at_once(tmp_path: Path) -> None:
    # 5 s: the retry's DynamoDB calls to moto must fit in it even on a busy machine (it timed out at 3 s under load).
    with running(tmp_path, SLOW_CALLBACK, timeout=5.0, retry_delays=(0.3, 0.3)) as r:
        r.schedule("pay-slow", whole_second(1.0), action="sleep", seconds=10)
        wait_until(lambda: r.runs("pay-slow", "end"), 30, "the retry ran the action")
        time.sleep(0.5)  # anything still to come (there must be nothing)

        first, second = r.runs("pay-slow", "start")
        assert (first["run"], second["run"]) == (1, 2)
        assert [e["run"] for e in r.runs("pay-slow", "end")] == [2]  # the first run was stopped at its deadline
        # The callback's deadline (the Timeout less its 1 s margin) stopped it; the retry started after.
        assert second["at"] >= first["at"] + 4.0
        assert r.failure_queue() == []
        (retry,) = r.messages("invocation failed; Lambda will retry")
        assert "action 'sleep' timed out: no result within" in retry["error"]
        table = boto3.resource("dynamodb").Table(r.cloud.environment["IDEMPOTENCY_TABLE_NAME"])
        (item,) = [i for i in table.scan()["Items"] if str(i["id"]).startswith("task#")]  # not the invocation count
        assert item["status"] == "COMPLETED"


def test_stopping_the_local_cloud_stops_every_environment_and_says_what_was_queued(tmp_path: Path) -> None:
    with running(tmp_path, concurrency=2) as r:
        due = whole_second(1.0)
        for i in range(4):
            r.schedule(f"long-{i}", due, seconds=60)
        wait_until(lambda: len(r.runs(phase="start")) == 2, 20, "two invocations running")
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 10
    pids = {run["pid"] for run in r.runs(phase="start")}
    assert len(pids) == 2
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), f"environment {pid} outlived the local cloud"
    (stopped,) = r.messages("stopped with invocations still queued; they are lost with the in-memory state")
    assert (stopped["running"], stopped["queued"]) == (2, 2)
    assert sorted(stopped["schedules"]) == [f"long-{i}" for i in range(4)]


# -- item 20: each invocation logs with its own correlation id ------------------------------------------------


def test_an_outcome_line_carries_its_own_tasks_correlation_id_while_api_requests_run(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with running(tmp_path, SLOW_CALLBACK, timeout=10.0) as r:
        stop = threading.Event()
        requests: list[float] = []

        def hammer() -> None:  # every API request sets the scheduler function's correlation id
            with httpx.Client(base_url=r.cloud.api_url) as client:
                while not stop.is_set():
                    client.get("/health")
                    requests.append(time.time())

        hammering = threading.Thread(target=hammer, daemon=True)
        hammering.start()
        try:
            r.schedule("corr-1", whole_second(1.0), action="sleep", seconds=1.5)
            (start,) = wait_until(lambda: r.runs("corr-1", "start"), 20, "the action started")
            (end,) = wait_until(lambda: r.runs("corr-1", "end"), 20, "the action ended")
            time.sleep(0.5)
        finally:
            stop.set()
            hammering.join(timeout=10)

    assert sum(start["at"] < t < end["at"] for t in requests) >= 5  # API requests ran meanwhile
    printed = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    (outcome,) = [line for line in printed if line.get("message") == "task outcome" and line["task_id"] == "corr-1"]
    assert outcome["outcome"] == "succeeded"
    assert outcome["correlation_id"] == "corr-1"
    assert not [line for line in printed if "_aws" in line]  # metric lines stay hidden, as in `make dev`


# -- the environments and the template -------------------------------------------------------------------------


def test_the_callbacks_settings_come_from_the_template_with_globals_and_lambdas_defaults() -> None:
    template = {
        "Globals": {"Function": {"Timeout": 30, "MemorySize": 512, "Layers": [{"Ref": "Shared"}]}},
        "Resources": {
            "Shared": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "layers/shared/"}},
            "Own": {"Properties": {"Handler": "app.main.handler", "CodeUri": "functions/own/", "Timeout": 5}},
            "Shared30": {"Properties": {"Handler": "app.main.handler", "CodeUri": "functions/other"}},
        },
    }

    own = function_settings("Own", template)
    assert (own.handler, own.code_uri, own.layers, own.timeout_seconds, own.memory_mb) == (
        "app.main.handler",
        "functions/own",
        ("layers/shared",),
        5.0,
        512,
    )
    assert function_settings("Shared30", template).timeout_seconds == 30.0
    assert function_settings("Shared30", {"Resources": template["Resources"]}).timeout_seconds == 3.0  # Lambda's
    spec = FunctionSpec.from_template("CallbackFunction")
    assert (spec.handler, spec.timeout_seconds) == ("callback_app.handler.lambda_handler", 30.0)
    assert spec.paths[:2] == (str(ROOT / "functions" / "callback"), str(ROOT / "layers" / "shared"))


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("tests.localcloud.no_such_module.lambda_handler", "Runtime.ImportModuleError", "Unable to import module"),
        ("tests.localcloud.slow_functions.no_such_handler", "Runtime.HandlerNotFound", "Handler 'no_such_handler'"),
    ],
)
def test_a_handler_that_cannot_be_loaded_fails_init_as_the_runtime_reports_it(
    handler: str, error_type: str, message: str
) -> None:
    env = Environment(FunctionSpec("CallbackFunction", handler, timeout_seconds=1, paths=(str(ROOT),)), 1)

    error = env.start()

    assert error is not None
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)
    assert not env.alive()


def test_an_init_that_outlives_its_limit_fails_as_a_timeout() -> None:
    spec = FunctionSpec(
        "CallbackFunction",
        "tests.localcloud.slow_init.lambda_handler",
        timeout_seconds=0.5,
        paths=(str(ROOT),),
        init_limit_seconds=1.0,
    )
    env = Environment(spec, 1)

    started = time.monotonic()
    error = env.start("req-init")

    assert time.monotonic() - started < 10
    assert error == timeout_payload("req-init", 1.0)
    assert not env.alive()


def test_an_environment_reports_the_handlers_exception_and_stays_warm() -> None:
    env = Environment(FunctionSpec("CallbackFunction", SLOW, timeout_seconds=5, paths=(str(ROOT),)), 1)
    assert env.start() is None
    try:
        failed = env.invoke("req-1", {"no": "body"})
        answered = env.invoke("req-2", {"body": json.dumps({"task_id": "t", "data": {}})})
    finally:
        env.stop()

    assert failed.error is not None
    assert (failed.error["errorType"], failed.error["requestId"], failed.environment_lost) == (
        "KeyError",
        "req-1",
        False,
    )
    assert answered.response["statusCode"] == 200
    assert env.invocations == 2
    assert not env.alive()
