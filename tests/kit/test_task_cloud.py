"""The test kit's own tests: the `task_cloud` fixture (localcloud.taskkit) keeps one clock everywhere, retries at
Lambda's real delays and counts timeouts in virtual time, fires recurring tasks in their zone across DST, is fast,
and turns AWS's adverse behaviour on per test."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localcloud import dynamo_throughput
from localcloud.adverse import Adversity
from localcloud.taskkit import Adverse, TaskCloud
from ops.replay import RedriveResult
from taskcore.registry import TaskContext
from tests.callback.helpers import ActionSpy, AnyData, reject

pytestmark = pytest.mark.integration

START = datetime(2027, 1, 4, 3, 0, 7, tzinfo=UTC)
#: The work it takes, in this process's CPU seconds (every thread: the callback, moto, the API), so that a machine
#: shared by several test workers does not fail it: 0.7 to 0.8 s for 30 daily runs on the development machine
#: (docs/testing.md). The bound only catches a kit that runs in O(time) steps or repeats work.
FAST_CPU_SECONDS = 4.0


@pytest.mark.task_cloud(start=START)
def test_a_reminder_runs_once_at_its_time_and_never_again(task_cloud: TaskCloud) -> None:
    task_cloud.client.schedule(
        "send_notification",
        user_id=7,
        task_id="pr-42",
        data={"payment_id": "00123"},
        delay=timedelta(minutes=30),
    )

    assert task_cloud.advance(minutes=29) == []
    assert task_cloud.client.get("pr-42").status == "scheduled"
    runs = task_cloud.advance(minutes=2)
    assert [(r.task_id, r.outcome, r.scheduled_time) for r in runs] == [
        ("pr-42", "succeeded", START + timedelta(minutes=30))
    ]
    assert task_cloud.client.get("pr-42").status == "succeeded"
    assert task_cloud.advance(days=1) == []
    assert task_cloud.now == START + timedelta(days=1, minutes=31)


@pytest.mark.task_cloud(start=START)
def test_the_api_the_dispatcher_the_ledger_and_the_action_read_one_clock(
    task_cloud: TaskCloud, spy_action: ActionSpy
) -> None:
    seen: list[datetime] = []

    def note_the_time(data: AnyData, task: TaskContext) -> dict[str, Any]:
        seen.append(task.now())
        return {"at": task.now().isoformat()}

    spy_action.behaviour = note_the_time
    created = task_cloud.client.schedule("spy", user_id=7, task_id="clock-1", delay=timedelta(hours=5))
    (run,) = task_cloud.advance(hours=6)

    due = START + timedelta(hours=5)
    assert created.created_at == START  # the API planned with the virtual clock
    assert created.next_run_at == due
    assert (run.scheduled_time, run.started_at) == (due, due)  # the dispatcher fired on it
    assert spy_action.runs[0].scheduled_time == due
    assert seen == [due]  # the action read it
    (recorded,) = task_cloud.client.runs("clock-1")
    assert recorded.first_started_at == due  # the callback stamped the ledger with it
    assert task_cloud.client.get("clock-1").status == "succeeded"


@pytest.mark.task_cloud(start=START)
def test_a_failing_task_is_retried_at_lambdas_real_delays_then_dead_lettered_and_redriven(
    task_cloud: TaskCloud, spy_action: ActionSpy
) -> None:
    def unavailable(data: AnyData, task: TaskContext) -> None:
        raise RuntimeError("downstream unavailable")

    spy_action.behaviour = unavailable
    task_cloud.client.schedule("spy", user_id=7, task_id="fail-1", delay=timedelta(minutes=10))
    runs = task_cloud.advance(hours=1)

    due = START + timedelta(minutes=10)
    assert [(r.attempt, r.started_at - due, r.outcome) for r in runs] == [
        (1, timedelta(0), "failed"),
        (2, timedelta(minutes=1), "failed"),
        (3, timedelta(minutes=3), "failed"),
    ]
    (letter,) = task_cloud.dead_letters()
    assert (letter.task_id, letter.kind, letter.attempts) == ("fail-1", "invocation", 3)
    assert task_cloud.client.get("fail-1").status == "failed"

    spy_action.behaviour = lambda data, task: {"ok": True}
    assert task_cloud.redrive() == RedriveResult(succeeded=1)
    assert [(r.outcome, r.redrive) for r in task_cloud.runs[3:]] == [("succeeded", True)]
    assert task_cloud.dead_letters() == []
    assert task_cloud.client.get("fail-1").status == "succeeded"


@pytest.mark.task_cloud(start=START, timeout_seconds=30)
def test_an_action_that_outlives_the_timeout_in_virtual_time_is_stopped_and_run_again_by_the_retry(
    task_cloud: TaskCloud, spy_action: ActionSpy
) -> None:
    def slow_the_first_time(data: AnyData, task: TaskContext) -> dict[str, Any]:
        if len(spy_action.runs) == 1:
            task_cloud.sleep(45)  # a call that hangs: Lambda stops the invocation at 30 s
        return {"attempt": len(spy_action.runs)}

    spy_action.behaviour = slow_the_first_time
    task_cloud.client.schedule("spy", user_id=7, task_id="slow-1", delay=timedelta(minutes=5))
    runs = task_cloud.advance(minutes=10)

    due = START + timedelta(minutes=5)
    assert [(r.attempt, r.outcome, r.started_at - due, r.finished_at - r.started_at) for r in runs] == [
        (1, "timed_out", timedelta(0), timedelta(seconds=30)),
        # The killed attempt's in-progress record expired in virtual time: the retry runs the action again.
        (2, "succeeded", timedelta(seconds=90), timedelta(0)),
    ]
    assert runs[0].error == "Task timed out after 30.00 seconds"
    assert runs[1].result == {"attempt": 2}
    assert task_cloud.dead_letters() == []


@pytest.mark.task_cloud(start=datetime(2027, 1, 1, 3, 0, tzinfo=UTC))
def test_a_daily_report_at_nine_in_seoul_runs_thirty_times_in_thirty_days_well_under_the_bound(
    task_cloud: TaskCloud,
) -> None:
    task_cloud.client.schedule(
        "generate_daily_report", user_id=0, task_id="daily", cron="cron(0 9 * * ? *)", timezone="Asia/Seoul"
    )

    started = time.process_time()
    runs = task_cloud.advance(days=30)
    cpu = time.process_time() - started

    seoul = ZoneInfo("Asia/Seoul")
    assert len(runs) == 30
    assert {(r.outcome, r.scheduled_time.astimezone(seoul).hour) for r in runs if r.scheduled_time} == {
        ("succeeded", 9)
    }
    assert [r.result["report_date"] for r in runs][:2] == ["2027-01-01", "2027-01-02"]
    print(f"30 days of a daily task: {cpu:.2f} s of CPU")  # `-s` shows it (docs/testing.md)
    assert cpu < FAST_CPU_SECONDS, f"30 days took {cpu:.2f} s of CPU"


@pytest.mark.task_cloud(start=datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
def test_a_new_york_task_keeps_nine_oclock_across_both_dst_changes(task_cloud: TaskCloud) -> None:
    # The 1st and the 15th of each month at 09:00 New York time: EST (UTC-5), EDT from 14 March, EST from 7 November.
    task_cloud.client.schedule(
        "generate_daily_report",
        user_id=0,
        task_id="twice-monthly",
        cron="cron(0 9 1,15 * ? *)",
        timezone="America/New_York",
    )

    started = time.process_time()
    runs = task_cloud.advance(datetime(2027, 11, 16, tzinfo=UTC) - task_cloud.now)
    cpu = time.process_time() - started

    new_york = ZoneInfo("America/New_York")
    fired = [r.scheduled_time for r in runs if r.scheduled_time is not None]
    assert len(fired) == 18
    assert {moment.astimezone(new_york).hour for moment in fired} == {9}
    utc_hours = {moment.date().isoformat(): moment.hour for moment in fired}
    assert (utc_hours["2027-03-01"], utc_hours["2027-03-15"]) == (14, 13)  # spring forward on 14 March
    assert (utc_hours["2027-11-01"], utc_hours["2027-11-15"]) == (13, 14)  # fall back on 7 November
    print(f"8.5 months of a twice-monthly task: {cpu:.2f} s of CPU")
    assert cpu < FAST_CPU_SECONDS, f"8.5 months took {cpu:.2f} s of CPU"


@pytest.mark.task_cloud(start=START, adverse=Adverse(duplicate_deliveries=1.0))
def test_duplicate_deliveries_on_demand_run_the_action_once(task_cloud: TaskCloud, spy_action: ActionSpy) -> None:
    task_cloud.client.schedule("spy", user_id=7, task_id="dup-1", delay=timedelta(minutes=1))
    runs = task_cloud.advance(minutes=2)

    assert sorted(r.outcome for r in runs) == ["duplicate", "succeeded"]
    assert len(spy_action.runs) == 1
    assert task_cloud.client.get("dup-1").status == "succeeded"


@pytest.mark.task_cloud(start=START, adverse=Adverse(late_within_minute=True, seed=3))
def test_late_deliveries_on_demand_land_within_their_minute_and_the_action_sees_it(
    task_cloud: TaskCloud, spy_action: ActionSpy
) -> None:
    for n in range(5):
        task_cloud.client.schedule("spy", user_id=7, task_id=f"late-{n}", delay=timedelta(minutes=10 + n))
    runs = task_cloud.advance(minutes=20)

    lateness = [r.started_at - r.scheduled_time for r in runs if r.scheduled_time is not None]
    assert len(lateness) == 5
    assert all(timedelta(0) <= late < timedelta(minutes=1) for late in lateness)
    assert any(late > timedelta(seconds=1) for late in lateness)


@pytest.mark.task_cloud(start=START)
def test_time_only_moves_forward(task_cloud: TaskCloud) -> None:
    with pytest.raises(ValueError, match="time only moves forward"):
        task_cloud.advance(seconds=-1)
    assert task_cloud.advance(timedelta(hours=1), minutes=30) == []
    assert task_cloud.now == START + timedelta(hours=1, minutes=30)


@pytest.mark.task_cloud(start=START)
def test_a_rejected_task_is_one_run_never_retried_and_kept_as_a_rejected_letter(
    task_cloud: TaskCloud, spy_action: ActionSpy
) -> None:
    spy_action.behaviour = reject
    task_cloud.client.schedule("spy", user_id=7, task_id="refunded-1", delay=timedelta(minutes=1))
    runs = task_cloud.advance(minutes=10)

    assert [(r.outcome, r.status_code, r.error) for r in runs] == [
        ("rejected", 422, "action 'spy' rejected task 'refunded-1': the payment was already refunded")
    ]
    assert [(x.task_id, x.kind) for x in task_cloud.dead_letters()] == [("refunded-1", "rejected")]
    assert task_cloud.client.get("refunded-1").status == "rejected"


def test_the_adverse_knobs_are_checked() -> None:
    with pytest.raises(ValueError, match="duplicate_deliveries is a share between 0 and 1"):
        Adverse(duplicate_deliveries=2)


@pytest.mark.task_cloud(start=START, adversity=Adversity(dynamodb_wcu_per_key=20, seed=7))
def test_a_hot_key_throttled_on_demand_still_runs_every_task_once(
    task_cloud: TaskCloud, spy_action: ActionSpy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One user's 30 reminders at the same minute share the ledger's index keys: 20 write units a (virtual) second.
    throttled: list[str] = []
    over = dynamo_throughput._over

    def counted(buckets: Any, charges: Any, operation: str) -> list[str]:
        names: list[str] = over(buckets, charges, operation)
        throttled.extend(names)
        return names

    monkeypatch.setattr(dynamo_throughput, "_over", counted)
    for n in range(30):
        task_cloud.client.schedule("spy", user_id=7, task_id=f"hot-{n}", delay=timedelta(minutes=5))
    task_cloud.advance(minutes=15)

    assert throttled, "the knob did not throttle anything"
    assert sorted(run.task_id for run in spy_action.runs) == sorted(f"hot-{n}" for n in range(30))
    assert {task_cloud.client.get(f"hot-{n}").status for n in range(30)} == {"succeeded"}


@pytest.mark.task_cloud(start=START)
def test_a_crash_between_the_action_and_its_record_runs_the_action_again_on_lambdas_retry(
    task_cloud: TaskCloud, spy_action: ActionSpy
) -> None:
    # Why an action hands task.idempotency_key downstream: the retry is a second run of the same occurrence.
    task_cloud.client.schedule("spy", user_id=7, task_id="crash-1", delay=timedelta(minutes=1))
    task_cloud.crash_after_action()
    runs = task_cloud.advance(minutes=3)

    assert [run.outcome for run in runs] == ["crashed", "succeeded"]
    first, retry = spy_action.runs
    assert first.idempotency_key == retry.idempotency_key
    assert task_cloud.client.get("crash-1").status == "succeeded"
