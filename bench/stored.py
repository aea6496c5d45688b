"""What the measured runs left on the local endpoint: the schedules in the group, the largest items (for cost.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from localcloud.endpoint import LocalEndpoint

#: The items sized: at most this many of each kind (they are all written alike).
SAMPLED_ITEMS = 50


def _client(endpoint: LocalEndpoint, service: str) -> Any:
    """A boto3 client for the local endpoint, with its dummy credentials."""
    import boto3

    env = endpoint.environment()
    keys = {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}
    return boto3.client(service, endpoint_url=endpoint.url, region_name=env["AWS_REGION"], **keys)  # type: ignore[call-overload]


def count_schedules(endpoint: LocalEndpoint) -> int:
    """How many schedules the local endpoint holds in the stack's group."""
    group = endpoint.environment()["SCHEDULE_GROUP_NAME"]
    pages = _client(endpoint, "scheduler").get_paginator("list_schedules").paginate(GroupName=group)
    return sum(len(page["Schedules"]) for page in pages)


def idempotency_record_bytes(endpoint: LocalEndpoint) -> int | None:
    """The largest of Powertools' idempotency records (`task#...`) in the local table, by DynamoDB's item size."""
    return _largest_item(endpoint, "IDEMPOTENCY_TABLE_NAME", lambda item: item["id"]["S"].startswith("task#"))


def ledger_item_bytes(endpoint: LocalEndpoint) -> dict[str, int | None]:
    """The largest task item and run item in the local task ledger (written by the runs measured)."""
    return {kind: _largest_item(endpoint, "TASK_LEDGER_TABLE", _sort_key_starts(kind)) for kind in ("TASK", "RUN#")}


def _sort_key_starts(prefix: str) -> Callable[[Any], bool]:
    return lambda item: bool(item["sk"]["S"].startswith(prefix))


def _largest_item(endpoint: LocalEndpoint, table_variable: str, keep: Callable[[Any], bool]) -> int | None:
    table = endpoint.environment()[table_variable]
    pages = _client(endpoint, "dynamodb").get_paginator("scan").paginate(TableName=table)
    items = [item for page in pages for item in page["Items"] if keep(item)][:SAMPLED_ITEMS]
    totals = [sum(len(name.encode()) + _value_bytes(v) for name, v in item.items()) for item in items]
    return max(totals) if totals else None


def _value_bytes(value: Mapping[str, Any]) -> int:
    """An attribute value's size by DynamoDB's item-size rules."""
    (kind, raw), *_ = value.items()
    if kind == "N":  # about one byte per two significant digits, plus one
        return len(str(raw).lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    return len(raw if isinstance(raw, bytes) else str(raw).encode())
