"""The task ledger's budgets: the DynamoDB requests each path sends, counted on the functions' own clients.

In this process, on moto's server on loopback with the tables from template.yaml, through the Lambda
entry points: a first delivery and a replay of one occurrence (the callback), a create, a GET and one
user's page among other users' tasks (the scheduler API). The budgets are docs/performance.md's ("The
task ledger's budgets").
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.build import ROOT
from bench.events import api_event, schedule_request
from bench.in_process import new_container

#: One user's page is read among this many tasks, one in ten of them that user's (a full page of 20).
LISTED_TASKS = 200
USER = 456

#: What each path may send to DynamoDB (issue #12's budgets); `measure` reports what it sends.
BUDGETS: dict[str, str] = {
    "callback: first delivery": "at most 3 requests, no read (2: the start and end transactions)",
    "callback: duplicate delivery (replay)": "at most 1 write more than without the ledger",
    "API: create": "1 transaction (the task's items and its owner's quota slot)",
    "API: GET a task": "1 Query",
    "API: one user's page": "1 Query and 1 BatchGetItem (the page's run tallies)",
}


@contextmanager
def _counting_dynamodb_requests() -> Iterator[Counter[str]]:
    """Count the DynamoDB requests of every client boto3's default session builds (each function's
    client recipe, taskcore.clients) until the block ends; the functions' containers start afresh."""
    import boto3

    calls: Counter[str] = Counter()

    def note(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb.*", note)
    new_container()  # their clients are built again, from the session that counts
    try:
        yield calls
    finally:
        boto3.DEFAULT_SESSION.events.unregister("before-call.dynamodb.*", note)
        new_container()


def measure() -> dict[str, dict[str, int]]:
    """Operation -> count, for each path of BUDGETS."""
    from localcloud.endpoint import moto_endpoint, patched_environ

    # The functions' log lines (Powertools writes them to stdout) are not the bench's output.
    with (
        moto_endpoint() as endpoint,
        patched_environ(endpoint.environment()),
        contextlib.redirect_stdout(io.StringIO()),
        _counting_dynamodb_requests() as calls,
    ):
        return {path: dict(sorted(found.items())) for path, found in _paths(calls)}


def _paths(calls: Counter[str]) -> Iterator[tuple[str, Counter[str]]]:
    """Each path of BUDGETS with the requests it sent (`calls` counts them; what comes between is not counted)."""
    from callback_app.handler import lambda_handler as callback
    from localcloud.lambda_context import LocalLambdaContext
    from scheduler_app.handler import lambda_handler as api

    def sent(run: Callable[[], object]) -> Counter[str]:
        calls.clear()
        run()
        found = Counter(calls)
        calls.clear()
        return found

    event = json.loads((ROOT / "events" / "callback.json").read_text(encoding="utf-8"))
    for path in ("callback: first delivery", "callback: duplicate delivery (replay)"):
        yield path, sent(lambda: callback(json.loads(json.dumps(event)), LocalLambdaContext()))
    request = {**schedule_request("bench-ledger"), "user_id": USER}
    yield "API: create", sent(lambda: _call(api, "POST", "/api/v1/schedules", request))
    yield "API: GET a task", sent(lambda: _call(api, "GET", "/api/v1/schedules/bench-ledger"))
    _fill(api)
    page = {"user_id": str(USER), "limit": "20"}
    yield "API: one user's page", sent(lambda: _call(api, "GET", "/api/v1/schedules", query=page))


def _call(handler: Callable[..., Any], method: str, path: str, body: Any = None, **kw: Any) -> Any:
    response = handler(api_event(method, path, body, **kw), None)
    if int(response["statusCode"]) >= 300:
        raise RuntimeError(f"{method} {path}: {response['statusCode']} {response.get('body')}")
    return json.loads(response["body"])


def _fill(api: Callable[..., Any]) -> None:
    """LISTED_TASKS tasks of ten users, USER's among them, through the batch endpoint."""
    for start in range(0, LISTED_TASKS, 100):
        items = [{**schedule_request(f"bench-{i:04d}"), "user_id": USER + i % 10} for i in range(start, start + 100)]
        if (created := _call(api, "POST", "/api/v1/schedules/batch", {"items": items})["created"]) != len(items):
            raise RuntimeError(f"the batch created {created} of {len(items)} tasks")
