"""The callback on the ledger's layout (issue 20, items 1-3): the gate on STATE, runs on TALLY, the quota slot given
back once, and never the TASK item on a run's path.

Through the real entry point on moto with the template's tables; the tasks are written as the scheduler API's
create writes them (tests.callback.helpers.put_task: TASK, STATE, TALLY and the owner's quota counter).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from callback_app.ledger import get_run_ledger
from localcloud.template import LocalResources
from taskcore.ledger import index_shard, state_key, task_pk
from tests.callback.helpers import SLOT, delivery, ledger_items, ledger_partition, put_task, quota_used, reject

#: A quota slot the task does not hold (the create's first try was full, so it took another).
OTHER_SLOT = "0123456789abcdef#7"

Touched = list[tuple[str, str]]


@pytest.fixture
def table(aws: LocalResources) -> str:
    return aws.names["TaskLedgerTable"]


@pytest.fixture
def touched(callback: Callable[..., Any]) -> Iterator[Touched]:
    """(operation, sort key) of every item the callback's DynamoDB client names, in order."""
    ledger = get_run_ledger()
    assert ledger is not None
    found: Touched = []

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        operations = [next(iter(one.items())) for one in params.get("TransactItems", [])] or [(model.name, params)]
        for operation, body in operations:
            key = body.get("Key") or body.get("Item") or {}
            found.append((operation, str(key.get("sk", {}).get("S", "(query)"))))

    ledger.client.meta.events.register("before-parameter-build.dynamodb.*", note)
    yield found
    ledger.client.meta.events.unregister("before-parameter-build.dynamodb.*", note)


@pytest.fixture
def calls(callback: Callable[..., Any]) -> Iterator[list[str]]:
    """The DynamoDB operations the callback's client sends, in order."""
    ledger = get_run_ledger()
    assert ledger is not None
    found: list[str] = []

    def note(model: Any, **_: Any) -> None:
        found.append(model.name)

    ledger.client.meta.events.register("before-call.dynamodb.*", note)
    yield found
    ledger.client.meta.events.unregister("before-call.dynamodb.*", note)


@pytest.fixture
def endings(table: str) -> Any:
    import boto3

    from callback_app.endings import EndingsLedger

    return EndingsLedger(boto3.client("dynamodb"), table, retention_seconds=3_600)


# -- The gate ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["cancelled", "paused"])
def test_the_gate_reads_the_state_item_a_cancelled_or_paused_task_does_not_run(
    callback, spy_action, table, touched, state
):
    put_task(table, "gate-1", state=state)

    response = callback(delivery("gate-1", quota=SLOT))

    assert response["statusCode"] == 200  # skipped: nothing retries it
    assert spy_action.runs == []
    _, [run] = ledger_partition(table, "gate-1")
    assert run["outcome"] == "skipped"
    assert ("ConditionCheck", "STATE") in touched
    assert quota_used(table) == 1  # a skipped attempt leaves the task as the API made it


# -- The quota slot, given back once ---------------------------------------------------------------------------------


def test_a_final_run_gives_its_quota_slot_back_once_however_often_it_is_ended(
    callback, spy_action, table, calls, endings
):
    from datetime import UTC, datetime

    from taskcore.states import TaskState

    put_task(table, "once-1")
    assert quota_used(table) == 1
    event = delivery("once-1", quota=SLOT)

    callback(event)

    assert calls == ["TransactWriteItems", "TransactWriteItems"]  # the header's guess was right: start and end
    assert quota_used(table) == 0
    task, [run] = ledger_partition(table, "once-1")
    assert task is not None
    assert (task["state"], task["state_key"]) == ("succeeded", state_key("succeeded", index_shard(task_pk("once-1"))))
    assert {"quota_key", "due_shard", "due_at"}.isdisjoint(task)
    assert "expiration" in task
    callback(event)  # Scheduler's duplicate: the ending is written again, the slot is not given back again
    late = endings.end_task(task_pk("once-1"), TaskState.FAILED, "a late letter", datetime(2030, 1, 1, tzinfo=UTC))
    assert late is False
    assert quota_used(table) == 0
    task, [run] = ledger_partition(table, "once-1")
    assert task is not None
    assert (task["state"], task["run_count"], run["attempts"], run["replays"]) == ("succeeded", 1, 2, 1)


