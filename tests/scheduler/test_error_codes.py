"""Every error body carries a stable, machine-readable `code` beside its `detail` (docs/api.md, "Errors").

A program branches on `code`, never on the wording of `detail`; each code is produced here by the
request that earns it, through the app or the Lambda entry point as API Gateway calls it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from localcloud.template import ROOT
from scheduler_app.handler import MAX_BODY_BYTES, lambda_handler
from scheduler_app.settings import get_settings
from tests.scheduler.helpers import FaultInjector, api_event, response_json, task

#: The codes the API answers, and the status each goes with (docs/api.md lists the same).
DOCUMENTED = {
    "invalid": 422,
    "payload_too_large": 413,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "throttled": 429,
    "owner_quota_exceeded": 429,
    "schedule_quota_full": 507,
    "upstream_error": 502,
    "service_unavailable": 503,
}


def test_an_invalid_request_is_code_invalid_and_keeps_its_field_errors(api: Any) -> None:
    response = api.post("/api/v1/schedules", json=task("c-invalid", delay_seconds=99999999))

    body = response.json()
    assert (response.status_code, body["code"]) == (422, "invalid")
    assert body["errors"][0]["loc"] == ["body", "delay_seconds"]


def test_a_body_that_is_no_json_and_a_forged_cursor_are_code_invalid(api: Any) -> None:
    unreadable = api.post("/api/v1/schedules", content=b'{"a": "\xff"}', headers={"content-type": "application/json"})
    cursor = api.get("/api/v1/schedules", params={"cursor": "not-a-cursor"})

    assert (unreadable.status_code, unreadable.json()["code"]) == (422, "invalid")
    assert (cursor.status_code, cursor.json()["code"]) == (422, "invalid")


def test_an_event_too_large_for_lambda_is_code_payload_too_large(api: Any) -> None:
    body = {**task("c-large", delay_minutes=5), "action": "generate_daily_report"}
    body["data"] = {"recipients": ["r" * 12_000] * 100}

    response = api.post("/api/v1/schedules", json=body)

    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


def test_a_request_body_over_lambdas_limit_is_code_payload_too_large(scheduler_env: Any) -> None:
    event = api_event("POST", "/api/v1/schedules", body={"pad": "x" * MAX_BODY_BYTES})

    response = lambda_handler(event, None)

    assert response["statusCode"] == 413
    assert response_json(response)["code"] == "payload_too_large"


def test_an_unknown_task_an_unknown_path_and_the_guides_cancel_are_code_not_found(api: Any) -> None:
    task_404 = api.get("/api/v1/schedules/never-made")
    path_404 = api.get("/api/v1/nowhere")
    guide_404 = api.delete("/api/v1/scheduler/schedule/arn:aws:scheduler:us-east-1:1:schedule/x/y")

    for response in (task_404, path_404, guide_404):
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), response.text
    assert guide_404.json() == {"detail": "Schedule not found or already executed", "code": "not_found"}


def test_a_method_the_path_does_not_take_is_code_method_not_allowed(api: Any) -> None:
    response = api.put("/api/v1/schedules", json={})

    assert (response.status_code, response.json()) == (
        405,
        {"detail": "Method Not Allowed", "code": "method_not_allowed"},
    )


def test_a_task_id_taken_by_another_request_is_code_conflict(api: Any) -> None:
    api.post("/api/v1/schedules", json=task("c-conflict", delay_minutes=5))

    response = api.post("/api/v1/schedules", json=task("c-conflict", delay_minutes=6))

    assert (response.status_code, response.json()["code"]) == (409, "conflict")


def test_throttling_is_code_throttled_with_retry_after(api: Any, faults: FaultInjector) -> None:
    faults.fail("CreateSchedule", "ThrottlingException")

    response = api.post("/api/v1/schedules", json=task("c-throttled", delay_minutes=5))

    assert (response.status_code, response.json()["code"]) == (429, "throttled")
    assert response.headers["Retry-After"] == "1"


def test_an_owner_at_its_quota_is_code_owner_quota_exceeded_without_retry_after(
    scheduler_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_ACTIVE_SCHEDULES_PER_OWNER", "1")
    get_settings.cache_clear()
    principal = "arn:aws:iam::123456789012:user/billing"

    def create(task_id: str) -> dict[str, Any]:
        return lambda_handler(
            api_event("POST", "/api/v1/schedules", body=task(task_id, delay_minutes=5), principal=principal), None
        )

    try:
        assert create("c-quota-1")["statusCode"] == 201
        refused = create("c-quota-2")
    finally:
        get_settings.cache_clear()

    assert (refused["statusCode"], response_json(refused)["code"]) == (429, "owner_quota_exceeded")
    assert "retry-after" not in {name.lower() for name in refused["headers"]}


def test_the_accounts_schedule_count_quota_is_code_schedule_quota_full(api: Any, faults: FaultInjector) -> None:
    faults.fail("CreateSchedule", "ServiceQuotaExceededException", "Maximum number of schedules exceeded", status=402)

    response = api.post("/api/v1/schedules", json=task("c-full", delay_minutes=5))

    assert (response.status_code, response.json()["code"]) == (507, "schedule_quota_full")
    assert "Retry-After" not in response.headers


def test_any_other_aws_failure_is_code_upstream_error(api: Any, faults: FaultInjector) -> None:
    faults.fail("CreateSchedule", "InternalServerException", status=500)

    response = api.post("/api/v1/schedules", json=task("c-upstream", delay_minutes=5))

    assert (response.status_code, response.json()["code"]) == (502, "upstream_error")


def test_a_misconfigured_function_is_code_service_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEDULE_GROUP_NAME", raising=False)
    get_settings.cache_clear()
    try:
        response = lambda_handler(api_event("GET", "/api/v1/schedules/t-1"), None)
    finally:
        get_settings.cache_clear()

    assert response["statusCode"] == 503
    assert response_json(response) == {
        "detail": "the scheduler function is misconfigured; its log says what to fix",
        "code": "service_unavailable",
    }


def test_a_batch_items_error_body_carries_its_code(api: Any) -> None:
    items = [task("c-batch", delay_minutes=5), {**task("c-batch-2", delay_minutes=5), "action": "nope"}]

    body = api.post("/api/v1/schedules/batch", json={"items": items}).json()

    assert [(item["status"], item["body"].get("code")) for item in body["items"]] == [(201, None), (422, "invalid")]


def test_the_codes_are_the_documented_ones() -> None:
    from scheduler_app.api_errors import ERROR_CODES

    assert dict(ERROR_CODES) == DOCUMENTED


def test_docs_api_md_lists_every_code_with_its_status() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("\n## Error codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (\d{3}) \|", section, re.MULTILINE)

    assert {code: int(status) for code, status in rows} == DOCUMENTED
    assert len(rows) == len(DOCUMENTED)


def test_the_openapi_document_describes_the_code(api: Any) -> None:
    spec = api.get("/openapi.json").json()
    schema = spec["components"]["schemas"]["ErrorBody"]
    assert "507" in spec["paths"]["/api/v1/schedules"]["post"]["responses"]

    assert schema["required"] == ["detail", "code"]
    assert sorted(schema["properties"]["code"]["enum"]) == sorted(DOCUMENTED)


def test_no_error_body_lacks_a_code(api: Any) -> None:
    answers = [
        api.get("/api/v1/schedules", params={"limit": "0"}),
        api.post("/api/v1/schedules", content=b"{", headers={"content-type": "application/json"}),
        api.patch("/api/v1/schedules/never-made", json={"data": {}}),
        api.post("/api/v1/schedules/never-made/pause"),
    ]

    for response in answers:
        assert response.status_code >= 400
        assert json.loads(response.text)["code"] in DOCUMENTED, response.text
