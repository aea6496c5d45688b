"""Each answer of a receiver, through the callback's real entry point: what the run becomes and what is kept.

2xx succeeds with status, time and a bounded preview on the run; 408, 429, 5xx, a timeout or no connection
fail the invocation (Lambda retries, then dead-letters); any other 3xx/4xx is rejected with the reason and
never retried. A Retry-After is honoured within the invocation's remaining time.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from callback_app.handler import TaskInvocationFailed
from localcloud.lambda_context import LocalLambdaContext
from localcloud.template import LocalResources
from taskcore.registry import occurrence_key
from tests.callback.helpers import OCCURRENCE, delivery, ledger_partition
from tests.http.conftest import HttpAction
from tests.http.receiver import Receiver, Reply


def run_of(aws: LocalResources, task_id: str) -> dict[str, Any]:
    _, [run] = ledger_partition(aws.names["TaskLedgerTable"], task_id)
    return run


def call(task_id: str, url: str, **data: Any) -> dict[str, Any]:
    return delivery(task_id, action="http_request", data={"url": url, **data})


def test_a_2xx_answer_succeeds_and_the_run_keeps_status_time_and_a_bounded_preview(
    callback: Any, http_action: HttpAction, receiver: Receiver, aws: LocalResources
) -> None:
    receiver.replies = [Reply(201, b"x" * 5000)]

    response = callback(call("hook-1", f"{receiver.url}/hooks/reminder?id=7", body={"payment_id": 42}))

    assert response["statusCode"] == 200
    (request,) = receiver.received
    assert (request.method, request.path, request.body) == ("POST", "/hooks/reminder?id=7", b'{"payment_id":42}')
    result = json.loads(run_of(aws, "hook-1")["result"])
    assert result["status"] == 201
    assert result["host"] == "127.0.0.1"
    assert result["tries"] == 1
    assert isinstance(result["duration_ms"], int)
    assert result["body_preview"] == "x" * 500


def test_every_request_carries_the_task_its_occurrence_key_and_a_signature(
    callback: Any, http_action: HttpAction, receiver: Receiver
) -> None:
    from taskclient.webhooks import verify_signature

    callback(call("hook-2", receiver.url, body={"a": 1}, headers={"X-Tenant": "acme", "Accept": "application/json"}))

    (request,) = receiver.received
    delivered = verify_signature(request.headers, request.body, http_action.secret)
    occurrence = {"task_id": "hook-2", "scheduled_time": "2026-12-01T00:00:00Z"}
    assert delivered.task_id == "hook-2"
    assert delivered.idempotency_key == occurrence_key(occurrence)
    assert delivered.scheduled_time == OCCURRENCE.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert delivered.attempt == 1
    assert request.headers["X-Tenant"] == "acme"
    assert request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_fail_the_invocation_so_lambda_retries_it(
    callback: Any, http_action: HttpAction, receiver: Receiver, aws: LocalResources, status: int
) -> None:
    receiver.replies = [Reply(status, b"busy, try later")]

    with pytest.raises(TaskInvocationFailed, match="ReceiverUnavailable"):
        callback(call("hook-3", receiver.url))

    run = run_of(aws, "hook-3")
    assert (run["outcome"], run["error_type"]) == ("failed", "ReceiverUnavailable")
    assert f"HTTP {status} from " in run["error_message"]  # the address itself is redacted, as any number
    assert "busy, try later" in run["error_message"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_any_other_4xx_is_rejected_with_the_reason_and_never_retried(
    callback: Any, http_action: HttpAction, receiver: Receiver, aws: LocalResources, status: int
) -> None:
    receiver.replies = [Reply(status, b"no such reminder")]

    response = callback(call("hook-4", receiver.url))

    assert response["statusCode"] == 422
    run = run_of(aws, "hook-4")
    assert (run["outcome"], run["error_type"], run["final"]) == ("rejected", "TaskRejected", True)
    assert f"HTTP {status} from " in run["error_message"]  # the address itself is redacted, as any number
    assert "no such reminder" in run["error_message"]


def test_a_redirect_is_not_followed_anywhere_and_rejects_the_task(
    callback: Any, http_action: HttpAction, receiver: Receiver, aws: LocalResources
) -> None:
    receiver.replies = [Reply(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/?x=1"})]

    response = callback(call("hook-5", receiver.url))

    assert response["statusCode"] == 422
    assert len(receiver.received) == 1  # asked once, and nothing followed the Location
    message = run_of(aws, "hook-5")["error_message"]
    assert "redirects are not followed" in message
    assert "x=1" not in message


def test_a_receiver_that_does_not_answer_in_time_fails_the_invocation(
    callback: Any, http_action: HttpAction, receiver: Receiver, aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    HttpAction.configure(monkeypatch, timeout_seconds="0.3")
    receiver.replies = [Reply(200, delay=1.0)]

    with pytest.raises(TaskInvocationFailed, match="ReceiverUnavailable"):
        callback(call("hook-6", receiver.url))

    assert "within 0.3 s" in run_of(aws, "hook-6")["error_message"]


def test_no_connection_fails_the_invocation(callback: Any, http_action: HttpAction, aws: LocalResources) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    with pytest.raises(TaskInvocationFailed, match="ReceiverUnavailable"):
        callback(call("hook-7", f"http://127.0.0.1:{port}/"))

    assert "(ConnectionRefusedError)" in run_of(aws, "hook-7")["error_message"]


def test_a_retry_after_that_fits_in_the_remaining_time_is_waited_for_and_the_call_made_again(
    callback: Any, http_action: HttpAction, receiver: Receiver, aws: LocalResources
) -> None:
    receiver.replies = [Reply(503, headers={"Retry-After": "4"}), Reply(200)]

    response = callback(call("hook-8", receiver.url), LocalLambdaContext(timeout_seconds=30))

    assert response["statusCode"] == 200
    assert http_action.sleeps == [4.0]
    assert len(receiver.received) == 2
    assert json.loads(run_of(aws, "hook-8")["result"])["tries"] == 2


def test_a_retry_after_longer_than_the_remaining_time_is_left_to_lambdas_retry(
    callback: Any, http_action: HttpAction, receiver: Receiver, aws: LocalResources
) -> None:
    receiver.replies = [Reply(429, headers={"Retry-After": "120"})]

    with pytest.raises(TaskInvocationFailed):
        callback(call("hook-9", receiver.url), LocalLambdaContext(timeout_seconds=30))

    assert http_action.sleeps == []
    assert len(receiver.received) == 1
    assert "asked for a retry after 120 s" in run_of(aws, "hook-9")["error_message"]


def test_an_invocation_with_too_little_time_left_makes_no_request(
    callback: Any, http_action: HttpAction, receiver: Receiver
) -> None:
    with pytest.raises(TaskInvocationFailed, match="ReceiverUnavailable"):
        callback(call("hook-10", receiver.url), LocalLambdaContext(timeout_seconds=1))

    assert receiver.received == []


def test_without_a_readable_signing_secret_nothing_is_sent_and_the_invocation_fails(
    callback: Any, http_action: HttpAction, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    HttpAction.configure(monkeypatch, signing_secret_id="arn:aws:secretsmanager:us-east-1:123456789012:secret:gone")

    with pytest.raises(TaskInvocationFailed, match="SigningKeyUnavailable"):
        callback(call("hook-11", receiver.url))

    assert receiver.received == []