@pytest.mark.parametrize("guess", [SLOT, OTHER_SLOT], ids=["the right slot", "another slot"])
def test_a_rejected_run_ends_its_task_and_gives_its_slot_back(callback, spy_action, table, calls, guess):
    spy_action.behaviour = reject
    put_task(table, "once-2")

    callback(delivery("once-2", quota=guess))

    task, _ = ledger_partition(table, "once-2")
    assert task is not None
    assert task["state"] == "rejected"
    assert quota_used(table) == 0
    assert quota_used(table, OTHER_SLOT) is None
    # start, Powertools' delete of the record, the ledger's write (again on the slot its refusal said)
    assert calls == ["TransactWriteItems", "DeleteItem", "TransactWriteItems"] + ["TransactWriteItems"] * (
        guess != SLOT
    )


@pytest.mark.parametrize("guess", [OTHER_SLOT, None], ids=["another slot", "no header"])
def test_a_wrong_guess_of_the_quota_slot_is_learned_from_the_refusal_and_the_right_one_given_back(
    callback, spy_action, table, calls, guess
):
    put_task(table, "guess-1")

    callback(delivery("guess-1", quota=guess))

    assert quota_used(table) == 0
    assert quota_used(table, OTHER_SLOT) is None  # no counter of the wrong guess was touched
    task, [run] = ledger_partition(table, "guess-1")
    assert task is not None
    assert (task["state"], run["attempts"], run["outcome"]) == ("succeeded", 1, "succeeded")
    assert "quota_key" not in task
    # The end transaction is refused (the result is then kept alone); it says the slot, which the ledger's
    # write that follows gives back.
    write = "TransactWriteItems"
    assert calls == [write, write, "UpdateItem", write]


def test_a_run_of_a_task_that_holds_no_slot_gives_nothing_back(callback, spy_action, table):
    put_task(table, "free-1", quota=None)

    callback(delivery("free-1", quota=SLOT))  # the header names a slot the task never took

    task, _ = ledger_partition(table, "free-1")
    assert task is not None
    assert task["state"] == "succeeded"
    assert quota_used(table) is None


# -- A run costs the same whatever the task's data --------------------------------------------------------------------


def test_a_run_of_a_task_with_60_kib_of_data_touches_no_task_item_and_the_items_a_60_byte_one_does(
    callback, spy_action, table, touched
):
    spy_action.behaviour = lambda data, task: {"sent": True}  # the same result: only the data differs
    sizes: dict[str, dict[str, int]] = {}
    keys: dict[str, Touched] = {}
    for task_id, data in (("small-1", {"note": "x" * 50}), ("large-1", {"note": "x" * 60 * 1024})):
        put_task(table, task_id, data=data)
        touched.clear()
        callback(delivery(task_id, data=data, quota=SLOT))
        keys[task_id] = list(touched)
        sizes[task_id] = {sk: _size(item) for sk, item in ledger_items(table, task_id).items()}

    assert keys["small-1"] == keys["large-1"]
    assert not [key for key in keys["large-1"] if key[1] == "TASK"]  # no write, check or read of the request
    assert sizes["large-1"]["TASK"] > 60 * 1024
    written = {sk for _, sk in keys["large-1"] if sk not in ("(query)", "QUOTA")}
    # Every item the run wrote stays under 1 KB: 2 write units each in a transaction, whatever the data.
    assert all(sizes["large-1"][sk] < 1024 for sk in written if sk in sizes["large-1"])


