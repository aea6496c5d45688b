"""`make console STACK=<name>`: the API URL, the queues and the callback come from the stack's outputs; the dead
letters are read, replayed through Lambda's Invoke API and discarded with the operator's own credentials."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from console import __main__ as make_console
from console.deadletters import DeadLetterDesk
from ops.lambda_invoke import lambda_invoker

REGION = "eu-west-1"
API_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1"
CALLBACK = "arn:aws:lambda:eu-west-1:123456789012:function:stack-CallbackFunction-x"


def template() -> str:
    """A stand-in for the deployed stack: its three queues, and the outputs template.yaml declares."""
    queues = {
        "Failures": "CallbackFailureQueueUrl",
        "Undelivered": "ScheduleDeliveryDLQUrl",
        "Rejected": "RejectedTaskQueueUrl",
    }
    return json.dumps(
        {
            "Resources": {name: {"Type": "AWS::SQS::Queue"} for name in queues},
            "Outputs": {
                "ApiUrl": {"Value": API_URL},
                "CallbackTargetArn": {"Value": CALLBACK},
                **{output: {"Value": {"Ref": name}} for name, output in queues.items()},
            },
        }
    )


@pytest.fixture
def stack() -> Iterator[boto3.Session]:
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("cloudformation").create_stack(StackName="tasks-prod", TemplateBody=template())
        yield session


def test_the_stack_outputs_give_the_signed_api_url_its_region_and_the_three_queues(stack: boto3.Session) -> None:
    setup = make_console.build(make_console.parse_args(["--stack", "tasks-prod"]), session=stack)

    assert setup.api_url == API_URL
    assert setup.region == REGION
    assert setup.console.where == "stack tasks-prod"
    desk = setup.console.dead_letters
    assert desk is not None
    assert sorted(kind for _, kind in desk.queues) == ["delivery", "invocation", "rejected"]
    assert all(queue.startswith("https://") for queue, _ in desk.queues)  # URLs from the outputs, no lookups
    assert desk.letters() == []


def test_an_unknown_stack_or_missing_credentials_stop_make_console_with_what_to_do(stack: boto3.Session) -> None:
    with pytest.raises(make_console.ConsoleConfigError, match="cannot read stack 'nope'"):
        make_console.build(make_console.parse_args(["--stack", "nope"]), session=stack)

    class NoCredentials:
        def get_credentials(self) -> None:
            return None

    with pytest.raises(make_console.ConsoleConfigError, match="no AWS credentials found"):
        make_console.build(make_console.parse_args(["--api-url", API_URL]), session=NoCredentials())


def test_with_only_an_api_url_the_console_has_no_dead_letters_to_show(stack: boto3.Session) -> None:
    setup = make_console.build(make_console.parse_args(["--api-url", API_URL]), session=stack)

    assert setup.console.dead_letters is None


def lambda_answering(payload: dict[str, Any], *, function_error: str | None = None) -> tuple[Any, Stubber]:
    client = boto3.client("lambda", region_name=REGION)
    stubber = Stubber(client)
    raw = json.dumps(payload).encode()
    answer: dict[str, Any] = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw))}
    if function_error:
        answer["FunctionError"] = function_error
    stubber.add_response(
        "invoke",
        answer,
        {
            "FunctionName": CALLBACK,
            "InvocationType": "RequestResponse",
            "ClientContext": "eyJjdXN0b20iOiB7InJlZHJpdmUiOiB0cnVlfX0=",
            "Payload": stubber_any(),
        },
    )
    stubber.activate()
    return client, stubber


def stubber_any() -> Any:
    from botocore.stub import ANY

    return ANY


def desk_with_one_letter(stack: boto3.Session, lambda_client: Any) -> DeadLetterDesk:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(
        QueueName=next(q for q in sqs.list_queues()["QueueUrls"] if "Failures" in q).rsplit("/", 1)[-1]
    )["QueueUrl"]
    record = {
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {"body": json.dumps({"task_id": "pay-42", "action": "process_payment"})},
        "responsePayload": {"errorType": "TaskInvocationFailed", "errorMessage": "status 500"},
    }
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    return DeadLetterDesk(
        [(url, "invocation")],
        sqs=lambda: sqs,
        invoker=lambda: lambda_invoker(lambda_client, CALLBACK),
        where="stack tasks-prod",
    )


def test_a_replay_on_aws_invokes_the_callback_synchronously_as_a_redrive_and_deletes_the_letter(
    stack: boto3.Session,
) -> None:
    client, stubber = lambda_answering({"statusCode": 200, "body": "{}"})
    desk = desk_with_one_letter(stack, client)
    [letter] = desk.letters()
    assert (letter.task_id, letter.error) == ("pay-42", "TaskInvocationFailed: status 500")

    [replayed] = desk.replay("invocation", letter.message.message_id)

    stubber.assert_no_pending_responses()
    assert (
        replayed.describe() == f"redriven and deleted: task pay-42 (message {letter.message.message_id}) (status 200)"
    )
    assert desk.letters() == []


def test_a_replay_on_aws_that_fails_again_keeps_the_letter_and_a_discard_deletes_it(stack: boto3.Session) -> None:
    client, _ = lambda_answering(
        {"errorType": "RuntimeError", "errorMessage": "still down"}, function_error="Unhandled"
    )
    desk = desk_with_one_letter(stack, client)

    [replayed] = desk.replay()

    assert replayed.outcome == "failed"
    assert replayed.detail == "InvocationFailed: RuntimeError: still down"
    assert len(desk.letters()) == 1
    assert desk.discard() == 1
    assert desk.letters() == []


def test_make_console_serves_the_console_on_loopback_until_stopped(
    stack: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    real_serve = make_console.serve

    def serve(setup: make_console.Setup, host: str, port: int) -> Any:
        server = real_serve(setup, host, port)
        served.append(server.url)
        return server

    monkeypatch.setattr(make_console, "serve", serve)
    stop = threading.Event()
    codes: list[int] = []
    runner = threading.Thread(
        target=lambda: codes.append(make_console.main(["--api-url", API_URL, "--port", "0"], session=stack, stop=stop))
    )
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not served and time.monotonic() < deadline:
            time.sleep(0.05)
        page = httpx.get(f"{served[0]}/console/dead-letters", timeout=10)
    finally:
        stop.set()
        runner.join(timeout=10)

    assert served[0].startswith("http://127.0.0.1:")
    assert page.status_code == 200
    assert "make console STACK=" in page.text  # with only an API URL, it says how to see the dead letters
    assert codes == [0]
