"""The schedules' contract (scheduler_app.ports.SchedulesPort): every test runs on EventBridge Scheduler (moto,
the schedule group from template.yaml) and on the in-memory twin."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from scheduler_app.errors import ScheduleExists, ScheduleNotFound
from scheduler_app.records import ScheduleSpec
from taskcore.envelope import TaskEnvelope
from taskcore.proxy import build_target_input
from taskcore.states import ScheduleState
from tests.contract.helpers import NOW, SchedulesCase

FINGERPRINT = "d" * 64


def spec(name: str = "t-1", **fields: object) -> ScheduleSpec:
    envelope = TaskEnvelope(task_id="t-1", user_id=456, action="send_notification", data={"message": "hi"})
    defaults: dict[str, object] = {
        "name": name,
        "expression": "rate(1 hour)",
        "timezone": "Asia/Seoul",
        "one_time": False,
        "target_input": build_target_input(envelope, kind="recurring", scope="abcdefghijklmnop"),
        "max_retry_attempts": 3,
        "max_event_age_seconds": 600,
        "description": f"task send_notification; request-sha256:{FINGERPRINT}",
        "start": datetime(2030, 4, 1, tzinfo=UTC),
        "end": datetime(2031, 4, 1, tzinfo=UTC),
        "flexible_window_minutes": 15,
    }
    return ScheduleSpec(**{**defaults, **fields})  # type: ignore[arg-type]


def test_a_created_schedule_reads_back_as_it_was_asked_for(schedules_case: SchedulesCase) -> None:
    schedules = schedules_case.schedules

    arn = schedules.create(spec())
    stored = schedules.get("t-1")

    assert arn == stored.arn == schedules.arn_of("t-1")
    assert arn.endswith(f":schedule/{schedules.group}/t-1")
    assert (stored.name, stored.group, stored.expression, stored.timezone, stored.state) == (
        "t-1",
        schedules.group,
        "rate(1 hour)",
        "Asia/Seoul",
        ScheduleState.ENABLED,
    )
    assert (stored.start, stored.end) == (datetime(2030, 4, 1, tzinfo=UTC), datetime(2031, 4, 1, tzinfo=UTC))
    assert (stored.retry, stored.flexible_window_minutes, stored.fingerprint) == ((3, 600), 15, FINGERPRINT)
    assert (stored.task["task_id"], stored.task["data"], stored.scope) == ("t-1", {"message": "hi"}, "abcdefghijklmnop")
    assert stored.created is not None


def test_a_schedule_without_a_window_or_dates_reads_none_for_them(schedules_case: SchedulesCase) -> None:
    schedules_case.schedules.create(
        spec(
            expression="at(2030-04-01T00:00:00)",
            timezone="UTC",
            one_time=True,
            start=None,
            end=None,
            flexible_window_minutes=None,
        )
    )

    stored = schedules_case.schedules.get("t-1")

    assert (stored.start, stored.end, stored.flexible_window_minutes) == (None, None, None)


def test_a_name_that_is_taken_is_schedule_exists(schedules_case: SchedulesCase) -> None:
    schedules_case.schedules.create(spec())

    with pytest.raises(ScheduleExists) as taken:
        schedules_case.schedules.create(spec(expression="rate(2 hours)"))

    assert str(taken.value) == f"a schedule named 't-1' exists in group {schedules_case.schedules.group!r}"
    assert schedules_case.schedules.get("t-1").expression == "rate(1 hour)"


def test_a_schedule_that_is_not_there_is_not_found_naming_the_task_and_the_group(schedules_case: SchedulesCase) -> None:
    schedules = schedules_case.schedules
    missing = f"no schedule for task 'pay-9' in group {schedules.group!r} (never created, cancelled, or already run)"

    for call in (
        lambda: schedules.get("abcdefghijklmnop.pay-9", task_id="pay-9"),
        lambda: schedules.delete("abcdefghijklmnop.pay-9", task_id="pay-9"),
        lambda: schedules.update(spec("pay-9")),
        lambda: schedules.get("pay-9"),
    ):
        with pytest.raises(ScheduleNotFound) as gone:
            call()
        assert str(gone.value) == missing


def test_an_update_replaces_the_schedule_and_keeps_its_creation(schedules_case: SchedulesCase) -> None:
    schedules = schedules_case.schedules
    schedules.create(spec())
    created = schedules.get("t-1").created

    schedules.update(
        spec(
            expression="cron(0 9 * * ? *)",
            end=None,
            state=ScheduleState.DISABLED,
            description=f"task send_notification; request-sha256:{'e' * 64}",
        )
    )
    stored = schedules.get("t-1")

    assert (stored.expression, stored.end, stored.state, stored.fingerprint) == (
        "cron(0 9 * * ? *)",
        None,
        ScheduleState.DISABLED,
        "e" * 64,
    )
    assert stored.created == created


def test_a_change_of_state_keeps_everything_else_and_answers_the_schedule_as_it_now_is(
    schedules_case: SchedulesCase,
) -> None:
    schedules = schedules_case.schedules
    schedules.create(spec())
    before = schedules.get("t-1")

    paused = schedules.set_state(before, ScheduleState.DISABLED, now=NOW)
    read = schedules.get("t-1")
    resumed = schedules.set_state(read, ScheduleState.ENABLED, now=NOW)

    assert (paused.state, paused.modified, read.state, resumed.state) == (
        ScheduleState.DISABLED,
        NOW,
        ScheduleState.DISABLED,
        ScheduleState.ENABLED,
    )
    unchanged = ("expression", "timezone", "start", "end", "description", "target_input", "retry", "created")
    assert {name: getattr(read, name) for name in unchanged} == {name: getattr(before, name) for name in unchanged}
    assert replace(paused, raw={}, modified=None, state=before.state) == replace(before, raw={}, modified=None)


def test_a_deleted_schedule_is_gone(schedules_case: SchedulesCase) -> None:
    schedules_case.schedules.create(spec())

    schedules_case.schedules.delete("t-1")

    with pytest.raises(ScheduleNotFound):
        schedules_case.schedules.get("t-1")
    schedules_case.schedules.create(spec())  # the name is free again
