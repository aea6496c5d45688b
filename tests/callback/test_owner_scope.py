"""Under `Isolation=owner` a schedule's event names its task's owner scope (`X-Task-Scope`): the callback runs
and records each owner's task on its own, even when two owners use the same task id for the same occurrence.

Without the header (`Isolation=shared`, a schedule made before the switch or by the guide's code) the run is
keyed and recorded exactly as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from callback_app.service import occurrence_of
from localcloud.template import LocalResources
from taskcore.proxy import SchedulerContext
from tests.callback.helpers import OCCURRENCE, ActionSpy, body_of, delivery, ledger_partition

ORDERS = "abcdefghijklmnop"  # scopes as the scheduler API derives them: 16 of [a-z2-7]
BILLING = "qrstuvwxyz234567"


def test_each_owners_task_of_one_id_runs_and_is_recorded_on_its_own(
    callback: Any, spy_action: ActionSpy, aws: LocalResources
) -> None:
    answers = [body_of(callback(delivery("reminder-42", scope=scope))) for scope in (ORDERS, BILLING)]

    assert [answer["duplicate"] for answer in answers] == [False, False]  # the same occurrence ran for each owner
    assert len(spy_action.runs) == 2
    for scope in (ORDERS, BILLING):
        task, [run] = ledger_partition(aws.names["TaskLedgerTable"], "reminder-42", scope)
        assert task is not None
        assert (task["task_id"], task["state"], run["outcome"]) == ("reminder-42", "succeeded", "succeeded")
    assert ledger_partition(aws.names["TaskLedgerTable"], "reminder-42") == (None, [])  # nothing in the shared one


def test_a_duplicate_of_one_owners_occurrence_is_still_a_duplicate(callback: Any, spy_action: ActionSpy) -> None:
    event = delivery("reminder-43", scope=ORDERS)

    answers = [body_of(callback(event)), body_of(callback(event))]

    assert [answer["duplicate"] for answer in answers] == [False, True]
    assert len(spy_action.runs) == 1


def test_without_a_scope_the_idempotency_key_and_the_ledger_are_as_before(
    callback: Any, spy_action: ActionSpy, aws: LocalResources
) -> None:
    scheduler = SchedulerContext(scheduled_time=OCCURRENCE)

    callback(delivery("reminder-44"))

    assert occurrence_of("reminder-44", scheduler) == {
        "task_id": "reminder-44",
        "scheduled_time": "2026-12-01T00:00:00Z",
    }
    assert occurrence_of("reminder-44", SchedulerContext(scheduled_time=OCCURRENCE, task_scope=ORDERS)) == {
        "task_id": "reminder-44",
        "scheduled_time": "2026-12-01T00:00:00Z",
        "scope": ORDERS,
    }
    task, [run] = ledger_partition(aws.names["TaskLedgerTable"], "reminder-44")
    assert task is not None
    assert run["outcome"] == "succeeded"


@pytest.mark.parametrize("scope", ["ABCDEFGHIJKLMNOP", "abc", "abcdefghijklmnop#x", "../../etc"])
def test_a_scope_the_scheduler_never_issues_is_rejected_and_nothing_runs(
    callback: Any, spy_action: ActionSpy, aws: LocalResources, scope: str
) -> None:
    response = callback(delivery("reminder-45", scope=scope))

    assert response["statusCode"] == 422
    assert body_of(response)["detail"] == (
        "X-Task-Scope: not a task scope the scheduler API issues (16 of a-z and 2-7); the task was not run"
    )
    assert spy_action.runs == []
    assert ledger_partition(aws.names["TaskLedgerTable"], "reminder-45") == (None, [])
