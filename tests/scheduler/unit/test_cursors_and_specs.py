"""The other pure rooms: cursors sealed and opened, a plan turned into a schedule and a record, listings
planned as Queries, records turned into views. No HTTP, no moto, no clock."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from scheduler_app.cursors import FOREIGN_CURSOR, CursorSeal, caller_digest, decode_cursor, encode_cursor
from scheduler_app.engine.read import Listing
from scheduler_app.errors import InvalidSchedule, PayloadTooLarge
from scheduler_app.models import parse_schedule_request
from scheduler_app.namespaces import TaskAddress
from scheduler_app.planning import plan_schedule
from scheduler_app.principals import Caller
from scheduler_app.records import ListFilter, TaskRecord
from scheduler_app.specs import Limits, retry_policy, schedule_spec, task_record
from scheduler_app.views import status, summary
from taskcore.states import ScheduleState, TaskState, TimingKind

NOW = datetime(2030, 3, 14, 1, 2, 3, 457_000, tzinfo=UTC)
SEAL = CursorSeal(b"k" * 32)
ME, OTHER = caller_digest("arn:aws:iam::123456789012:role/me"), caller_digest("arn:aws:iam::123456789012:role/other")
BINDING = {"user_id": None, "status": "scheduled", "action": None, "prefix": None}
LIMITS = Limits(
    min_interval_seconds=60,
    max_target_input_bytes=1_000_000,
    default_max_retry_attempts=185,
    default_max_event_age_seconds=86_400,
)
ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/t-1"


def request(**fields: Any) -> Any:
    data = {"notification_type": "reminder", "message": "hi"}
    return parse_schedule_request(
        {"task_id": "t-1", "user_id": 456, "action": "send_notification", "data": data, **fields}
    )


# -- cursors ---------------------------------------------------------------------------------------------------------


def test_a_cursor_gives_back_its_position_to_the_caller_and_filters_it_was_issued_for() -> None:
    position = {"i": 1, "k": {"pk": {"S": "TASK#t-1"}}}
    cursor = encode_cursor(position, BINDING, seal=SEAL, caller=ME)

    assert decode_cursor(cursor, BINDING, seal=SEAL, caller=ME) == position
    assert "TASK#" not in cursor


def test_a_cursor_is_refused_to_another_caller_other_filters_another_listing_or_another_key() -> None:
    cursor = encode_cursor({"i": 0}, BINDING, seal=SEAL, caller=ME)

    with pytest.raises(InvalidSchedule, match="issued to another caller"):
        decode_cursor(cursor, BINDING, seal=SEAL, caller=OTHER)
    with pytest.raises(InvalidSchedule, match=r"issued for user_id=None, status='scheduled', action=None, prefix=None"):
        decode_cursor(cursor, {**BINDING, "status": "paused"}, seal=SEAL, caller=ME)
    for binding, seal in (({"task": "t-1"}, SEAL), (BINDING, CursorSeal(b"x" * 32))):
        with pytest.raises(InvalidSchedule) as refused:
            decode_cursor(cursor, binding, seal=seal, caller=ME)
        assert str(refused.value) == FOREIGN_CURSOR
    with pytest.raises(InvalidSchedule, match="not a cursor this API issued"):
        decode_cursor(SEAL.seal(["not", "a", "cursor"]), BINDING, seal=SEAL, caller=ME)


# -- specs -----------------------------------------------------------------------------------------------------------


def test_a_plan_becomes_a_schedule_named_for_its_address_with_the_stacks_retry_defaults() -> None:
    asked = request(delay_seconds=60, retry={"max_attempts": 3})
    plan = plan_schedule(asked, NOW)
    spec = schedule_spec(
        asked,
        plan,
        "f" * 64,
        state=ScheduleState.ENABLED,
        address=TaskAddress("t-1", "abcdefghijklmnop"),
        arn=ARN,
        limits=LIMITS,
    )

    assert (spec.name, spec.expression, spec.one_time, spec.state) == (
        "abcdefghijklmnop.t-1",
        "at(2030-03-14T01:03:04)",
        True,
        ScheduleState.ENABLED,
    )
    assert (spec.max_retry_attempts, spec.max_event_age_seconds) == (3, 86_400)
    assert spec.description == f"task send_notification; request-sha256:{'f' * 64}"
    headers = json.loads(spec.target_input)["headers"]
    assert (headers["X-Task-Kind"], headers["X-Task-Scope"]) == ("one-time", "abcdefghijklmnop")
    assert retry_policy(request(delay_seconds=60), LIMITS).model_dump() == {
        "max_attempts": 185,
        "max_event_age_seconds": 86_400,
    }


def test_a_task_whose_delivered_event_would_exceed_the_limit_is_refused_with_its_size() -> None:
    asked = request(delay_seconds=60)
    small = replace(LIMITS, max_target_input_bytes=512)

    with pytest.raises(PayloadTooLarge, match=r"the task's event would be \d+ bytes; .* at most 512 bytes"):
        schedule_spec(
            asked,
            plan_schedule(asked, NOW),
            "f" * 64,
            state=ScheduleState.ENABLED,
            address=TaskAddress("t-1"),
            arn=ARN,
            limits=small,
        )


def test_a_task_record_keeps_the_request_its_plan_and_the_ledgers_timestamps() -> None:
    asked = request(rate="rate(1 hour)", end_at="2031-01-01T00:00:00Z")
    record = task_record(
        asked, plan_schedule(asked, NOW), "f" * 64, created=NOW, now=NOW, address=TaskAddress("t-1"), arn=ARN, owner="o"
    )

    assert (record.state, record.kind, record.created_at, record.end_at) == (
        TaskState.SCHEDULED,
        TimingKind.RECURRING,
        "2030-03-14T01:02:03.457Z",
        "2031-01-01T00:00:00.000Z",
    )
    assert (record.owner, record.schedule_arn, record.request["rate"]) == ("o", ARN, "rate(1 hour)")  # type: ignore[index]


# -- listings --------------------------------------------------------------------------------------------------------


def test_a_listing_reads_the_live_states_in_turn_one_users_tasks_at_once_or_only_the_owners_own() -> None:
    everyone, owner = Caller(), Caller(principal="arn:aws:iam::123456789012:role/me", isolated=True)

    assert Listing().filters(everyone) == [ListFilter(state=TaskState.SCHEDULED), ListFilter(state=TaskState.PAUSED)]
    assert Listing(user_id=456, status="failed").filters(everyone) == [ListFilter(user_id=456, state="failed")]
    assert Listing(user_id=456).filters(owner) == [ListFilter(owner=owner.principal, user_id=456)]
    assert Listing(state="DISABLED", action="a", prefix="p").filters(owner) == [
        ListFilter(owner=owner.principal, state=TaskState.PAUSED, action="a", prefix="p")
    ]
    assert Listing(user_id=456).binding(owner) == {
        "user_id": "456",
        "status": None,
        "action": None,
        "prefix": None,
        "owner": owner.principal,
    }


# -- views -----------------------------------------------------------------------------------------------------------


def test_a_recurring_task_past_its_end_reads_ended_and_a_paused_one_has_no_next_run() -> None:
    record = TaskRecord(
        task_id="t-1",
        state=TaskState.SCHEDULED,
        kind=TimingKind.RECURRING,
        expression="rate(1 hour)",
        timezone="UTC",
        created_at="2030-03-01T00:00:00.000Z",
        updated_at="2030-03-01T00:00:00.000Z",
        end_at="2030-03-10T00:00:00.000Z",
    )
    paused = replace(record, state=TaskState.PAUSED, end_at=None)

    assert status(record, None, NOW) is TaskState.ENDED
    row = summary(paused, group="tasks", arn=ARN, now=NOW)
    assert (row.status, row.state, row.next_run_at, row.schedule_arn) == ("paused", "DISABLED", None, ARN)
