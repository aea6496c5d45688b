"""`--persist PATH`: the state after a restart is the state at the stop.

The same schedules (with their own creation times, so a rate() keeps its cadence), the same items,
the same messages (visible at once, none resurrected), and the dispatcher's memory of what it fired,
so a restart runs only what is due.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from localcloud import moto_journal
from localcloud.apiserver import Handler
from localcloud.clock import FakeClock
from localcloud.cloud import CloudOptions, LocalCloud
from localcloud.delivery import DeliveryError
from localcloud.dlq import dead_letters, redrive
from localcloud.journal import Journal
from localcloud.runstate import RunState
from localcloud.schedules import Schedule
from tests.callback.helpers import ActionSpy
from tests.localcloud.helpers import MakeHarness, create_schedule, utc

pytestmark = pytest.mark.integration


def fail(data: Any, task: Any) -> None:
    raise RuntimeError("downstream unavailable")


@dataclass(frozen=True)
class Restartable:
    """Starts a local cloud persisted in `path`: `with restartable(at=...) as cloud:`, as often as a test likes."""

    path: Path
    callback_handler: Handler

    @contextmanager
    def __call__(self, at: datetime | None = None, **options: Any) -> Iterator[LocalCloud]:
        clock = FakeClock(at or datetime.now(UTC))
        cloud_options = CloudOptions(port=0, persist=self.path, **options)
        with LocalCloud(
            cloud_options, clock=clock, log=lambda line: None, callback_handler=self.callback_handler
        ) as cloud:
            yield cloud


@pytest.fixture
def restartable(tmp_path: Path, spy_action: ActionSpy) -> Restartable:
    """A local cloud persisted in one file, started as often as a test likes, on a fake clock from `at`."""
    from callback_app.handler import lambda_handler

    return Restartable(tmp_path / "cloud.json", lambda_handler)


def post(cloud: LocalCloud, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{cloud.api_url}/api/v1/schedules", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def run_until(cloud: LocalCloud, moment: datetime) -> None:
    assert cloud.dispatcher is not None
    cloud.run_until(max(moment, cloud.clock.now()))


def run_state(cloud: LocalCloud) -> RunState:
    return RunState(pid=os.getpid(), api_url=cloud.api_url, moto_url=cloud.moto_url, environment=cloud.environment)


def test_dead_letters_are_visible_at_once_after_a_restart_and_deleted_ones_stay_deleted(
    restartable: Restartable, spy_action: ActionSpy
) -> None:
    spy_action.behaviour = fail
    with restartable() as cloud:
        for task_id in ("kept-1", "redriven-1"):
            post(cloud, {"task_id": task_id, "user_id": 1, "action": "spy", "data": {}, "delay_seconds": 1})
        run_until(cloud, datetime.now(UTC) + timedelta(seconds=10))
        with dead_letters(run_state(cloud)) as letters:  # held invisible, as make dlq holds them
            assert sorted(str(x.task_id) for x in letters) == ["kept-1", "redriven-1"]
            spy_action.behaviour = lambda data, task: {"ok": True}
            redrive(run_state(cloud), [x for x in letters if x.task_id == "redriven-1"], client=boto3.client("sqs"))
            # ...and the local cloud stops while a reader still holds the rest.

    for _ in range(2):  # every restart, not just the first
        with restartable() as cloud, dead_letters(run_state(cloud)) as letters:
            assert [(x.task_id, x.kind) for x in letters] == [("kept-1", "invocation")]


def test_a_restart_keeps_each_schedule_with_its_creation_and_modification_times(restartable: Restartable) -> None:
    with restartable() as cloud:
        post(cloud, {"task_id": "cron-1", "user_id": 1, "action": "spy", "cron": "cron(0 9 * * ? *)"})
        group = cloud.environment["SCHEDULE_GROUP_NAME"]
        before = boto3.client("scheduler").get_schedule(Name="cron-1", GroupName=group)

    with restartable() as cloud:
        after = boto3.client("scheduler").get_schedule(Name="cron-1", GroupName=group)

    for key in ("CreationDate", "LastModificationDate", "ScheduleExpression", "Target", "State", "Description"):
        assert after[key] == before[key], key


def test_a_restart_fires_no_rate_schedule_at_once_and_keeps_its_cadence(
    restartable: Restartable, spy_action: ActionSpy
) -> None:
    start = datetime.now(UTC)
    with restartable(at=start) as cloud:
        created = post(cloud, {"task_id": "rate-1", "user_id": 1, "action": "spy", "rate": "rate(1 hour)"})
        planned = datetime.fromisoformat(created["next_run_at"])
        run_until(cloud, planned + timedelta(minutes=5))
    assert len(spy_action.runs) == 1  # it ran at creation
    first = spy_action.runs[0].scheduled_time
    assert first is not None
    # The API plans from its clock, Scheduler (moto) anchors the rate on its CreationDate a few ms later: a second
    # boundary may fall between the two (as in the test below).
    assert abs(first - planned) <= timedelta(seconds=1)

    with restartable(at=first + timedelta(minutes=20)) as cloud:
        run_until(cloud, first + timedelta(minutes=59))
        assert len(spy_action.runs) == 1  # a restart is not a new creation: nothing fires at once
        run_until(cloud, first + timedelta(hours=2, minutes=1))

    assert [run.scheduled_time for run in spy_action.runs] == [first + timedelta(hours=h) for h in (0, 1, 2)]
    assert all(run.scheduled_time is not None and run.scheduled_time.microsecond == 0 for run in spy_action.runs)


def test_a_restart_runs_only_what_is_due_never_an_occurrence_twice(
    restartable: Restartable, spy_action: ActionSpy
) -> None:
    start = datetime.now(UTC)
    with restartable(at=start) as cloud:
        created = post(cloud, {"task_id": "rate-2", "user_id": 1, "action": "spy", "rate": "rate(1 minute)"})
        run_until(cloud, start + timedelta(seconds=10))  # the first occurrence: at the schedule's creation
        first = spy_action.runs[0].scheduled_time
        assert first is not None
        # The API plans from its clock and Scheduler (moto) anchors the rate on its own CreationDate, a few
        # milliseconds later: whole seconds apart at most (Scheduler's own precision is 60 s).
        assert abs(first - datetime.fromisoformat(created["next_run_at"])) <= timedelta(seconds=1)
        run_until(cloud, first + timedelta(seconds=10))

    with restartable(at=first + timedelta(seconds=30)) as cloud:  # the next occurrence has not come yet
        run_until(cloud, first + timedelta(seconds=90))

    assert [run.scheduled_time for run in spy_action.runs] == [first, first + timedelta(minutes=1)]


def test_after_a_restart_a_one_time_task_overdue_within_its_max_event_age_runs_late(
    restartable: Restartable, spy_action: ActionSpy
) -> None:
    # Scheduler keeps trying to deliver an occurrence until its MaximumEventAgeInSeconds: so does a restart.
    with restartable() as cloud:
        created = post(cloud, {"task_id": "late-1", "user_id": 1, "action": "spy", "delay_seconds": 60})
    due = datetime.fromisoformat(created["next_run_at"])

    with restartable(at=due + timedelta(seconds=77.5)) as cloud:
        run_until(cloud, due + timedelta(seconds=80))

    assert [run.scheduled_time for run in spy_action.runs] == [due]


def test_after_a_restart_a_one_time_task_overdue_past_its_max_event_age_is_skipped(
    restartable: Restartable, spy_action: ActionSpy
) -> None:
    with restartable() as cloud:
        body = {"task_id": "late-2", "user_id": 1, "action": "spy", "delay_seconds": 60}
        created = post(cloud, {**body, "retry": {"max_event_age_seconds": 60}})
    due = datetime.fromisoformat(created["next_run_at"])

    with restartable(at=due + timedelta(seconds=77.5)) as cloud:
        run_until(cloud, due + timedelta(seconds=120))

    assert spy_action.runs == []


@pytest.mark.parametrize(("overdue", "runs"), [(30.0, True), (77.5, False)])
def test_after_a_restart_a_recurring_occurrence_runs_only_when_at_most_60_s_overdue(
    restartable: Restartable, spy_action: ActionSpy, overdue: float, runs: bool
) -> None:
    start = datetime.now(UTC)
    with restartable(at=start) as cloud:
        post(cloud, {"task_id": "late-3", "user_id": 1, "action": "spy", "rate": "rate(1 hour)"})
        run_until(cloud, start + timedelta(seconds=10))
    # The occurrence at creation, as the dispatcher fired it (from the schedule's CreationDate).
    (first,) = [run.scheduled_time for run in spy_action.runs]
    assert first is not None
    missed = first + timedelta(hours=1)

    with restartable(at=missed + timedelta(seconds=overdue)) as cloud:
        run_until(cloud, missed + timedelta(minutes=5))

    assert [run.scheduled_time for run in spy_action.runs] == [first, *([missed] if runs else [])]


def test_idempotency_records_survive_a_restart(restartable: Restartable, spy_action: ActionSpy) -> None:
    with restartable() as cloud:
        post(cloud, {"task_id": "once-1", "user_id": 1, "action": "spy", "delay_seconds": 1})
        run_until(cloud, datetime.now(UTC) + timedelta(seconds=5))
        table = cloud.environment["IDEMPOTENCY_TABLE_NAME"]
        before = boto3.client("dynamodb").scan(TableName=table)["Items"]

    with restartable() as cloud:
        after = boto3.client("dynamodb").scan(TableName=table)["Items"]

    assert sorted(json.dumps(i, sort_keys=True) for i in after) == sorted(json.dumps(i, sort_keys=True) for i in before)
    assert len(spy_action.runs) == 1


def test_a_change_is_on_disk_before_the_api_answers_it(restartable: Restartable) -> None:
    with restartable() as cloud:
        post(cloud, {"task_id": "saved-1", "user_id": 1, "action": "spy", "cron": "cron(0 9 * * ? *)"})
        # No wait: what a second process would read from the files right after the 201 (snapshot + journal).
        on_disk = Journal(restartable.path, moto_journal.key_attributes).load()

        assert on_disk is not None
        assert [s["Name"] for s in on_disk["schedules"]] == ["saved-1"]
        ledger = on_disk["tables"][cloud.environment["TASK_LEDGER_TABLE"]]
        assert any(item["pk"]["S"].startswith("TASK#") and item["pk"]["S"].endswith("saved-1") for item in ledger)


def test_a_request_log_from_an_older_local_cloud_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old = tmp_path / "aws.jsonl"
    old.write_text('{"module": "moto.scheduler", "method": "POST", "url": "/schedules/x"}\n', encoding="utf-8")

    with (
        pytest.raises(ValueError, match=r"older local cloud.*delete it"),
        LocalCloud(CloudOptions(port=0, persist=old, api_only=True), log=lambda line: None),
    ):
        pass


def test_an_occurrence_is_journaled_fired_only_once_its_delivery_ended(make_harness: MakeHarness) -> None:
    failures = iter([DeliveryError("ThrottlingException", "Rate exceeded", retryable=True)])

    def fault(schedule: Schedule, attempt: int) -> DeliveryError | None:
        return next(failures, None)

    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=lambda event, context: None, fault=fault)
    journaled: list[dict[str, Any]] = []
    h.dispatcher.journal = journaled.append
    create_schedule(h.scheduler, h.resources, "late-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 0, 0, 500_000))
    assert journaled == []  # its delivery is being retried: a crash now fires it again after the restart

    h.run_until(utc(2026, 12, 1, 9, 0, 5))
    assert [(e["t"], e["due"]) for e in journaled] == [("fired", "2026-12-01T09:00:00+00:00")]
