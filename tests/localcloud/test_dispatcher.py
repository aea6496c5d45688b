"""The local EventBridge Scheduler fires schedules as AWS does: on time, in their zone, once, and cleans up."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Literal

import pytest

from localcloud.delivery import DeliveryError
from localcloud.schedules import Schedule
from taskcore.proxy import format_scheduled_time
from tests.callback.helpers import ActionSpy
from tests.localcloud.helpers import Harness, Invocations, MakeHarness, create_schedule, utc


def scheduled_times(spy: ActionSpy) -> list[str]:
    return [format_scheduled_time(run.scheduled_time) for run in spy.runs if run.scheduled_time is not None]


def test_one_time_schedule_fires_at_its_second_never_before_and_is_deleted(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50))
    create_schedule(h.scheduler, h.resources, "remind-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 8, 59, 59, 999_000))
    assert spy_action.runs == []

    h.run_until(utc(2026, 12, 1, 9, 0, 0))
    assert scheduled_times(spy_action) == ["2026-12-01T09:00:00Z"]
    assert h.schedule_names() == []  # ActionAfterCompletion: DELETE

    h.run_until(utc(2026, 12, 2))
    assert len(spy_action.runs) == 1
    assert h.dispatcher.stats.early == 0
    assert h.dispatcher.stats.fire_lateness == [0.0]


def test_one_time_schedule_without_delete_stays_and_never_fires_twice(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50))
    create_schedule(h.scheduler, h.resources, "keep-1", "at(2026-12-01T09:00:00)", delete_after=False)

    h.run_until(utc(2026, 12, 1, 10))
    h.dispatcher.refresh()
    h.run_until(utc(2026, 12, 1, 11))

    assert len(spy_action.runs) == 1
    assert h.schedule_names() == ["keep-1"]


def test_context_attributes_are_substituted_into_the_delivered_event(make_harness: MakeHarness) -> None:
    calls = Invocations()
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=calls)
    created = create_schedule(h.scheduler, h.resources, "ctx-1", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 0, 1))

    (event,) = calls.events
    headers = event["headers"]
    assert headers["X-Scheduler-Schedule-Arn"] == created["ScheduleArn"]
    assert headers["X-Scheduler-Scheduled-Time"] == "2026-12-01T09:00:00Z"
    assert headers["X-Scheduler-Attempt"] == "1"
    assert headers["X-Scheduler-Execution-Id"] == event["requestContext"]["requestId"]
    assert "<aws.scheduler." not in json.dumps(event)


def test_cron_fires_on_the_wall_clock_of_its_time_zone(make_harness: MakeHarness, spy_action: ActionSpy) -> None:
    h = make_harness(start=utc(2026, 12, 1, 12))
    create_schedule(h.scheduler, h.resources, "daily-report", "cron(0 9 * * ? *)", timezone="Asia/Seoul")

    h.run_until(utc(2026, 12, 4, 12))

    # 09:00 in Seoul (UTC+9) is midnight UTC.
    assert scheduled_times(spy_action) == ["2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z"]
    assert h.schedule_names() == ["daily-report"]  # recurring: stays


def test_cron_skips_the_hour_that_daylight_saving_time_removes(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    h = make_harness(start=utc(2027, 3, 13, 12))
    create_schedule(h.scheduler, h.resources, "nightly", "cron(30 2 * * ? *)", timezone="America/New_York")

    h.run_until(utc(2027, 3, 16))

    # 2027-03-14 02:30 does not exist in New York: that night has no run.
    assert scheduled_times(spy_action) == ["2027-03-15T06:30:00Z"]


def test_rate_runs_from_its_start_date_until_its_end_date(make_harness: MakeHarness, spy_action: ActionSpy) -> None:
    h = make_harness(start=utc(2026, 12, 1, 9))
    create_schedule(
        h.scheduler,
        h.resources,
        "poll",
        "rate(5 minutes)",
        start=utc(2026, 12, 1, 10),
        end=utc(2026, 12, 1, 10, 12),
    )

    h.run_until(utc(2026, 12, 1, 12))

    assert scheduled_times(spy_action) == ["2026-12-01T10:00:00Z", "2026-12-01T10:05:00Z", "2026-12-01T10:10:00Z"]


def test_recurring_schedule_with_delete_after_completion_is_deleted_after_its_last_run(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    h = make_harness(start=utc(2026, 12, 1, 9))
    create_schedule(
        h.scheduler,
        h.resources,
        "bounded",
        "rate(1 hour)",
        start=utc(2026, 12, 1, 10),
        end=utc(2026, 12, 1, 11),
        delete_after=True,
    )

    h.run_until(utc(2026, 12, 1, 10, 30))
    assert h.schedule_names() == ["bounded"]
    h.run_until(utc(2026, 12, 1, 12))

    assert len(spy_action.runs) == 2
    assert h.schedule_names() == []


def test_rate_without_start_date_runs_at_once_then_every_interval(make_harness: MakeHarness) -> None:
    calls = Invocations()
    h = make_harness(handler=calls)
    created = h.clock.now()
    create_schedule(h.scheduler, h.resources, "every-minute", "rate(1 minute)")

    h.run_until(created + timedelta(minutes=3, seconds=30))

    assert len(calls.events) == 4  # at creation, then +1, +2, +3 minutes
    assert all(t >= 0 for t in h.dispatcher.stats.fire_lateness)


def test_disabled_schedule_does_not_fire_and_resumes_without_a_backlog(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    h = make_harness(start=utc(2026, 12, 1, 9))
    create_schedule(h.scheduler, h.resources, "paused", "cron(0 * * * ? *)", state="DISABLED")
    group = h.resources.names["ScheduleGroup"]

    h.run_until(utc(2026, 12, 1, 13, 30))
    assert spy_action.runs == []

    current = h.scheduler.get_schedule(Name="paused", GroupName=group)
    h.scheduler.update_schedule(
        Name="paused",
        GroupName=group,
        ScheduleExpression=current["ScheduleExpression"],
        FlexibleTimeWindow=current["FlexibleTimeWindow"],
        Target=current["Target"],
        State="ENABLED",
    )
    h.run_until(utc(2026, 12, 1, 15, 30))

    # Only the occurrences after it was resumed: 14:00 and 15:00, not the hours it was paused.
    assert scheduled_times(spy_action)[-2:] == ["2026-12-01T14:00:00Z", "2026-12-01T15:00:00Z"]
    assert all(t >= "2026-12-01T14" for t in scheduled_times(spy_action))


def set_state(h: Harness, name: str, state: Literal["DISABLED", "ENABLED"]) -> None:
    """Pause or resume through UpdateSchedule, as the API does (it sends back everything else)."""
    group = h.resources.names["ScheduleGroup"]
    current: dict[str, Any] = dict(h.scheduler.get_schedule(Name=name, GroupName=group))
    keys = ("ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "Target", "ActionAfterCompletion")
    h.scheduler.update_schedule(
        Name=name, GroupName=group, State=state, **{k: current[k] for k in keys if k in current}
    )
    h.dispatcher.refresh()


def test_one_time_schedule_paused_past_its_time_does_not_run_on_resume(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59))
    create_schedule(h.scheduler, h.resources, "missed-1", "at(2026-12-01T09:00:00)")
    h.run_until(utc(2026, 12, 1, 8, 59, 30))
    set_state(h, "missed-1", "DISABLED")
    h.run_until(utc(2026, 12, 1, 9, 5))

    set_state(h, "missed-1", "ENABLED")
    h.run_until(utc(2026, 12, 1, 10))

    assert spy_action.runs == []
    assert h.messages("one-time schedule enabled after its time: it does not run")
    assert h.schedule_names() == ["missed-1"]  # it never completed: it stays until deleted


def test_one_time_schedule_paused_and_resumed_before_its_time_runs_at_its_time(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 50))
    create_schedule(h.scheduler, h.resources, "back-1", "at(2026-12-01T09:00:00)")
    h.run_until(utc(2026, 12, 1, 8, 52))
    set_state(h, "back-1", "DISABLED")
    h.run_until(utc(2026, 12, 1, 8, 55))
    set_state(h, "back-1", "ENABLED")

    h.run_until(utc(2026, 12, 1, 9, 1))

    assert scheduled_times(spy_action) == ["2026-12-01T09:00:00Z"]


def test_schedule_cancelled_before_it_is_due_never_fires(make_harness: MakeHarness, spy_action: ActionSpy) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50))
    create_schedule(h.scheduler, h.resources, "cancel-me", "at(2026-12-01T09:00:00)")
    h.run_until(utc(2026, 12, 1, 8, 59, 59))  # seen and queued

    h.scheduler.delete_schedule(Name="cancel-me", GroupName=h.resources.names["ScheduleGroup"])
    h.dispatcher.fire_due(utc(2026, 12, 1, 9, 0, 1))  # no refresh in between: the last look still catches it
    h.run_until(utc(2026, 12, 1, 10))

    assert spy_action.runs == []
    assert h.dispatcher.stats.counts.get("deliveries", 0) == 0


def test_rescheduled_one_time_schedule_fires_at_its_new_time_only(
    make_harness: MakeHarness, spy_action: ActionSpy
) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50))
    create_schedule(h.scheduler, h.resources, "moved", "at(2026-12-01T09:00:00)")
    h.run_until(utc(2026, 12, 1, 8, 59, 55))
    group = h.resources.names["ScheduleGroup"]
    current = h.scheduler.get_schedule(Name="moved", GroupName=group)
    h.scheduler.update_schedule(
        Name="moved",
        GroupName=group,
        ScheduleExpression="at(2026-12-01T09:30:00)",
        FlexibleTimeWindow=current["FlexibleTimeWindow"],
        Target=current["Target"],
    )

    h.run_until(utc(2026, 12, 1, 10))

    assert scheduled_times(spy_action) == ["2026-12-01T09:30:00Z"]


def test_invalid_expression_is_reported_and_never_fires(make_harness: MakeHarness, spy_action: ActionSpy) -> None:
    h = make_harness(start=utc(2026, 12, 1, 9))
    create_schedule(h.scheduler, h.resources, "nonsense", "every tuesday")  # moto accepts anything

    h.run_until(utc(2026, 12, 8))

    assert spy_action.runs == []
    assert [line["schedule"] for line in h.messages("schedule never fires: invalid")] == ["nonsense"]


@pytest.mark.parametrize("count", [50])
def test_many_schedules_due_in_the_same_second_each_fire_once_on_time(make_harness: MakeHarness, count: int) -> None:
    calls = Invocations()
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=calls)
    for i in range(count):
        create_schedule(h.scheduler, h.resources, f"burst-{i}", "at(2026-12-01T09:00:00)")

    h.run_until(utc(2026, 12, 1, 9, 1))

    assert sorted(b["task_id"] for b in calls.bodies()) == sorted(f"burst-{i}" for i in range(count))
    assert set(calls.headers("X-Scheduler-Scheduled-Time")) == {"2026-12-01T09:00:00Z"}
    assert len(set(calls.headers("X-Scheduler-Execution-Id"))) == count
    assert h.schedule_names() == []


def test_fault_hook_sees_each_delivery_attempt(make_harness: MakeHarness) -> None:
    seen: list[tuple[str, int]] = []

    def fault(schedule: Schedule, attempt: int) -> DeliveryError | None:
        seen.append((schedule.name, attempt))
        return None

    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=Invocations(), fault=fault)
    create_schedule(h.scheduler, h.resources, "plain", "at(2026-12-01T09:00:00)")
    h.run_until(utc(2026, 12, 1, 9, 1))

    assert seen == [("plain", 1)]
