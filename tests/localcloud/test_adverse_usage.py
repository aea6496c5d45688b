"""The throughput model's figures per key (localcloud.dynamo_throughput): what a test reads to say no table or index
key went over its limit, and which was the hottest (tests/reliability/test_burst.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud import dynamo_throughput
from localcloud.template import LocalResources


@dataclass
class Metered:
    """A client that does not retry, on DynamoDB limited to 4 write and 6 read units per key a second of `now`."""

    client: Any
    table: str
    now: list[float]

    def put(self, pk: str, user: str) -> None:
        item = {"pk": {"S": pk}, "sk": {"S": "TASK"}, "user_key": {"S": user}, "created_key": {"S": "1"}}
        self.client.put_item(TableName=self.table, Item=item)

    def uses(self) -> dict[tuple[str | None, str], dynamo_throughput.KeyUse]:
        return {(use.index, use.key): use for use in dynamo_throughput.usage()}


@pytest.fixture
def metered(aws: LocalResources) -> Iterator[Metered]:
    now = [1_000.0]
    dynamo_throughput.install()
    dynamo_throughput.set_limits(4, 6, clock=lambda: now[0])
    client = boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    try:
        yield Metered(client, aws.names["TaskLedgerTable"], now)
    finally:
        dynamo_throughput.set_limits(None, None)


def test_the_model_reports_each_keys_units_busiest_second_and_throttles_and_names_the_hottest(
    metered: Metered,
) -> None:
    for n in range(4):  # four tasks of one user in one second: 4 units on the user's ByUser key, its limit
        metered.put(f"TASK#u{n}", "USER#hot")
    with pytest.raises(ClientError):
        metered.put("TASK#u4", "USER#hot")  # the fifth is refused
    metered.now[0] += 1.5  # another second: refilled, and 1 unit asked in it
    metered.put("TASK#u5", "USER#hot")
    metered.put("TASK#u6", "USER#cool")

    uses = metered.uses()
    hot = uses[("ByUser", "USER#hot")]
    assert (hot.write_units, hot.peak_write_units, hot.throttled_writes) == (5.0, 5.0, 1)  # 5 asked in one second
    assert hot.resource == f"{metered.table}/index/ByUser"
    assert uses[("ByUser", "USER#cool")].peak_write_units == 1.0
    assert uses[(None, "TASK#u4")].write_units == 1.0  # the table's key was charged before the index refused
    assert dynamo_throughput.hottest() == hot
    assert dynamo_throughput.over_limit() == [hot]  # every other key stayed within its limit
    assert "ByUser (index) key USER#hot: busiest second 5 write units (limit 4" in hot.describe(4, 6)


def test_the_model_counts_reads_per_key_and_keeps_nothing_without_limits(metered: Metered) -> None:
    metered.put("TASK#r", "USER#r")
    for _ in range(3):
        metered.client.query(
            TableName=metered.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "TASK#r"}},
        )
    metered.client.get_item(TableName=metered.table, Key={"pk": {"S": "TASK#r"}, "sk": {"S": "TASK"}})

    task = metered.uses()[(None, "TASK#r")]
    assert (task.write_units, task.read_units, task.peak_read_units, task.throttled) == (1.0, 4.0, 4.0, 0)
    assert dynamo_throughput.over_limit() == []
    dynamo_throughput.set_limits(None, None)
    assert dynamo_throughput.usage() == []
