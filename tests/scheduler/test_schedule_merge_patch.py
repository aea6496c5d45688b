"""PATCH /api/v1/schedules/{task_id} is a JSON Merge Patch (RFC 7396) of the task's create request.

Members given replace, `null` removes, objects (`data`, `retry`) merge member by member, and the
result is validated exactly as a create. A new timing replaces the old one (a schedule has one).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.scheduler.helpers import task

MERGE_PATCH = "application/merge-patch+json"


def created(api: Any, task_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/v1/schedules", json={**task(task_id, delay_minutes=30), **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_data_is_merged_member_by_member(api: Any) -> None:
    created(api, "mp-merge", data={"notification_type": "reminder", "message": "Hello", "language": "ko"})

    response = api.patch("/api/v1/schedules/mp-merge", json={"data": {"message": "Updated"}})

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"notification_type": "reminder", "message": "Updated", "language": "ko"}
    assert api.get("/api/v1/schedules/mp-merge").json()["data"] == response.json()["data"]


def test_null_in_data_removes_that_member(api: Any) -> None:
    created(api, "mp-remove", data={"notification_type": "reminder", "message": "Hello", "language": "ko"})

    response = api.patch("/api/v1/schedules/mp-remove", json={"data": {"language": None}})

    assert response.json()["data"] == {"notification_type": "reminder", "message": "Hello"}


def test_null_data_removes_all_of_it(api: Any) -> None:
    created(api, "mp-clear", data={"notification_type": "reminder", "message": "Hello"})

    response = api.patch("/api/v1/schedules/mp-clear", json={"data": None})

    assert response.status_code == 200
    assert response.json()["data"] == {}


def test_retry_is_merged_and_null_restores_the_default(api: Any) -> None:
    created(api, "mp-retry", retry={"max_attempts": 3, "max_event_age_seconds": 600})

    merged = api.patch("/api/v1/schedules/mp-retry", json={"retry": {"max_attempts": 5}})
    removed = api.patch("/api/v1/schedules/mp-retry", json={"retry": None})

    assert merged.json()["retry"] == {"max_attempts": 5, "max_event_age_seconds": 600}
    assert removed.json()["retry"] == {"max_attempts": 185, "max_event_age_seconds": 86400}


def test_null_removes_a_recurring_option(api: Any) -> None:
    api.post("/api/v1/schedules", json=task("mp-zone", cron="cron(0 9 * * ? *)", timezone="Asia/Seoul"))

    response = api.patch("/api/v1/schedules/mp-zone", json={"timezone": None})

    assert response.json()["timezone"] == "UTC"


def test_the_merge_patch_content_type_is_accepted(api: Any) -> None:
    created(api, "mp-type", data={"message": "Hello"})

    response = api.patch(
        "/api/v1/schedules/mp-type", content=b'{"data": {"message": "Hi"}}', headers={"content-type": MERGE_PATCH}
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"message": "Hi"}


def test_a_merged_result_that_is_invalid_changes_nothing(api: Any) -> None:
    created(api, "mp-invalid", data={"message": "Hello"})

    response = api.patch("/api/v1/schedules/mp-invalid", json={"data": {"channel": "pigeon"}})

    assert response.status_code == 422
    assert "channel: Input should be" in response.json()["detail"]
    assert api.get("/api/v1/schedules/mp-invalid").json()["data"] == {"message": "Hello"}


@pytest.mark.parametrize("body", [[], "text", 5])
def test_a_patch_that_is_not_a_json_object_is_a_422(api: Any, body: Any) -> None:
    created(api, "mp-array")

    response = api.patch("/api/v1/schedules/mp-array", json=body)

    assert response.status_code == 422
    assert response.json()["detail"] == "a merge patch is a JSON object of the members to change"


@pytest.mark.parametrize(("member", "value"), [("task_id", "other"), ("action", "cleanup"), ("user_id", 9)])
def test_the_tasks_identity_cannot_be_patched(api: Any, member: str, value: Any) -> None:
    created(api, "mp-identity")

    response = api.patch("/api/v1/schedules/mp-identity", json={member: value})

    assert response.status_code == 422
    assert response.json()["detail"] == (f"{member}: cannot be changed by PATCH; DELETE the task and create it again")


def test_the_same_identity_may_be_repeated(api: Any) -> None:
    created(api, "mp-same", data={"message": "Hello"})

    response = api.patch(
        "/api/v1/schedules/mp-same", json={"task_id": "mp-same", "user_id": 456, "data": {"message": "Hi"}}
    )

    assert response.status_code == 200, response.text


def test_the_openapi_document_offers_both_content_types(api: Any) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/schedules/{task_id}"]["patch"]

    assert set(operation["requestBody"]["content"]) == {"application/json", MERGE_PATCH}


def test_a_patch_that_makes_the_request_invalid_names_the_field_as_a_create_would(api: Any) -> None:
    api.post("/api/v1/schedules", json=task("t-bad-patch", rate="rate(5 minutes)"))

    response = api.patch("/api/v1/schedules/t-bad-patch", json={"rate": "rate(2 weeks)"})
    created = api.post("/api/v1/schedules", json=task("t-bad-create", rate="rate(2 weeks)"))

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["errors"]] == [["body", "rate"]]
    assert response.json()["errors"] == created.json()["errors"]
