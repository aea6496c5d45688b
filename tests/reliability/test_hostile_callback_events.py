"""Hostile events for the callback: each gets its designed outcome, and none runs an action.

tests/callback/test_entry_point.py holds the everyday bad events (32: invalid JSON, missing fields, a
`../../etc/passwd` task id, not-a-proxy-event shapes). This corpus is the hostile rest: oversized fields,
10,000-level nesting, NaN/Infinity and 5,000-digit literals, duplicate keys, escapes, header injection,
encoded paths, odd methods. Every body names the `spy` action (free-form data), so a gap in validation
would show up as a run; every event is answered through the real entry point, and then:

- the status is the designed one (4xx: permanent, logged at ERROR as `rejected`), or the invocation fails
  (`failed`: Lambda retries, then the on-failure queue keeps the event), as designed;
- the spy never ran and no idempotency record was written.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from localcloud.dispatcher import Dispatcher
from localcloud.lambda_async import Invocation
from tests.callback.helpers import body_of, delivery
from tests.localcloud.helpers import queue_messages

MB = 1024 * 1024
GOOD = delivery("h-1", action="spy", data={"k": "v"})
#: Designed outcome for an event that must fail the invocation (retried, then dead-lettered).
FAILS = "invocation fails"
#: Designed outcome for a body over Lambda's asynchronous limit: refused for good, by the body limit (413) or,
#: until the callback has one (KNOWN_BUGS), by validation (422).
OVERSIZED = frozenset({413, 422})


def event(**changes: Any) -> dict[str, Any]:
    """The good delivery with some of its keys replaced."""
    return {**GOOD, **changes}


def body(**fields: Any) -> str:
    """A spy task's JSON body with some fields replaced."""
    return json.dumps({"task_id": "h-1", "user_id": 1, "action": "spy", "data": {"k": "v"}, **fields})


def raw_body(text: str) -> dict[str, Any]:
    """The good delivery with this exact body text."""
    return event(body=text)


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


def with_headers(**headers: str) -> dict[str, Any]:
    return event(headers={**GOOD["headers"], **headers})


