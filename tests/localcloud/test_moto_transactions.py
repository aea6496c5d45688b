"""The local cloud's moto transactions: moto's own logic, with a backup of only the items named."""

from __future__ import annotations

import copy
import inspect
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import moto_transactions

TABLE = "ledger"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto_transactions.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        yield client


def _key(pk: str, sk: str = "TASK") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _count(client: Any, pk: str) -> int:
    item = client.get_item(TableName=TABLE, Key=_key(pk), ConsistentRead=True).get("Item", {})
    return int(item.get("n", {}).get("N", "0"))


def test_a_cancelled_transaction_changes_nothing_also_items_written_before_its_failing_one(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={**_key("a"), "n": {"N": "1"}})
    dynamodb.put_item(TableName=TABLE, Item={**_key("b"), "n": {"N": "1"}})

    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _key("a"),
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _key("b"),
                        "UpdateExpression": "ADD n :one",
                        "ConditionExpression": "n = :five",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":five": {"N": "5"}},
                    }
                },
            ]
        )

    assert (_count(dynamodb, "a"), _count(dynamodb, "b")) == (1, 1)


def test_an_item_a_cancelled_transaction_created_is_gone_again(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={**_key("b"), "n": {"N": "1"}})

    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {**_key("new", "RUN#1"), "n": {"N": "1"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": _key("b"),
                        "ConditionExpression": "n = :five",
                        "ExpressionAttributeValues": {":five": {"N": "5"}},
                    }
                },
            ]
        )

    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=_key("new", "RUN#1"), ConsistentRead=True)


def test_a_transaction_copies_only_the_items_it_names(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(200):
        dynamodb.put_item(TableName=TABLE, Item={**_key(f"t{i}"), "n": {"N": "0"}})
    copied: list[Any] = []
    real = copy.deepcopy

    def spy(value: Any, memo: Any = None) -> Any:
        copied.append(value)
        return real(value, memo)

    monkeypatch.setattr(copy, "deepcopy", spy)

    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": _key("t7"),
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
        ]
    )

    items = {value.attrs["pk"].value for value in copied if type(value).__name__ == "Item"}
    assert items == {"t7"}  # the one item named, not the 200 of the table
    assert _count(dynamodb, "t7") == 1


def test_transactions_and_writes_from_many_threads_all_land(dynamodb: Any) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(20):
                dynamodb.put_item(TableName=TABLE, Item={**_key(f"w{worker}-{i}"), "n": {"N": "0"}})
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": TABLE,
                                "Key": _key("shared"),
                                "UpdateExpression": "ADD n :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        }
                    ]
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert _count(dynamodb, "shared") == 6 * 20


def test_the_moto_internals_it_relies_on_are_still_there(dynamodb: Any) -> None:
    from moto.dynamodb import models

    source = inspect.getsource(models.DynamoDBBackend.transact_write_items.__wrapped__)  # type: ignore[attr-defined]
    assert "copy.deepcopy(" in source  # the backup this replaces
    assert "self.tables[table_name] = original_table_state[table_name]" in source  # and how it is restored
    table = models.dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE]
    assert (table.hash_key_attr, table.range_key_attr, table.has_range_key) == ("pk", "sk", True)
    assert isinstance(table.items, dict)
    assert callable(table.get_item)
