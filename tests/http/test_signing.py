"""The signing key: read once per container through Powertools' cache, rotated without a deploy by putting
`{"current": new, "previous": old}`, during which each request carries a signature by each key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import boto3
import pytest

from callback_app.handler import TaskInvocationFailed
from taskclient.webhooks import InvalidSignature, verify_signature
from tests.callback.helpers import delivery
from tests.http.conftest import HttpAction
from tests.http.receiver import Receiver

NEW = "n" * 64


def put(secret_id: str, value: str) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=value)


def five_minutes_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Move the clock Powertools' parameter cache reads 301 s ahead (past the default max age of 300 s)."""
    from aws_lambda_powertools.utilities.parameters import base

    class Later(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Later:
            moved = datetime.now(tz) + timedelta(seconds=301)
            return cls.fromtimestamp(moved.timestamp(), tz)

    monkeypatch.setattr(base, "datetime", Later)


def call(task_id: str, receiver: Receiver) -> dict[str, Any]:
    return delivery(task_id, action="http_request", data={"url": receiver.url, "body": {"n": 1}})


def test_during_a_rotation_a_receiver_with_either_key_accepts_the_request(
    callback: Any, http_action: HttpAction, receiver: Receiver
) -> None:
    old = http_action.secret
    put(http_action.secret_id, json.dumps({"current": NEW, "previous": old}))

    callback(call("rot-1", receiver))

    (request,) = receiver.received
    assert request.headers["X-Task-Signature"].count("v1=") == 2
    assert verify_signature(request.headers, request.body, old).task_id == "rot-1"  # receivers not yet updated
    assert verify_signature(request.headers, request.body, NEW).task_id == "rot-1"  # receivers already updated


def test_the_key_is_read_once_per_container_and_a_new_value_arrives_after_its_max_age_without_a_deploy(
    callback: Any, http_action: HttpAction, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = http_action.secret
    callback(call("rot-2", receiver))
    put(http_action.secret_id, NEW)

    callback(call("rot-3", receiver))  # within the max age (300 s): the container's cached key
    five_minutes_later(monkeypatch)
    callback(call("rot-4", receiver))  # past it: read again

    first, cached, fresh = receiver.received
    assert verify_signature(first.headers, first.body, old).task_id == "rot-2"
    assert verify_signature(cached.headers, cached.body, old).task_id == "rot-3"
    assert verify_signature(fresh.headers, fresh.body, NEW).task_id == "rot-4"
    with pytest.raises(InvalidSignature):
        verify_signature(fresh.headers, fresh.body, old)


@pytest.mark.parametrize("value", ['{"previous": "old-key"}', "{not json"])
def test_a_signing_secret_that_holds_no_current_key_sends_nothing_and_fails_the_invocation(
    callback: Any, http_action: HttpAction, receiver: Receiver, value: str
) -> None:
    put(http_action.secret_id, value)

    with pytest.raises(TaskInvocationFailed):
        callback(call("rot-5", receiver))

    assert receiver.received == []


def test_the_signature_is_timed_by_the_wall_clock_even_when_a_test_moves_the_tasks_clock(
    http_action: HttpAction, receiver: Receiver
) -> None:
    from taskcore.registry import TaskContext, registry

    action = registry.get("http_request")
    long_ago = TaskContext(
        task_id="clock-1", user_id=1, action="http_request", clock=lambda: datetime(2001, 1, 1, tzinfo=UTC)
    )

    action.run(action.parse({"url": receiver.url}), long_ago)

    (request,) = receiver.received
    assert verify_signature(request.headers, request.body, http_action.secret).task_id == "clock-1"  # now, real time