CORPUS: dict[str, tuple[dict[str, Any], int | str | frozenset[int]]] = {
    # -- wrong shapes
    "body is a JSON string literal": (raw_body('"spy"'), 422),
    "body is the literal true": (raw_body("true"), 422),
    "body is an empty object": (raw_body("{}"), 422),
    "headers is a list": (event(headers=[["content-type", "application/json"]]), 422),
    "base64 body with broken padding": (event(body="abc", isBase64Encoded=True), FAILS),
    "base64 body with no base64 characters": (event(body="!!!!", isBase64Encoded=True), 422),
    # -- wrong types
    "task_id is an integer": (raw_body(body(task_id=123)), 422),
    "task_id is null": (raw_body(body(task_id=None)), 422),
    "action is an integer": (raw_body(body(action=7)), 422),
    "action is an object": (raw_body(body(action={"name": "spy"})), 422),
    "user_id is an object": (raw_body(body(user_id={"id": 1})), 422),
    "user_id is a fraction": (raw_body(body(user_id=1.5)), 422),
    "data is null": (raw_body(body(data=None)), 422),
    "data is a list": (raw_body(body(data=[{"k": "v"}])), 422),
    "a real action's field has the wrong type": (raw_body(body(action="cleanup", data={"resource_id": ["r"]})), 422),
    # -- oversized (Lambda takes 1 MB asynchronously; these are ten times that)
    "10 MB of junk": (raw_body("x" * (10 * MB)), OVERSIZED),
    "10 MB task_id": (raw_body(body(task_id="t" * (10 * MB))), OVERSIZED),
    "10 MB user_id": (raw_body(body(user_id="u" * (10 * MB))), OVERSIZED),
    "10 MB action name": (raw_body(body(action="a" * (10 * MB))), OVERSIZED),
    "10 MB field of a real action": (
        raw_body(body(action="cleanup", data={"resource_id": "r" * (10 * MB)})),
        OVERSIZED,
    ),
    "1 MB content-type header": (with_headers(**{"content-type": "application/json" + " " * MB + "x"}), 422),
    # -- nesting
    "10,000-level nested array body": (raw_body("[" * 10_000 + "]" * 10_000), 400),
    "300-level nesting in a real action's data": (raw_body(body(action="cleanup", data=json.loads(nested(300)))), 422),
    # -- number literals that are not JSON, or too long to convert
    "5,000-digit user_id": (raw_body(body().replace('"user_id": 1', '"user_id": ' + "9" * 5000)), 400),
    # -- duplicate keys and escapes (the last key wins everywhere the body is read)
    "duplicate task_id, the last one traversing": (
        raw_body(body()[:-1] + ', "task_id": "../../etc/passwd"}'),
        422,
    ),
    "duplicate action, the last one unknown": (raw_body(body()[:-1] + ', "action": "sp\\u0079-not"}'), 422),
    "escaped ../ in task_id": (raw_body(body().replace('"h-1"', '"\\u002e\\u002e\\u002fetc"')), 422),
    "NUL in task_id": (raw_body(body().replace('"h-1"', '"h-1\\u0000"')), 422),
    "CRLF in task_id": (raw_body(body(task_id="h-1\r\nX-Injected: 1")), 422),
    "fullwidth homoglyph task_id": (raw_body(body(task_id="\uff48-1")), 422),
    "right-to-left override in task_id": (raw_body(body(task_id="h-1\u202egpj")), 422),
    # -- header injection
    "CRLF in content-type": (with_headers(**{"content-type": "application/json\r\nX-Injected: 1"}), 422),
    "content-type smuggled in multiValueHeaders": (event(multiValueHeaders={"content-type": ["text/plain"]}), 422),
    "CRLF in a multi-value content-type": (
        event(multiValueHeaders={"content-type": ["application/json\r\nContent-Length: 0"]}),
        422,
    ),
    "content-type in a header name with CRLF": (
        event(
            headers={
                "X-Evil\r\ncontent-type": "application/json",
                **{k: v for k, v in GOOD["headers"].items() if k != "content-type"},
            }
        ),
        422,
    ),
    # -- paths
    "trailing ..": (event(path="/api/v1/tasks/callback/.."), 404),
    "percent-encoded ..": (event(path="/api/v1/tasks/%2e%2e/tasks/callback"), 404),
    "percent-encoded NUL": (event(path="/api/v1/tasks/callback%00"), 404),
    "double slash": (event(path="//api/v1/tasks/callback"), 404),
    "upper case": (event(path="/API/V1/TASKS/CALLBACK"), 404),
    "matrix parameter": (event(path="/api/v1/tasks/callback;admin=1"), 404),
    "through /health/..": (event(path="/health/../api/v1/tasks/callback"), 404),
    # -- methods
    "lower-case post": (event(httpMethod="post"), 405),
    "PUT": (event(httpMethod="PUT"), 405),
    "CRLF in the method": (event(httpMethod="POST\r\nX-Injected: 1"), 405),
}

UNRENDERABLE = (
    "FastAPI's default 422 handler echoes the invalid input; NaN, Infinity or a lone surrogate cannot be rendered "
    "as JSON, so the 422 becomes a 500: the invocation fails and Lambda retries a permanent error, then dead-letters it"
)

#: Hostile events that once got the wrong outcome (each bug is described in docs/reliability.md).
FIXED_BUGS = {
    "10,000-level nested data": (
        raw_body('{"task_id":"h-1","user_id":1,"action":"spy","data":' + nested(10_000) + "}"),
        400,
        "callback_app.handler._peek_task catches ValueError only: the RecursionError of json.loads escapes the entry "
        "point before Mangum, without an outcome line, and Lambda retries a permanent error twice",
    ),
    "NaN user_id": (
        raw_body(body().replace('"user_id": 1', '"user_id": NaN')),
        422,
        UNRENDERABLE,
    ),
    "Infinity user_id": (
        raw_body(body().replace('"user_id": 1', '"user_id": Infinity')),
        422,
        UNRENDERABLE,
    ),
    "-Infinity in a real action's data": (
        raw_body(body(action="cleanup").replace('{"k": "v"}', '{"resource_id": -Infinity}')),
        422,
        UNRENDERABLE,
    ),
    "lone surrogate in task_id": (raw_body(body().replace('"h-1"', '"h-\\ud800"')), 422, UNRENDERABLE),
    "10 MB padding around a valid task": (
        raw_body(body()[:-1] + ', "padding": "' + "p" * (10 * MB) + '"}'),
        413,
        "the callback has no body limit: a body Lambda could never deliver asynchronously (> 1 MB) runs the action",
    ),
    "trailing slash": (
        event(path="/api/v1/tasks/callback/"),
        404,
        "Starlette redirects (307); the entry point counts every status below 400 as done (outcome 'duplicate'), "
        "so the invocation succeeds and the task is neither run nor retried nor dead-lettered",
    ),
}


