"""Replays on AWS (`make console STACK=...`): a synchronous Invoke, under the callback's own Timeout.

Lambda runs a synchronous Invoke with the function's configured Timeout like any invocation, and answers
one that outlives it with `FunctionError: Unhandled` and `Sandbox.Timedout`: the letter is then kept with
that reason. The client that sends it waits as long as an invocation may run and never sends it twice.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto import mock_aws

from console.deadletters import DeadLetterDesk
from ops.lambda_invoke import lambda_invoker, replay_lambda_client
from ops.replay import LAMBDA_LONGEST_TIMEOUT_SECONDS

REGION = "eu-west-1"
CALLBACK = "arn:aws:lambda:eu-west-1:123456789012:function:stack-CallbackFunction-x"
TIMED_OUT = {
    "errorType": "Sandbox.Timedout",
    "errorMessage": "RequestId: 4d1c8f1e-0000-4000-8000-000000000000 Error: Task timed out after 30.00 seconds",
}


@pytest.fixture
def queue() -> Iterator[tuple[Any, str]]:
    """The stack's CallbackFailureQueue (moto), holding one letter."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="stack-CallbackFailureQueue")["QueueUrl"]
        record = {
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": {"body": json.dumps({"task_id": "pay-43", "action": "process_payment"})},
            "responsePayload": TIMED_OUT,
        }
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        yield sqs, url


def test_a_replay_that_times_out_on_aws_keeps_its_letter_with_the_reason(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    client = boto3.client("lambda", region_name=REGION)
    raw = json.dumps(TIMED_OUT).encode()
    stubber = Stubber(client)
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": StreamingBody(io.BytesIO(raw), len(raw))},
        {"FunctionName": CALLBACK, "InvocationType": "RequestResponse", "ClientContext": ANY, "Payload": ANY},
    )
    stubber.activate()
    desk = DeadLetterDesk(
        [(url, "invocation")], sqs=lambda: sqs, invoker=lambda: lambda_invoker(client, CALLBACK), where="stack"
    )

    (replayed,) = desk.replay()

    stubber.assert_no_pending_responses()
    assert replayed.outcome == "failed"
    assert replayed.detail == f"InvocationFailed: Sandbox.Timedout: {TIMED_OUT['errorMessage']}"
    assert [letter.task_id for letter in desk.letters()] == ["pay-43"]


def test_replays_wait_as_long_as_an_invocation_may_run_and_never_resend_an_invoke() -> None:
    client = replay_lambda_client(boto3.Session(region_name=REGION), REGION)

    assert client.meta.config.read_timeout > LAMBDA_LONGEST_TIMEOUT_SECONDS == 900
    assert client.meta.config.retries["total_max_attempts"] == 1
