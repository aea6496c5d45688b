"""A rejected task is kept with its payload in RejectedTaskQueue, where an operator sees and replays it.

A 4xx is permanent: Lambda does not retry it, so nothing else would keep the event. The record has
the shape of Lambda's on-failure record (requestPayload is the event as it arrived), so one tool
reads all three dead-letter queues. Keeping it must not fail silently: a record that cannot be
written fails the invocation, and Lambda's retries and on-failure queue take over.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from callback_app.handler import TaskInvocationFailed
from localcloud.events import load_event
from localcloud.lambda_context import LocalLambdaContext
from localcloud.template import LocalResources
from tests.callback.helpers import ActionSpy, delivery, reject


@pytest.fixture
def rejected(aws: LocalResources) -> Callable[[], list[tuple[dict[str, Any], dict[str, str]]]]:
    """The messages in RejectedTaskQueue (read, then made visible again), as (body, attributes)."""
    sqs = boto3.client("sqs")
    url = aws.queue_urls["RejectedTaskQueue"]

    def read() -> list[tuple[dict[str, Any], dict[str, str]]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
        for message in messages:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return [
            (
                json.loads(m["Body"]),
                {k: v["StringValue"] for k, v in (m.get("MessageAttributes") or {}).items()},
            )
            for m in messages
        ]

    return read


def test_a_task_rejected_by_its_action_is_kept_with_its_event_and_reason(
    callback: Any, spy_action: ActionSpy, rejected: Any
) -> None:
    spy_action.behaviour = reject
    event = delivery("pay-41", data={"amount": 1})

    response = callback(event)

    assert response["statusCode"] == 422
    ((record, attributes),) = rejected()
    assert record["requestPayload"] == event
    assert record["requestContext"]["condition"] == "Rejected"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {"statusCode": 422}
    assert record["responsePayload"]["detail"].startswith("action 'spy' rejected task 'pay-41'")
    assert attributes == {
        "TASK_ID": "pay-41",
        "ACTION": "spy",
        "SCHEDULED_TIME": "2026-12-01T00:00:00Z",
        "STATUS_CODE": "422",
    }


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (delivery("pay-42", action="renamed_action"), 422),  # its action was renamed by a deploy
        (delivery("pay-43", action="send_notification", data={"channel": "pigeon"}), 422),  # data no longer valid
        ({**delivery("pay-44"), "path": "/api/v1/tasks/elsewhere"}, 404),  # a target path that is not the callback
    ],
    ids=["unknown-action", "invalid-data", "wrong-path"],
)
def test_every_kind_of_rejection_is_kept(callback: Any, spy_action: ActionSpy, rejected: Any, event: Any, status: int):
    assert callback(event)["statusCode"] == status

    ((record, _),) = rejected()
    assert record["requestPayload"] == event
    assert record["responseContext"]["statusCode"] == status


def test_the_guides_dict_body_event_is_kept_as_it_arrived(callback: Any, rejected: Any) -> None:
    event = load_event("callback-dict-body")
    event["body"]["action"] = "send_welcome"  # not an action here

    assert callback(event)["statusCode"] == 422

    ((record, _),) = rejected()
    assert record["requestPayload"] == event


def test_succeeded_and_duplicate_tasks_keep_nothing(callback: Any, spy_action: ActionSpy, rejected: Any) -> None:
    callback(delivery("pay-45"))
    callback(delivery("pay-45"))

    assert rejected() == []


def test_a_redrive_that_is_rejected_again_keeps_no_second_record(callback: Any, spy_action: ActionSpy, rejected: Any):
    # `make redrive` keeps the letter it replays; the callback must not add a copy of it.
    redrive = LocalLambdaContext(client_context=SimpleNamespace(custom={"redrive": True}, env=None, client=None))

    assert callback(delivery("pay-46", action="renamed_action"), redrive)["statusCode"] == 422

    assert rejected() == []


def test_a_record_that_cannot_be_kept_fails_the_invocation(
    callback: Any, spy_action: ActionSpy, rejected: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callback_app import rejections

    def unavailable(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("SQS is down")

    # The queue and its client are built once per container: break the container's own client.
    monkeypatch.setattr(rejections.get_rejection_queue().client, "send_message", unavailable)

    with pytest.raises(TaskInvocationFailed, match="could not be kept"):
        callback(delivery("pay-47", action="renamed_action"))


def test_without_a_rejected_task_queue_a_rejection_fails_the_invocation(
    callback: Any, spy_action: ActionSpy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callback_app import rejections
    from callback_app.settings import get_settings

    monkeypatch.delenv("REJECTED_TASK_QUEUE_URL")
    get_settings.cache_clear()
    rejections.get_rejection_queue.cache_clear()

    with pytest.raises(TaskInvocationFailed, match="REJECTED_TASK_QUEUE_URL is not set"):
        callback(delivery("pay-48", action="renamed_action"))


def test_an_event_too_large_for_one_message_is_kept_without_its_largest_parts(
    callback: Any, spy_action: ActionSpy, rejected: Any
) -> None:
    event = delivery("pay-49", action="renamed_action")
    event["headers"] = {**event["headers"], "X-Padding": "p" * 1_100_000}

    assert callback(event)["statusCode"] == 422

    ((record, attributes),) = rejected()
    assert record["payloadTruncated"] is True
    assert "headers" not in record["requestPayload"]
    assert record["requestPayload"]["path"] == event["path"]
    assert attributes["TASK_ID"] == "pay-49"
