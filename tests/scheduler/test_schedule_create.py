"""POST /api/v1/schedules: what a created schedule looks like in EventBridge Scheduler."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from localcloud.template import LocalResources, Resolver, load_template
from taskcore.proxy import CONTEXT_HEADERS
from tests.scheduler.helpers import TASK, Clock, task


def stored(scheduler: Any, group: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = scheduler.get_schedule(Name=name, GroupName=group)
    return result


def test_delay_creates_a_one_time_utc_schedule_with_seconds_that_deletes_itself(
    api: Any, scheduler: Any, group: str, clock: Clock, fixed_now: datetime
) -> None:
    clock.set(fixed_now)

    response = api.post("/api/v1/schedules", json=task("payment-reminder-42", delay_seconds=90))

    assert response.status_code == 201
    body = response.json()
    # 01:02:03.456789 + 90 s: rounded up to the next whole second (never early), not to a minute.
    assert body["expression"] == "at(2030-03-14T01:03:34)"
    assert body["timezone"] == "UTC"
    assert body["next_run_at"] == "2030-03-14T01:03:34Z"
    assert body["kind"] == "one-time"
    assert body["state"] == "ENABLED"
    assert body["schedule_name"] == "payment-reminder-42"
    assert body["group"] == group
    assert_stored_as_a_one_time_utc_schedule_that_deletes_itself(
        stored(scheduler, group, "payment-reminder-42"), body["schedule_arn"]
    )


def assert_stored_as_a_one_time_utc_schedule_that_deletes_itself(schedule: dict[str, Any], arn: str) -> None:
    assert arn == schedule["Arn"]
    assert schedule["ScheduleExpression"] == "at(2030-03-14T01:03:34)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}


def test_target_is_the_configured_callback_with_role_retry_policy_and_dead_letter_queue(
    api: Any, scheduler: Any, group: str, scheduler_env: LocalResources
) -> None:
    api.post("/api/v1/schedules", json=task("t-target", delay_minutes=30))

    target = stored(scheduler, group, "t-target")["Target"]
    assert target["Arn"] == scheduler_env.arns["CallbackFunction"]
    assert target["RoleArn"] == scheduler_env.arns["SchedulerInvokeRole"]
    # The recorder's inbox: it records the undelivered occurrence, then forwards the letter to ScheduleDeliveryDLQ.
    assert target["DeadLetterConfig"] == {"Arn": scheduler_env.arns["ScheduleDeliveryInbox"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def test_schedules_are_created_in_the_group_the_invoke_roles_trust_policy_allows(
    api: Any, scheduler: Any, group: str
) -> None:
    # Scheduler assumes the role with aws:SourceArn = the schedule's group ARN; the trust policy
    # admits only template.yaml's ScheduleGroup, so a schedule anywhere else could never run.
    role = load_template()["Resources"]["SchedulerInvokeRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    allowed = Resolver(load_template()).resolve(trust["Condition"]["StringEquals"]["aws:SourceArn"])

    api.post("/api/v1/schedules", json=task("t-group", delay_minutes=30))

    schedule_arn = stored(scheduler, group, "t-group")["Arn"]
    parts = re.fullmatch(r"(arn:aws:scheduler:[^:]+:\d{12}):schedule/([^/]+)/(.+)", schedule_arn)
    assert parts is not None, schedule_arn
    region_account, schedule_group, name = parts.groups()
    assert name == "t-group"
    assert f"{region_account}:schedule-group/{schedule_group}" == allowed
    assert scheduler.get_schedule_group(Name=group)["Arn"] == allowed


def test_input_is_a_rest_proxy_event_with_a_string_body_and_the_context_attribute_headers(
    api: Any, scheduler: Any, group: str
) -> None:
    api.post("/api/v1/schedules", json=task("t-input", delay_minutes=30))

    event = json.loads(stored(scheduler, group, "t-input")["Target"]["Input"])
    assert event["resource"] == "/api/v1/tasks/callback"
    assert event["path"] == "/api/v1/tasks/callback"
    assert event["httpMethod"] == "POST"
    assert isinstance(event["body"], str)
    assert json.loads(event["body"]) == {"task_id": "t-input", **TASK}
    assert event["headers"]["content-type"] == "application/json"
    assert {"requestId", "stage"} <= event["requestContext"].keys()
    assert event["requestContext"]["identity"]["sourceIp"]
    for header, attribute in CONTEXT_HEADERS.items():
        assert event["headers"][header] == attribute


def test_run_at_with_an_offset_is_stored_as_utc(
    api: Any, scheduler: Any, group: str, clock: Clock, fixed_now: datetime
) -> None:
    clock.set(fixed_now)

    response = api.post("/api/v1/schedules", json=task("t-run-at", run_at="2030-03-15T09:30:15.900+09:00"))

    assert response.status_code == 201
    assert response.json()["next_run_at"] == "2030-03-15T00:30:16Z"  # .900 s rounded up: never early
    schedule = stored(scheduler, group, "t-run-at")
    assert schedule["ScheduleExpression"] == "at(2030-03-15T00:30:16)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"


def test_cron_keeps_its_expression_and_timezone_and_reports_the_next_local_occurrence(
    api: Any, scheduler: Any, group: str, clock: Clock, fixed_now: datetime
) -> None:
    clock.set(fixed_now)  # 2030-03-14 01:02 UTC is 10:02 in Seoul: 09:00 has passed today

    response = api.post(
        "/api/v1/schedules",
        json={
            "task_id": "daily-report",
            "user_id": 0,
            "action": "generate_daily_report",
            "cron": "cron(0 9 * * ? *)",
            "timezone": "Asia/Seoul",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "recurring"
    assert body["expression"] == "cron(0 9 * * ? *)"
    assert body["timezone"] == "Asia/Seoul"
    assert body["next_run_at"] == "2030-03-15T00:00:00Z"
    schedule = stored(scheduler, group, "daily-report")
    assert schedule["ScheduleExpression"] == "cron(0 9 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Seoul"
    assert schedule["ActionAfterCompletion"] == "NONE"


def test_cron_may_be_given_without_its_keyword(api: Any, scheduler: Any, group: str) -> None:
    response = api.post("/api/v1/schedules", json=task("t-bare-cron", cron="15 10 ? * MON-FRI *"))

    assert response.status_code == 201
    assert stored(scheduler, group, "t-bare-cron")["ScheduleExpression"] == "cron(15 10 ? * MON-FRI *)"


def test_rate_with_start_end_window_and_custom_retry(
    api: Any, scheduler: Any, group: str, clock: Clock, fixed_now: datetime
) -> None:
    clock.set(fixed_now)
    start = fixed_now + timedelta(hours=1)
    end = fixed_now + timedelta(days=2)

    response = api.post(
        "/api/v1/schedules",
        json=task(
            "t-rate",
            rate="rate(1 minutes)",
            start_at=start.isoformat(),
            end_at=end.isoformat(),
            retry={"max_attempts": 3, "max_event_age_seconds": 600},
            flexible_window_minutes=5,
        ),
    )

    assert response.status_code == 201
    body = response.json()
    assert body["expression"] == "rate(1 minute)"
    # The start rounded up and the end down to whole seconds: never earlier, never later than asked.
    whole_start, whole_end = start.replace(microsecond=0) + timedelta(seconds=1), end.replace(microsecond=0)
    assert body["next_run_at"] == body["start_at"] == whole_start.isoformat().replace("+00:00", "Z")
    assert body["end_at"] == whole_end.isoformat().replace("+00:00", "Z")
    schedule = stored(scheduler, group, "t-rate")
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert schedule["StartDate"] == whole_start
    assert schedule["EndDate"] == whole_end
    assert schedule["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}
    assert schedule["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5}


def test_task_id_is_generated_when_absent(api: Any, schedules: Any) -> None:
    body = {k: v for k, v in task("ignored", delay_minutes=5).items() if k != "task_id"}

    response = api.post("/api/v1/schedules", json=body)

    assert response.status_code == 201
    generated = response.json()["task_id"]
    assert len(generated) == 32
    assert schedules() == [generated]


def test_same_task_id_same_request_returns_200_with_existing(api: Any, schedules: Any) -> None:
    first = api.post("/api/v1/schedules", json=task("t-twice", delay_minutes=30))

    again = api.post("/api/v1/schedules", json=task("t-twice", delay_minutes=30))

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["schedule_arn"] == first.json()["schedule_arn"]
    assert again.json()["expression"] == first.json()["expression"]
    assert schedules() == ["t-twice"]


def test_a_delay_in_minutes_and_the_same_delay_in_seconds_are_the_same_request(api: Any) -> None:
    assert api.post("/api/v1/schedules", json=task("t-units", delay_minutes=2)).status_code == 201
    assert api.post("/api/v1/schedules", json=task("t-units", delay_seconds=120)).status_code == 200


def test_same_task_id_with_a_different_request_is_a_409(api: Any, scheduler: Any, group: str) -> None:
    api.post("/api/v1/schedules", json=task("t-clash", delay_minutes=30))

    response = api.post("/api/v1/schedules", json={**task("t-clash", delay_minutes=30), "data": {"message": "other"}})

    assert response.status_code == 409
    assert "t-clash" in response.json()["detail"]
    assert "different request" in response.json()["detail"]
    assert (
        json.loads(json.loads(stored(scheduler, group, "t-clash")["Target"]["Input"])["body"])["data"] == TASK["data"]
    )


def test_create_sends_a_client_token_so_retries_are_safe(api: Any, sent: dict[str, list[dict[str, Any]]]) -> None:
    api.post("/api/v1/schedules", json=task("t-token", delay_minutes=30))

    (create,) = sent["CreateSchedule"]
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", create["ClientToken"])
    assert re.fullmatch(r"task send_notification; request-sha256:[0-9a-f]{64}", create["Description"])
    assert set(sent) == {"CreateSchedule"}, "no GetFunction, no other call"


def test_created_schedule_reads_back_the_same_through_get(api: Any, clock: Clock, fixed_now: datetime) -> None:
    clock.set(fixed_now)
    created = api.post(
        "/api/v1/schedules", json=task("t-roundtrip", delay_minutes=30, flexible_window_minutes=3)
    ).json()

    read = api.get("/api/v1/schedules/t-roundtrip").json()

    for key in (
        "task_id",
        "schedule_arn",
        "expression",
        "timezone",
        "state",
        "next_run_at",
        "user_id",
        "action",
        "data",
        "retry",
    ):
        assert read[key] == created[key], key
    assert read["flexible_window_minutes"] == 3
    assert datetime.fromisoformat(read["next_run_at"]) == datetime(2030, 3, 14, 1, 32, 4, tzinfo=UTC)


def test_a_rate_without_start_first_runs_at_creation_in_whole_seconds(
    api: Any, clock: Clock, fixed_now: datetime
) -> None:
    clock.set(fixed_now)  # 01:02:03.456789

    created = api.post("/api/v1/schedules", json=task("t-rate-now", rate="rate(5 minutes)")).json()
    read = api.get("/api/v1/schedules/t-rate-now").json()

    # "If you do not provide a StartDate for a rate-based schedule, your schedule starts invoking the target
    # immediately": the first run is at creation, not one interval later, and has no sub-seconds.
    assert created["next_run_at"] == "2030-03-14T01:02:04Z"
    # GET anchors on EventBridge Scheduler's own CreationDate (moto's wall clock here), in whole seconds too.
    assert datetime.fromisoformat(read["next_run_at"]).microsecond == 0


def test_a_rate_created_just_before_a_whole_second_reports_its_first_run_whatever_the_clock_reads_next(
    api: Any, clock: Clock
) -> None:
    # One request reads the clock once: a later reading (the view, after CreateSchedule returned) must not
    # move the first run of a rate() one interval on, nor may the ledger's millisecond timestamps move it back.
    readings = iter(
        [datetime(2030, 3, 14, 1, 2, 3, 999_600, tzinfo=UTC), datetime(2030, 3, 14, 1, 2, 4, 500_000, tzinfo=UTC)]
    )
    last = datetime(2030, 3, 14, 1, 2, 4, 500_000, tzinfo=UTC)
    clock.now = lambda: next(readings, last)  # type: ignore[method-assign]

    created = api.post("/api/v1/schedules", json=task("t-rate-edge", rate="rate(5 minutes)")).json()

    assert created["next_run_at"] == "2030-03-14T01:02:04Z"
