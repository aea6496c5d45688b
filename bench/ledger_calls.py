"""The task ledger's budgets: the DynamoDB requests each path sends, counted on the functions' own clients.

In this process, on moto with the tables built from template.yaml, through the real entry points: a
first delivery and a replay of one occurrence (the callback), a create, a GET and one user's page
among many tasks (the scheduler API). The budgets are docs/performance.md's ("The task ledger").
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: A page of one user among this many tasks (other users' and this one's, one in a hundred).
LISTED_TASKS = 2_000

#: What each path may send to DynamoDB (issue #12's budgets); `measure` reports what it sends.
BUDGETS: dict[str, str] = {
    "callback: first delivery": "the 2 idempotency writes + at most 1 more write, no read",
    "callback: duplicate delivery (replay)": "at most 1 write more than without the ledger",
    "API: create": "at most 1 conditional write",
    "API: GET a task": "1 Query",
    "API: one user's page": "1 Query",
}


@contextmanager
def _counting(client: Any) -> Iterator[Counter[str]]:
    calls: Counter[str] = Counter()

    def note(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.dynamodb.*", note)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", note)


def measure() -> dict[str, dict[str, int]]:
    """Operation -> count, for each path of BUDGETS."""
    from moto import mock_aws

    from localcloud.endpoint import LOCAL_ENV, powertools_environment

    saved = dict(os.environ)
    os.environ.update({**LOCAL_ENV, **powertools_environment()})
    try:
        # The functions' log lines (Powertools writes them to stdout) are not the bench's output.
        with mock_aws(), contextlib.redirect_stdout(io.StringIO()):
            return _measure()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _measure() -> dict[str, dict[str, int]]:
    import boto3

    from localcloud.template import provision

    resources = provision(boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"]))
    os.environ.update(
        IDEMPOTENCY_TABLE_NAME=resources.names["IdempotencyTable"],
        TASK_LEDGER_TABLE=resources.names["TaskLedgerTable"],
        REJECTED_TASK_QUEUE_URL=resources.queue_urls["RejectedTaskQueue"],
        SCHEDULE_GROUP_NAME=resources.names["ScheduleGroup"],
        CALLBACK_FUNCTION_ARN=resources.arns["CallbackFunction"],
        SCHEDULER_ROLE_ARN=resources.arns["SchedulerInvokeRole"],
        SCHEDULER_DLQ_ARN=resources.arns["ScheduleDeliveryDLQ"],
    )
    from localcloud.cloud import reset_function_caches

    reset_function_caches()
    found = _callback_calls()
    found |= _api_calls(resources.names["TaskLedgerTable"])
    return {path: dict(sorted(calls.items())) for path, calls in found.items()}


def _callback_calls() -> dict[str, Counter[str]]:
    from callback_app.handler import lambda_handler
    from callback_app.service import get_dynamodb_client
    from localcloud.lambda_context import LocalLambdaContext

    with open("events/callback.json", encoding="utf-8") as fixture:
        event = json.load(fixture)
    found: dict[str, Counter[str]] = {}
    for path in ("callback: first delivery", "callback: duplicate delivery (replay)"):
        with _counting(get_dynamodb_client()) as calls:
            lambda_handler(json.loads(json.dumps(event)), LocalLambdaContext())
        found[path] = calls
    return found


def _api_calls(ledger_table: str) -> dict[str, Counter[str]]:
    from scheduler_app.clients import get_dynamodb_client
    from scheduler_app.handler import lambda_handler

    call: Callable[..., Any] = _api(lambda_handler)
    client = get_dynamodb_client()
    found: dict[str, Counter[str]] = {}
    request = {"task_id": "bench-ledger", "user_id": 456, "action": "send_notification", "data": {"message": "hi"}}
    with _counting(client) as calls:
        call("POST", "/api/v1/schedules", {**request, "delay_minutes": 30})
    found["API: create"] = calls
    with _counting(client) as calls:
        call("GET", "/api/v1/schedules/bench-ledger")
    found["API: GET a task"] = calls
    _fill(client, ledger_table)
    with _counting(client) as calls:
        call("GET", "/api/v1/schedules", query={"user_id": "456", "limit": "20"})
    found["API: one user's page"] = calls
    return found


def _api(handler: Callable[..., Any]) -> Callable[..., Any]:
    from tests.scheduler.helpers import api_event

    def call(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        response = handler(api_event(method, path, body=body, query=query), None)
        if int(response["statusCode"]) >= 300:
            raise RuntimeError(f"{method} {path}: {response['statusCode']} {response.get('body')}")
        return json.loads(response["body"])

    return call


def _fill(client: Any, table: str) -> None:
    """LISTED_TASKS task items, one in a hundred of user 456, written straight into the ledger."""
    from tests.scheduler.helpers import ledger_task_item

    items = []
    for i in range(LISTED_TASKS):
        user = 456 if i % 100 == 0 else i
        item = ledger_task_item(f"bench-{i:05d}", user, f"2030-01-01T00:00:{i % 60:02d}.000Z")
        items.append({"PutRequest": {"Item": {k: {"S": v} for k, v in item.items()}}})
    for start in range(0, len(items), 25):
        client.batch_write_item(RequestItems={table: items[start : start + 25]})
