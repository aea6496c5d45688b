"""Every operation of the scheduler's OpenAPI document has a chosen, stable camelCase `operationId`.

A generated client names its methods after them: FastAPI's defaults (`create_schedule_api_v1_schedules_post`)
would give `client.create_schedule_api_v1_schedules_post(...)`, and change whenever a path does.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from fastapi.utils import generate_unique_id

from localcloud.template import ROOT
from scheduler_app.main import app

#: What a client calls each operation (the wire decision shared by the console and the Python client).
OPERATIONS = {
    ("POST", "/api/v1/schedules"): "createSchedule",
    ("POST", "/api/v1/schedules/batch"): "createSchedulesBatch",
    ("GET", "/api/v1/schedules"): "listSchedules",
    ("GET", "/api/v1/schedules/{task_id}"): "getSchedule",
    ("GET", "/api/v1/schedules/{task_id}/runs"): "listScheduleRuns",
    ("PATCH", "/api/v1/schedules/{task_id}"): "updateSchedule",
    ("DELETE", "/api/v1/schedules/{task_id}"): "deleteSchedule",
    ("POST", "/api/v1/schedules/{task_id}/pause"): "pauseSchedule",
    ("POST", "/api/v1/schedules/{task_id}/resume"): "resumeSchedule",
    ("GET", "/health"): "getHealth",
    ("POST", "/api/v1/scheduler/schedule"): "guideScheduleTask",
    ("DELETE", "/api/v1/scheduler/schedule/{schedule_arn}"): "guideCancelSchedule",
}
CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")


def document_operations() -> dict[tuple[str, str], str]:
    document = app.openapi()
    return {
        (method.upper(), path): operation.get("operationId", "")
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_every_operation_has_its_agreed_operation_id() -> None:
    assert document_operations() == OPERATIONS


def test_every_operation_id_is_camel_case_unique_and_not_fastapis_generated_default() -> None:
    ids = list(document_operations().values())
    generated = {generate_unique_id(route) for route in app.routes if isinstance(route, APIRoute)}

    assert len(ids) == len(set(ids))
    assert all(CAMEL_CASE.fullmatch(operation_id) for operation_id in ids), ids
    assert not set(ids) & generated
    assert not [operation_id for operation_id in ids if "_api_v1_" in operation_id or "_" in operation_id]


def test_docs_api_md_names_every_operation_id() -> None:
    text = (ROOT / "docs" / "api.md").read_text()

    assert [name for name in OPERATIONS.values() if f"`{name}`" not in text] == []
