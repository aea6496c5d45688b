"""The local cloud's moto UpdateExpressions (localcloud.moto_expressions): parsed once, validated at the root only,
and refused exactly when moto refuses them."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import moto_expressions

TABLE = "ledger"
KEY = {"pk": {"S": "TASK#1"}}


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto_expressions.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        yield client


def update(client: Any, expression: str, values: dict[str, Any], names: dict[str, str] | None = None) -> None:
    extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
    client.update_item(TableName=TABLE, Key=KEY, UpdateExpression=expression, ExpressionAttributeValues=values, **extra)


def test_a_fifteen_clause_update_as_the_ledger_writes_it_is_applied(dynamodb: Any) -> None:
    names = {f"#f{n}": f"field_{n}" for n in range(14)} | {"#attempts": "attempts"}
    values = {f":v{n}": {"S": f"value {n}"} for n in range(14)} | {":one": {"N": "1"}}
    sets = ", ".join(f"#f{n} = :v{n}" for n in range(14))
    for _ in range(2):  # the second time from the kept tree
        update(dynamodb, f"SET {sets} ADD #attempts :one", values, names)

    item = dynamodb.get_item(TableName=TABLE, Key=KEY)["Item"]
    assert {item[f"field_{n}"]["S"] for n in range(14)} == {f"value {n}" for n in range(14)}
    assert item["attempts"] == {"N": "2"}


def test_overlapping_paths_are_still_refused(dynamodb: Any) -> None:
    with pytest.raises(ClientError, match="Two document paths overlap with each other"):
        update(dynamodb, "SET a = :x, b = :y, a = :z", {":x": {"S": "1"}, ":y": {"S": "2"}, ":z": {"S": "3"}})


def test_a_section_used_twice_is_still_refused(dynamodb: Any) -> None:
    with pytest.raises(ClientError, match='The "SET" section can only be used once'):
        update(dynamodb, "SET a = :x SET b = :y", {":x": {"S": "1"}, ":y": {"S": "2"}})


def test_an_invalid_expression_is_refused_every_time_and_a_valid_one_parsed_once() -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    moto_expressions.install()
    moto_expressions.install()  # once per process, however often it is called
    for _ in range(2):
        with pytest.raises(Exception, match="Invalid UpdateExpression"):
            UpdateExpressionParser.make("SET = :x")
    assert UpdateExpressionParser.make("SET a = :x") is UpdateExpressionParser.make("SET a = :x")


def test_the_moto_internals_it_relies_on_are_there() -> None:
    from moto.dynamodb.parsing import ast_nodes, validators

    for validator in (validators.ActionCountValidator, validators.OverlappingPathsValidator):
        assert issubclass(validator, ast_nodes.DepthFirstTraverser)  # type: ignore[attr-defined]
        # Each checks UpdateExpression nodes, and sees every clause below the one it checks.
        assert "return {UpdateExpression: self." in inspect.getsource(validator._processing_map)
        assert "node.find_clauses(" in inspect.getsource(validator)
    # The tree the parser keeps is never changed: the validator works on a copy.
    assert "deepcopy(expression)" in inspect.getsource(validators.Validator.__init__)
    assert "processor.traverse(n)" in inspect.getsource(validators.Validator.validate)
