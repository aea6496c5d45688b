"""Reliability helpers: AWS faults on the wire (under botocore's retries), and the scheduler's Lambda as a transport.

`WireFaults` answers chosen calls of one boto3 client with AWS error responses *where moto would have
answered*: botocore's own retry handler sees them, so "throttled twice, then fine" exercises the retries the
functions configure, not a shortcut around them. (tests/scheduler/helpers.FaultInjector answers before
botocore's retry loop instead: one error per API call.)
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import pytest

from localcloud.apiserver import proxy_event
from localcloud.lambda_context import LocalLambdaContext

#: The operation a request is for, set by a hook on the faulty client (requests carry no operation name).
OPERATION_HEADER = "x-reliability-operation"

#: Status codes AWS answers these errors with.
STATUS = {
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 402,
    "InternalServerException": 500,
    "ServiceUnavailable": 503,
    "ProvisionedThroughputExceededException": 400,
    "RequestLimitExceeded": 400,
    "InternalServerError": 500,
}

#: A scripted answer meaning "AWS did it, then the reply was lost": the caller sees a 500.
LOSE = "lose-the-response"


def error_response(code: str, message: str = "injected by the reliability tests") -> tuple[int, dict[str, str], bytes]:
    """An AWS JSON-protocol error as moto answers: status, headers, body (rest-json and json 1.0 read `__type`)."""
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0"}
    return STATUS.get(code, 400), headers, json.dumps({"__type": code, "message": message}).encode()


@dataclass
class WireFaults:
    """Scripted AWS answers for one client's calls, by operation; botocore's retry sleeps are recorded, not slept."""

    monkeypatch: pytest.MonkeyPatch
    scripts: dict[str, list[str | None]] = field(default_factory=dict)
    forever: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    sleeps: list[float] = field(default_factory=list)
    _tagged: list[tuple[Any, Any]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        from moto.core.models import botocore_stubber

        original = botocore_stubber.process_request

        def process_request(request: Any) -> Any:
            operation = request.headers.get(OPERATION_HEADER)
            if isinstance(operation, bytes):
                operation = operation.decode()
            answer = self._next(operation) if operation else None
            if answer is None:
                return original(request)
            if answer == LOSE:
                original(request)  # AWS did it ...
                answer = "InternalServerException"  # ... and the caller never heard
            return error_response(answer)

        self.monkeypatch.setattr(botocore_stubber, "process_request", process_request)
        self.monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=self.sleeps.append))

    def attach(self, client: Any) -> WireFaults:
        """Mark `client`'s requests so that the scripts apply to them (and to no other client)."""

        def tag(request: Any, event_name: str, **_: Any) -> None:
            request.headers[OPERATION_HEADER] = event_name.rsplit(".", 1)[-1]

        client.meta.events.register_first("before-send", tag)
        self._tagged.append((client, tag))
        return self

    def close(self) -> None:
        """Stop marking the clients' requests (the monkeypatches end with the test)."""
        for client, tag in self._tagged:
            client.meta.events.unregister("before-send", tag)
        self._tagged.clear()

    def script(self, operation: str, *answers: str | None) -> None:
        """The next calls of `operation` get these answers in order (None: AWS answers), then AWS answers."""
        self.scripts.setdefault(operation, []).extend(answers)

    def always(self, operation: str, code: str) -> None:
        """Every call of `operation` fails with `code`."""
        self.forever[operation] = code

    def heal(self) -> None:
        """AWS answers everything again."""
        self.scripts.clear()
        self.forever.clear()

    def _next(self, operation: str) -> str | None:
        self.attempts[operation] = self.attempts.get(operation, 0) + 1
        if operation in self.forever:
            return self.forever[operation]
        queue = self.scripts.get(operation)
        return queue.pop(0) if queue else None


# -- the scheduler API through its Lambda entry point ------------------------------------------------

API_HOST = "abc123.execute-api.us-east-1.amazonaws.com"


def call_lambda(handler: Any, method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """One HTTP request as API Gateway hands it to `handler`: a REST v1 proxy event (the local API's translation)."""
    event = proxy_event(method, target, {"Host": API_HOST, **headers}, body, source_ip="203.0.113.7", stage="v1")
    response: dict[str, Any] = handler(event, LocalLambdaContext(function_name="SchedulerFunction"))
    return response


def response_headers(response: dict[str, Any]) -> dict[str, list[str]]:
    """A proxy response's headers, single- and multi-valued, as lists by lower-case name."""
    merged: dict[str, list[str]] = {}
    for key, value in (response.get("headers") or {}).items():
        merged.setdefault(key.lower(), []).append(str(value))
    for key, values in (response.get("multiValueHeaders") or {}).items():
        merged.setdefault(key.lower(), []).extend(str(v) for v in values)
    return merged


def response_body(response: dict[str, Any]) -> bytes:
    """A proxy response's body as bytes."""
    raw = response.get("body") or ""
    return base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode("utf-8")


def schedule_state(scheduler: Any, group: str) -> dict[str, tuple[str, Any]]:
    """Every schedule in the group: name -> (state, last modification), to tell whether anything changed."""
    found: dict[str, tuple[str, Any]] = {}
    for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group):
        for s in page["Schedules"]:
            found[s["Name"]] = (s.get("State"), s.get("LastModificationDate"))
    return found


@contextmanager
def timed() -> Iterator[SimpleNamespace]:
    """`with timed() as t:` ... `t.seconds`."""
    result = SimpleNamespace(seconds=0.0)
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started


def markers_in(text: str, markers: Iterable[str]) -> list[str]:
    """The markers that occur in `text`."""
    return [m for m in markers if m in text]
