"""The run of one invocation: a typed record the route fills and the entry point reads, and one table of endings.

Nothing passes through the event dict and nothing is read back from the response's body: the route says
on the run how it ended, and the entry point acts on that (callback_app.run, callback_app.outcome).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)

from callback_app import handler
from callback_app.errors import IdempotencyStoreNotConfigured, ResultNotRecorded
from callback_app.outcome import conclude
from callback_app.run import Ending, Run, current_run, failure_of, failures, outcome_of_status
from localcloud.events import load_event
from localcloud.template import ROOT
from taskcore.registry import TaskRejected
from taskcore.states import RunOutcome
from tests.callback.helpers import ActionSpy, body_of, delivery, reject

CALLBACK = ROOT / "functions" / "callback" / "callback_app"


@pytest.fixture
def endings(callback: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> list[tuple[Run, Ending]]:
    """Each invocation's run and ending, as the entry point hands them on after Mangum returns."""
    seen: list[tuple[Run, Ending]] = []

    def noting(run: Run, ending: Ending, event: Any, context: Any) -> None:
        seen.append((run, ending))
        conclude(run, ending, event, context)

    monkeypatch.setattr(handler, "conclude", noting)
    return seen


@pytest.mark.parametrize(
    ("exc", "status", "outcome"),
    [
        (TaskRejected("the payment was already refunded"), 422, RunOutcome.REJECTED),
        (IdempotencyAlreadyInProgressError("in progress"), 503, RunOutcome.FAILED),
        (ResultNotRecorded("save_success failed"), 503, RunOutcome.FAILED),
        (IdempotencyPersistenceLayerError("unreachable"), 503, RunOutcome.FAILED),
        (IdempotencyStoreNotConfigured("IDEMPOTENCY_TABLE_NAME is not set"), 500, RunOutcome.FAILED),
        (ConnectionError("smtp down"), 500, RunOutcome.FAILED),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_the_table_gives_each_exception_its_status_and_outcome(exc, status, outcome):
    failure = failure_of(exc)

    assert (failure.status, failure.outcome) == (status, outcome)


def test_every_row_of_the_table_keeps_the_retry_contract_of_its_status():
    # 5xx is retried, so it must be a failure (or a timeout); a 4xx is kept and never retried, so a rejection.
    for kind, failure in failures():
        expected = outcome_of_status(failure.status)
        timed_out = failure.outcome is RunOutcome.TIMED_OUT and expected is RunOutcome.FAILED
        assert failure.outcome is expected or timed_out, kind


def test_the_route_says_how_the_run_ended_and_the_entry_point_reads_it(callback, spy_action, endings):
    first = callback(delivery("run-1", data={"amount": 3}))
    callback(delivery("run-1", attempt=2))

    (run, ran), (_, replayed) = endings
    assert (ran.outcome, ran.status_code, ran.replayed, ran.reported) == (RunOutcome.SUCCEEDED, 200, False, "succeeded")
    assert ran.result == body_of(first)["result"] == {"echo": {"amount": 3}}
    assert (replayed.outcome, replayed.replayed, replayed.reported) == (RunOutcome.SUCCEEDED, True, "duplicate")
    assert (run.task_id, run.action, run.scheduled_time, run.lambda_attempt) == (
        "run-1",
        "spy",
        "2026-12-01T00:00:00Z",
        1,
    )


def test_a_failed_run_carries_its_error_type_and_redacted_words_and_answers_with_its_rows_detail(
    callback, spy_action, endings
):
    def fail(data, task):
        raise ConnectionError("smtp.example.com refused mail for someone@example.com")

    spy_action.behaviour = fail
    with pytest.raises(handler.TaskInvocationFailed):
        callback(delivery("run-2"))

    ((_, ending),) = endings
    assert (ending.outcome, ending.status_code, ending.error_type) == (RunOutcome.FAILED, 500, "ConnectionError")
    assert ending.error_message == "smtp.example.com refused mail for <email>"
    assert ending.detail == "action 'spy' failed: ConnectionError"


def test_a_rejection_before_and_inside_the_route_and_a_wrong_path_each_end_the_run(callback, spy_action, endings):
    spy_action.behaviour = reject
    callback(delivery("run-3"))
    callback(load_event("callback-unknown-action"))
    callback({**delivery("run-4"), "path": "/api/v1/tasks/elsewhere", "resource": "/api/v1/tasks/elsewhere"})

    rejected, invalid, wrong_path = (ending for _, ending in endings)
    assert (rejected.status_code, rejected.error_type, rejected.error_message) == (
        422,
        "TaskRejected",
        "the payment was already refunded",
    )
    assert (invalid.status_code, invalid.error_type) == (422, "ValidationError")
    assert invalid.detail is not None
    assert invalid.detail.startswith("action: unknown action 'send_notificaton'")
    assert (wrong_path.outcome, wrong_path.status_code, wrong_path.detail) == (RunOutcome.REJECTED, 404, "Not Found")


def test_the_event_carries_no_side_channel_to_the_app(callback, spy_action, monkeypatch):
    handed: list[dict[str, Any]] = []
    mangum = handler._mangum

    def noting(event: dict[str, Any], context: Any) -> dict[str, Any]:
        handed.append(dict(event))
        return mangum(event, context)

    monkeypatch.setattr(handler, "_mangum", noting)
    event = delivery("run-5")
    callback(event)

    (seen,) = handed
    assert seen.keys() == event.keys()


def test_the_run_is_the_current_one_only_while_the_app_runs(callback, spy_action: ActionSpy):
    during: list[Run | None] = []

    def look(data: Any, task: Any) -> dict[str, Any]:
        during.append(current_run())
        return {"ok": True}

    spy_action.behaviour = look

    callback(delivery("run-6"))

    (run,) = during
    assert run is not None
    assert run.task_id == "run-6"
    assert current_run() is None


def test_an_answer_the_route_did_not_give_decides_the_run_and_one_it_gave_keeps_its_words():
    run = Run()
    run.succeeded({"sent": True}, replayed=False)

    # The app failed after the route had returned: the caller got a 500, so the run failed.
    assert run.answered(500) == Ending(RunOutcome.FAILED, 500, detail="HTTP 500", error_message="HTTP 500")

    run.failed(IdempotencyAlreadyInProgressError("in progress"), task_id="t-1", action="spy")
    kept = run.answered(503, "another detail")
    assert (kept.detail, kept.error_type) == (
        "task 't-1': this occurrence is already running in another invocation",
        "IdempotencyAlreadyInProgressError",
    )


def test_the_callbacks_exceptions_are_all_defined_in_errors_py():
    defined = {}
    for path in sorted(CALLBACK.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id.endswith(("Error", "Exception")) for base in node.bases
            ):
                defined[node.name] = path.name

    assert set(defined.values()) == {"errors.py"}
    assert len(defined) == 10
