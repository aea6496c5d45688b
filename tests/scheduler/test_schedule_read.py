"""GET /api/v1/schedules/{task_id} and GET /api/v1/schedules (filters, pages, cursor)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.scheduler.helpers import Clock, task


def test_unknown_task_is_a_404(api: Any) -> None:
    response = api.get("/api/v1/schedules/no-such-task")

    assert response.status_code == 404
    assert response.json()["detail"] == (
        "no schedule for task 'no-such-task' in group 'scheduled-tasks-local-tasks' "
        "(never created, cancelled, or already run)"
    )


def test_get_with_an_invalid_task_id_is_a_422(api: Any) -> None:
    response = api.get("/api/v1/schedules/bad%20id")

    assert response.status_code == 422
    assert response.json()["detail"].startswith("path.task_id: String should match pattern")


def test_get_reports_a_recurring_schedule_with_its_next_run_in_utc(api: Any, clock: Clock, fixed_now: datetime) -> None:
    clock.set(fixed_now)
    api.post(
        "/api/v1/schedules",
        json=task("t-weekly", cron="cron(30 8 ? * MON *)", timezone="America/New_York", end_at="2031-01-01T00:00:00Z"),
    )

    body = api.get("/api/v1/schedules/t-weekly").json()

    assert body["kind"] == "recurring"
    assert body["expression"] == "cron(30 8 ? * MON *)"
    assert body["timezone"] == "America/New_York"
    # Monday 2030-03-18 08:30 EDT (DST began on 2030-03-10) is 12:30 UTC.
    assert body["next_run_at"] == "2030-03-18T12:30:00Z"
    assert body["end_at"] == "2031-01-01T00:00:00Z"
    assert body["action"] == "send_notification"
    assert body["user_id"] == 456


def test_get_reports_no_next_run_for_a_one_time_schedule_whose_time_has_passed(
    api: Any, clock: Clock, fixed_now: datetime
) -> None:
    clock.set(fixed_now)
    api.post("/api/v1/schedules", json=task("t-soon", delay_seconds=30))
    clock.advance(minutes=5)  # it ran (and would have deleted itself; moto never fires)

    assert api.get("/api/v1/schedules/t-soon").json()["next_run_at"] is None


def seed(api: Any, *names: str) -> None:
    for name in names:
        assert api.post("/api/v1/schedules", json=task(name, delay_minutes=30)).status_code == 201


def test_list_answers_items_and_a_null_cursor_on_the_last_page(api: Any, group: str) -> None:
    seed(api, "a-1", "a-2")

    body = api.get("/api/v1/schedules").json()

    assert body["cursor"] is None
    assert sorted(item["task_id"] for item in body["items"]) == ["a-1", "a-2"]
    assert {item["group"] for item in body["items"]} == {group}
    assert all(
        item["state"] == "ENABLED" and item["schedule_arn"].endswith(f"/{group}/{item['task_id']}")
        for item in body["items"]
    )


def test_pagination_walks_every_schedule_exactly_once(api: Any) -> None:
    names = [f"page-{i:02d}" for i in range(7)]
    seed(api, *names)
    seen: list[str] = []
    pages = 0
    params: dict[str, Any] = {"limit": 3}

    while True:
        body = api.get("/api/v1/schedules", params=params).json()
        pages += 1
        assert len(body["items"]) <= 3
        seen.extend(item["task_id"] for item in body["items"])
        if body["cursor"] is None:
            break
        params = {"limit": 3, "cursor": body["cursor"]}

    assert pages == 3
    assert sorted(seen) == names


def test_list_filters_by_prefix_and_state(api: Any) -> None:
    seed(api, "report-1", "report-2", "reminder-1")
    api.post("/api/v1/schedules/report-2/pause")

    by_prefix = api.get("/api/v1/schedules", params={"prefix": "report-"}).json()["items"]
    disabled = api.get("/api/v1/schedules", params={"state": "DISABLED"}).json()["items"]
    enabled_reports = api.get("/api/v1/schedules", params={"state": "ENABLED", "prefix": "report"}).json()["items"]

    assert sorted(i["task_id"] for i in by_prefix) == ["report-1", "report-2"]
    assert [i["task_id"] for i in disabled] == ["report-2"]
    assert [i["task_id"] for i in enabled_reports] == ["report-1"]


def test_a_cursor_only_works_with_the_filters_it_was_issued_for(api: Any) -> None:
    seed(api, "c-1", "c-2", "c-3")
    cursor = api.get("/api/v1/schedules", params={"limit": 1, "prefix": "c-"}).json()["cursor"]

    response = api.get("/api/v1/schedules", params={"limit": 1, "cursor": cursor})

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "cursor: it was issued for user_id=None, status=None, action=None, prefix='c-'; "
        "pass the same filters with it, or start again without it"
    )


@pytest.mark.parametrize("cursor", ["not-a-cursor", "e30", "eyJ0IjogMX0"])
def test_a_foreign_cursor_is_a_422(api: Any, cursor: str) -> None:
    response = api.get("/api/v1/schedules", params={"cursor": cursor})

    assert response.status_code == 422
    assert response.json()["detail"] == "cursor: not a cursor this API issued; start again without it"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"limit": 0}, "query.limit: Input should be greater than or equal to 1"),
        ({"limit": 101}, "query.limit: Input should be less than or equal to 100"),
        ({"state": "PAUSED"}, "query.state: Input should be 'ENABLED' or 'DISABLED'"),
        ({"prefix": "bad prefix"}, "query.prefix: String should match pattern"),
    ],
)
def test_invalid_list_parameters_are_a_422(api: Any, params: dict[str, Any], expected: str) -> None:
    response = api.get("/api/v1/schedules", params=params)

    assert response.status_code == 422
    assert response.json()["detail"].startswith(expected)


def foreign_schedule(
    scheduler: Any, group: str, arns: dict[str, str], name: str, expression: str, target_input: str
) -> None:
    scheduler.create_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arns["CallbackFunction"], "RoleArn": arns["SchedulerInvokeRole"], "Input": target_input},
    )


def test_get_reads_a_schedule_made_by_the_guides_own_code(
    api: Any, scheduler: Any, group: str, scheduler_env: Any
) -> None:
    # The guide's generate_lambda_proxy_payload() put the body in as an object, not a string.
    guide_event = {
        "body": {"task_id": "task-123", "user_id": 456, "action": "send_notification", "data": {"message": "Hello"}},
        "resource": "/{proxy+}",
        "path": "/api/v1/tasks/callback",
        "httpMethod": "POST",
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json; charset=utf-8"},
        "requestContext": {"path": "/api/v1/tasks/callback", "httpMethod": "POST", "stage": "prod"},
    }
    foreign_schedule(
        scheduler, group, scheduler_env.arns, "task-456-abc12345", "at(2099-01-01T00:00:00)", json.dumps(guide_event)
    )

    body = api.get("/api/v1/schedules/task-456-abc12345").json()

    assert (body["task_id"], body["action"], body["user_id"]) == ("task-123", "send_notification", 456)
    assert body["kind"] == "one-time"
    assert body["next_run_at"] == "2099-01-01T00:00:00Z"


@pytest.mark.parametrize("target_input", ["not json", json.dumps({"body": "[1, 2]"}), json.dumps([1])])
def test_get_of_a_schedule_whose_input_is_not_a_task_still_answers(
    api: Any, scheduler: Any, group: str, scheduler_env: Any, target_input: str
) -> None:
    foreign_schedule(scheduler, group, scheduler_env.arns, "odd", "every tuesday", target_input)

    body = api.get("/api/v1/schedules/odd").json()

    assert (body["task_id"], body["action"], body["data"]) == ("odd", None, None)
    assert body["kind"] == "recurring"
    assert body["next_run_at"] is None
