"""The shared layer: registry, envelope and proxy-event contracts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from localcloud.template import ROOT
from taskcore.envelope import TaskEnvelope
from taskcore.proxy import (
    CONTEXT_HEADERS,
    SchedulerContext,
    build_proxy_event,
    build_target_input,
    substitute_context_attributes,
)
from taskcore.registry import ActionRegistry, UnknownActionError, registry


class Empty(BaseModel):
    pass


#: The actions this project ships as examples; a user's own actions come on top of them.
SHIPPED_ACTIONS = {"cleanup", "generate_daily_report", "process_payment", "send_notification"}


def action_modules() -> set[str]:
    """The module names in layers/shared/taskcore/actions/ (one action each, by convention)."""
    return {p.stem for p in (ROOT / "layers" / "shared" / "taskcore" / "actions").glob("[!_]*.py")}


def test_registry_loads_every_action_module_in_the_package():
    assert set(registry.names()) >= SHIPPED_ACTIONS
    assert len(registry.names()) >= len(action_modules())


def test_registering_two_functions_under_one_name_is_an_error():
    local = ActionRegistry()
    local.action("ping", Empty)(lambda data, task: None)

    with pytest.raises(ValueError, match="registered twice"):
        local.action("ping", Empty)(lambda data, task: None)


def test_unknown_action_error_names_the_registered_actions():
    local = ActionRegistry()
    local.action("ping", Empty, description="Answer pong")(lambda data, task: None)

    with pytest.raises(UnknownActionError, match=r"unknown action 'pong'; registered actions: ping"):
        local.get("pong")
    assert local.get("ping").description == "Answer pong"


def test_action_description_defaults_to_the_first_docstring_line():
    assert registry.get("cleanup").description.startswith("Delete the resource")


@pytest.mark.parametrize("task_id", ["", "a/b", "x" * 65, "with space", "한글"])
def test_task_ids_must_be_valid_schedule_names(task_id):
    with pytest.raises(ValidationError, match="task_id"):
        TaskEnvelope(task_id=task_id, user_id=1, action="cleanup", data={"resource_id": "r"})


def test_envelope_keeps_data_as_given_and_parses_it_with_the_action_model():
    envelope = TaskEnvelope(task_id="t", user_id="u-1", action="process_payment", data={"payment_id": "p"})

    assert envelope.data == {"payment_id": "p"}
    assert envelope.parsed_data().model_dump() == {"payment_id": "p", "operation": "expire"}


def test_proxy_event_has_everything_mangum_and_the_design_require():
    event = build_proxy_event(TaskEnvelope(task_id="t", user_id=1, action="cleanup", data={"resource_id": "r"}))

    assert {"resource", "path", "httpMethod", "requestContext", "headers", "body"} <= event.keys()
    assert isinstance(event["body"], str)
    assert event["headers"]["content-type"] == "application/json"
    assert {"requestId", "stage", "identity"} <= event["requestContext"].keys()
    assert event["requestContext"]["identity"]["sourceIp"]
    assert set(CONTEXT_HEADERS) <= event["headers"].keys()


def test_substitution_replaces_every_context_attribute():
    raw = build_target_input(TaskEnvelope(task_id="t", user_id=1, action="cleanup", data={"resource_id": "r"}))
    delivered = substitute_context_attributes(
        raw, schedule_arn="arn:x", scheduled_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), execution_id="e", attempt=2
    )

    assert "<aws.scheduler." not in delivered
    assert '"X-Scheduler-Scheduled-Time":"2026-01-02T03:04:05Z"' in delivered


def test_scheduler_context_ignores_placeholders_that_were_never_substituted():
    context = SchedulerContext.from_headers(dict(CONTEXT_HEADERS))

    assert context == SchedulerContext()


def test_scheduler_context_reads_headers_in_any_case_and_rejects_bad_values():
    context = SchedulerContext.from_headers(
        {
            "x-scheduler-scheduled-time": "2026-01-02T03:04:05Z",
            "X-SCHEDULER-ATTEMPT": "3",
            "x-scheduler-execution-id": " e ",
        }
    )
    assert (context.scheduled_time, context.attempt, context.execution_id) == (
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        3,
        "e",
    )
    bad = SchedulerContext.from_headers({"X-Scheduler-Scheduled-Time": "yesterday", "X-Scheduler-Attempt": "two"})
    assert (bad.scheduled_time, bad.attempt) == (None, None)
    naive = SchedulerContext.from_headers({"X-Scheduler-Scheduled-Time": "2026-01-02T03:04:05"})
    assert naive.scheduled_time is None


FIRST_USE_FROM_THREADS = """
import threading
from taskcore.registry import registry

barrier, seen = threading.Barrier(16), []

def look():
    barrier.wait()
    seen.append(len(registry.names()))

threads = [threading.Thread(target=look) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(sorted(set(seen)) == [len(registry.names())], len(registry.names()))
"""


def test_first_use_from_many_threads_sees_every_action():
    # A fresh interpreter, as in a cold Lambda whose first request is a batch of creates.
    result = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", FIRST_USE_FROM_THREADS],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "layers" / "shared")},
    )
    every_thread_saw_all, count = result.stdout.split()
    assert every_thread_saw_all == "True"
    assert int(count) >= len(action_modules())


@pytest.mark.parametrize(
    ("body", "base64", "refused"),
    [
        ("x" * 100, False, False),
        ("x" * 101, False, True),
        ("한" * 34, False, True),  # 102 bytes in UTF-8, 34 characters
        ("한" * 33, False, False),  # 99 bytes
        ("QUJD" * 34, True, True),  # 102 decoded bytes
        ("QUJD" * 33, True, False),  # 99 decoded bytes
    ],
    ids=["at-limit", "one-over", "utf8-over", "utf8-under", "base64-over", "base64-under"],
)
def test_oversized_body_is_measured_in_bytes_and_answered_with_a_json_413(body, base64, refused):
    from taskcore.proxy import oversized_body_response

    response = oversized_body_response({"body": body, "isBase64Encoded": base64}, 100)

    if not refused:
        assert response is None
        return
    assert response is not None
    assert response["statusCode"] == 413
    assert "takes at most 100" in json.loads(response["body"])["detail"]


@pytest.mark.parametrize(
    ("message", "redacted"),
    [
        ("mail to kim@example.com bounced", "mail to <email> bounced"),
        ("card 4111 1111 1111 1111 declined", "card <number> declined"),
        ("payment 90210 failed", "payment <number> failed"),
        ("HTTP 503 from upstream", "HTTP 503 from upstream"),
        ("user 'Kim Minsu' not found", "user '<redacted>' not found"),
        ('key "abc" missing', 'key "<redacted>" missing'),
        (
            "GET https://api.example.com/v1/users?token=s3cr3t failed",
            "GET https://api.example.com/v1/users?<redacted> failed",
        ),
        ("call +82 10-1234-5678 now", "call <number> now"),
        ("x" * 500, "x" * 199 + "…"),
    ],
)
def test_redact_removes_what_may_be_personal_data(message, redacted):
    from taskcore.redaction import redact

    assert redact(message) == redacted
