"""Every payload the guide schedules runs through the callback's real entry point, as the guide delivers it.

A payload the shipped actions refused would be a task dropped for good (a 422 is never retried), so
each one must be accepted by the scheduler and run by the callback: with the guide's own dict body,
and with the string body this project's schedules carry.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from taskcore.envelope import TaskEnvelope
from taskcore.proxy import build_proxy_event
from tests.guide.payloads import GUIDE_TASKS, GUIDE_TEST_EVENT, guide_event

IDS = [f"line-{line}-{body['task_id']}" for line, body in GUIDE_TASKS]


@pytest.mark.parametrize(("line", "body"), GUIDE_TASKS, ids=IDS)
def test_the_guides_payload_runs_with_the_guides_own_event(callback: Any, line: int, body: dict[str, Any]) -> None:
    response = callback(guide_event(body))

    assert response["statusCode"] == 200, response["body"]
    answer = json.loads(response["body"])
    assert answer["success"] is True
    assert answer["task_id"] == body["task_id"]


@pytest.mark.parametrize(("line", "body"), GUIDE_TASKS, ids=IDS)
def test_the_guides_payload_runs_as_this_projects_schedules_deliver_it(
    callback: Any, line: int, body: dict[str, Any]
) -> None:
    event = build_proxy_event(TaskEnvelope.model_validate(body))
    event["headers"] = {"content-type": "application/json"}  # a direct invocation: no scheduler context

    assert callback(event)["statusCode"] == 200


@pytest.mark.parametrize(("line", "body"), GUIDE_TASKS, ids=IDS)
def test_the_guides_payload_is_accepted_by_the_scheduler(api: Any, line: int, body: dict[str, Any]) -> None:
    response = api.post("/api/v1/schedules", json={**body, "delay_minutes": 30})

    assert response.status_code == 201, response.text
    assert response.json()["data"] == body["data"]


def test_the_guides_test_event_runs_with_an_empty_context(callback: Any) -> None:
    # test_lambda.py passes `{}` as the context: Powertools warns that it cannot bound the in-progress record.
    with pytest.warns(UserWarning, match="remaining time"):
        assert callback(GUIDE_TEST_EVENT, {})["statusCode"] == 200
