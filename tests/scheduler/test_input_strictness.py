"""Input is taken as sent or refused with a message that says what to send: never coerced, never truncated early.

A boolean is not an id or a number, a number in a string is not a number, an epoch integer is not a
time, an id made only of dots is not a schedule name, and a task never runs earlier than it was asked to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.scheduler.helpers import Clock, task


@pytest.fixture(autouse=True)
def _frozen(clock: Clock, fixed_now: datetime) -> None:
    clock.set(fixed_now)


def refused(api: Any, body: Any, schedules: Any, *, path: str = "/api/v1/schedules") -> str:
    response = api.post(path, json=body)
    assert response.status_code == 422, response.text
    assert schedules() == [], "nothing may be created"
    detail: str = response.json()["detail"]
    return detail


@pytest.mark.parametrize("user_id", [True, False])
def test_a_boolean_user_id_is_refused_not_stored_as_a_number(api: Any, schedules: Any, user_id: bool) -> None:
    detail = refused(api, {**task("t-bool-user", delay_minutes=5), "user_id": user_id}, schedules)

    assert detail.startswith("user_id: ")
    assert "is a boolean, not an id" in detail


@pytest.mark.parametrize("user_id", [1.0, 2.5])
def test_a_fractional_or_float_user_id_is_refused(api: Any, schedules: Any, user_id: float) -> None:
    assert refused(api, {**task("t-float-user", delay_minutes=5), "user_id": user_id}, schedules).startswith("user_id:")


def test_integer_and_string_user_ids_are_kept_as_sent(api: Any) -> None:
    numeric = api.post("/api/v1/schedules", json={**task("t-int-user", delay_minutes=5), "user_id": 456})
    textual = api.post("/api/v1/schedules", json={**task("t-str-user", delay_minutes=5), "user_id": "456"})

    assert numeric.json()["user_id"] == 456
    assert textual.json()["user_id"] == "456"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("delay_minutes", "5"),
        ("delay_minutes", 2.0),
        ("delay_minutes", 2.5),
        ("delay_minutes", True),
        ("delay_seconds", "30"),
        ("delay_seconds", 30.0),
        ("delay_seconds", False),
    ],
)
def test_a_delay_that_is_not_a_json_integer_is_refused(api: Any, schedules: Any, field: str, value: Any) -> None:
    detail = refused(api, task("t-delay-type", **{field: value}), schedules)

    assert detail.startswith(f"{field}: ")
    assert "whole number" in detail
    assert "e.g. 5" in detail


@pytest.mark.parametrize("field", ["run_at", "start_at", "end_at"])
@pytest.mark.parametrize("value", [1796200000, 1796200000.5, True])
def test_an_epoch_number_is_not_a_time(api: Any, schedules: Any, field: str, value: Any) -> None:
    timing = {"run_at": value} if field == "run_at" else {"rate": "rate(5 minutes)", field: value}

    detail = refused(api, task("t-epoch", **timing), schedules)

    assert detail.startswith(f"{field}: ")
    assert "ISO 8601" in detail
    assert "2030-01-01T09:00:00+09:00" in detail


@pytest.mark.parametrize("task_id", [".", "..", "...", "." * 64])
def test_a_task_id_made_only_of_dots_is_refused(api: Any, schedules: Any, task_id: str) -> None:
    detail = refused(api, task(task_id, delay_minutes=5), schedules)

    assert detail.startswith("task_id: ")


@pytest.mark.parametrize("task_id", ["a.b", ".hidden", "v1..2", "_", "-"])
def test_a_task_id_with_dots_and_something_else_is_accepted(api: Any, task_id: str) -> None:
    assert api.post("/api/v1/schedules", json=task(task_id, delay_minutes=5)).status_code == 201


def test_delay_seconds_never_runs_earlier_than_asked(api: Any, clock: Clock) -> None:
    clock.set(datetime(2030, 3, 14, 1, 2, 3, 800_000, tzinfo=UTC))

    body = api.post("/api/v1/schedules", json=task("t-round-up", delay_seconds=3)).json()

    # now + 3 s is 01:02:06.8; the schedule's whole second must not be before it.
    assert body["expression"] == "at(2030-03-14T01:02:07)"
    assert datetime.fromisoformat(body["next_run_at"]) >= clock.now() + timedelta(seconds=3)


def test_delay_on_a_whole_second_is_not_rounded(api: Any, clock: Clock) -> None:
    clock.set(datetime(2030, 3, 14, 1, 2, 3, tzinfo=UTC))

    assert api.post("/api/v1/schedules", json=task("t-exact", delay_seconds=3)).json()["expression"] == (
        "at(2030-03-14T01:02:06)"
    )


def test_run_at_with_a_fraction_of_a_second_never_runs_earlier(api: Any) -> None:
    body = api.post("/api/v1/schedules", json=task("t-frac", run_at="2030-03-15T09:00:00.250+00:00")).json()

    assert body["expression"] == "at(2030-03-15T09:00:01)"


def test_start_at_with_a_fraction_of_a_second_never_starts_earlier(api: Any) -> None:
    body = api.post(
        "/api/v1/schedules", json=task("t-start-frac", rate="rate(5 minutes)", start_at="2030-03-15T09:00:00.5Z")
    ).json()

    assert body["start_at"] == "2030-03-15T09:00:01Z"


def test_guide_create_refuses_unknown_fields(api: Any, schedules: Any) -> None:
    body = {
        "task_id": "g-extra",
        "user_id": 456,
        "action": "send_notification",
        "delay_minutes": 5,
        "run_at": "2030-03-15T09:00:00Z",
    }

    detail = refused(api, body, schedules, path="/api/v1/scheduler/schedule")

    assert detail == "run_at: Extra inputs are not permitted"


@pytest.mark.parametrize(("field", "value"), [("user_id", True), ("delay_minutes", "5"), ("delay_minutes", 1.0)])
def test_guide_create_refuses_coerced_types(api: Any, schedules: Any, field: str, value: Any) -> None:
    body = {"task_id": "g-types", "user_id": 456, "action": "send_notification", "delay_minutes": 5, field: value}

    assert refused(api, body, schedules, path="/api/v1/scheduler/schedule").startswith(f"{field}: ")


@pytest.mark.parametrize("path", ["/api/v1/schedules/", "/api/v1/schedules/t-1/", "/health/"])
def test_a_trailing_slash_is_a_404_that_names_the_path_without_it(api: Any, path: str) -> None:
    response = api.get(path, follow_redirects=False)

    assert response.status_code == 404
    assert response.json()["detail"] == f"no endpoint at {path}; without the trailing slash: {path.rstrip('/')}"


def test_an_unknown_path_is_a_404_with_a_message(api: Any) -> None:
    response = api.get("/api/v2/schedules")

    assert response.status_code == 404
    assert response.json()["detail"] == "no endpoint at /api/v2/schedules; the API is described at /docs"


def test_a_body_that_is_not_json_says_where(api: Any, schedules: Any) -> None:
    response = api.post(
        "/api/v1/schedules", content=b'{"user_id": 1,\n "action" "x"}', headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == "body: not valid JSON at line 2, column 11: Expecting ':' delimiter"
    assert schedules() == []


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_a_json_body_without_the_json_content_type_says_which_to_send(
    api: Any, schedules: Any, content_type: str
) -> None:
    # curl -d without -H sends application/x-www-form-urlencoded.
    response = api.post("/api/v1/schedules", content=b'{"user_id": 1}', headers={"content-type": content_type})

    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"body: send the request as JSON with the header content-type: application/json (got {content_type})"
    )
    assert schedules() == []
