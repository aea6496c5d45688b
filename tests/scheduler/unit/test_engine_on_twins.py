"""The engine runs on the in-memory twins alone: no HTTP, no moto, one frozen clock. What the test kit (#22)
will stand on; the contract suites (tests/contract) keep the twins as the real adapters are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler_app.adapters.memory import MemoryLedger, MemorySchedules
from scheduler_app.cursors import CursorSeal
from scheduler_app.engine import Created, Engine
from scheduler_app.errors import InvalidSchedule, QuotaExceeded, ScheduleConflict, ScheduleNotFound
from scheduler_app.models import parse_schedule_request
from scheduler_app.principals import Caller
from scheduler_app.records import RunRecord
from scheduler_app.settings import SchedulerSettings
from taskcore.states import ScheduleState, TaskState
from tests.scheduler.helpers import Clock, task

NOW = datetime(2030, 3, 14, 1, 2, 3, 456_789, tzinfo=UTC)
OWNER = "arn:aws:iam::123456789012:role/orders"


def settings(**overrides: Any) -> SchedulerSettings:
    return SchedulerSettings(
        schedule_group_name="scheduled-tasks-tasks",
        callback_function_arn="arn:aws:lambda:us-east-1:123456789012:function:callback",
        scheduler_role_arn="arn:aws:iam::123456789012:role/invoke",
        scheduler_dlq_arn="arn:aws:sqs:us-east-1:123456789012:dlq",
        task_ledger_table="ledger",
        **overrides,
    )


class Twins:
    """The engine on the two twins and one clock (frozen at NOW)."""

    def __init__(self, **overrides: Any) -> None:
        self.clock = Clock(frozen=NOW)
        self.ledger = MemoryLedger()
        self.schedules = MemorySchedules(group="scheduled-tasks-tasks", clock=self.clock.now)
        self.settings = settings(**overrides)

    def engine(self, caller: Caller | None = None) -> Engine:
        seal = CursorSeal(b"s" * 32)
        return Engine(
            self.ledger, self.schedules, self.settings, caller=caller, cursors=lambda: seal, clock=self.clock.now
        )

    def create(self, body: dict[str, Any], caller: Caller | None = None) -> Created:
        return self.engine(caller).create(parse_schedule_request(body))


@pytest.fixture
def twins() -> Twins:
    return Twins()


def test_a_create_claims_the_id_makes_the_schedule_and_answers_the_task(twins: Twins) -> None:
    created = twins.create(task("pay-1", delay_minutes=30))

    assert created.created is True
    assert (created.view.expression, created.view.next_run_at, created.view.status) == (
        "at(2030-03-14T01:32:04)",
        datetime(2030, 3, 14, 1, 32, 4, tzinfo=UTC),
        "scheduled",
    )
    assert [s.name for s in twins.schedules.all()] == ["pay-1"]
    record, _ = twins.ledger.read("pay-1", runs=0, now=NOW)
    assert record is not None
    assert (record.created_at, record.schedule_arn) == ("2030-03-14T01:02:03.457Z", created.view.schedule_arn)


def test_the_same_request_again_is_the_task_not_a_second_schedule_and_another_is_a_conflict(twins: Twins) -> None:
    first = twins.create(task("pay-1", delay_minutes=30))
    twins.clock.advance(minutes=1)

    again = twins.create(task("pay-1", delay_minutes=30))

    assert (again.created, again.view.schedule_arn, again.view.created_at) == (
        False,
        first.view.schedule_arn,
        first.view.created_at,
    )
    assert len(twins.schedules.all()) == 1
    with pytest.raises(ScheduleConflict, match="already scheduled by a different request"):
        twins.create(task("pay-1", delay_minutes=31))


def test_a_claim_whose_schedule_was_never_made_is_finished_by_the_same_request(twins: Twins) -> None:
    twins.create(task("pay-1", delay_minutes=30))
    twins.schedules.delete("pay-1")  # as if the create had stopped between its two writes

    again = twins.create(task("pay-1", delay_minutes=30))

    assert again.created is True
    assert [s.name for s in twins.schedules.all()] == ["pay-1"]


def test_cancel_deletes_the_schedule_keeps_the_task_and_its_id_until_it_expires(twins: Twins) -> None:
    twins.create(task("pay-1", delay_minutes=30))

    twins.engine().delete("pay-1")

    assert twins.schedules.all() == []
    assert twins.engine().get("pay-1").status == "cancelled"
    with pytest.raises(ScheduleNotFound, match=r"'pay-1' was cancelled at 2030-03-14T01:02:03\.456Z"):
        twins.engine().delete("pay-1")
    with pytest.raises(ScheduleConflict, match="stays reserved until its records expire"):
        twins.create(task("pay-1", delay_minutes=5))
    twins.clock.advance(seconds=twins.settings.task_retention_seconds)
    assert twins.create(task("pay-1", delay_minutes=5)).created is True


def test_pause_and_resume_change_the_schedule_and_the_task_alike(twins: Twins) -> None:
    twins.create(task("daily", cron="cron(0 9 * * ? *)", timezone="Asia/Seoul"))
    twins.clock.advance(minutes=1)

    paused = twins.engine().pause("daily")
    stored = twins.schedules.get("daily")
    resumed = twins.engine().resume("daily")

    assert (paused.state, paused.status, paused.next_run_at, paused.updated_at) == (
        "DISABLED",
        "paused",
        None,
        NOW + timedelta(minutes=1),
    )
    assert stored.state is ScheduleState.DISABLED
    assert (resumed.state, resumed.status, resumed.next_run_at) == (
        "ENABLED",
        "scheduled",
        datetime(2030, 3, 15, 0, 0, tzinfo=UTC),
    )
    assert twins.ledger.read("daily", runs=0, now=NOW)[0].state is TaskState.SCHEDULED  # type: ignore[union-attr]


def test_a_patch_merges_into_the_request_and_replans_it(twins: Twins) -> None:
    twins.create(task("daily", cron="cron(0 9 * * ? *)", timezone="Asia/Seoul"))

    changed = twins.engine().update("daily", {"timezone": "UTC", "data": {"message": "new"}})

    assert (changed.timezone, changed.data, changed.next_run_at) == (
        "UTC",
        {"notification_type": "reminder", "message": "new"},
        datetime(2030, 3, 14, 9, 0, tzinfo=UTC),
    )
    assert twins.engine().get("daily").data == changed.data


def test_listings_walk_every_task_a_page_at_a_time_behind_sealed_cursors(twins: Twins) -> None:
    for index in range(5):
        twins.create(task(f"t-{index}", delay_minutes=30))
        twins.clock.advance(seconds=1)

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = twins.engine().list_schedules(limit=2, cursor=cursor)
        seen += [row.task_id for row in page.items]
        cursor = page.cursor
        if cursor is None:
            break

    assert seen == ["t-4", "t-3", "t-2", "t-1", "t-0"]
    with pytest.raises(InvalidSchedule, match="issued for"):
        twins.engine().list_schedules(limit=2, cursor=twins.engine().list_schedules(limit=2).cursor, action="other")


def test_runs_recorded_in_the_twin_read_back_through_the_engine_a_page_at_a_time(twins: Twins) -> None:
    twins.create(task("daily", rate="rate(1 day)"))
    for day in (1, 2, 3):
        twins.ledger.record_run(
            "daily",
            RunRecord(
                scheduled_time=f"2030-03-1{day}T09:00:00Z",
                attempts=1,
                outcome="succeeded",
                status_code=200,
                first_started_at=None,
                last_started_at=None,
                finished_at=None,
                duration_ms=None,
                final=True,
                replays=0,
            ),
        )

    first = twins.engine().runs("daily", limit=2)
    rest = twins.engine().runs("daily", limit=2, cursor=first.cursor)

    assert [r.scheduled_time.day for r in first.items + rest.items] == [13, 12, 11]  # type: ignore[union-attr]
    assert rest.cursor is None
    assert [r.scheduled_time.day for r in twins.engine().get("daily").runs] == [13, 12, 11]  # type: ignore[union-attr]


def test_an_owners_quota_and_namespace_hold_on_the_twins(twins: Twins) -> None:
    owner = Caller(principal=OWNER, isolated=True)
    small = Twins(max_active_schedules_per_owner=1)
    small.create(task("pay-1", delay_minutes=30), owner)

    with pytest.raises(QuotaExceeded, match="already has 1 active schedules"):
        small.create(task("pay-2", delay_minutes=30), owner)
    mine = twins.create(task("pay-1", delay_minutes=30), owner)
    theirs = twins.create(
        task("pay-1", delay_minutes=30), Caller(principal="arn:aws:iam::123456789012:role/x", isolated=True)
    )

    assert mine.view.schedule_name != theirs.view.schedule_name
    assert mine.view.schedule_name.endswith(".pay-1")
    assert len(twins.schedules.all()) == 2
