"""Where the action may call, checked again when it runs: the allowlist, then every address the host resolves to.

The resolver is replaced so that a name resolves where each test needs; the request then goes to the checked
address (a receiver on loopback, when one is allowed), never to whatever a second lookup would say.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from callback_app.handler import TaskInvocationFailed
from localcloud.template import LocalResources
from taskcore.outbound import allowlist
from tests.callback.helpers import delivery, ledger_partition
from tests.http.conftest import HttpAction, resolving
from tests.http.receiver import Receiver


def failing_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(allowlist, "getaddrinfo", getaddrinfo)


@pytest.fixture
def run_of(aws: LocalResources) -> Callable[[str], dict[str, Any]]:
    def read(task_id: str) -> dict[str, Any]:
        _, [run] = ledger_partition(aws.names["TaskLedgerTable"], task_id)
        return run

    return read


@pytest.mark.parametrize(
    ("addresses", "named"),
    [
        (["10.0.0.5"], "not a public address"),
        (["192.168.1.10"], "not a public address"),
        (["172.16.0.1"], "not a public address"),
        (["100.64.0.1"], "not a public address"),  # carrier-grade NAT (shared) space
        (["127.0.0.1"], "not a public address"),
        (["169.254.169.254"], "the instance metadata service"),
        (["fd00:ec2::254"], "the instance metadata service"),
        (["::ffff:10.0.0.1"], "not a public address"),  # an IPv4-mapped private address
        (["203.0.113.5", "10.0.0.5"], "not a public address"),  # one bad answer refuses them all
    ],
)
def test_a_listed_host_that_resolves_to_a_private_or_metadata_address_is_rejected(
    callback: Any,
    http_action: HttpAction,
    monkeypatch: pytest.MonkeyPatch,
    run_of: Callable[[str], dict[str, Any]],
    addresses: list[str],
    named: str,
) -> None:
    HttpAction.configure(monkeypatch, allowed_hosts="api.example.com")
    resolving(monkeypatch, *addresses)

    response = callback(delivery("hook-1", action="http_request", data={"url": "https://api.example.com/hook"}))

    assert response["statusCode"] == 422
    run = run_of("hook-1")
    assert (run["outcome"], run["error_type"]) == ("rejected", "TaskRejected")
    assert "host api.example.com resolves to" in run["error_message"]
    assert named in run["error_message"]


def test_a_private_address_listed_explicitly_is_called_at_the_address_that_was_checked(
    callback: Any, http_action: HttpAction, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    HttpAction.configure(monkeypatch, allowed_hosts="internal.test,127.0.0.1")
    asked = resolving(monkeypatch, "127.0.0.1")
    port = receiver.url.rsplit(":", 1)[1]

    response = callback(delivery("hook-2", action="http_request", data={"url": f"http://internal.test:{port}/x"}))

    assert response["statusCode"] == 200
    assert asked == ["internal.test"]  # resolved once; the connection went to that answer
    (request,) = receiver.received
    assert request.headers["Host"] == f"internal.test:{port}"


def test_a_url_whose_host_left_the_allowlist_after_it_was_scheduled_is_rejected_when_it_runs(
    callback: Any, http_action: HttpAction, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = delivery("hook-3", action="http_request", data={"url": receiver.url})
    HttpAction.configure(monkeypatch, allowed_hosts="api.example.com")

    response = callback(event)

    assert response["statusCode"] == 422
    assert "host 127.0.0.1 is not on the stack's allowlist" in json.loads(response["body"])["detail"]
    assert receiver.received == []


def test_a_name_that_does_not_resolve_fails_the_invocation_so_it_is_retried(
    callback: Any, http_action: HttpAction, monkeypatch: pytest.MonkeyPatch, run_of: Callable[[str], dict[str, Any]]
) -> None:
    HttpAction.configure(monkeypatch, allowed_hosts="api.example.com")
    failing_resolver(monkeypatch)

    with pytest.raises(TaskInvocationFailed, match="ReceiverUnavailable"):
        callback(delivery("hook-4", action="http_request", data={"url": "https://api.example.com/"}))

    assert "api.example.com could not be resolved (gaierror)" in run_of("hook-4")["error_message"]


def test_plain_http_to_a_name_that_resolves_off_loopback_is_rejected(
    callback: Any, http_action: HttpAction, monkeypatch: pytest.MonkeyPatch, run_of: Callable[[str], dict[str, Any]]
) -> None:
    HttpAction.configure(monkeypatch, allowed_hosts="localhost,203.0.113.5")
    resolving(monkeypatch, "203.0.113.5")

    response = callback(delivery("hook-5", action="http_request", data={"url": "http://localhost/"}))

    assert response["statusCode"] == 422
    assert "plain http is allowed only to a loopback address" in run_of("hook-5")["error_message"]


def test_on_aws_plain_http_is_refused_even_to_loopback(
    callback: Any, http_action: HttpAction, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    HttpAction.configure(monkeypatch, allow_http_loopback="false")

    response = callback(delivery("hook-6", action="http_request", data={"url": receiver.url}))

    assert response["statusCode"] == 422
    assert "must be https://" in json.loads(response["body"])["detail"]
    assert receiver.received == []
