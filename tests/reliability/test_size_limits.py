"""Every input of the scheduler API has a size limit, answered 413 or 422, and a refused request creates nothing.

Each limit is tested at its boundary (the largest accepted value, then one more) through the Lambda entry
point. The callback's limits are in test_hostile_callback_events.py (its events come from these schedules).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scheduler_app.handler import lambda_handler
from scheduler_app.settings import MAX_TARGET_INPUT_BYTES
from scheduler_app.specs import LONGEST_ATTEMPT as _LONGEST_ATTEMPT
from scheduler_app.specs import LONGEST_EXECUTION_ID as _LONGEST_EXECUTION_ID
from scheduler_app.specs import LONGEST_SCHEDULED_TIME as _LONGEST_SCHEDULED_TIME
from taskcore.envelope import TaskEnvelope
from taskcore.proxy import build_target_input, substitute_context_attributes
from tests.scheduler.helpers import TASK, api_event, task

MB = 1024 * 1024


def answer(response: dict[str, Any]) -> tuple[int, Any]:
    """Status and body (JSON when it is JSON: Mangum's own 500 is plain text)."""
    text = response.get("body")
    try:
        return int(response["statusCode"]), json.loads(text) if text else None
    except ValueError:
        return int(response["statusCode"]), text


def call(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> tuple[int, Any]:
    return answer(lambda_handler(api_event(method, path, body=body, query=query), None))


def raw_call(method: str, path: str, text: str) -> tuple[int, Any]:
    event = api_event(method, path, body={})
    event["body"] = text
    return answer(lambda_handler(event, None))


def delivered_size(task_id: str, data: dict[str, Any], group: str, callback_arn: str) -> int:
    """The bytes of the event a schedule delivers, with the longest context attributes (as the API measures it)."""
    region, account = callback_arn.split(":")[3:5]
    user_id = TASK["user_id"]
    assert isinstance(user_id, int)
    envelope = TaskEnvelope.model_construct(task_id=task_id, user_id=user_id, action="spy", data=data)
    delivered = substitute_context_attributes(
        build_target_input(envelope, kind="one-time"),  # TASK runs once
        schedule_arn=f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{task_id}",
        scheduled_time=_LONGEST_SCHEDULED_TIME,
        execution_id=_LONGEST_EXECUTION_ID,
        attempt=_LONGEST_ATTEMPT,
    )
    return len(delivered.encode("utf-8"))


def largest_blob(task_id: str, group: str, callback_arn: str, unit: str = "x") -> int:
    """The most repetitions of `unit` in `data.blob` whose delivered event still fits the limit."""
    low, high = 0, MAX_TARGET_INPUT_BYTES
    while low < high:
        mid = (low + high + 1) // 2
        if delivered_size(task_id, {"blob": unit * mid}, group, callback_arn) <= MAX_TARGET_INPUT_BYTES:
            low = mid
        else:
            high = mid - 1
    return low


@pytest.fixture
def limits(scheduler_env: Any, schedules: Any, figures: Any) -> Any:
    """Assert a request's status and that it created nothing; count it."""

    def check(status: int, got: tuple[int, Any], *, creates: bool = False) -> Any:
        before = schedules()
        assert got[0] == status, got[1]
        after = schedules()
        figures.count("limits", "boundary_requests")
        if not creates:
            assert after == before
        return got[1]

    return check


@pytest.mark.parametrize(("length", "status"), [(64, 201), (65, 422)])
def test_task_id_is_at_most_64_characters(limits, schedules, length, status):
    got = call("POST", "/api/v1/schedules", task("t" * length, delay_minutes=5))

    limits(status, got, creates=status == 201)
    assert schedules() == (["t" * 64] if status == 201 else [])


@pytest.mark.parametrize("method", ["GET", "DELETE", "PATCH"])
def test_a_task_id_in_the_path_over_64_characters_is_a_422(limits, method):
    limits(422, call(method, "/api/v1/schedules/" + "t" * 65, {"delay_minutes": 5} if method == "PATCH" else None))


@pytest.mark.parametrize(("length", "status"), [(128, 201), (129, 422)])
def test_a_string_user_id_is_at_most_128_characters(limits, length, status):
    body = {**task("u-limit", delay_minutes=5), "user_id": "u" * length}

    limits(status, call("POST", "/api/v1/schedules", body), creates=status == 201)


@pytest.mark.parametrize("length", [128, 129])
def test_an_action_name_over_the_registered_ones_is_a_422(limits, length):
    limits(422, call("POST", "/api/v1/schedules", {**task("a-limit", delay_minutes=5), "action": "a" * length}))


def test_data_up_to_the_delivered_event_limit_is_accepted_and_one_byte_more_is_a_413(
    limits, spy_action, scheduler_env, schedules
):
    group, callback_arn = scheduler_env.names["ScheduleGroup"], scheduler_env.arns["CallbackFunction"]
    fits = largest_blob("data-limit", group, callback_arn)
    assert delivered_size("data-limit", {"blob": "x" * fits}, group, callback_arn) == MAX_TARGET_INPUT_BYTES

    too_big = limits(
        413,
        call(
            "POST",
            "/api/v1/schedules",
            task("data-limit", action="spy", data={"blob": "x" * (fits + 1)}, delay_minutes=5),
        ),
    )
    assert f"would be {MAX_TARGET_INPUT_BYTES + 1} bytes" in too_big["detail"]
    limits(
        201,
        call("POST", "/api/v1/schedules", task("data-limit", action="spy", data={"blob": "x" * fits}, delay_minutes=5)),
        creates=True,
    )
    assert schedules() == ["data-limit"]


def test_the_data_limit_counts_bytes_not_characters(limits, spy_action, scheduler_env):
    # 400,000 Hangul syllables are 1.2 MB in UTF-8: refused, though far fewer than 10^6 characters.
    body = task("data-utf8", action="spy", data={"blob": "한" * 400_000}, delay_minutes=5)

    assert "would be" in limits(413, call("POST", "/api/v1/schedules", body))["detail"]


def test_a_patch_that_makes_the_event_too_large_is_a_413_and_changes_nothing(limits, spy_action, scheduler):
    call("POST", "/api/v1/schedules", task("patch-limit", action="spy", data={"blob": "small"}, delay_minutes=5))
    before = scheduler.get_schedule(Name="patch-limit", GroupName=scheduler_env_group(scheduler))

    limits(413, call("PATCH", "/api/v1/schedules/patch-limit", {"data": {"blob": "x" * MAX_TARGET_INPUT_BYTES}}))

    after = scheduler.get_schedule(Name="patch-limit", GroupName=scheduler_env_group(scheduler))
    assert after["Target"]["Input"] == before["Target"]["Input"]


def scheduler_env_group(scheduler: Any) -> str:
    (group,) = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"] if g["Name"] != "default"]
    return str(group)


@pytest.mark.parametrize(("count", "status"), [(0, 422), (100, 200), (101, 422)])
def test_a_batch_holds_1_to_100_items(limits, schedules, count, status):
    items = [task(f"b-{i:03d}", delay_minutes=5) for i in range(count)]

    body = limits(status, call("POST", "/api/v1/schedules/batch", {"items": items}), creates=status == 200)

    if status == 200:
        assert body["created"] == 100
        assert len(schedules()) == 100


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"limit": "100"}, 200),
        ({"limit": "101"}, 422),
        ({"limit": "0"}, 422),
        ({"prefix": "p" * 64}, 200),
        ({"prefix": "p" * 65}, 422),
        ({"cursor": "c" * 4097}, 422),
    ],
    ids=["limit-100", "limit-101", "limit-0", "prefix-64", "prefix-65", "cursor-4097"],
)
def test_list_parameters_are_bounded(limits, query, status):
    limits(status, call("GET", "/api/v1/schedules", query=query))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("delay_seconds", 366 * 86_400 + 1),
        ("delay_minutes", 366 * 1_440 + 1),
        ("flexible_window_minutes", 1_441),
        ("retry", {"max_attempts": 186}),
        ("retry", {"max_event_age_seconds": 86_401}),
    ],
    ids=["delay_seconds", "delay_minutes", "flexible_window_minutes", "retry.max_attempts", "retry.max_event_age"],
)
def test_numeric_fields_past_their_bounds_are_422(limits, field, value):
    body = task("n-limit", delay_minutes=5) if field not in ("delay_seconds", "delay_minutes") else task("n-limit")

    limits(422, call("POST", "/api/v1/schedules", {**body, field: value}))


def test_the_guides_delay_is_at_most_a_week(limits):
    limits(422, call("POST", "/api/v1/scheduler/schedule", task("g-limit", delay_minutes=10_081)))


def test_a_body_over_6_mb_is_a_413_and_creates_nothing(limits):
    body = {**task("body-limit", delay_minutes=5), "padding": "p" * (7 * MB)}

    limits(413, call("POST", "/api/v1/scheduler/schedule", body))


def test_data_nested_300_levels_is_a_422_not_a_500(limits, spy_action):
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(300):
        deep = {"a": deep}

    limits(422, call("POST", "/api/v1/schedules", task("deep-1", action="spy", data=deep, delay_minutes=5)))


def test_non_finite_numbers_in_data_are_refused_when_scheduled(limits, spy_action):
    text = json.dumps(task("nan-1", action="spy", data={"amount": 1.5}, delay_minutes=5)).replace("1.5", "NaN")

    limits(422, raw_call("POST", "/api/v1/schedules", text))
