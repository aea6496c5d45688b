"""The whole local cloud in this process: moto's server, the scheduler API over HTTP, the dispatcher and the callback
on one virtual clock (the `task_cloud` fixture, localcloud.taskkit): the API plans with the clock the dispatcher
fires on, so a test moves it freely.

The callback runs in process (its real entry point as a callable), so the test's spy action is visible to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from localcloud.taskkit import TaskCloud
from ops.replay import RedriveResult
from taskcore.registry import TaskContext
from tests.callback.helpers import ActionSpy, AnyData

pytestmark = [pytest.mark.integration, pytest.mark.task_cloud(start=datetime(2027, 2, 1, 10, 0, 3, tzinfo=UTC))]


def task(task_id: str, **timing: object) -> dict[str, object]:
    return {"task_id": task_id, "user_id": 7, "action": "spy", "data": {"n": 1}, **timing}


def api(task_cloud: TaskCloud) -> str:
    return task_cloud.cloud.api_url


def fail_three_times(spy_action: ActionSpy) -> None:
    def behaviour(data: AnyData, task_context: TaskContext) -> dict[str, Any] | None:
        if len(spy_action.runs) <= 3:
            raise RuntimeError("downstream unavailable")
        return {"ok": True}

    spy_action.behaviour = behaviour


def test_task_scheduled_over_http_runs_once_and_its_schedule_is_gone(
    task_cloud: TaskCloud, spy_action: ActionSpy
) -> None:
    created = httpx.post(f"{api(task_cloud)}/api/v1/schedules", json=task("http-1", delay_seconds=2))
    assert created.status_code == 201, created.text

    due = datetime.fromisoformat(created.json()["next_run_at"])
    assert due == task_cloud.now + timedelta(seconds=2)  # planned on the dispatcher's clock
    task_cloud.advance(seconds=1.5)
    assert spy_action.runs == []  # never early
    task_cloud.advance(seconds=1)

    assert [run.task_id for run in spy_action.runs] == ["http-1"]
    assert spy_action.runs[0].scheduled_time == due
    # Its schedule deleted itself; the task ledger still answers for the task.
    assert httpx.get(f"{api(task_cloud)}/api/v1/schedules", params={"prefix": "http-"}).json()["items"] == []
    assert httpx.get(f"{api(task_cloud)}/api/v1/schedules/http-1").json()["status"] == "succeeded"


def test_task_cancelled_over_http_never_runs(task_cloud: TaskCloud, spy_action: ActionSpy) -> None:
    assert httpx.post(f"{api(task_cloud)}/api/v1/schedules", json=task("cancel-1", delay_seconds=5)).status_code == 201
    task_cloud.advance(seconds=1)

    assert httpx.delete(f"{api(task_cloud)}/api/v1/schedules/cancel-1").status_code == 204
    task_cloud.advance(seconds=60)

    assert spy_action.runs == []


def test_failing_task_is_retried_dead_lettered_listed_and_redriven(
    task_cloud: TaskCloud, spy_action: ActionSpy
) -> None:
    fail_three_times(spy_action)
    assert httpx.post(f"{api(task_cloud)}/api/v1/schedules", json=task("fail-1", delay_seconds=1)).status_code == 201
    runs = task_cloud.advance(minutes=5)
    assert [(run.attempt, run.outcome) for run in runs] == [(1, "failed"), (2, "failed"), (3, "failed")]

    letters = task_cloud.dead_letters()
    assert [(x.task_id, x.kind, x.attempts) for x in letters] == [("fail-1", "invocation", 3)]
    assert "RuntimeError" in letters[0].error
    assert task_cloud.redrive() == RedriveResult(succeeded=1)

    assert len(spy_action.runs) == 4
    assert task_cloud.dead_letters() == []


def test_docs_and_openapi_are_served_through_the_function(task_cloud: TaskCloud) -> None:
    docs = httpx.get(f"{api(task_cloud)}/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text.lower()
    assert "/api/v1/schedules" in httpx.get(f"{api(task_cloud)}/openapi.json").json()["paths"]


def test_stats_report_lateness_for_the_benchmark(task_cloud: TaskCloud, spy_action: ActionSpy) -> None:
    httpx.post(f"{api(task_cloud)}/api/v1/schedules", json=task("stats-1", delay_seconds=1))
    task_cloud.advance(seconds=2)

    stats = httpx.get(f"{api(task_cloud)}/_localcloud/stats").json()

    assert stats["lambda_mode"] == "in-process"  # the callback given as a callable runs in this process
    assert stats["counts"]["deliveries"] == 1
    assert stats["fire_lateness_seconds"]["count"] == 1
    assert stats["fire_lateness_seconds"]["max"] == 0  # on the virtual clock, exactly on time
    assert stats["early"] == 0


# -- the task ledger: what the dispatcher fired, the API reports, run by run ----------------------------------


def test_a_task_that_fired_shows_its_run_in_the_api(task_cloud: TaskCloud, spy_action: ActionSpy) -> None:
    created = httpx.post(f"{api(task_cloud)}/api/v1/schedules", json=task("ledger-1", delay_seconds=1)).json()
    task_cloud.advance(seconds=5)

    read = httpx.get(f"{api(task_cloud)}/api/v1/schedules/ledger-1").json()
    runs = httpx.get(f"{api(task_cloud)}/api/v1/schedules/ledger-1/runs").json()["items"]
    listed = httpx.get(f"{api(task_cloud)}/api/v1/schedules", params={"user_id": 7}).json()["items"]

    assert (read["status"], read["run_count"], read["state"]) == ("succeeded", 1, None)
    assert [(r["scheduled_time"], r["attempts"], r["outcome"]) for r in runs] == [
        (created["next_run_at"], 1, "succeeded")
    ]
    assert runs[0]["result"] == {"echo": {"n": 1}}
    assert runs[0]["first_started_at"] == created["next_run_at"]  # the ledger's stamp is the same clock's
    assert [(item["task_id"], item["last_run"]["outcome"]) for item in listed] == [("ledger-1", "succeeded")]
    # The dispatcher's view agrees: the one-time schedule is gone, and the task is not live any more.
    assert httpx.get(f"{api(task_cloud)}/api/v1/schedules").json()["items"] == []


def test_a_dead_letter_redriven_is_recorded_on_its_run(task_cloud: TaskCloud, spy_action: ActionSpy) -> None:
    fail_three_times(spy_action)
    httpx.post(f"{api(task_cloud)}/api/v1/schedules", json=task("ledger-2", delay_seconds=1))
    task_cloud.advance(minutes=5)
    failed = httpx.get(f"{api(task_cloud)}/api/v1/schedules/ledger-2").json()

    assert task_cloud.redrive() == RedriveResult(succeeded=1)
    redriven = httpx.get(f"{api(task_cloud)}/api/v1/schedules/ledger-2").json()

    assert failed["status"] == "failed"
    assert (failed["runs"][0]["attempts"], failed["runs"][0]["error"]["type"]) == (3, "RuntimeError")
    assert redriven["status"] == "succeeded"
    assert (redriven["runs"][0]["attempts"], redriven["runs"][0]["outcome"]) == (4, "succeeded")
