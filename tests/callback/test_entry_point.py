"""The Lambda entry point: every fixture, the guide's payloads, and a corpus of bad events."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from callback_app.handler import InvalidEventError, TaskInvocationFailed
from localcloud.events import event_files, load_event
from scripts.generate_events import fixtures, render
from taskcore.registry import registry
from tests.callback.helpers import body_of, delivery

#: What each committed fixture must produce through the real entry point.
FIXTURE_OUTCOMES = {
    "callback.json": 200,
    "callback-recurring.json": 200,
    "callback-dict-body.json": 200,
    "callback-unknown-action.json": 422,
    "health.json": 200,
}


def test_every_fixture_in_events_has_a_declared_outcome():
    assert sorted(p.name for p in event_files()) == sorted(FIXTURE_OUTCOMES)


@pytest.mark.parametrize("name", sorted(FIXTURE_OUTCOMES))
def test_every_fixture_passes_through_the_real_entry_point(callback, name):
    response = callback(load_event(name))

    assert response["statusCode"] == FIXTURE_OUTCOMES[name]
    assert response["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize("name", sorted(fixtures()))
def test_fixtures_are_what_the_shared_builder_produces(name):
    # Regenerate with: .venv/bin/python scripts/generate_events.py
    assert render(load_event(name)) == render(fixtures()[name])


def test_guide_payload_with_a_dict_body_still_runs(callback):
    response = callback(load_event("callback-dict-body"))

    assert response["statusCode"] == 200
    assert body_of(response) == {
        "success": True,
        "message": "Task welcome-email-456 processed successfully",
        "task_id": "welcome-email-456",
        "duplicate": False,
        "result": {"notification_type": "generic", "channel": "email"},
    }


def test_guide_test_script_with_an_empty_dict_context_still_runs(callback):
    event = load_event("callback-dict-body")
    event["body"] = json.dumps(event["body"])
    # The guide's test_lambda.py calls lambda_handler(event, {}): no remaining-time method to register.
    with pytest.warns(UserWarning, match="remaining time"):
        response = callback(event, {})

    assert response["statusCode"] == 200


def test_unknown_action_is_rejected_with_the_registered_names_never_success(callback):
    response = callback(load_event("callback-unknown-action"))

    assert response["statusCode"] == 422
    # The 422 shape of both functions: one line in `detail`, the list in `errors`.
    assert body_of(response)["detail"].startswith("action: unknown action 'send_notificaton'")
    (error,) = body_of(response)["errors"]
    assert error["loc"] == ["body", "action"]
    assert "unknown action 'send_notificaton'" in error["msg"]
    assert "send_notification" in error["msg"]


def test_invalid_data_for_the_action_is_rejected_with_the_field_that_is_wrong(callback):
    response = callback(delivery("pay-1", action="process_payment", data={"operation": "refund"}))

    assert response["statusCode"] == 422
    (error,) = body_of(response)["errors"]
    assert error["loc"] == ["body", "data"]
    assert "invalid data for action 'process_payment'" in error["msg"]
    assert "payment_id: Field required" in error["msg"]
    assert "operation: Input should be 'expire', 'capture' or 'cancel'" in error["msg"]


def test_health_answers_with_the_registered_actions(callback):
    response = callback(load_event("health"))

    assert body_of(response)["actions"] == registry.names()


def _with(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**event, **changes}


def _body(**fields: Any) -> str:
    base = {"task_id": "t-1", "user_id": 1, "action": "cleanup", "data": {"resource_id": "r-1"}}
    return json.dumps({**base, **fields}, ensure_ascii=False)


GOOD = delivery("t-1", action="cleanup", data={"resource_id": "r-1"})

#: Bad or unusual events, and the status the entry point must answer (4xx: returned, not retried).
REJECTED_OR_ACCEPTED = {
    "invalid JSON body": (_with(GOOD, body="{not json"), 422),
    "body is a JSON array": (_with(GOOD, body="[1, 2]"), 422),
    "null body": (_with(GOOD, body=None), 422),
    "empty body": (_with(GOOD, body=""), 422),
    "missing task_id": (_with(GOOD, body=json.dumps({"user_id": 1, "action": "cleanup", "data": {}})), 422),
    "missing action": (_with(GOOD, body=json.dumps({"task_id": "t", "user_id": 1})), 422),
    "task_id with a slash": (_with(GOOD, body=_body(task_id="../../etc/passwd")), 422),
    "task_id too long": (_with(GOOD, body=_body(task_id="x" * 65)), 422),
    "user_id is a list": (_with(GOOD, body=_body(user_id=[1])), 422),
    "data is a string": (_with(GOOD, body=_body(data="resource r-1")), 422),
    "data has a wrong type": (_with(GOOD, body=_body(data={"resource_id": True})), 422),
    "data has an unknown field": (_with(GOOD, body=_body(data={"resource_id": "r", "rm_rf": True})), 422),
    "unknown path": (_with(GOOD, path="/api/v1/tasks/unknown", resource="/api/v1/tasks/unknown"), 404),
    "path traversal": (_with(GOOD, path="/api/v1/tasks/../../health/../tasks/callback"), 404),
    "wrong method": (_with(GOOD, httpMethod="GET"), 405),
    "no content-type": (_with(GOOD, headers={}), 422),
    "base64 body": (
        _with(GOOD, body=base64.b64encode(_body().encode()).decode(), isBase64Encoded=True),
        200,
    ),
    "base64 body that is not UTF-8": (
        _with(GOOD, body=base64.b64encode(b"\xff\xfe{\x00").decode(), isBase64Encoded=True),
        422,
    ),
    "Korean text": (_with(GOOD, body=_body(data={"resource_id": "임시-파일-한글", "resource_type": "임시"})), 200),
    "huge data": (_with(GOOD, body=_body(data={"resource_id": "r" * 256, "resource_type": "x" * 64})), 200),
    "header values that are not strings": (_with(GOOD, headers={"content-type": "application/json", "X-N": 5}), 200),
    "unused extra envelope field": (_with(GOOD, body=_body(priority="high")), 200),
}


@pytest.mark.parametrize(("event", "status"), REJECTED_OR_ACCEPTED.values(), ids=REJECTED_OR_ACCEPTED.keys())
def test_bad_and_unusual_events_get_their_designed_status(callback, event, status):
    response = callback(event)

    assert response["statusCode"] == status


NOT_PROXY_EVENTS = {
    "a list": [GOOD],
    "a string": json.dumps(GOOD),
    "null": None,
    "an empty object": {},
    "an EventBridge event": {"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}},
    "an SQS event": {"Records": [{"body": GOOD["body"], "eventSource": "aws:sqs"}]},
    "the envelope without the proxy wrapper": json.loads(GOOD["body"]),
    "requestContext not an object": _with(GOOD, requestContext="x"),
    "httpMethod not a string": _with(GOOD, httpMethod=["POST"]),
    "body is a number": _with(GOOD, body=42),
}


@pytest.mark.parametrize("event", NOT_PROXY_EVENTS.values(), ids=NOT_PROXY_EVENTS.keys())
def test_an_event_that_is_not_a_proxy_event_fails_loudly(callback, spy_action, event):
    with pytest.raises(InvalidEventError, match=r"proxy event|`body` must be"):
        callback(event)


def test_a_5xx_response_fails_the_invocation_with_task_status_and_reason(callback, spy_action):
    def boom(data, task):
        raise TimeoutError("payment provider did not answer")

    spy_action.behaviour = boom
    with pytest.raises(TaskInvocationFailed) as failure:
        callback(delivery("pay-7"))

    assert str(failure.value) == "task pay-7 failed with status 500: action 'spy' failed: TimeoutError"


def test_the_scheduler_headers_are_read_once_per_invocation(callback, spy_action, monkeypatch):
    from taskcore.proxy import SchedulerContext

    calls = []
    original = SchedulerContext.from_headers.__func__  # type: ignore[attr-defined]

    def counting(cls, headers):
        calls.append(1)
        return original(cls, headers)

    monkeypatch.setattr(SchedulerContext, "from_headers", classmethod(counting))
    response = callback(delivery("once-1"))

    assert response["statusCode"] == 200
    assert len(calls) == 1
    assert spy_action.runs[0].attempt == 1
