"""Tasks written by the ledger's layout before issue 20 keep reading, and `make migrate-ledger` moves them over.

The old layout kept a task in one TASK item with unsharded index keys (`OWNER#<owner>`, `STATE#<state>`) and
counted the quota through `LiveByOwner`; `old_task_item` writes one exactly as that code did.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from ops.migrate_ledger import main, migrate
from scheduler_app.adapters.dynamodb_ledger import DynamoDBLedger
from scheduler_app.records import ListFilter
from taskcore.states import TaskState

OWNER = "arn:aws:iam::123456789012:role/orders-service"
NOW = datetime(2030, 1, 15, tzinfo=UTC)
RETENTION = 7 * 86_400


def old_task_item(task_id: str, *, state: str = "scheduled", second: int = 0, runs: int = 0) -> dict[str, Any]:
    """A TASK item as the layout before issue 20 wrote it: everything on one item, unsharded keys."""
    created = f"2030-01-01T00:00:{second:02d}.000Z"
    request = {"task_id": task_id, "action": "send_notification", "run_at": "2030-02-01T00:00:00", "data": {"n": 1}}
    item: dict[str, Any] = {
        "pk": {"S": f"TASK#{task_id}"},
        "sk": {"S": "TASK"},
        "task_id": {"S": task_id},
        "state": {"S": state},
        "state_key": {"S": f"STATE#{state}"},
        "kind": {"S": "one-time"},
        "expression": {"S": "at(2030-02-01T00:00:00)"},
        "timezone": {"S": "UTC"},
        "created_at": {"S": created},
        "created_key": {"S": f"{created}#{task_id}"},
        "updated_at": {"S": created},
        "run_count": {"N": str(runs)},
        "user_id": {"S": '"u-1"'},
        "user_key": {"S": "USER#u-1"},
        "fingerprint": {"S": "f" * 64},
        "action": {"S": "send_notification"},
        "schedule_arn": {"S": f"arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/{task_id}"},
        "owner": {"S": OWNER},
        "owner_key": {"S": f"OWNER#{OWNER}"},
        "request": {"S": json.dumps(request)},
    }
    if state in ("scheduled", "paused"):
        item["live_owner_key"] = {"S": f"OWNER#{OWNER}"}
        item["due_shard"] = {"S": "DUE#3"}
        item["due_at"] = {"S": "2030-02-01T00:00:00.000Z"}
    if runs:
        item["last_run"] = {"S": json.dumps({"outcome": "succeeded", "attempts": 1})}
    if state not in ("scheduled", "paused"):
        item["expiration"] = {"N": str(int(NOW.timestamp()) + RETENTION)}
    return item


@pytest.fixture
def old_ledger(aws: Any) -> tuple[Any, str, DynamoDBLedger]:
    client = boto3.client("dynamodb")
    table = aws.names["TaskLedgerTable"]
    for index, (task_id, state) in enumerate((("old-1", "scheduled"), ("old-2", "paused"), ("old-3", "succeeded"))):
        client.put_item(TableName=table, Item=old_task_item(task_id, state=state, second=index, runs=index))
    return client, table, DynamoDBLedger(client, table, retention_seconds=RETENTION)


def owners_tasks(ledger: DynamoDBLedger) -> list[str]:
    return [row.task_id for row in ledger.page(ListFilter(owner=OWNER), limit=50, start=None, now=NOW).items]


def test_an_old_task_reads_whole_before_the_migration(old_ledger: tuple[Any, str, DynamoDBLedger]) -> None:
    _, _, ledger = old_ledger

    record, _ = ledger.read("old-3", runs=0, now=NOW)

    assert record is not None
    assert (record.state, record.owner, record.run_count, record.request) == (
        TaskState.SUCCEEDED,
        OWNER,
        2,
        {"task_id": "old-3", "action": "send_notification", "run_at": "2030-02-01T00:00:00", "data": {"n": 1}},
    )
    assert owners_tasks(ledger) == []  # the sharded listing does not see it yet
    assert ledger.count_live(OWNER, up_to=10) == 0  # nor does the quota


def test_the_migration_lists_counts_and_keeps_every_old_task_and_a_second_run_changes_nothing(
    old_ledger: tuple[Any, str, DynamoDBLedger],
) -> None:
    client, table, ledger = old_ledger
    before = {task_id: ledger.read(task_id, runs=0, now=NOW)[0] for task_id in ("old-1", "old-2", "old-3")}

    done = migrate(client, table, quota=1_000)
    again = migrate(client, table, quota=1_000)

    assert (done.scanned, done.migrated, done.merged, done.slots) == (3, 3, 0, 2)
    assert (again.scanned, again.migrated) == (0, 0)
    assert owners_tasks(ledger) == ["old-3", "old-2", "old-1"]
    assert ledger.count_live(OWNER, up_to=10) == 2  # the scheduled and the paused one
    after = {task_id: ledger.read(task_id, runs=0, now=NOW)[0] for task_id in ("old-1", "old-2", "old-3")}
    for task_id, record in after.items():
        assert record is not None
        assert before[task_id] is not None
        assert (record.state, record.owner, record.request, record.run_count, record.fingerprint) == (
            before[task_id].state,  # type: ignore[union-attr]
            OWNER,
            before[task_id].request,  # type: ignore[union-attr]
            before[task_id].run_count,  # type: ignore[union-attr]
            "f" * 64,
        )
    task = client.get_item(TableName=table, Key={"pk": {"S": "TASK#old-1"}, "sk": {"S": "TASK"}})["Item"]
    assert set(task) <= {"pk", "sk", "task_id", "request", "data_bytes", "fingerprint", "expiration"}


def test_a_migrated_task_gives_its_slot_back_when_cancelled(old_ledger: tuple[Any, str, DynamoDBLedger]) -> None:
    client, table, ledger = old_ledger
    migrate(client, table, quota=1_000)

    ledger.set_state("old-1", TaskState.CANCELLED, NOW)

    assert ledger.count_live(OWNER, up_to=10) == 1


def test_a_task_changed_since_the_deploy_keeps_its_new_state_and_gains_its_keys(
    old_ledger: tuple[Any, str, DynamoDBLedger],
) -> None:
    client, table, ledger = old_ledger
    ledger.set_state("old-1", TaskState.CANCELLED, NOW)  # today's code, before the migration: a STATE item
    changed, _ = ledger.read("old-1", runs=0, now=NOW)

    done = migrate(client, table, quota=1_000)

    record, _ = ledger.read("old-1", runs=0, now=NOW)
    assert changed is not None
    assert (changed.task_id, changed.state, changed.owner) == ("old-1", "cancelled", OWNER)
    assert (done.migrated, done.merged) == (2, 1)
    assert record is not None
    assert (record.state, record.owner) == (TaskState.CANCELLED, OWNER)
    assert "old-1" in owners_tasks(ledger)
    assert ledger.count_live(OWNER, up_to=10) == 1  # only the paused one counts: the cancelled one is over


def test_a_dry_run_writes_nothing_and_the_command_says_what_it_did(
    old_ledger: tuple[Any, str, DynamoDBLedger], capsys: pytest.CaptureFixture[str]
) -> None:
    _, table, ledger = old_ledger

    assert main(["--table", table, "--dry-run", "--region", "us-east-1"]) == 0
    dry = capsys.readouterr().out
    assert main(["--table", table, "--region", "us-east-1"]) == 0

    assert dry.startswith("3 old TASK items found: 0 migrated")
    assert capsys.readouterr().out.startswith("3 old TASK items found: 3 migrated")
    assert len(owners_tasks(ledger)) == 3


def test_a_live_task_the_callback_ran_since_the_deploy_is_counted_and_keeps_its_creation_time(
    old_ledger: tuple[Any, str, DynamoDBLedger],
) -> None:
    client, table, ledger = old_ledger
    # The callback's first run after the deploy, on an old task: a STATE item from the event, its own time.
    client.put_item(
        TableName=table,
        Item={
            "pk": {"S": "TASK#old-1"},
            "sk": {"S": "STATE"},
            "state": {"S": "scheduled"},
            "created_at": {"S": "2030-01-20T00:00:00.000Z"},
        },
    )

    done = migrate(client, table, quota=1_000)

    record, _ = ledger.read("old-1", runs=0, now=NOW)
    assert (done.migrated, done.merged, done.slots) == (2, 1, 2)
    assert record is not None
    assert (record.created_at, record.owner) == ("2030-01-01T00:00:00.000Z", OWNER)
    assert ledger.count_live(OWNER, up_to=10) == 2  # old-1 (merged) and old-2 (migrated)


def test_a_patch_of_an_old_task_keeps_its_owner_and_tally_for_the_migration(
    old_ledger: tuple[Any, str, DynamoDBLedger],
) -> None:
    client, table, ledger = old_ledger
    record, _ = ledger.read("old-3", runs=0, now=NOW)
    assert record is not None

    ledger.put(replace(record, owner=None, run_count=0, expression="at(2030-03-01T00:00:00)"))
    patched, _ = ledger.read("old-3", runs=0, now=NOW)
    migrate(client, table, quota=1_000)
    migrated, _ = ledger.read("old-3", runs=0, now=NOW)

    for each in (patched, migrated):
        assert each is not None
        assert (each.owner, each.run_count, each.expression) == (OWNER, 2, "at(2030-03-01T00:00:00)")
    assert "old-3" in owners_tasks(ledger)
