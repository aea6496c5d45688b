"""Every rejection is a 422 (or 413) whose message says what is wrong, and creates nothing.

moto validates nothing, so each of these would otherwise become a schedule that never runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from taskcore.registry import registry
from tests.scheduler.helpers import Clock, task

NOW = "2030-03-14T01:02:03.456789+00:00"


def rejected(api: Any, body: Any, schedules: Any, status: int = 422) -> str:
    response = api.post("/api/v1/schedules", json=body)
    assert response.status_code == status, response.text
    assert schedules() == [], "nothing may be created"
    detail: str = response.json()["detail"]
    return detail


@pytest.fixture(autouse=True)
def _frozen(clock: Clock, fixed_now: datetime) -> None:
    clock.set(fixed_now)


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        ({}, "give exactly one timing"),
        ({"delay_minutes": 5, "cron": "cron(0 9 * * ? *)"}, "got delay_minutes and cron"),
        ({"delay_seconds": 0}, "delay_seconds: Input should be greater than or equal to 1"),
        ({"delay_minutes": 10**9}, "delay_minutes: Input should be less than or equal to"),
        ({"cron": "cron(0 9 * * *)"}, "expected 6 fields"),
        ({"cron": "cron(0 9 * * * *)"}, "cannot both be set; use '?' in one of them"),
        ({"cron": "cron(0 9 ? * ? *)"}, "cannot both be '?'"),
        ({"cron": "cron(0 25 * * ? *)"}, "hours value 25 is out of range 0-23"),
        ({"cron": "cron(0 9 L-2 * ? *)"}, "'L-n' offsets"),
        ({"cron": "cron(0 9 ? * 2#6 *)"}, "must be 1-5"),
        ({"cron": "cron(0 9 1,15W * ? *)"}, "'W' must follow a single day number"),
        ({"cron": "every tuesday"}, "every tuesday"),
        ({"cron": "rate(5 minutes)"}, "expected a cron(...) expression"),
        ({"rate": "rate(0 minutes)"}, "must be a positive integer"),
        ({"rate": "rate(2 weeks)"}, "for weeks use days"),
        ({"rate": "rate(30 seconds)"}, "the smallest unit is the minute"),
        ({"cron": "cron(0 9 * * ? *)", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"cron": "cron(0 9 * * ? *)", "timezone": "asia/seoul"}, "did you mean 'Asia/Seoul'"),
        ({"delay_minutes": 5, "timezone": "Asia/Seoul"}, "timezone applies only to recurring schedules"),
        ({"run_at": "2030-03-15T09:00:00"}, "run_at: Input should have timezone info"),
        (
            {"delay_minutes": 5, "retry": {"max_attempts": 186}},
            "retry.max_attempts: Input should be less than or equal to 185",
        ),
        (
            {"delay_minutes": 5, "retry": {"max_event_age_seconds": 59}},
            "retry.max_event_age_seconds: Input should be greater than or equal to 60",
        ),
        (
            {"delay_minutes": 5, "flexible_window_minutes": 1441},
            "flexible_window_minutes: Input should be less than or equal to 1440",
        ),
        ({"delay_minutes": 5, "priority": "high"}, "priority: Extra inputs are not permitted"),
        (
            {"rate": "rate(1 hour)", "start_at": "2030-03-16T00:00:00Z", "end_at": "2030-03-15T00:00:00Z"},
            "end_at (2030-03-15T00:00:00+00:00) must be after start_at",
        ),
    ],
)
def test_invalid_timing_is_rejected_and_nothing_is_created(
    api: Any, schedules: Any, timing: dict[str, Any], expected: str
) -> None:
    detail = rejected(api, task("t-invalid", **timing), schedules)

    assert expected in detail


def test_past_run_at_is_rejected_and_nothing_is_created(api: Any, schedules: Any) -> None:
    detail = rejected(api, task("t-past", run_at="2030-03-14T10:00:00+09:00"), schedules)

    assert detail == (
        "run_at: 2030-03-14T10:00:00+09:00 is in the past (now is 2030-03-14T01:02:03Z); give a future time or a delay"
    )


def test_run_at_now_is_already_past(api: Any, schedules: Any) -> None:
    assert "is in the past" in rejected(api, task("t-now", run_at=NOW), schedules)


def test_end_at_in_the_past_is_rejected(api: Any, schedules: Any) -> None:
    detail = rejected(api, task("t-ended", rate="rate(5 minutes)", end_at="2030-03-14T00:00:00Z"), schedules)

    assert detail.startswith("end_at: 2030-03-14T00:00:00+00:00 is in the past")


def test_start_at_more_than_five_minutes_ago_is_rejected(api: Any, schedules: Any, fixed_now: datetime) -> None:
    start = (fixed_now - timedelta(minutes=6)).isoformat()

    detail = rejected(api, task("t-old-start", rate="rate(5 minutes)", start_at=start), schedules)

    assert "is more than 5 minutes in the past" in detail


def test_start_at_a_moment_ago_is_accepted(api: Any, fixed_now: datetime) -> None:
    start = (fixed_now - timedelta(minutes=1)).isoformat()

    assert (
        api.post("/api/v1/schedules", json=task("t-fresh-start", rate="rate(5 minutes)", start_at=start)).status_code
        == 201
    )


def test_cron_that_never_fires_again_is_rejected(api: Any, schedules: Any) -> None:
    detail = rejected(api, task("t-2029", cron="cron(0 9 * * ? 2029)"), schedules)

    assert detail.startswith("cron(0 9 * * ? 2029) in UTC never fires after now (2030-03-14T01:02:03Z)")


def test_cron_with_no_occurrence_before_end_at_is_rejected(api: Any, schedules: Any) -> None:
    body = task("t-window", cron="cron(0 9 1 1 ? *)", end_at="2030-06-01T00:00:00Z")

    assert "never fires after now" in rejected(api, body, schedules)
    assert "before end_at 2030-06-01T00:00:00+00:00" in rejected(api, body, schedules)


def test_unknown_action_is_rejected_with_the_registered_names(api: Any, schedules: Any) -> None:
    detail = rejected(api, {**task("t-typo", delay_minutes=5), "action": "send_notfication"}, schedules)

    assert detail == f"action: unknown action 'send_notfication'; registered actions: {', '.join(registry.names())}"


def test_invalid_data_is_rejected_against_the_actions_model(api: Any, schedules: Any) -> None:
    body = {**task("t-bad-data", delay_minutes=5), "data": {"channel": "pigeon"}}

    detail = rejected(api, body, schedules)

    assert detail.startswith("data: invalid data for action 'send_notification': channel: Input should be")


def test_missing_required_data_is_rejected_even_when_data_is_omitted(api: Any, schedules: Any) -> None:
    body = {"task_id": "t-no-data", "user_id": 1, "action": "cleanup", "delay_minutes": 5}

    detail = rejected(api, body, schedules)

    assert "data: invalid data for action 'cleanup': resource_id: Field required" in detail


@pytest.mark.parametrize("task_id", ["has space", "a" * 65, "slash/inside", ""])
def test_task_id_outside_the_schedule_name_alphabet_is_rejected(api: Any, schedules: Any, task_id: str) -> None:
    assert rejected(api, task(task_id, delay_minutes=5), schedules).startswith("task_id: String should")


def test_body_that_is_not_json_is_rejected(api: Any, schedules: Any) -> None:
    response = api.post("/api/v1/schedules", content=b"{not json", headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert response.json()["detail"].startswith("body: not valid JSON at line 1, column 2: Expecting property name")
    assert schedules() == []


def test_input_too_large_for_an_async_lambda_invocation_is_a_413(api: Any, schedules: Any) -> None:
    body = {**task("t-huge", delay_minutes=5), "data": {"message": "x" * 4000}, "action": "send_notification"}
    body["data"] = {"notification_type": "reminder", "message": "x" * 4096}
    # The action's own model caps `message`; a generous action with big data is what overflows.
    big = {"task_id": "t-huge", "user_id": 1, "action": "generate_daily_report", "delay_minutes": 5}
    big["data"] = {"recipients": ["r" * 12_000] * 100}

    detail = rejected(api, big, schedules, status=413)

    assert "an asynchronous Lambda invocation takes at most 1000000 bytes" in detail
    assert "the task's event would be" in detail


def test_input_just_under_the_limit_is_accepted(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"task_id": "t-big-ok", "user_id": 1, "action": "generate_daily_report", "delay_minutes": 5}
    body["data"] = {"recipients": ["r" * 9_000] * 100}

    assert api.post("/api/v1/schedules", json=body).status_code == 201
