"""The whole local cloud in this process: moto's server, the scheduler API over HTTP, the dispatcher on a fake clock.

The callback runs in process (its real entry point as a callable), so the test's spy action is visible to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from callback_app.handler import lambda_handler
from localcloud.clock import FakeClock
from localcloud.cloud import CloudOptions, LocalCloud
from localcloud.dlq import dead_letters, redrive
from localcloud.runstate import RunState
from ops.replay import RedriveResult
from taskcore.registry import TaskContext
from tests.callback.helpers import ActionSpy, AnyData

pytestmark = pytest.mark.integration


@pytest.fixture
def cloud(spy_action: ActionSpy) -> Iterator[LocalCloud]:
    clock = FakeClock(datetime.now(UTC))
    lines: list[dict[str, object]] = []
    with LocalCloud(CloudOptions(port=0), clock=clock, log=lines.append, callback_handler=lambda_handler) as running:
        clock.set(datetime.now(UTC))  # the scheduler API plans with the real clock: start level with it
        yield running


def task(task_id: str, **timing: object) -> dict[str, object]:
    return {"task_id": task_id, "user_id": 7, "action": "spy", "data": {"n": 1}, **timing}


def run_for(cloud: LocalCloud, seconds: float) -> None:
    """Advance the fake clock by `seconds` from real time or from where it is, whichever is later.

    The API plans with the real clock, so under load the fake clock must not fall behind it.
    """
    assert cloud.dispatcher is not None
    start = max(cloud.clock.now(), datetime.now(UTC))
    cloud.run_until(start + timedelta(seconds=seconds))


def test_task_scheduled_over_http_runs_once_and_its_schedule_is_gone(cloud: LocalCloud, spy_action: ActionSpy) -> None:
    created = httpx.post(f"{cloud.api_url}/api/v1/schedules", json=task("http-1", delay_seconds=2))
    assert created.status_code == 201, created.text

    due = datetime.fromisoformat(created.json()["next_run_at"])
    assert cloud.dispatcher is not None
    cloud.run_until(max(cloud.clock.now(), due - timedelta(milliseconds=500)))
    assert spy_action.runs == []  # never early
    cloud.run_until(due + timedelta(seconds=1))

    assert [run.task_id for run in spy_action.runs] == ["http-1"]
    assert spy_action.runs[0].scheduled_time == datetime.fromisoformat(created.json()["next_run_at"])
    # Its schedule deleted itself; the task ledger still answers for the task.
    assert httpx.get(f"{cloud.api_url}/api/v1/schedules", params={"prefix": "http-"}).json()["items"] == []
    assert httpx.get(f"{cloud.api_url}/api/v1/schedules/http-1").json()["status"] == "succeeded"


def test_task_cancelled_over_http_never_runs(cloud: LocalCloud, spy_action: ActionSpy) -> None:
    assert httpx.post(f"{cloud.api_url}/api/v1/schedules", json=task("cancel-1", delay_seconds=5)).status_code == 201
    run_for(cloud, 1)

    assert httpx.delete(f"{cloud.api_url}/api/v1/schedules/cancel-1").status_code == 204
    run_for(cloud, 60)

    assert spy_action.runs == []


def test_failing_task_is_retried_dead_lettered_listed_and_redriven(cloud: LocalCloud, spy_action: ActionSpy) -> None:
    def fail_three_times(data: AnyData, task_context: TaskContext) -> dict[str, Any] | None:
        if len(spy_action.runs) <= 3:
            raise RuntimeError("downstream unavailable")
        return {"ok": True}

    spy_action.behaviour = fail_three_times
    assert httpx.post(f"{cloud.api_url}/api/v1/schedules", json=task("fail-1", delay_seconds=1)).status_code == 201
    run_for(cloud, 10)
    assert len(spy_action.runs) == 3

    state = RunState(pid=os.getpid(), api_url=cloud.api_url, moto_url=cloud.moto_url, environment=cloud.environment)
    with dead_letters(state) as letters:
        assert [(x.task_id, x.kind, x.attempts) for x in letters] == [("fail-1", "invocation", 3)]
        assert "RuntimeError" in letters[0].error
        client = __import__("boto3").client("sqs")
        assert redrive(state, letters, client=client) == RedriveResult(succeeded=1)

    assert len(spy_action.runs) == 4
    with dead_letters(state) as letters:
        assert letters == []


def test_docs_and_openapi_are_served_through_the_function(cloud: LocalCloud) -> None:
    docs = httpx.get(f"{cloud.api_url}/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text.lower()
    assert "/api/v1/schedules" in httpx.get(f"{cloud.api_url}/openapi.json").json()["paths"]


def test_stats_report_lateness_for_the_benchmark(cloud: LocalCloud, spy_action: ActionSpy) -> None:
    httpx.post(f"{cloud.api_url}/api/v1/schedules", json=task("stats-1", delay_seconds=1))
    run_for(cloud, 2)

    stats = httpx.get(f"{cloud.api_url}/_localcloud/stats").json()

    assert stats["lambda_mode"] == "in-process"  # the callback given as a callable runs in this process
    assert stats["counts"]["deliveries"] == 1
    assert stats["fire_lateness_seconds"]["count"] == 1
    assert 0 <= stats["fire_lateness_seconds"]["max"] < 1
    assert stats["early"] == 0


# -- the task ledger: what the dispatcher fired, the API reports, run by run ----------------------------------


def test_a_task_that_fired_shows_its_run_in_the_api(cloud: LocalCloud, spy_action: ActionSpy) -> None:
    created = httpx.post(f"{cloud.api_url}/api/v1/schedules", json=task("ledger-1", delay_seconds=1)).json()
    run_for(cloud, 5)

    read = httpx.get(f"{cloud.api_url}/api/v1/schedules/ledger-1").json()
    runs = httpx.get(f"{cloud.api_url}/api/v1/schedules/ledger-1/runs").json()["items"]
    listed = httpx.get(f"{cloud.api_url}/api/v1/schedules", params={"user_id": 7}).json()["items"]

    assert (read["status"], read["run_count"], read["state"]) == ("succeeded", 1, None)
    assert [(r["scheduled_time"], r["attempts"], r["outcome"]) for r in runs] == [
        (created["next_run_at"], 1, "succeeded")
    ]
    assert runs[0]["result"] == {"echo": {"n": 1}}
    assert [(item["task_id"], item["last_run"]["outcome"]) for item in listed] == [("ledger-1", "succeeded")]
    # The dispatcher's view agrees: the one-time schedule is gone, and the task is not live any more.
    assert httpx.get(f"{cloud.api_url}/api/v1/schedules").json()["items"] == []


def test_a_dead_letter_redriven_is_recorded_on_its_run(cloud: LocalCloud, spy_action: ActionSpy) -> None:
    def fail_three_times(data: AnyData, context: TaskContext) -> dict[str, Any]:
        if len(spy_action.runs) <= 3:
            raise RuntimeError("downstream unavailable")
        return {"ok": True}

    spy_action.behaviour = fail_three_times
    httpx.post(f"{cloud.api_url}/api/v1/schedules", json=task("ledger-2", delay_seconds=1))
    run_for(cloud, 10)
    failed = httpx.get(f"{cloud.api_url}/api/v1/schedules/ledger-2").json()

    state = RunState(pid=os.getpid(), api_url=cloud.api_url, moto_url=cloud.moto_url, environment=cloud.environment)
    with dead_letters(state) as letters:
        assert redrive(state, letters, client=boto3.client("sqs")) == RedriveResult(succeeded=1)
    redriven = httpx.get(f"{cloud.api_url}/api/v1/schedules/ledger-2").json()

    assert failed["status"] == "failed"
    assert (failed["runs"][0]["attempts"], failed["runs"][0]["error"]["type"]) == (3, "RuntimeError")
    assert redriven["status"] == "succeeded"
    assert (redriven["runs"][0]["attempts"], redriven["runs"][0]["outcome"]) == (4, "succeeded")
