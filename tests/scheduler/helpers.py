"""Test helpers for the scheduler API: a controllable clock, AWS fault injection, proxy events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from fastapi.testclient import TestClient as TestClient

TASK = {"user_id": 456, "action": "send_notification", "data": {"notification_type": "reminder", "message": "Hello"}}


def task(task_id: str, **timing: Any) -> dict[str, Any]:
    """A create request for `task_id` with the given timing (and anything else)."""
    return {"task_id": task_id, **TASK, **timing}


@dataclass
class Clock:
    """Real time until `set`; then frozen, moved only by `advance` or `sleep` (which records delays)."""

    frozen: datetime | None = None
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.frozen if self.frozen is not None else datetime.now(UTC)

    def set(self, moment: datetime) -> None:
        self.frozen = moment

    def advance(self, **delta: float) -> None:
        self.frozen = self.now() + timedelta(**delta)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@dataclass
class FaultInjector:
    """Answer a client's calls with AWS errors, by operation, via a `before-call` hook.

    The hook answers before botocore sends anything, so botocore's own retries do not run:
    each injected error reaches the application once per call.
    """

    client: Any
    calls: dict[str, int] = field(default_factory=dict)
    _hooks: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)

    @property
    def service(self) -> str:
        """The client's service as botocore's events name it (`scheduler`, `dynamodb`)."""
        return str(self.client.meta.service_model.service_id.hyphenize())

    def fail(
        self, operation: str, code: str, message: str = "injected", *, times: int | None = None, status: int = 400
    ) -> None:
        """Fail `operation` (e.g. "CreateSchedule") with `code` the next `times` calls (None: always)."""
        event = f"before-call.{self.service}.{operation}"

        def hook(**_: Any) -> Any:
            done = self.calls.get(operation, 0)
            if times is not None and done >= times:
                return None
            self.calls[operation] = done + 1
            response = AWSResponse(url="https://scheduler.local", status_code=status, headers=HTTPHeaders(), raw=None)
            return response, {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }

        self.client.meta.events.register(event, hook)
        self._hooks.append((event, hook))

    def raise_(self, operation: str, exc: Exception) -> None:
        """Raise `exc` (e.g. a botocore EndpointConnectionError) from every call of `operation`."""
        event = f"before-call.{self.service}.{operation}"

        def hook(**_: Any) -> Any:
            raise exc

        self.client.meta.events.register(event, hook)
        self._hooks.append((event, hook))

    def clear(self) -> None:
        for event, hook in self._hooks:
            self.client.meta.events.unregister(event, hook)
        self._hooks.clear()


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    principal: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as API Gateway sends the scheduler function (stage `v1`).

    `principal` is the caller's IAM ARN, as API Gateway's IAM authorization puts it in the context.
    """
    all_headers = {
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "Accept": "application/json",
        **(headers or {}),
    }
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/v1{path}" + (f"?{urlencode(query)}" if query else ""),
            "stage": "v1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0",
                **({"userArn": principal} if principal is not None else {}),
            },
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def response_json(response: dict[str, Any]) -> Any:
    """The JSON body of a Lambda proxy response."""
    return json.loads(response["body"]) if response.get("body") else None


def ledger_task_item(task_id: str, user: int | str, created: str) -> dict[str, str]:
    """A scheduled one-time task's STATE item of the task ledger (what its listings read), every attribute a string,
    as if the API had written it."""
    from taskcore.ledger import created_key, index_shard, state_key, task_pk, to_json, user_key

    return {
        "pk": task_pk(task_id),
        "sk": "STATE",
        "task_id": task_id,
        "user_id": to_json(user),
        "user_key": user_key(user),
        "state": "scheduled",
        "state_key": state_key("scheduled", index_shard(task_pk(task_id))),
        "kind": "one-time",
        "expression": "at(2030-02-01T00:00:00)",
        "timezone": "UTC",
        "created_at": created,
        "created_key": created_key(created, task_id),
        "updated_at": created,
    }


def call_as(principal: str | None) -> Callable[..., tuple[int, Any]]:
    """Requests to the scheduler's Lambda entry point made by `principal` (None: a request without one)."""
    from scheduler_app.handler import lambda_handler

    def call(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> tuple[int, Any]:
        response = lambda_handler(api_event(method, path, body=body, query=query, principal=principal), None)
        return int(response["statusCode"]), response_json(response)

    return call
