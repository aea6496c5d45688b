"""Structured logs and metrics: one outcome line per invocation, no task data in logs, EMF per outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from callback_app.handler import InvalidEventError, TaskInvocationFailed
from localcloud.events import load_event
from tests.callback.helpers import delivery

OUTCOME_FIELDS = {
    "task_id",
    "action",
    "scheduled_time",
    "scheduler_attempt",
    "lambda_attempt",
    "outcome",
    "duration_ms",
}


def _json_lines(captured: str) -> list[dict[str, Any]]:
    lines = []
    for line in captured.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def outcomes(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("message") == "task outcome"]


def metrics_of(lines: list[dict[str, Any]]) -> dict[str, Any]:
    emitted: dict[str, Any] = {}
    for line in lines:
        if "_aws" in line:
            for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                emitted[metric["Name"]] = line[metric["Name"]]
    return emitted


@pytest.mark.parametrize(
    ("event", "outcome", "level"),
    [
        (delivery("pay-1"), "succeeded", "INFO"),
        (delivery("pay-1", action="no_such_action"), "rejected", "ERROR"),
    ],
    ids=["succeeded", "rejected"],
)
def test_each_invocation_logs_exactly_one_outcome_line(callback, spy_action, logs, event, outcome, level):
    callback(event)

    (line,) = outcomes(logs())
    assert line.keys() >= OUTCOME_FIELDS
    assert (line["outcome"], line["level"], line["task_id"]) == (outcome, level, "pay-1")
    assert line["correlation_id"] == "pay-1"
    assert line["scheduled_time"] == "2026-12-01T00:00:00Z"
    assert (line["scheduler_attempt"], line["lambda_attempt"]) == (1, 1)
    assert "attempt" not in line  # whose attempt? never ambiguous
    assert "taskName" not in line


def test_duplicate_and_failed_outcomes_are_logged_and_counted(callback, spy_action, logs, capsys):
    callback(delivery("pay-1"))
    logs(), capsys.readouterr()
    callback(delivery("pay-1", attempt=2))
    assert [x["outcome"] for x in outcomes(logs())] == ["duplicate"]
    assert metrics_of(_json_lines(capsys.readouterr().out))["TaskDuplicate"] == [1.0]

    def boom(data, task):
        raise RuntimeError("down")

    spy_action.behaviour = boom
    with pytest.raises(TaskInvocationFailed):
        callback(delivery("pay-2"))
    failed = outcomes(logs())
    assert [(x["outcome"], x["level"], x["status_code"]) for x in failed] == [("failed", "ERROR", 500)]
    assert metrics_of(_json_lines(capsys.readouterr().out))["TaskFailed"] == [1.0]


def test_rejection_is_counted_with_its_reason(callback, logs, capsys):
    callback(load_event("callback-unknown-action"))

    (line,) = outcomes(logs())
    assert "unknown action 'send_notificaton'" in line["reason"]
    assert metrics_of(_json_lines(capsys.readouterr().out))["TaskRejected"] == [1.0]


def test_lateness_is_measured_from_the_scheduled_time(callback, capsys):
    callback(load_event("callback"))

    lateness = metrics_of(_json_lines(capsys.readouterr().out))["TaskLateness"]
    assert isinstance(lateness[0], float)


def test_a_non_proxy_event_still_gets_its_outcome_line_and_no_stale_correlation_id(callback, logs):
    callback(load_event("callback"))
    logs()
    with pytest.raises(ValueError, match="not an API Gateway REST proxy event"):
        callback({"detail-type": "Scheduled Event"})

    (line,) = outcomes(logs())
    assert line["outcome"] == "failed"
    assert line.get("correlation_id") is None


def test_health_checks_are_not_task_outcomes(callback, logs):
    callback(load_event("health"))

    assert outcomes(logs()) == []


def test_logs_never_contain_the_task_data_or_the_event(callback, logs, capsys):
    secret = "4111-1111-1111-1111"
    callback(delivery("pay-1", action="send_notification", data={"message": secret, "email": "kim@example.com"}))
    callback(delivery("pay-2", action="send_notification", data={"message": secret, "bogus": secret}))

    written = json.dumps(logs()) + capsys.readouterr().out
    assert "pay-1" in written
    assert secret not in written
    assert "kim@example.com" not in written


PERSONAL = "could not mail kim.minsu@example.com about payment 90210: recipient 'Kim Minsu' refused"


def test_a_failed_action_logs_its_error_type_and_a_redacted_message_without_a_traceback(
    callback, spy_action, logs, capsys
):
    def fail(data, task):
        raise RuntimeError(PERSONAL)

    spy_action.behaviour = fail
    with pytest.raises(TaskInvocationFailed):
        callback(delivery("pay-9"))

    lines = logs()
    written = json.dumps(lines) + capsys.readouterr().out
    (failure,) = [line for line in lines if line["message"] == "action failed"]
    assert failure["error_type"] == "RuntimeError"
    assert failure["error"] == "could not mail <email> about payment <number>: recipient '<redacted>' refused"
    assert "exception" not in failure
    for leaked in ("kim.minsu@example.com", "90210", "Kim Minsu", "Traceback"):
        assert leaked not in written, leaked


def test_the_traceback_of_a_failed_action_is_logged_at_debug_only(callback, spy_action, logs):
    from callback_app.observability import logger

    def fail(data, task):
        raise RuntimeError(PERSONAL)

    spy_action.behaviour = fail
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        with pytest.raises(TaskInvocationFailed):
            callback(delivery("pay-10"))
    finally:
        logger.setLevel(level)

    (debug,) = [line for line in logs() if line["message"] == "action failed: traceback"]
    assert debug["level"] == "DEBUG"
    assert "Traceback" in debug["exception"]


def test_the_outcome_line_counts_lambdas_attempts_of_an_occurrence(callback, spy_action, logs):
    def fail_twice(data, task):
        if len(spy_action.runs) <= 2:
            raise RuntimeError("downstream unavailable")
        return {"ok": True}

    spy_action.behaviour = fail_twice
    event = delivery("pay-7", attempt=1)  # Lambda retries the same event: the same Scheduler attempt
    for _ in range(2):
        with pytest.raises(TaskInvocationFailed):
            callback(event)
    callback(event)
    callback(event)  # a redelivery after success: replayed, and still counted

    lines = outcomes(logs())
    assert [(x["outcome"], x["scheduler_attempt"], x["lambda_attempt"]) for x in lines] == [
        ("failed", 1, 1),
        ("failed", 1, 2),
        ("succeeded", 1, 3),
        ("duplicate", 1, 4),
    ]


def test_each_occurrence_counts_its_own_attempts(callback, spy_action, logs):
    callback(delivery("pay-8", scheduled=datetime(2026, 12, 1, tzinfo=UTC)))
    callback(delivery("pay-8", scheduled=datetime(2026, 12, 2, tzinfo=UTC)))
    callback(delivery("pay-9", scheduled=datetime(2026, 12, 2, tzinfo=UTC), attempt=3))

    assert [(x["scheduler_attempt"], x["lambda_attempt"]) for x in outcomes(logs())] == [(1, 1), (1, 1), (3, 1)]


def test_an_unreadable_event_has_no_attempt_count(callback, logs):
    with pytest.raises(InvalidEventError):
        callback({"not": "a proxy event"})

    (line,) = outcomes(logs())
    assert line.get("lambda_attempt") is None  # None fields are left out of the line


def test_with_powertools_idempotency_switched_off_nothing_is_counted_either(
    callback, spy_action, logs, idempotency_records, aws, monkeypatch
):
    import boto3

    from callback_app.ledger import get_run_ledger
    from callback_app.service import get_task_runner

    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", "true")
    get_task_runner.cache_clear()
    get_run_ledger.cache_clear()

    with pytest.warns(UserWarning, match="idempotency"):  # Powertools says the switch is for development only
        callback(delivery("off-1"))

    (line,) = outcomes(logs())
    assert line.get("lambda_attempt") is None
    assert boto3.client("dynamodb").scan(TableName=aws.names["IdempotencyTable"])["Items"] == []
