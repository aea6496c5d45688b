"""What a request means, as of a given moment: the pure planning functions, without HTTP, moto or a clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler_app.errors import InvalidSchedule, ScheduleConflict
from scheduler_app.models import ScheduleRequest, parse_schedule_request
from scheduler_app.planning import (
    Plan,
    ceil_second,
    check_interval,
    closest_occurrences,
    fingerprint,
    milliseconds,
    plan_of_record,
    plan_schedule,
    request_fields,
    status_filter,
)
from scheduler_app.records import StoredSchedule, TaskRecord
from taskcore.states import ScheduleState, TaskState, TimingKind

NOW = datetime(2030, 3, 14, 1, 2, 3, 456_789, tzinfo=UTC)
DATA = {"notification_type": "reminder", "message": "hi"}
ACTION = "send_notification"


def request(**fields: Any) -> ScheduleRequest:
    return parse_schedule_request({"task_id": "t-1", "user_id": 456, "action": "send_notification", **fields})


# -- fingerprint -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            {"task_id": "pay-42", "user_id": 456, "data": DATA, "delay_minutes": 30},
            "a73b5c6a6fcc0ce6c84dad12ed678e56dcaeb308fc04f43faf176080433cbd93",
        ),
        (
            {
                "task_id": "pay-42",
                "user_id": "u",
                "data": DATA,
                "run_at": "2030-01-01T09:00:00+09:00",
                "retry": {"max_attempts": 3},
            },
            "566424167489d53b8cf315d5cfe0486d9d0e551a4ece102e4858ac75414068fe",
        ),
    ],
)
def test_a_fingerprint_is_fixed_for_good_so_a_retry_of_an_existing_task_still_matches(
    given: dict[str, Any], expected: str
) -> None:
    # The values were computed by the engine before it was split into rooms: a change would turn every
    # retry of a task created before it into a 409.
    assert fingerprint(request(**given)) == expected


def test_requests_that_mean_the_same_schedule_have_one_fingerprint() -> None:
    assert fingerprint(request(data=DATA, delay_minutes=5)) == fingerprint(request(data=DATA, delay_seconds=300))
    assert fingerprint(request(data=DATA, run_at="2030-01-01T09:00:00+09:00")) == fingerprint(
        request(data=DATA, run_at="2030-01-01T00:00:00Z")
    )
    assert fingerprint(request(data=DATA, rate="rate(5 minutes)")) == fingerprint(
        request(data=DATA, rate="rate(5 minutes)", timezone="UTC")
    )


def test_a_request_that_differs_in_anything_it_asks_has_another_fingerprint() -> None:
    base = fingerprint(request(data=DATA, delay_minutes=5))

    assert fingerprint(request(data={**DATA, "message": "other"}, delay_minutes=5)) != base
    assert fingerprint(request(data=DATA, delay_minutes=6)) != base
    assert fingerprint(request(data=DATA, delay_minutes=5, retry={"max_attempts": 185})) != base  # said, not defaulted
    assert fingerprint(request(data=DATA, delay_minutes=5, flexible_window_minutes=5)) != base


# -- plan_schedule ---------------------------------------------------------------------------------------------------


def test_a_delay_runs_that_long_after_now_rounded_up_to_the_second() -> None:
    plan = plan_schedule(request(data=DATA, delay_seconds=90), NOW)

    assert plan == Plan(
        expression="at(2030-03-14T01:03:34)",
        timezone="UTC",
        one_time=True,
        next_run_at=datetime(2030, 3, 14, 1, 3, 34, tzinfo=UTC),
    )
    assert plan.kind is TimingKind.ONE_TIME


def test_a_run_at_is_kept_in_utc_and_one_that_has_passed_is_refused_with_the_time_now() -> None:
    plan = plan_schedule(request(data=DATA, run_at="2030-03-14T10:30:00+09:00"), NOW)
    assert (plan.expression, plan.next_run_at) == ("at(2030-03-14T01:30:00)", datetime(2030, 3, 14, 1, 30, tzinfo=UTC))

    with pytest.raises(
        InvalidSchedule, match=r"run_at: 2030-03-14T01:00:00\+00:00 is in the past \(now is 2030-03-14T01:02:03Z\)"
    ):
        plan_schedule(request(data=DATA, run_at="2030-03-14T01:00:00Z"), NOW)


def test_a_rate_without_a_start_first_runs_at_now_in_whole_seconds_and_a_cron_in_its_zone() -> None:
    rate = plan_schedule(request(data=DATA, rate="rate(5 minutes)"), NOW)
    cron = plan_schedule(request(data=DATA, cron="cron(0 9 * * ? *)", timezone="Asia/Seoul"), NOW)

    assert (rate.kind, rate.next_run_at) == (TimingKind.RECURRING, datetime(2030, 3, 14, 1, 2, 4, tzinfo=UTC))
    assert (cron.timezone, cron.next_run_at) == ("Asia/Seoul", datetime(2030, 3, 15, 0, 0, tzinfo=UTC))


def test_a_window_is_rounded_inwards_and_one_that_is_over_or_started_long_ago_is_refused() -> None:
    plan = plan_schedule(
        request(data=DATA, rate="rate(1 hour)", start_at="2030-03-14T02:00:00.5Z", end_at="2030-03-15T00:00:00.9Z"), NOW
    )
    assert (plan.start, plan.end) == (datetime(2030, 3, 14, 2, 0, 1, tzinfo=UTC), datetime(2030, 3, 15, tzinfo=UTC))

    with pytest.raises(InvalidSchedule, match=r"end_at: .* is in the past"):
        plan_schedule(request(data=DATA, rate="rate(1 hour)", end_at="2030-03-14T01:00:00Z"), NOW)
    long_ago = request(data=DATA, rate="rate(1 hour)", start_at="2030-03-14T00:00:00Z")
    with pytest.raises(InvalidSchedule, match="more than 5 minutes in the past"):
        plan_schedule(long_ago, NOW)
    assert plan_schedule(long_ago, NOW, check_start=False).start == datetime(2030, 3, 14, tzinfo=UTC)


def test_an_expression_that_never_fires_again_is_refused() -> None:
    never = request(data=DATA, cron="cron(0 9 1 1 ? 2029)")

    with pytest.raises(InvalidSchedule, match=r"never fires after now \(2030-03-14T01:02:03Z\); nothing would run"):
        plan_schedule(never, NOW)


# -- intervals -------------------------------------------------------------------------------------------------------


def test_the_closest_runs_of_a_rate_are_one_interval_apart_and_of_a_cron_its_tightest_pair() -> None:
    rate = plan_schedule(request(data=DATA, rate="rate(2 minutes)"), NOW)
    cron = plan_schedule(request(data=DATA, cron="cron(0,1 9 * * ? *)"), NOW)

    assert closest_occurrences(rate, NOW) == (rate.next_run_at, rate.next_run_at + timedelta(minutes=2))  # type: ignore[operator]
    assert closest_occurrences(cron, NOW) == (
        datetime(2030, 3, 14, 9, 0, tzinfo=UTC),
        datetime(2030, 3, 14, 9, 1, tzinfo=UTC),
    )


def test_a_recurring_schedule_closer_than_the_minimum_is_refused_naming_the_two_runs() -> None:
    cron = plan_schedule(request(data=DATA, cron="cron(0,1 9 * * ? *)"), NOW)

    check_interval(cron, NOW, minimum_seconds=60)
    with pytest.raises(InvalidSchedule, match=r"runs 60 s apart \(at 2030-03-14T09:00:00Z and 2030-03-14T09:01:00Z\)"):
        check_interval(cron, NOW, minimum_seconds=120)
    check_interval(plan_schedule(request(data=DATA, delay_seconds=1), NOW), NOW, minimum_seconds=3600)  # one-time


# -- rounding, records, schedules, filters ---------------------------------------------------------------------------


def test_the_ledger_precision_rounds_up_to_the_millisecond_and_an_at_up_to_the_second() -> None:
    assert milliseconds(NOW) == datetime(2030, 3, 14, 1, 2, 3, 457_000, tzinfo=UTC)
    assert milliseconds(NOW.replace(microsecond=457_000)) == NOW.replace(microsecond=457_000)
    assert ceil_second(NOW) == datetime(2030, 3, 14, 1, 2, 4, tzinfo=UTC)
    assert ceil_second(NOW.replace(microsecond=0)) == NOW.replace(microsecond=0)


def test_a_claimed_record_gives_back_the_plan_it_was_made_with() -> None:
    held = TaskRecord(
        task_id="t-1",
        state=TaskState.SCHEDULED,
        kind=TimingKind.RECURRING,
        expression="rate(1 hour)",
        timezone="UTC",
        created_at="2030-03-14T01:02:03.457Z",
        updated_at="2030-03-14T01:02:03.457Z",
        start_at="2030-03-14T02:00:00.000Z",
    )

    assert plan_of_record(held) == Plan(
        expression="rate(1 hour)",
        timezone="UTC",
        one_time=False,
        next_run_at=None,
        start=datetime(2030, 3, 14, 2, tzinfo=UTC),
        end=None,
    )


def stored(expression: str, **fields: Any) -> StoredSchedule:
    defaults: dict[str, Any] = {
        "name": "t-1",
        "arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/g/t-1",
        "group": "g",
        "expression": expression,
        "timezone": "UTC",
        "state": ScheduleState.ENABLED,
        "start": None,
        "end": None,
        "created": None,
        "modified": None,
        "description": "",
        "target_input": json.dumps(
            {"body": json.dumps({"task_id": "t-1", "user_id": 456, "action": ACTION, "data": {}})}
        ),
        "retry": (3, 600),
        "flexible_window_minutes": None,
    }
    return StoredSchedule(**{**defaults, **fields})


def test_a_schedule_stands_for_the_create_request_a_patch_merges_into() -> None:
    at = request_fields(stored("at(2030-03-14T10:00:00)", timezone="Asia/Seoul", flexible_window_minutes=5))
    rate = request_fields(stored("rate(1 hour)", end=datetime(2031, 1, 1, tzinfo=UTC)))

    assert at == {
        "task_id": "t-1",
        "user_id": 456,
        "action": "send_notification",
        "data": {},
        "run_at": datetime(2030, 3, 14, 1, tzinfo=UTC),
        "retry": {"max_attempts": 3, "max_event_age_seconds": 600},
        "flexible_window_minutes": 5,
    }
    assert (rate["rate"], rate["timezone"], rate["start_at"], rate["end_at"]) == (
        "rate(1 hour)",
        "UTC",
        None,
        datetime(2031, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ScheduleConflict, match="was not created by this API"):
        request_fields(stored("rate(1 hour)", target_input="{}"))


def test_a_listing_state_means_a_ledger_status_and_the_two_must_agree() -> None:
    assert status_filter(None, None) is None
    assert status_filter(None, "failed") == "failed"
    assert status_filter("ENABLED", None) is TaskState.SCHEDULED
    assert status_filter("DISABLED", "paused") is TaskState.PAUSED
    with pytest.raises(InvalidSchedule, match="state=ENABLED and status=paused contradict each other"):
        status_filter("ENABLED", "paused")