def _size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it, near enough: its names and values in UTF-8."""
    return sum(len(name.encode()) + len(json.dumps(value, default=str).encode()) for name, value in item.items())


def test_a_run_of_a_live_recurring_task_changes_its_tally_and_not_its_state_item(callback, spy_action, table):
    put_task(table, "daily-1", kind="recurring")
    before = ledger_items(table, "daily-1")

    callback(delivery("daily-1", kind="recurring", quota=SLOT))

    after = ledger_items(table, "daily-1")
    assert after["STATE"] == before["STATE"]  # no index entry rewritten, the slot kept
    assert after["TASK"] == before["TASK"]
    assert after["TALLY"]["run_count"] == 1
    assert json.loads(after["TALLY"]["last_run"])["outcome"] == "succeeded"
    assert "expiration" not in after["TALLY"]  # a live task's tally never expires (a monthly task keeps its count)
    assert quota_used(table) == 1


# -- The recorder and the sweep ---------------------------------------------------------------------------------------


def test_an_ending_gives_the_slot_back_in_one_transaction_and_a_second_ending_changes_nothing(endings, table):
    from datetime import UTC, datetime

    from taskcore.states import TaskState

    put_task(table, "ended-1")
    at = datetime(2030, 1, 1, tzinfo=UTC)

    first = endings.end_task(task_pk("ended-1"), TaskState.MISSED, "the schedule vanished", at, last_run={"x": 1})
    second = endings.end_task(task_pk("ended-1"), TaskState.FAILED, "again", at)

    items = ledger_items(table, "ended-1")
    assert (first, second) == (True, False)
    assert quota_used(table) == 0
    assert (items["STATE"]["state"], items["STATE"]["reason"]) == ("missed", "the schedule vanished")
    assert items["STATE"]["state_key"] == state_key("missed", index_shard(task_pk("ended-1")))
    assert {"quota_key", "due_shard", "due_at"}.isdisjoint(items["STATE"])
    assert json.loads(items["TALLY"]["last_run"]) == {"x": 1}
    assert items["TALLY"]["expiration"] == items["STATE"]["expiration"]
    assert "state" not in items["TASK"]


def test_an_ending_of_a_task_no_longer_live_changes_nothing(endings, table):
    from datetime import UTC, datetime

    from taskcore.states import TaskState

    put_task(table, "gone-1", state="cancelled", quota=None)
    before = ledger_items(table, "gone-1")

    assert endings.end_task(task_pk("gone-1"), TaskState.MISSED, "late", datetime(2030, 1, 1, tzinfo=UTC)) is False
    assert endings.task_item(task_pk("gone-1"))["state"]["S"] == "cancelled"
    assert ledger_items(table, "gone-1") == before


# -- The layout before issue 20 ---------------------------------------------------------------------------------------


def test_a_task_of_the_layout_before_still_has_its_runs_recorded(callback, spy_action, table):
    put_task(table, "old-1", old_layout=True)

    callback(delivery("old-1"))

    items = ledger_items(table, "old-1")
    assert len(spy_action.runs) == 1
    assert items["RUN#2026-12-01T00:00:00Z"]["outcome"] == "succeeded"
    assert (items["STATE"]["state"], items["TALLY"]["run_count"]) == ("succeeded", 1)


def test_the_recorder_and_the_sweep_end_a_task_of_the_layout_before_on_its_task_item(endings, table):
    from datetime import UTC, datetime

    from taskcore.states import TaskState

    put_task(table, "old-2", old_layout=True)
    put_task(table, "old-3", old_layout=True, state="cancelled")
    at = datetime(2030, 1, 1, tzinfo=UTC)

    ended = endings.end_task(task_pk("old-2"), TaskState.FAILED, "Sandbox.Timedout", at)
    forgotten = endings.forget_due(task_pk("old-3"), "cancelled", sk="TASK")

    old2, old3 = ledger_items(table, "old-2"), ledger_items(table, "old-3")
    assert (ended, forgotten) == (True, True)
    assert set(old2) == {"TASK"}  # no STATE made for it: it is read from its TASK item
    assert (old2["TASK"]["state"], old2["TASK"]["reason"]) == ("failed", "Sandbox.Timedout")
    assert {"due_shard", "due_at"}.isdisjoint(old2["TASK"])
    assert {"due_shard", "due_at"}.isdisjoint(old3["TASK"])
    assert endings.task_item(task_pk("old-2"))["state"]["S"] == "failed"
    assert endings.end_task(task_pk("never"), TaskState.FAILED, "x", at) is False
    assert endings.task_item(task_pk("never")) is None


# -- The ledger's copy of the request (make redrive of a failure record without its payload) ---------------------------


@pytest.mark.parametrize("old_layout", [False, True], ids=["this layout", "the layout before"])
def test_the_ledgers_copy_rebuilds_the_delivered_event_from_the_task_and_state_items(table, old_layout):
    import boto3

    from ops.ledger_copy import LedgerCopy
    from taskcore.ledger import request_pointer_item, run_sk

    client = boto3.client("dynamodb")
    put_task(table, "copy-1", data={"amount": 3}, old_layout=old_layout)
    pointer = request_pointer_item(
        "request-1", task_pk=task_pk("copy-1"), run_sk=run_sk("2026-12-01T00:00:00Z"), kind="one-time", expiration=2**31
    )
    client.put_item(TableName=table, Item=pointer)

    event = LedgerCopy(client, table).event_of_request("request-1")

    expected = delivery("copy-1", data={"amount": 3}, quota=None if old_layout else SLOT)
    assert json.loads(event["body"]) == json.loads(expected["body"])
    assert event["headers"]["X-Scheduler-Schedule-Arn"] == expected["headers"]["X-Scheduler-Schedule-Arn"]
    assert event["headers"].get("X-Task-Quota") == expected["headers"].get("X-Task-Quota")


def test_the_sweep_reads_state_items_ends_a_missed_task_once_and_forgets_an_old_ones_keys_on_its_task_item(
    endings, table
):
    from datetime import UTC, datetime

    from callback_app.sweep import Sweeper

    put_task(table, "vanished-1")  # due at 2030-01-01T00:05:00Z, no schedule, no run
    put_task(table, "old-gone", old_layout=True, state="cancelled", quota=None)  # keys left by the layout before
    sweeper = Sweeper(endings, scheduler=None, group="", window_seconds=300)
    later = datetime(2030, 1, 1, 1, tzinfo=UTC)

    first, second = sweeper.run(later), sweeper.run(later)

    assert (first.looked_at, first.missed, first.forgotten) == (2, 1, 1)
    assert second.looked_at == 0  # nothing left in the index
    state = ledger_items(table, "vanished-1")["STATE"]
    assert state["state"] == "missed"
    assert state["reason"].startswith("the schedule vanished without a run")
    assert quota_used(table) == 0
    assert "due_at" not in ledger_items(table, "old-gone")["TASK"]


def test_an_ending_that_keeps_colliding_gives_up_and_any_other_error_is_raised():
    from datetime import UTC, datetime

    from botocore.exceptions import ClientError

    from callback_app.endings import MAX_WRITES, EndingsLedger
    from taskcore.states import TaskState

    class Refusing:
        """A client whose every transaction is cancelled with `codes`, or fails with `error`."""

        def __init__(self, error: str, codes: list[str]) -> None:
            self.error, self.codes, self.calls = error, codes, 0

        def transact_write_items(self, **_: Any) -> None:
            self.calls += 1
            reasons: Any = [{"Code": code} for code in self.codes]
            raise ClientError({"Error": {"Code": self.error}, "CancellationReasons": reasons}, "TransactWriteItems")

    at = datetime(2030, 1, 1, tzinfo=UTC)
    colliding = Refusing("TransactionCanceledException", ["None", "TransactionConflict"])
    with pytest.raises(RuntimeError, match="kept conflicting"):
        EndingsLedger(colliding, "t", retention_seconds=60).end_task("TASK#x", TaskState.MISSED, "r", at)
    assert colliding.calls == MAX_WRITES
    for refusing in (
        Refusing("InternalServerError", []),
        Refusing("TransactionCanceledException", ["ThrottlingError"]),
    ):
        with pytest.raises(ClientError):
            EndingsLedger(refusing, "t", retention_seconds=60).end_task("TASK#x", TaskState.MISSED, "r", at)
        assert refusing.calls == 1
