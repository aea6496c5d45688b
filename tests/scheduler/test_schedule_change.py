"""DELETE, pause/resume and PATCH of /api/v1/schedules/{task_id}."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.scheduler.helpers import Clock, task


def test_delete_cancels_the_schedule_with_a_204(api: Any, schedules: Any) -> None:
    api.post("/api/v1/schedules", json=task("t-cancel", delay_minutes=30))

    response = api.delete("/api/v1/schedules/t-cancel")

    assert response.status_code == 204
    assert response.content == b""
    assert schedules() == []


def test_delete_of_an_unknown_task_is_a_404(api: Any) -> None:
    response = api.delete("/api/v1/schedules/never-made")

    assert response.status_code == 404
    assert "no schedule for task 'never-made'" in response.json()["detail"]


def test_a_cancelled_task_keeps_its_id_until_its_records_expire(api: Any, clock: Any) -> None:
    # The ledger remembers the task: the same request again is answered with it, a different one refused.
    api.post("/api/v1/schedules", json=task("t-again", delay_minutes=30))
    api.delete("/api/v1/schedules/t-again")

    same = api.post("/api/v1/schedules", json=task("t-again", delay_minutes=30))
    other = api.post("/api/v1/schedules", json=task("t-again", delay_minutes=45))
    clock.advance(days=8)  # past TASK_RETENTION_SECONDS (7 days): the id is free again
    later = api.post("/api/v1/schedules", json=task("t-again", delay_minutes=45))

    assert (same.status_code, same.json()["status"], same.json()["state"]) == (200, "cancelled", None)
    assert other.status_code == 409
    assert "stays reserved until its records expire" in other.json()["detail"]
    assert later.status_code == 201


def test_pause_disables_and_resume_enables_keeping_everything_else(api: Any, scheduler: Any, group: str) -> None:
    api.post(
        "/api/v1/schedules",
        json=task("t-pause", cron="cron(0 9 * * ? *)", timezone="Asia/Seoul", retry={"max_attempts": 2}),
    )
    before = scheduler.get_schedule(Name="t-pause", GroupName=group)

    paused = api.post("/api/v1/schedules/t-pause/pause")
    stored_paused = scheduler.get_schedule(Name="t-pause", GroupName=group)
    resumed = api.post("/api/v1/schedules/t-pause/resume")
    stored_resumed = scheduler.get_schedule(Name="t-pause", GroupName=group)

    assert paused.status_code == 200
    assert paused.json()["state"] == "DISABLED"
    assert paused.json()["next_run_at"] is None
    assert stored_paused["State"] == "DISABLED"
    assert resumed.json()["state"] == "ENABLED"
    assert resumed.json()["next_run_at"] is not None
    assert stored_resumed["State"] == "ENABLED"
    for key in ("ScheduleExpression", "ScheduleExpressionTimezone", "Target", "Description", "FlexibleTimeWindow"):
        assert stored_resumed[key] == before[key], key


def test_pausing_twice_is_harmless(api: Any) -> None:
    api.post("/api/v1/schedules", json=task("t-pause-2", delay_minutes=30))

    api.post("/api/v1/schedules/t-pause-2/pause")
    again = api.post("/api/v1/schedules/t-pause-2/pause")

    assert again.status_code == 200
    assert again.json()["state"] == "DISABLED"


@pytest.mark.parametrize("verb", ["pause", "resume"])
def test_pause_or_resume_of_an_unknown_task_is_a_404(api: Any, verb: str) -> None:
    assert api.post(f"/api/v1/schedules/ghost/{verb}").status_code == 404


def stored_input(scheduler: Any, group: str, name: str) -> dict[str, Any]:
    event = json.loads(scheduler.get_schedule(Name=name, GroupName=group)["Target"]["Input"])
    body: dict[str, Any] = json.loads(event["body"])
    return body


def test_patch_changes_the_data_and_keeps_the_timing(
    api: Any, scheduler: Any, group: str, clock: Clock, fixed_now: datetime
) -> None:
    clock.set(fixed_now)
    created = api.post(
        "/api/v1/schedules", json=task("t-patch-data", run_at="2030-04-01T00:00:00Z", flexible_window_minutes=5)
    ).json()

    response = api.patch("/api/v1/schedules/t-patch-data", json={"data": {"message": "changed", "channel": "sms"}})

    assert response.status_code == 200
    assert response.json()["expression"] == created["expression"] == "at(2030-04-01T00:00:00)"
    # Merged into the data it had (a JSON Merge Patch), not a replacement of it.
    merged = {"notification_type": "reminder", "message": "changed", "channel": "sms"}
    assert response.json()["data"] == merged
    assert response.json()["flexible_window_minutes"] == 5
    assert stored_input(scheduler, group, "t-patch-data")["data"] == merged


def test_patch_replaces_a_one_time_timing_by_a_recurring_one(
    api: Any, scheduler: Any, group: str, clock: Clock, fixed_now: datetime
) -> None:
    clock.set(fixed_now)
    api.post("/api/v1/schedules", json=task("t-patch-timing", delay_minutes=30))

    response = api.patch(
        "/api/v1/schedules/t-patch-timing", json={"cron": "cron(0 9 ? * MON-FRI *)", "timezone": "Asia/Seoul"}
    )

    assert response.status_code == 200
    assert response.json()["kind"] == "recurring"
    assert response.json()["next_run_at"] == "2030-03-15T00:00:00Z"
    stored = scheduler.get_schedule(Name="t-patch-timing", GroupName=group)
    assert stored["ScheduleExpression"] == "cron(0 9 ? * MON-FRI *)"
    assert stored["ScheduleExpressionTimezone"] == "Asia/Seoul"
    assert stored_input(scheduler, group, "t-patch-timing")["data"]["message"] == "Hello"


def test_patch_from_recurring_to_a_delay_drops_the_zone_and_window(
    api: Any, scheduler: Any, group: str, clock: Clock, fixed_now: datetime, sent: dict[str, list[dict[str, Any]]]
) -> None:
    clock.set(fixed_now)
    end = (fixed_now + timedelta(days=30)).isoformat()
    api.post("/api/v1/schedules", json=task("t-to-once", rate="rate(1 hour)", timezone="Asia/Seoul", end_at=end))

    response = api.patch("/api/v1/schedules/t-to-once", json={"delay_minutes": 10})

    assert response.status_code == 200
    assert response.json()["expression"] == "at(2030-03-14T01:12:04)"
    assert response.json()["timezone"] == "UTC"
    assert scheduler.get_schedule(Name="t-to-once", GroupName=group)["ScheduleExpression"] == "at(2030-03-14T01:12:04)"
    # UpdateSchedule replaces the schedule; moto ignores ActionAfterCompletion there, so check the call.
    (update,) = sent["UpdateSchedule"]
    assert update["ActionAfterCompletion"] == "DELETE"
    assert update["ScheduleExpressionTimezone"] == "UTC"
    assert "StartDate" not in update
    assert "EndDate" not in update


def test_patch_is_validated_like_a_create_and_changes_nothing_when_invalid(
    api: Any, scheduler: Any, group: str
) -> None:
    api.post("/api/v1/schedules", json=task("t-patch-bad", delay_minutes=30))
    before = scheduler.get_schedule(Name="t-patch-bad", GroupName=group)

    bad_cron = api.patch("/api/v1/schedules/t-patch-bad", json={"cron": "cron(0 9 * * * *)"})
    bad_data = api.patch("/api/v1/schedules/t-patch-bad", json={"data": {"channel": "pigeon"}})
    zone_on_one_time = api.patch("/api/v1/schedules/t-patch-bad", json={"timezone": "Asia/Seoul"})

    assert bad_cron.status_code == 422
    assert "cannot both be set" in bad_cron.json()["detail"]
    assert bad_data.status_code == 422
    assert bad_data.json()["detail"].startswith("data: invalid data for action 'send_notification'")
    assert zone_on_one_time.status_code == 422
    assert "only to recurring schedules" in zone_on_one_time.json()["detail"]
    assert scheduler.get_schedule(Name="t-patch-bad", GroupName=group)["Target"] == before["Target"]


def test_patch_with_nothing_to_change_is_a_422(api: Any) -> None:
    api.post("/api/v1/schedules", json=task("t-patch-empty", delay_minutes=30))

    response = api.patch("/api/v1/schedules/t-patch-empty", json={})

    assert response.status_code == 422
    assert response.json()["detail"].startswith("nothing to change")


def test_patch_of_an_unknown_task_is_a_404(api: Any) -> None:
    assert api.patch("/api/v1/schedules/ghost", json={"delay_minutes": 5}).status_code == 404


def test_patch_keeps_a_start_date_that_has_since_passed(api: Any, clock: Clock, fixed_now: datetime) -> None:
    clock.set(fixed_now)
    start = (fixed_now + timedelta(minutes=10)).replace(microsecond=0).isoformat()
    api.post("/api/v1/schedules", json=task("t-old-start", rate="rate(1 hour)", start_at=start))
    clock.advance(days=2)

    response = api.patch("/api/v1/schedules/t-old-start", json={"data": {"message": "later"}})

    assert response.status_code == 200
    assert response.json()["start_at"] == start.replace("+00:00", "Z")


def test_patched_request_is_the_one_a_repeat_create_must_match(api: Any) -> None:
    api.post("/api/v1/schedules", json=task("t-fp", delay_minutes=30))
    api.patch("/api/v1/schedules/t-fp", json={"data": {"message": "changed"}})

    assert api.post("/api/v1/schedules", json=task("t-fp", delay_minutes=30)).status_code == 409


def test_a_schedule_this_api_did_not_create_cannot_be_patched(
    api: Any, scheduler: Any, group: str, scheduler_env: Any
) -> None:
    scheduler.create_schedule(
        Name="foreign",
        GroupName=group,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": scheduler_env.arns["CallbackFunction"],
            "RoleArn": scheduler_env.arns["SchedulerInvokeRole"],
            "Input": "{}",
        },
    )

    response = api.patch("/api/v1/schedules/foreign", json={"data": {}})

    assert response.status_code == 409
    assert response.json()["detail"] == "schedule 'foreign' was not created by this API: its Input is not a task"
    assert api.get("/api/v1/schedules/foreign").json()["action"] is None


def test_patch_of_a_schedule_named_apart_from_its_task_updates_that_schedule(
    api: Any, scheduler: Any, group: str, scheduler_env: Any, schedules: Any
) -> None:
    # The guide named schedules `task-<user>-<random hex>`, apart from the task id in the body.
    body = {"task_id": "task-123", "user_id": 456, "action": "send_notification", "data": {"message": "Hello"}}
    event = {"resource": "/{proxy+}", "path": "/api/v1/tasks/callback", "httpMethod": "POST", "body": body}
    scheduler.create_schedule(
        Name="task-456-abc12345",
        GroupName=group,
        ScheduleExpression="at(2099-01-01T00:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": scheduler_env.arns["CallbackFunction"],
            "RoleArn": scheduler_env.arns["SchedulerInvokeRole"],
            "Input": json.dumps(event),
        },
    )

    response = api.patch("/api/v1/schedules/task-456-abc12345", json={"data": {"message": "Changed"}})

    assert response.status_code == 200
    assert (response.json()["schedule_name"], response.json()["task_id"]) == ("task-456-abc12345", "task-123")
    assert schedules() == ["task-456-abc12345"]
    assert stored_input(scheduler, group, "task-456-abc12345")["data"] == {"message": "Changed"}