@pytest.fixture
def outcomes(caplog: pytest.LogCaptureFixture) -> Any:
    """The `outcome` of every "task outcome" line logged so far."""
    caplog.set_level(logging.INFO)
    return lambda: [getattr(r, "outcome", None) for r in caplog.records if r.getMessage() == "task outcome"]


def answer(callback: Any, hostile: dict[str, Any]) -> int | str:
    """The status the entry point answered, or FAILS when the invocation failed."""
    try:
        return int(callback(hostile)["statusCode"])
    except Exception:  # any exception fails the invocation: Lambda retries it, then dead-letters it
        return FAILS


def test_the_corpus_holds_at_least_25_hostile_events_that_test_entry_point_does_not() -> None:
    from tests.callback.test_entry_point import NOT_PROXY_EVENTS, REJECTED_OR_ACCEPTED

    assert not set(CORPUS) & (set(REJECTED_OR_ACCEPTED) | set(NOT_PROXY_EVENTS))
    assert len(CORPUS) >= 25


def test_a_good_delivery_runs_the_spy(callback, spy_action):
    # The control: the spy is wired, so a hostile event that ran it would be seen.
    response = callback(GOOD)

    assert response["statusCode"] == 200
    assert body_of(response)["result"] == {"echo": {"k": "v"}}
    assert len(spy_action.runs) == 1


@pytest.mark.parametrize(("hostile", "designed"), CORPUS.values(), ids=CORPUS.keys())
def test_hostile_event_gets_its_designed_outcome_and_runs_nothing(
    callback, spy_action, idempotency_records, outcomes, figures, hostile, designed
):
    got = answer(callback, hostile)

    assert got in designed if isinstance(designed, frozenset) else got == designed
    assert spy_action.runs == []
    assert idempotency_records() == []
    if isinstance(got, int) and got < 500:
        assert outcomes()[-1:] == ["rejected"]  # logged at ERROR and counted; Lambda does not retry it
    else:
        assert outcomes()[-1:] == ["failed"]
    figures.count("corpus", "events")
    figures.count("corpus", f"outcome:{got}")
    figures.count("corpus", "actions_run", len(spy_action.runs))


@pytest.mark.parametrize(("hostile", "designed"), [(e, d) for e, d, _ in FIXED_BUGS.values()], ids=FIXED_BUGS.keys())
def test_hostile_event_that_was_a_bug_gets_its_designed_outcome(callback, spy_action, outcomes, hostile, designed):
    got = answer(callback, hostile)

    assert (got, len(spy_action.runs), outcomes()[-1:]) == (designed, 0, ["rejected"])


def test_an_event_that_fails_for_good_lands_in_the_failure_queue_with_its_payload(make_harness, spy_action):
    # The designed outcome FAILS means: Lambda retries twice, then the on-failure queue keeps the whole event.
    harness = make_harness()
    dispatcher: Dispatcher = harness.dispatcher
    broken = CORPUS["base64 body with broken padding"][0]
    dispatcher.lambda_.submit(
        Invocation(
            event=broken, function_arn=harness.resources.arns["CallbackFunction"], received_at=harness.clock.now()
        )
    )

    harness.run_until(harness.clock.now() + timedelta(minutes=5))

    (message,) = queue_messages(harness.sqs, harness.queue_url("CallbackFailureQueue"))
    record = json.loads(message["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == broken
    assert spy_action.runs == []


def test_a_non_utf8_base64_body_is_rejected_not_retried(callback, spy_action, outcomes):
    latin1 = base64.b64encode(
        json.dumps({"task_id": "h-1", "user_id": 1, "action": "spy", "data": {"k": "café"}}, ensure_ascii=False).encode(
            "latin-1"
        )
    ).decode()

    response = callback(event(body=latin1, isBase64Encoded=True))

    assert response["statusCode"] == 400
    assert spy_action.runs == []
    assert outcomes()[-1:] == ["rejected"]
